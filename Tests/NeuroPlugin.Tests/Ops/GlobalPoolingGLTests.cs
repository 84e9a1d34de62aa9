namespace NeuroPlugin.Tests.Ops;

/// <summary>The global average and max pools on GL against the CPU reference on seeded random data (1e-4 relative), 1×1 to
/// 28×28 planes. Outputs start as garbage, the gradient as random values.</summary>
public sealed class GlobalPoolingGLTests : GLFixture
{
    [TestCase(1, 1, 1, 1)]
    [TestCase(7, 3, 5, 4)]
    [TestCase(2, 16, 28, 28)]
    [TestCase(3, 5, 1, 9)]
    public void GlobalPoolsMatchCpu(int batch, int channels, int height, int width)
    {
        var shape = new TensorShape(batch, channels, height, width);
        foreach (Layer layer in new Layer[] { new GlobalAvgPool2d(), new GlobalMaxPool2d() })
        {
            using var twins = new TwinBackends(Backend, TwinBackends.Seed(shape, layer.Type));
            var outputShape = layer.InferOutputShape("pool", [shape]);
            var x = twins.Random(shape, "x");
            var y = twins.Random(outputShape, "y", 100);
            var workspace = layer.WorkspaceShapes([shape], outputShape).Select(s => twins.Random(s, "workspace", 100)).ToArray();
            var dy = twins.Random(outputShape, "dy");
            var dx = twins.Random(shape, "dx");
            twins.Run(be =>
            {
                var node = new NodeTensors("pool", [x[be]], [dx[be]], y[be], dy[be], [], [], workspace.Select(w => w[be]).ToArray());
                layer.Forward(be, node);
                layer.Backward(be, node);
            });
            TwinBackends.AssertSame(y, $"{layer.Type} forward");
            TwinBackends.AssertSame(dx, $"{layer.Type} backward");
        }
    }
}

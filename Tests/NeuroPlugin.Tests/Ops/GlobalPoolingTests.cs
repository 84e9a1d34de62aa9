namespace NeuroPlugin.Tests.Ops;

/// <summary>Finite-difference gradient checks of the global average and max pooling layers on the CPU. (PyTorch:
/// Toolkit/ActivationGoldenTests; GL: <see cref="GlobalPoolingGLTests"/>.)</summary>
public class GlobalPoolingTests
{
    readonly CpuBackend cpu = new();

    [TestCase(false, 1, 2, 5, 4)]
    [TestCase(false, 3, 3, 1, 1)]
    [TestCase(true, 2, 3, 5, 4)]
    [TestCase(true, 3, 2, 7, 9)]
    public void GlobalPooling(bool max, int batch, int channels, int height, int width)
    {
        var random = new Random(batch * 7 + height);
        var check = new GradientCheck(random);
        Layer layer = max ? new GlobalMaxPool2d() : new GlobalAvgPool2d();
        var shape = new TensorShape(batch, channels, height, width);
        var x = cpu.Allocate(shape, "x");
        // distinct values 0.1 apart, so a ±ε nudge never changes which element is the maximum
        x.Upload(Enumerable.Range(0, x.Length).OrderBy(_ => random.Next()).Select(i => i * 0.1f).ToArray());
        var outputShape = layer.InferOutputShape("pool", [shape]);
        Assert.That(outputShape, Is.EqualTo(new TensorShape(batch, channels, 1, 1)));
        var y = cpu.Allocate(outputShape, "y");
        var dx = cpu.Allocate(shape, "dx");
        var workspace = layer.WorkspaceShapes([shape], outputShape).Select(s => cpu.Allocate(s, "argmax")).ToArray();
        check.Run(layer.Type, [x], y, () => layer.Forward(cpu, new NodeTensors("pool", [x], [dx], y, null, [], [], workspace)), [dx],
            dy => layer.Backward(cpu, new NodeTensors("pool", [x], [dx], y, dy, [], [], workspace)));
    }
}

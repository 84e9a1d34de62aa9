namespace NeuroPlugin.Tests.Zoo;

/// <summary>The zoo's new layers on GL: equal to the CPU on randomized shapes, and both backends against PyTorch
/// (Tests/Golden/gen_zoo.py: adaptive_avg_pool2d), and FractalNet's drop-path join equal to the CPU.</summary>
public sealed class ZooLayerGLTests : GLFixture
{
    [TestCase(2, 3, 14, 14, 4, 4)]
    [TestCase(1, 5, 7, 9, 3, 4)]
    [TestCase(3, 2, 1, 1, 7, 7)]
    [TestCase(2, 4, 3, 2, 6, 5)]
    [TestCase(1, 3, 13, 13, 6, 6)]
    public void AdaptiveAvgPool2d_MatchesCpu(int n, int c, int h, int w, int oh, int ow)
    {
        using var twins = new TwinBackends(Backend, h * 13 + oh);
        twins.AssertForwardBackwardSame(new TensorShape(n, c, h, w), new TensorShape(n, c, oh, ow),
            (b, x, y) => b.AdaptiveAvgPool2dForward(x, y), (b, dy, dx) => b.AdaptiveAvgPool2dBackward(dy, dx));
    }

    [TestCaseSource(typeof(GoldenFile), nameof(GoldenFile.Named), new object[] { "adaptive_avg_pool_*" })]
    public void AdaptiveAvgPool2d_MatchesPyTorch(string name)
    {
        var golden = GoldenFile.Load(name);
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using Tensor x = Load(backend, golden, "x"), dy = Load(backend, golden, "dy");
            using Tensor y = backend.Allocate(TensorShape.Of(golden.Shape("y")), "y"), dx = backend.Allocate(x.Shape, "dx");
            backend.AdaptiveAvgPool2dForward(x, y);
            backend.AdaptiveAvgPool2dBackward(dy, dx);
            TensorAssert.AreClose(golden.Data("y"), y.ToArray(), 1e-5, $"{name}.y on {backend.Name}");
            TensorAssert.AreClose(golden.Data("dx"), dx.ToArray(), 1e-5, $"{name}.dx on {backend.Name}");
        }
    }

    /// <summary>FractalJoin's per-sample drop-path on GL equals the CPU in eval and in training steps of both kinds (the
    /// coefficient tables bit for bit), on item lengths that do and do not fill whole vec4s. PyTorch comparisons of the
    /// same draws are in Stochastic/StochasticGoldenTests.</summary>
    [TestCase(4, 2, 3, 2)]
    [TestCase(7, 1, 1, 4001)]
    public void FractalJoin_MatchesCpu(int n, int c, int h, int w)
    {
        var layer = new FractalJoin([0, 1, 2], 3, localDropProbability: 0.5f);
        var shape = new TensorShape(n, c, h, w);
        using var twins = new TwinBackends(Backend, n * w);
        var xs = Enumerable.Range(0, 3).Select(i => twins.Random(shape, $"x{i}")).ToArray();
        var dxs = Enumerable.Range(0, 3).Select(i => twins.Random(shape, $"dx{i}")).ToArray(); // random: backward must add
        var y = twins.Random(shape, "y");
        var dy = twins.Random(shape, "dy");
        var tableShape = layer.WorkspaceShapes([shape, shape, shape], shape)[0];
        for (int step = -1; step < 6; step++)
        {
            var tables = new Dictionary<IBackend, Tensor>();
            twins.Run(b =>
            {
                Tensor[] workspace = [tables[b] = b.Allocate(tableShape, "coefficients")];
                var node = new NodeTensors("join", [.. xs.Select(x => x[b])], [.. dxs.Select(d => d[b])], y[b], dy[b], [], [], workspace)
                    { Training = step >= 0, Seed = 5, RandomCounter = (uint)Math.Max(step, 0), Stream = 3 };
                layer.Forward(b, node);
                layer.Backward(b, node);
            });
            Assert.That(tables[twins.Gl].ToArray(), Is.EqualTo(tables[twins.Cpu].ToArray()), $"step {step}: coefficients");
            TwinBackends.AssertSame(y, $"y, step {step}");
            for (int i = 0; i < 3; i++) TwinBackends.AssertSame(dxs[i], $"dx{i}, step {step}");
            foreach (var table in tables.Values) table.Dispose();
        }
    }

    static Tensor Load(IBackend backend, GoldenFile golden, string key)
    {
        var tensor = backend.Allocate(TensorShape.Of(golden.Shape(key)), key);
        tensor.Upload(golden.Data(key));
        return tensor;
    }
}

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>The reductions over any axes (<see cref="Reduce"/>: sum, mean, max, min) and softmax or log-softmax over any axis
/// (<see cref="Softmax"/>), forward and backward on both backends against PyTorch (Tests/Golden/gen_reductions.py, ties of
/// max and min included), GL against the CPU at other shapes, finite differences on the CPU, and their shape checks.</summary>
public sealed class ReductionOpsGLTests : GLFixture
{
    static readonly string[] Goldens =
    [
        "reduce_sum_dims_1_3", "reduce_mean_dim_3_dropped", "reduce_mean_dims_1_2_rank3", "reduce_max_dim_2_ties",
        "reduce_max_dims_1_2_3_dropped", "reduce_min_dims_1_ties",
        "softmax_dim1_rank2", "softmax_dim1_rank4", "softmax_dim2_rank3", "log_softmax_dim3_rank4", "log_softmax_dim1_rank3",
    ];

    [TestCaseSource(nameof(Goldens))]
    public void BothBackends_MatchPyTorch(string name)
    {
        var golden = GoldenFile.Load(name);
        var layer = golden.Layer();
        var shape = TensorShape.Of(golden.Shape("x"));
        Assert.That(layer.InferOutputShape("golden", [shape]).ToArray(), Is.EqualTo(golden.Shape("y")), "output shape");
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            var (y, dx) = ShapeOpsGLTests.Run(layer, backend, [golden.Data("x")], [shape], golden.Data("dy"));
            TensorAssert.AreClose(golden.Data("y"), y, 1e-5, $"{name}.y on {backend.Name}");
            TensorAssert.AreClose(golden.Data("dx"), dx[0], 1e-5, $"{name}.dx on {backend.Name}");
        }
    }

    static IEnumerable<TestCaseData> TwinCases()
    {
        yield return new TestCaseData(new Reduce(ReduceOp.Sum, [1, 2, 3]), new TensorShape(3, 5, 7, 9)).SetArgDisplayNames("sum_all_items");
        yield return new TestCaseData(new Reduce(ReduceOp.Mean, [2], keepDims: false), new TensorShape(4, 6, 33)).SetArgDisplayNames("mean_last_axis");
        yield return new TestCaseData(new Reduce(ReduceOp.Max, [1, 3]), new TensorShape(2, 5, 3, 4)).SetArgDisplayNames("max_channels_and_width");
        yield return new TestCaseData(new Reduce(ReduceOp.Min, [2]), new TensorShape(2, 5, 3, 4)).SetArgDisplayNames("min_height");
        yield return new TestCaseData(new Softmax(2), new TensorShape(3, 5, 7, 9)).SetArgDisplayNames("softmax_height");
        yield return new TestCaseData(new Softmax(1, logarithm: true), new TensorShape(3, 5, 7, 2)).SetArgDisplayNames("log_softmax_channels");
        yield return new TestCaseData(new Softmax(2, logarithm: true), new TensorShape(4, 3, 1001)).SetArgDisplayNames("log_softmax_long_rows");
    }

    [TestCaseSource(nameof(TwinCases))]
    public void ForwardAndBackward_MatchCpu(Layer layer, TensorShape shape)
    {
        var random = new Random(shape.Length);
        // max and min see ties: values on a coarse grid
        bool extreme = layer is Reduce { Op: ReduceOp.Max or ReduceOp.Min };
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => extreme ? random.Next(0, 4) : (float)(random.NextDouble() * 6 - 3))];
        float[] x = Values(shape.Length), dy = [.. Enumerable.Range(0, layer.InferOutputShape("test", [shape]).Length).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        using var cpu = new CpuBackend();
        // gradients start at 1: backward adds into them
        var (yCpu, dxCpu) = ShapeOpsGLTests.Run(layer, cpu, [x], [shape], dy, startGradient: 1f);
        var (yGl, dxGl) = ShapeOpsGLTests.Run(layer, Backend, [x], [shape], dy, startGradient: 1f);
        TensorAssert.AreClose(yCpu, yGl, TwinBackends.Tolerance, "forward");
        TensorAssert.AreClose(dxCpu[0], dxGl[0], TwinBackends.Tolerance, "backward");
        if (extreme)
            Assert.That(dxCpu[0].Sum() - x.Length, Is.EqualTo(dy.Sum()).Within(1e-3), "each output's gradient lands once on the elements equal to it, ties sharing it");
    }

    static IEnumerable<TestCaseData> GradientCases()
    {
        foreach (var op in Enum.GetValues<ReduceOp>())
        {
            yield return new TestCaseData(new Reduce(op, [1, 3]), new TensorShape(2, 3, 4, 5)).SetArgDisplayNames($"{op}_dims_1_3");
            yield return new TestCaseData(new Reduce(op, [2], keepDims: false), new TensorShape(3, 4, 6)).SetArgDisplayNames($"{op}_last_dropped");
        }
        yield return new TestCaseData(new Softmax(3), new TensorShape(2, 3, 4, 5)).SetArgDisplayNames("softmax_width");
        yield return new TestCaseData(new Softmax(1), new TensorShape(2, 3, 4, 5)).SetArgDisplayNames("softmax_channels");
        yield return new TestCaseData(new Softmax(1, logarithm: true), new TensorShape(3, 5, 2)).SetArgDisplayNames("log_softmax_dim1");
        yield return new TestCaseData(new Softmax(2, logarithm: true), new TensorShape(3, 5, 2)).SetArgDisplayNames("log_softmax_dim2");
    }

    /// <summary>Finite differences on the CPU (distinct values, so max and min are differentiable).</summary>
    [TestCaseSource(nameof(GradientCases))]
    public void Gradients_MatchFiniteDifferences(Layer layer, TensorShape shape)
    {
        var check = new GradientCheck(new Random(shape.Length + layer.Type.Length)) { Epsilon = 1e-3 };
        using var cpu = new CpuBackend();
        using Tensor x = cpu.Allocate(shape, "x"), dx = cpu.Allocate(shape, "dx"), y = cpu.Allocate(layer.InferOutputShape("test", [shape]), "y");
        // a shuffled grid 0.05 apart: no two elements within 2ε of each other
        var random = new Random(3);
        x.Upload([.. Enumerable.Range(0, shape.Length).Select(i => (i - shape.Length / 2) * 0.05f).OrderBy(_ => random.Next())]);
        var t = new NodeTensors("test", [x], [dx], y, null, [], [], []);
        check.Run(layer.ToString(), [x], y, () => layer.Forward(cpu, t), [dx],
            dy => layer.Backward(cpu, new NodeTensors("test", [x], [dx], y, dy, [], [], [])));
    }

    [Test]
    public void ShapeErrors_NameTheNodeAndShapes()
    {
        var x = new TensorShape(2, 3, 4, 5);
        Assert.That(new Reduce(ReduceOp.Mean, [3, 1]).InferOutputShape("r", [x]), Is.EqualTo(new TensorShape(2, 1, 4, 1)));
        Assert.That(new Reduce(ReduceOp.Max, [1, 2, 3], keepDims: false).InferOutputShape("r", [x]), Is.EqualTo(new TensorShape(2)));
        Assert.That(new Reduce(ReduceOp.Sum, [2], keepDims: false).InferOutputShape("r", [x]), Is.EqualTo(new TensorShape(2, 3, 5)));
        Assert.That(Assert.Throws<ShapeException>(() => new Reduce(ReduceOp.Sum, [3]).InferOutputShape("r", [new TensorShape(2, 3, 4)]))!.Message,
            Does.StartWith("r: ReduceSum over axes [3] of (2,3,4)"));
        Assert.That(Assert.Throws<ShapeException>(() => new Softmax(3).InferOutputShape("s", [new TensorShape(2, 10)]))!.Message,
            Does.StartWith("s: Softmax over axis 3 of (2,10)"));
        Assert.That(new Softmax(2, logarithm: true).InferOutputShape("s", [x]), Is.EqualTo(x));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Reduce(ReduceOp.Sum, [0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Reduce(ReduceOp.Sum, [1, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Reduce(ReduceOp.Sum, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Softmax(0));
        Assert.That(new Softmax(2, logarithm: true).Type, Is.EqualTo("LogSoftmax"));
        Assert.That(new Reduce(ReduceOp.Min, [1]).Attributes().ToJsonString(), Is.EqualTo("""{"dims":[1],"keepDims":true}"""));
    }
}

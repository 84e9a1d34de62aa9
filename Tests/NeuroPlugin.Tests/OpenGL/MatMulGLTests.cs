namespace NeuroPlugin.Tests.OpenGL;

/// <summary>Batched matrix products (<see cref="MatMul"/>: two tensors, or a tensor by a learnable constant on either side),
/// forward and backward on both backends against PyTorch (Tests/Golden/gen_matmul.py), GL against the CPU where each
/// operand broadcasts, finite differences on the CPU, and the shape checks.</summary>
public sealed class MatMulGLTests : GLFixture
{
    static readonly string[] Goldens =
    [
        "matmul_batched_rank3", "matmul_broadcast_rank4",
        "matmul_constant_right_rank2", "matmul_constant_right_rank3", "matmul_constant_left_rank4",
    ];

    /// <summary>Runs <paramref name="layer"/> forward and backward on <paramref name="backend"/> with the given inputs and
    /// parameters; gradients start at <paramref name="startGradient"/> (backward adds). Returns y, the input gradients and
    /// the parameter gradients.</summary>
    internal static (float[] Y, float[][] Dx, float[][] Dp) Run(Layer layer, IBackend backend, float[][] inputs, TensorShape[] shapes,
        float[][] parameters, float[] dy, float startGradient = 0f)
    {
        var specs = layer.Parameters;
        var y = layer.InferOutputShape("test", shapes);
        var tensors = new List<Tensor>();
        Tensor Make(TensorShape shape, string name, float[] values)
        {
            var t = backend.Allocate(shape, name);
            t.Upload(values);
            tensors.Add(t);
            return t;
        }
        try
        {
            var x = shapes.Select((s, i) => Make(s, $"x{i}", inputs[i])).ToArray();
            var dx = shapes.Select((s, i) => Make(s, $"dx{i}", [.. Enumerable.Repeat(startGradient, s.Length)])).ToArray();
            var p = specs.Select((s, i) => Make(s.Shape, s.Name, parameters[i])).ToArray();
            var dp = specs.Select(s => Make(s.Shape, "d" + s.Name, [.. Enumerable.Repeat(startGradient, s.Shape.Length)])).ToArray();
            var output = Make(y, "y", new float[y.Length]);
            var gradient = Make(y, "dy", dy);
            var t = new NodeTensors("test", x, [.. dx.Cast<Tensor?>()], output, gradient, p, [.. dp.Cast<Tensor?>()], []);
            layer.Forward(backend, t);
            layer.Backward(backend, t);
            return (output.ToArray(), [.. dx.Select(d => d.ToArray())], [.. dp.Select(d => d.ToArray())]);
        }
        finally
        {
            foreach (var tensor in tensors) tensor.Dispose();
        }
    }

    [TestCaseSource(nameof(Goldens))]
    public void BothBackends_MatchPyTorch(string name)
    {
        var golden = GoldenFile.Load(name);
        var layer = golden.Layer();
        string[] inputs = golden.Contains("a") ? ["a", "b"] : ["x"];
        string[] parameters = golden.Contains("weight") ? ["weight"] : [];
        TensorShape[] shapes = [.. inputs.Select(k => TensorShape.Of(golden.Shape(k)))];
        Assert.That(layer.InferOutputShape("golden", shapes).ToArray(), Is.EqualTo(golden.Shape("y")), "output shape");
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            var (y, dx, dp) = Run(layer, backend, [.. inputs.Select(golden.Data)], shapes, [.. parameters.Select(golden.Data)], golden.Data("dy"));
            TensorAssert.AreClose(golden.Data("y"), y, 1e-5, $"{name}.y on {backend.Name}");
            for (int i = 0; i < inputs.Length; i++) TensorAssert.AreClose(golden.Data("d" + inputs[i]), dx[i], 1e-5, $"{name}.d{inputs[i]} on {backend.Name}");
            for (int i = 0; i < parameters.Length; i++) TensorAssert.AreClose(golden.Data("d" + parameters[i]), dp[i], 1e-5, $"{name}.d{parameters[i]} on {backend.Name}");
        }
    }

    static IEnumerable<TestCaseData> TwinCases()
    {
        yield return new TestCaseData(new MatMul(), new[] { new TensorShape(2, 1, 4, 5), new TensorShape(2, 3, 5, 2) }).SetArgDisplayNames("a_repeated");
        yield return new TestCaseData(new MatMul(), new[] { new TensorShape(3, 4, 7, 9), new TensorShape(3, 4, 9, 6) }).SetArgDisplayNames("rank4");
        yield return new TestCaseData(new MatMul(new TensorShape(9, 5)), new[] { new TensorShape(3, 4, 7, 9) }).SetArgDisplayNames("constant_right_repeated");
        yield return new TestCaseData(new MatMul(new TensorShape(4, 6, 7), constantFirst: true), new[] { new TensorShape(3, 4, 7, 9) }).SetArgDisplayNames("constant_left_per_head");
        yield return new TestCaseData(new MatMul(new TensorShape(33, 17)), new[] { new TensorShape(5, 33) }).SetArgDisplayNames("constant_right_rank2");
    }

    [TestCaseSource(nameof(TwinCases))]
    public void ForwardAndBackward_MatchCpu(MatMul layer, TensorShape[] shapes)
    {
        var random = new Random(shapes.Sum(s => s.Length));
        float[] Values(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        float[][] inputs = [.. shapes.Select(s => Values(s.Length))];
        float[][] parameters = [.. layer.Parameters.Select(p => Values(p.Shape.Length))];
        float[] dy = Values(layer.InferOutputShape("test", shapes).Length);
        using var cpu = new CpuBackend();
        var (yCpu, dxCpu, dpCpu) = Run(layer, cpu, inputs, shapes, parameters, dy, startGradient: 1f);
        var (yGl, dxGl, dpGl) = Run(layer, Backend, inputs, shapes, parameters, dy, startGradient: 1f);
        TensorAssert.AreClose(yCpu, yGl, TwinBackends.Tolerance, "forward");
        for (int i = 0; i < dxCpu.Length; i++) TensorAssert.AreClose(dxCpu[i], dxGl[i], TwinBackends.Tolerance, $"gradient of input {i}");
        for (int i = 0; i < dpCpu.Length; i++) TensorAssert.AreClose(dpCpu[i], dpGl[i], TwinBackends.Tolerance, "weight gradient");
    }

    /// <summary>The backend op alone (either operand broadcast, a rank-2 product), by central differences.</summary>
    [TestCase(new[] { 2, 3, 4 }, new[] { 2, 4, 5 }, new[] { 2, 3, 5 })]
    [TestCase(new[] { 2, 1, 3, 4 }, new[] { 2, 3, 4, 2 }, new[] { 2, 3, 3, 2 })]
    [TestCase(new[] { 2, 3, 3, 4 }, new[] { 1, 1, 4, 2 }, new[] { 2, 3, 3, 2 })]
    [TestCase(new[] { 5, 4 }, new[] { 4, 3 }, new[] { 5, 3 })]
    public void Gradients_MatchFiniteDifferences(int[] aShape, int[] bShape, int[] yShape)
    {
        var check = new GradientCheck(new Random(aShape.Sum() * 7 + bShape.Sum())) { Epsilon = 1e-3 };
        using var cpu = new CpuBackend();
        TensorShape sa = TensorShape.Of(aShape), sb = TensorShape.Of(bShape);
        using Tensor a = cpu.Allocate(sa, "a"), b = cpu.Allocate(sb, "b"), y = cpu.Allocate(TensorShape.Of(yShape), "y");
        using Tensor da = cpu.Allocate(sa, "da"), db = cpu.Allocate(sb, "db");
        a.Upload(check.RandomValues(a.Length, 1));
        b.Upload(check.RandomValues(b.Length, 1));
        check.Run("MatMul", [a, b], y, () => cpu.MatMulForward(a, b, y), [da, db], dy => cpu.MatMulBackward(a, b, dy, da, db));
    }

    [Test]
    public void ShapeErrors_NameTheNodeAndShapes()
    {
        Assert.That(new MatMul().InferOutputShape("m", [new TensorShape(2, 1, 3, 4), new TensorShape(2, 5, 4, 6)]), Is.EqualTo(new TensorShape(2, 5, 3, 6)));
        Assert.That(new MatMul(new TensorShape(4, 6)).InferOutputShape("m", [new TensorShape(2, 3, 4)]), Is.EqualTo(new TensorShape(2, 3, 6)));
        Assert.That(new MatMul(new TensorShape(5, 3), constantFirst: true).InferOutputShape("m", [new TensorShape(2, 3, 4)]), Is.EqualTo(new TensorShape(2, 5, 4)));
        Assert.That(Assert.Throws<ShapeException>(() => new MatMul().InferOutputShape("m", [new TensorShape(2, 3, 4), new TensorShape(2, 5, 6)]))!.Message,
            Does.StartWith("m: MatMul of input 0 (2,3,4) by input 1 (2,5,6): 4 columns against 5 rows"));
        Assert.That(Assert.Throws<ShapeException>(() => new MatMul().InferOutputShape("m", [new TensorShape(2, 3, 4), new TensorShape(1, 4, 6)]))!.Message,
            Does.Contain("batch axis"));
        Assert.That(Assert.Throws<ShapeException>(() => new MatMul().InferOutputShape("m", [new TensorShape(2, 4), new TensorShape(2, 4)]))!.Message,
            Does.Contain("rank ≥ 3"));
        Assert.That(Assert.Throws<ShapeException>(() => new MatMul(new TensorShape(5, 2), constantFirst: true).InferOutputShape("m", [new TensorShape(2, 4)]))!.Message,
            Does.StartWith("m: W·x"));
        Assert.That(Assert.Throws<ShapeException>(() => new MatMul(new TensorShape(3, 4, 6)).InferOutputShape("m", [new TensorShape(2, 3, 4)]))!.Message,
            Does.Contain("more batch axes"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MatMul(new TensorShape(4)));
        Assert.That(new MatMul(new TensorShape(4, 6)).Parameters.Single().Shape, Is.EqualTo(new TensorShape(4, 6)));
    }
}

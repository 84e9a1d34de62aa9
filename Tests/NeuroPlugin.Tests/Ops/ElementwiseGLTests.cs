namespace NeuroPlugin.Tests.Ops;

/// <summary>Element-wise arithmetic on GL against the CPU reference (every broadcasting op over the shape pairs of
/// <see cref="ElementwiseTests"/>, every math function), and both backends against PyTorch
/// (Tests/Golden/gen_elementwise.py).</summary>
public sealed class ElementwiseGLTests : GLFixture
{
    static IEnumerable<TestCaseData> Cases() =>
        from op in Enum.GetValues<BinaryOp>()
        from pair in ElementwiseTests.ShapePairs
        select new TestCaseData(op, pair[0], pair[1]).SetArgDisplayNames(op.ToString(), $"({string.Join(",", pair[0])})", $"({string.Join(",", pair[1])})");

    [TestCaseSource(nameof(Cases))]
    public void ForwardAndBackward_MatchCpu(BinaryOp op, int[] shapeA, int[] shapeB)
    {
        using var twins = new TwinBackends(Backend, (int)op * 7 + shapeB.Length);
        var random = new Random((int)op);
        TensorShape sa = TensorShape.Of(shapeA), sb = TensorShape.Of(shapeB), sy = Broadcast.Shape(sa, sb)!.Value;
        var a = twins.FromValues(sa, "a", ElementwiseTests.OperandValues(op, true, sa.Length, random));
        var b = twins.FromValues(sb, "b", ElementwiseTests.OperandValues(op, false, sb.Length, random));
        var y = twins.Random(sy, "y");
        twins.Run(be => be.BinaryForward(op, a[be], b[be], y[be]));
        TwinBackends.AssertSame(y, $"{op} forward");
        var dy = twins.Random(sy, "dy");
        var da = twins.Random(sa, "da");
        var db = twins.Random(sb, "db");
        twins.Run(be => be.BinaryBackward(op, a[be], b[be], y[be], dy[be], da[be], db[be]));
        TwinBackends.AssertSame(da, $"{op} gradient of a");
        TwinBackends.AssertSame(db, $"{op} gradient of b");
    }

    [Test]
    public void Pow_AtSpecialValues_MatchesCpu()
    {
        float[] bases = [-2f, -2f, 0f, 0f, 0f, 4f, -8f, -1.5f], exponents = [3f, 0.5f, 0f, -1f, 2.5f, 0.5f, 2f, 4f];
        using var twins = new TwinBackends(Backend, 5);
        var shape = new TensorShape(bases.Length);
        var a = twins.FromValues(shape, "a", bases);
        var b = twins.FromValues(shape, "b", exponents);
        var y = twins.Random(shape, "y");
        twins.Run(be => be.BinaryForward(BinaryOp.Pow, a[be], b[be], y[be]));
        float[] cpu = y.Cpu.ToArray(), gl = y.Gl.ToArray();
        for (int i = 0; i < cpu.Length; i++)
            if (float.IsFinite(cpu[i])) Assert.That(gl[i], Is.EqualTo(cpu[i]).Within(1e-5 * Math.Abs(cpu[i])), $"{bases[i]}^{exponents[i]}");
            else Assert.That(gl[i], Is.EqualTo(cpu[i]), $"{bases[i]}^{exponents[i]}");
    }

    static IEnumerable<string> GoldenOps() => Enum.GetValues<BinaryOp>().Select(op => op.ToString().ToLowerInvariant());

    [TestCaseSource(nameof(GoldenOps))]
    public void BothBackends_MatchPyTorch(string name)
    {
        var golden = GoldenFile.Load($"elementwise_{name}");
        var op = Enum.Parse<BinaryOp>(name, ignoreCase: true);
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using Tensor a = golden.Upload(backend, "a"), b = golden.Upload(backend, "b"), dy = golden.Upload(backend, "dy");
            using Tensor y = backend.Allocate(TensorShape.Of(golden.Shape("y")), "y");
            using Tensor da = backend.Allocate(a.Shape, "da"), db = backend.Allocate(b.Shape, "db");
            backend.BinaryForward(op, a, b, y);
            backend.BinaryBackward(op, a, b, y, dy, da, db);
            TensorAssert.AreClose(golden.Data("y"), y.ToArray(), 1e-5, $"{name}.y on {backend.Name}");
            TensorAssert.AreClose(golden.Data("da"), da.ToArray(), 1e-5, $"{name}.da on {backend.Name}");
            // db sums up to 8 products per element: float32 summation order differs from PyTorch's by a few ulps of the sum
            TensorAssert.AreClose(golden.Data("db"), db.ToArray(), 1e-5, $"{name}.db on {backend.Name}");
        }
    }

    [Test]
    public void Functions_MatchCpu([Values] UnaryOp op, [Values(1, 1001)] int length)
    {
        using var twins = new TwinBackends(Backend, (int)op + length);
        var shape = new TensorShape(length);
        var x = twins.FromValues(shape, "x", ElementwiseTests.FunctionInputs(op, length, new Random((int)op)));
        var y = twins.Random(shape, "y");
        twins.Run(be => be.UnaryForward(op, x[be], y[be]));
        TwinBackends.AssertSame(y, $"{op} forward");
        var dy = twins.Random(shape, "dy");
        var dx = twins.Random(shape, "dx");
        twins.Run(be => be.UnaryBackward(op, x[be], y[be], dy[be], dx[be]));
        TwinBackends.AssertSame(dx, $"{op} backward");
    }

    [Test]
    public void Functions_BothBackendsMatchPyTorch([Values] UnaryOp op)
    {
        var golden = GoldenFile.Load($"function_{op}");
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            var shape = TensorShape.Of(golden.Shape("x"));
            using Tensor x = backend.Allocate(shape, "x"), dy = backend.Allocate(shape, "dy"), y = backend.Allocate(shape, "y"), dx = backend.Allocate(shape, "dx");
            x.Upload(golden.Data("x"));
            dy.Upload(golden.Data("dy"));
            backend.UnaryForward(op, x, y);
            backend.UnaryBackward(op, x, y, dy, dx);
            TensorAssert.AreClose(golden.Data("y"), y.ToArray(), 1e-5, $"{op}.y on {backend.Name}");
            TensorAssert.AreClose(golden.Data("dx"), dx.ToArray(), 1e-5, $"{op}.dx on {backend.Name}");
        }
    }
}

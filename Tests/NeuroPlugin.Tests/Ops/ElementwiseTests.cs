namespace NeuroPlugin.Tests.Ops;

/// <summary>Element-wise arithmetic on the CPU: the broadcasting ops (<see cref="BinaryOp"/>, layer <see cref="Elementwise"/>)
/// and the math functions (<see cref="UnaryOp"/>, layer <see cref="ElementwiseFunction"/>): finite differences for every op
/// (over broadcast shape pairs), the broadcast rule, special values, erf against tabulated values, and shape errors.</summary>
public class ElementwiseTests
{
    readonly CpuBackend cpu = new();

    /// <summary>Operand shapes that broadcast: equal, a per-channel operand, a lower-rank one, both sides broadcast.</summary>
    public static readonly int[][][] ShapePairs =
    [
        [[2, 3, 4, 5], [2, 3, 4, 5]],
        [[2, 3, 4, 5], [1, 3, 1, 1]],
        [[2, 3, 4, 5], [3, 1, 5]],
        [[3, 1, 4], [1, 5, 1]],
        [[4, 6], [6]],
    ];

    static IEnumerable<TestCaseData> Cases() =>
        from op in Enum.GetValues<BinaryOp>()
        from pair in ShapePairs
        select new TestCaseData(op, pair[0], pair[1]).SetArgDisplayNames(op.ToString(), $"({string.Join(",", pair[0])})", $"({string.Join(",", pair[1])})");

    /// <summary>Operand values where the op is smooth: a positive base for pow, a divisor away from 0.</summary>
    internal static float[] OperandValues(BinaryOp op, bool isA, int length, Random random) =>
        Enumerable.Range(0, length).Select(_ =>
        {
            float u = (float)(random.NextDouble() * 2 - 1);
            return (op, isA) switch
            {
                (BinaryOp.Pow, true) => 0.3f + 1.5f * Math.Abs(u),
                (BinaryOp.Div, false) => MathF.CopySign(0.5f + Math.Abs(u), u),
                (BinaryOp.PReLU, true) => MathF.CopySign(0.1f + 1.4f * Math.Abs(u), u), // away from the kink at 0
                _ => 1.5f * u,
            };
        }).ToArray();

    [TestCaseSource(nameof(Cases))]
    public void Gradients_MatchFiniteDifferences(BinaryOp op, int[] shapeA, int[] shapeB)
    {
        var random = new Random(shapeA.Length * 31 + (int)op);
        var check = new GradientCheck(random) { Epsilon = 1e-3 };
        TensorShape sa = TensorShape.Of(shapeA), sb = TensorShape.Of(shapeB);
        var sy = Broadcast.Shape(sa, sb)!.Value;
        using Tensor a = cpu.Allocate(sa, "a"), b = cpu.Allocate(sb, "b"), y = cpu.Allocate(sy, "y");
        using Tensor da = cpu.Allocate(sa, "da"), db = cpu.Allocate(sb, "db");
        a.Upload(OperandValues(op, true, sa.Length, random));
        b.Upload(OperandValues(op, false, sb.Length, random));
        check.Run(op.ToString(), [a, b], y, () => cpu.BinaryForward(op, a, b, b.Shape, y), [da, db],
            dy => cpu.BinaryBackward(op, a, b, b.Shape, y, dy, da, db));
    }

    /// <summary>Each element-wise op is one unit of a work slice: outside the window it leaves its output as it was, inside it
    /// runs (the CPU backend's ops all honour <see cref="IBackend.Slice"/>, so a stage run in parts is bit-identical).</summary>
    [Test]
    public void WorkSlice_IssuesEachOpOnlyInsideItsWindow()
    {
        var shape = new TensorShape(2, 3);
        using Tensor a = cpu.Allocate(shape, "a"), b = cpu.Allocate(shape, "b"), y = cpu.Allocate(shape, "y"), dy = cpu.Allocate(shape, "dy");
        using Tensor da = cpu.Allocate(shape, "da"), db = cpu.Allocate(shape, "db"), f = cpu.Allocate(shape, "f"), df = cpu.Allocate(shape, "df");
        a.Upload([1, 2, 3, 4, 5, 6]);
        b.Upload([6, 5, 4, 3, 2, 1]);
        dy.Upload([1, 1, 1, 1, 1, 1]);
        void RunAll()
        {
            cpu.BinaryForward(BinaryOp.Mul, a, b, b.Shape, y);
            cpu.BinaryBackward(BinaryOp.Mul, a, b, b.Shape, y, dy, da, db);
            cpu.UnaryForward(UnaryOp.Neg, a, f);
            cpu.UnaryBackward(UnaryOp.Neg, a, f, dy, df);
        }
        using var slice = new WorkSlice();
        cpu.Slice = slice;
        try
        {
            slice.Start(4, long.MaxValue); // all four ops lie before the window
            RunAll();
            Assert.That(slice.Position, Is.EqualTo(4), "one unit per op");
            foreach (var t in new[] { y, da, db, f, df }) Assert.That(t.ToArray(), Is.All.EqualTo(0f), $"{t.Name} untouched outside the window");
            slice.Start(1, 3);             // the backward of Mul and the forward of Neg
            RunAll();
            Assert.That(y.ToArray(), Is.All.EqualTo(0f), "Mul forward stays outside");
            Assert.That(da.ToArray(), Is.EqualTo(new float[] { 6, 5, 4, 3, 2, 1 }), "Mul backward adds dy·b once");
            Assert.That(f.ToArray(), Is.EqualTo(new float[] { -1, -2, -3, -4, -5, -6 }));
            Assert.That(df.ToArray(), Is.All.EqualTo(0f), "Neg backward stays outside");
        }
        finally
        {
            cpu.Slice = null;
        }
    }

    [Test]
    public void Broadcast_AlignsTrailingAxes()
    {
        Assert.That(Broadcast.Shape(new TensorShape(2, 3, 4, 5), new TensorShape(3, 1, 5)), Is.EqualTo(new TensorShape(2, 3, 4, 5)));
        Assert.That(Broadcast.Shape(new TensorShape(3, 1, 4), new TensorShape(1, 5, 1)), Is.EqualTo(new TensorShape(3, 5, 4)));
        Assert.That(Broadcast.Shape(new TensorShape(4, 6), new TensorShape(6)), Is.EqualTo(new TensorShape(4, 6)));
        Assert.That(Broadcast.Shape(new TensorShape(4, 6), new TensorShape(4)), Is.Null);
        var g = Broadcast.Of(new TensorShape(2, 3, 4, 5), new TensorShape(3, 1, 5), new TensorShape(2, 3, 4, 5));
        Assert.That(g.StridesA, Is.EqualTo((60, 20, 5, 1)));
        Assert.That(g.StridesB, Is.EqualTo((0, 5, 0, 1)));
        Assert.That(Broadcast.Repeats(new TensorShape(3, 1, 5), new TensorShape(2, 3, 4, 5)), Is.EqualTo((2, 1, 4, 1)));
    }

    [Test]
    public void Pow_FollowsCPowAtSpecialValues()
    {
        float[] bases = [-2f, -2f, 0f, 0f, 0f, 4f, -8f], exponents = [3f, 0.5f, 0f, -1f, 2.5f, 0.5f, 2f];
        using Tensor a = cpu.Allocate(new TensorShape(7), "a"), b = cpu.Allocate(new TensorShape(7), "b"), y = cpu.Allocate(new TensorShape(7), "y");
        a.Upload(bases);
        b.Upload(exponents);
        cpu.BinaryForward(BinaryOp.Pow, a, b, b.Shape, y);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { -8f, float.NaN, 1f, float.PositiveInfinity, 0f, 2f, 64f }));
    }

    [Test]
    public void MinimumAndMaximum_SplitTheGradientAtTies()
    {
        using Tensor a = cpu.Allocate(new TensorShape(3), "a"), b = cpu.Allocate(new TensorShape(3), "b"), y = cpu.Allocate(new TensorShape(3), "y");
        using Tensor dy = cpu.Allocate(new TensorShape(3), "dy"), da = cpu.Allocate(new TensorShape(3), "da"), db = cpu.Allocate(new TensorShape(3), "db");
        a.Upload([1f, 2f, 3f]);
        b.Upload([1f, 1f, 4f]);
        dy.Upload([2f, 2f, 2f]);
        cpu.BinaryBackward(BinaryOp.Minimum, a, b, b.Shape, y, dy, da, db);
        Assert.That(da.ToArray(), Is.EqualTo(new[] { 1f, 0f, 2f }));
        Assert.That(db.ToArray(), Is.EqualTo(new[] { 1f, 2f, 0f }));
    }

    [Test]
    public void Layer_RefusesShapesThatDoNotBroadcast()
    {
        var two = new Elementwise(BinaryOp.Sub);
        Assert.That(two.InferOutputShape("sub1", [new TensorShape(2, 3, 4, 5), new TensorShape(2, 3, 1, 1)]), Is.EqualTo(new TensorShape(2, 3, 4, 5)));
        var e = Assert.Throws<ShapeException>(() => two.InferOutputShape("sub1", [new TensorShape(2, 3, 4, 5), new TensorShape(2, 4, 1, 1)]));
        Assert.That(e!.Message, Does.StartWith("sub1: sub cannot broadcast").And.Contain("(2,3,4,5)").And.Contain("(2,4,1,1)"));
        e = Assert.Throws<ShapeException>(() => two.InferOutputShape("sub1", [new TensorShape(2, 3, 4, 5), new TensorShape(2, 3)]));
        Assert.That(e!.Message, Does.Contain("ranks 4 and 2"));
        var constant = new Elementwise(BinaryOp.Mul, new TensorShape(3, 1, 1), learnable: true);
        Assert.That(constant.InferOutputShape("scale", [new TensorShape(2, 3, 4, 5)]), Is.EqualTo(new TensorShape(2, 3, 4, 5)));
        e = Assert.Throws<ShapeException>(() => new Elementwise(BinaryOp.Mul, new TensorShape(2, 3, 1, 1)).InferOutputShape("scale", [new TensorShape(2, 3, 4, 5)]));
        Assert.That(e!.Message, Does.StartWith("scale: constant (2,3,1,1) does not fit input (2,3,4,5)"));
        Assert.That(constant.Parameters.Single().Name, Is.EqualTo("constant"));
        Assert.That(new Elementwise(BinaryOp.Pow, new TensorShape(1), value: 2f).Buffers.Single().InitialValue, Is.EqualTo(2f));
    }

    /// <summary>Inputs inside each function's domain and away from its kink or pole.</summary>
    internal static float[] FunctionInputs(UnaryOp op, int length, Random random) =>
        Enumerable.Range(0, length).Select(_ =>
        {
            float u = (float)(random.NextDouble() * 2 - 1);
            return op switch
            {
                UnaryOp.Sqrt or UnaryOp.Log => 0.2f + 2f * Math.Abs(u),
                UnaryOp.Abs or UnaryOp.Reciprocal => MathF.CopySign(0.3f + 1.5f * Math.Abs(u), u),
                _ => 2.5f * u,
            };
        }).ToArray();

    [Test]
    public void Functions_GradientsMatchFiniteDifferences([Values] UnaryOp op)
    {
        var random = new Random((int)op + 3);
        var check = new GradientCheck(random) { Epsilon = 1e-3 };
        var shape = new TensorShape(3, 4, 5);
        using Tensor x = cpu.Allocate(shape, "x"), y = cpu.Allocate(shape, "y"), dx = cpu.Allocate(shape, "dx");
        x.Upload(FunctionInputs(op, shape.Length, random));
        check.Run(op.ToString(), [x], y, () => cpu.UnaryForward(op, x, y), [dx], dy => cpu.UnaryBackward(op, x, y, dy, dx));
    }

    [TestCase(0.0, 0.0)]
    [TestCase(1e-4, 1.1283791633342487e-4)]
    [TestCase(0.5, 0.5204998778130465)]
    [TestCase(-1.0, -0.8427007929497149)]
    [TestCase(2.0, 0.9953222650189527)]
    [TestCase(2.999, 0.9999777698314002)]
    [TestCase(3.0, 0.9999779095030014)]
    [TestCase(-3.5, -0.9999992569016276)]
    [TestCase(4.5, 0.9999999998033839)]
    [TestCase(7.0, 1.0)]
    public void Erf_MatchesTabulatedValues(double x, double expected) =>
        Assert.That(CpuBackend.Erf(x), Is.EqualTo(expected).Within(1e-11));
}

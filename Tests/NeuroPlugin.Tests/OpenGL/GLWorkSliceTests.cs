namespace NeuroPlugin.Tests.OpenGL;

/// <summary>
/// Work slices on GL (<see cref="GLBackend.Slice"/>, what frame budgets run in parts): a dispatch numbers its units row by
/// row, whole work groups for a kernel that runs only whole groups, and for one that opts in with <c>laneSkipped()</c>
/// (common.glsl) and does enough work per group, the pieces of a group (up to <see cref="ComputeProgram.LanePieces"/>) that
/// hold invocations. Any windows that cover the units once, in order, must run every invocation exactly once (the CPU's
/// <see cref="WorkSlicings"/>: one unit at a time, random windows with empty ones between, one open
/// window, halves), also in validation mode (groups one at a time, shuffled).
/// </summary>
public sealed class GLWorkSliceTests : GLFixture
{
    /// <summary>Each invocation adds one to its own element of row groupRow(): a count of how often it ran.</summary>
    static string Counter(bool pieces) => "#version 430\n#include \"common.glsl\"\n" +
        "layout(std430, binding = OUTPUT0) buffer O { float o[]; };\n" +
        "uniform int width;\nuniform int base;\n" +
        "void main() {\n" + (pieces ? "    if (laneSkipped()) return;\n" : "") +
        "    int i = flatIndex();\n    if (i < width) o[base + groupRow() * width + i] += 1.0;\n}\n";

    // cost: the work an invocation declares; a group of 64 invocations is cut into pieces of at least PieceWork (2^19)
    [TestCase(100, 3, true, 1 << 16, 8)]   // 8 pieces: 13 a row, the last of 4 invocations
    [TestCase(7, 5, true, 1 << 16, 8)]     // one piece a row: a convolution's 7-wide output row
    [TestCase(64, 2, true, 1 << 16, 8)]    // whole groups of whole pieces
    [TestCase(130, 2, true, 1 << 16, 8)]   // three groups a row, the last holding 2 invocations
    [TestCase(100, 3, true, 1 << 14, 2)]   // a cheaper group: 2 pieces of 32 lanes
    [TestCase(100, 3, true, 1, 1)]         // a cheap group stays whole
    [TestCase(100, 3, false, 1 << 14, 1)]  // a kernel without laneSkipped(): whole groups only, 2 a row
    [TestCase(130, 2, false, 1 << 14, 1)]
    public void AnyWindowsCoveringTheUnits_RunEveryInvocationOnce(int width, int rows, bool pieces, long cost, int expectedPieces)
    {
        using var kernel = Backend.Shaders.Compile($"counter_{(pieces ? "pieces" : "groups")}.comp", Counter(pieces));
        Assert.That((kernel.SplitsGroups, kernel.PiecesPerGroup(cost)), Is.EqualTo((pieces, expectedPieces)));
        int lanesPerUnit = kernel.LocalSizeX / expectedPieces;
        long units = rows * (long)((width + lanesPerUnit - 1) / lanesPerUnit);
        using var counts = Backend.Allocate(new TensorShape(rows, width), "counts");
        counts.Upload(new float[rows * width]);
        kernel.SetUniform("width", width);
        kernel.SetUniform("base", Backend.OffsetOf(counts));

        int runs = 0;
        foreach (bool validated in new[] { false, true })
            foreach (var (name, windows) in WorkSlicings.Of(units, new Random(width * 31 + rows)))
            {
                var before = Device.Validation;
                Device.Validation = validated ? new GLValidationOptions(WorkGroupOrder.Shuffled, Seed: 3) : null;
                try
                {
                    var slice = new WorkSlice();
                    foreach (var (first, end) in windows)
                    {
                        slice.Start(first, end);
                        Backend.Slice = slice;
                        try
                        {
                            Device.BindStorage(StorageBinding.Output0, Backend.BufferOf(counts));
                            kernel.Dispatch(width, rows, cost);
                        }
                        finally { Backend.Slice = null; }
                        Assert.That(slice.Position, Is.EqualTo(units), $"{name}: every run numbers the same units");
                    }
                }
                finally { Device.Validation = before; }
                runs++;
                Assert.That(counts.ToArray(), Is.All.EqualTo((float)runs), $"{name}{(validated ? " (validation mode)" : "")}: each invocation ran once more");
            }
    }

    [Test]
    public void AKernelWithoutASlice_RunsWholeGroups_WithEveryLane()
    {
        using var kernel = Backend.Shaders.Compile("counter_whole.comp", Counter(pieces: true));
        using var counts = Backend.Allocate(new TensorShape(2, 100), "counts");
        counts.Upload(new float[200]);
        kernel.SetUniform("width", 100);
        kernel.SetUniform("base", Backend.OffsetOf(counts));
        var slice = new WorkSlice();
        slice.Start(0, 1); // one piece: the group's lane window is set, and must be cleared after
        Backend.Slice = slice;
        try
        {
            Device.BindStorage(StorageBinding.Output0, Backend.BufferOf(counts));
            kernel.Dispatch(100, 2, 1 << 14);
        }
        finally { Backend.Slice = null; }
        Device.BindStorage(StorageBinding.Output0, Backend.BufferOf(counts));
        kernel.Dispatch(100, 2, 1 << 14);
        float[] values = counts.ToArray();
        int lanes = kernel.LocalSizeX / kernel.PiecesPerGroup(1 << 14);
        Assert.That(values.Take(lanes), Is.All.EqualTo(2f), "the first piece ran in both");
        Assert.That(values.Skip(lanes), Is.All.EqualTo(1f), "every other invocation ran in the unsliced dispatch");
    }

    /// <summary>A forward with many input channels, under a slice, sums them in ranges of its own dispatches (raw sums
    /// written, resumed, the epilogue last): every windowing gives the bits of the unsliced kernel, fused or not.</summary>
    [TestCase(false, false, 1, 8)]   // 4 ranges of 64 channels × 2 channel blocks × 1 piece (half a group) of a row of 12 invocations
    [TestCase(true, false, 1, 8)]
    [TestCase(true, true, 1, 8)]
    [TestCase(false, false, 2, 4)]   // 2 groups of 128 channels: 2 ranges of 64 of a group's channels
    public void AForwardInChannelRanges_GivesTheBitsOfOneDispatch(bool batchNorm, bool residual, int groups, long expectedUnits)
    {
        var window = Window2d.Square(3, 1, 1);
        var random = new Random(7);
        Tensor Seeded(TensorShape shape, string name, float low = -1, float high = 1)
        {
            var t = Backend.Allocate(shape, name);
            t.Upload([.. Enumerable.Range(0, t.Length).Select(_ => low + (high - low) * (float)random.NextDouble())]);
            return t;
        }
        using var x = Seeded(new TensorShape(2, 256, 6, 6), "x");
        using var weight = Seeded(new TensorShape(16, 256 / groups, 3, 3), "weight", -0.05f, 0.05f);
        using var bias = Seeded(new TensorShape(16), "bias");
        using var gamma = Seeded(new TensorShape(16), "gamma");
        using var beta = Seeded(new TensorShape(16), "beta");
        using var mean = Seeded(new TensorShape(16), "mean");
        using var variance = Seeded(new TensorShape(16), "var", 0.5f, 2f);
        using var skip = Seeded(new TensorShape(2, 16, 6, 6), "residual");
        using var y = Backend.Allocate(new TensorShape(2, 16, 6, 6), "y");
        FoldedBatchNorm? folded = batchNorm ? new FoldedBatchNorm(gamma, beta, mean, variance, 1e-5f) : null;
        void Forward()
        {
            if (!batchNorm) Backend.Conv2dForward(x, weight, bias, y, window, groups);
            else Backend.Conv2dFusedForward(x, weight, residual ? null : bias, folded, residual ? skip : null, ActivationKind.ReLU, 0f, y, window);
        }

        Forward();
        float[] expected = y.ToArray();
        var slice = new WorkSlice();
        slice.Start(0, 0);
        Backend.Slice = slice;
        try { Forward(); }
        finally { Backend.Slice = null; }
        long units = slice.Position;
        Assert.That(units, Is.EqualTo(expectedUnits),
            "the sum over a group's channels (8·6·9 multiply-adds a channel an invocation) runs in ranges of 2¹⁵ or fewer, " +
            "each over 2 channel blocks of 12 invocations (one piece of 32 lanes each)");
        foreach (var (name, windows) in WorkSlicings.Of(units, new Random(11)))
        {
            y.Upload(Enumerable.Repeat(float.NaN, y.Length).ToArray()); // an output a window missed stays NaN
            foreach (var (first, end) in windows)
            {
                slice.Start(first, end);
                Backend.Slice = slice;
                try { Forward(); }
                finally { Backend.Slice = null; }
            }
            Assert.That(y.ToArray().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), name);
        }
    }
}

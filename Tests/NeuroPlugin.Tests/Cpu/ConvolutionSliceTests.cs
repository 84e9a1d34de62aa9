using System.Runtime.InteropServices;
using Geometry = NeuroPlugin.Tests.Cpu.ConvolutionKernelTests.Geometry;

namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// The CPU convolution under work slices (<see cref="WorkSlice"/>, what frame budgets run in parts): its forward, input
/// gradient and weight gradient are numbered in units finer than a group — (sample, tile of channels) for the outputs
/// and the input gradient, tiles of output channels for the weight gradient — and any windows that cover the units
/// once, in order, must give the bits of one unsliced call: one unit at a time, random windows, everything at once,
/// with empty windows between. Every method of <see cref="ConvolutionKernelTests"/>' geometries is run (direct kernels,
/// im2col + GEMM, depthwise, pointwise, Winograd's) in both arithmetics, plus the weight gradient's GEMM with its depth cut into
/// parts and the direct path's GEMM fallback for many weights.
/// </summary>
public class ConvolutionSliceTests
{
    public static IEnumerable<Geometry> Geometries() =>
    [
        .. ConvolutionKernelTests.Geometries(),
        new(4, 3, 20, 9, 9, Window2d.Square(3, 1, 1)),                 // batch 4: several samples in one window
        new(8, 2, 20, 32, 32, Window2d.Square(3, 1, 1)),               // N·P = 8192: im2col's weight-gradient GEMM cuts k into parts
        new(2, 128, 72, 6, 6, Window2d.Square(3, 1, 1)),               // O·K = 82 944 > WeightGradient.MaxOutputs: its GEMM fallback
        new(3, 16, 32, 8, 8, Window2d.Square(3, 2, 1), Groups: 16),    // depthwise, multiplier 2, batch 3
        new(2, 24, 40, 7, 7, Window2d.Square(1)),                      // pointwise with several channel tiles
        new(2, 64, 72, 24, 23, Window2d.Square(3, 1, 1)),              // Winograd's F(2×2, 3×3) (Fast), a short last channel tile
    ];

    [TestCaseSource(nameof(Geometries))]
    public void SlicedConvolution_EqualsOneCall_BitForBit(Geometry c)
    {
        foreach (var arithmetic in new[] { CpuArithmetic.Fast, CpuArithmetic.Reference })
        {
            using var cpu = new CpuBackend { Arithmetic = arithmetic, Threads = 2, UseWinograd = true }; // Winograd's case below
            var w = c.Window;
            var (x, weight, bias, dy, y, dx, dw, db) = ConvolutionKernelTests.SeededTensors(cpu, c);
            float[] dx0 = dx.ToArray(), dw0 = dw.ToArray(), db0 = db.ToArray();
            string what = $"{c} ({arithmetic})";

            // the unsliced ops: what every slicing must give
            cpu.Conv2dForward(x, weight, bias, y, w, c.Groups);
            int[] expectedY = Bits(y);
            cpu.Conv2dBackward(x, weight, dy, dx, dw, db, w, c.Groups);
            int[] expectedDx = Bits(dx), expectedDw = Bits(dw), expectedDb = Bits(db);
            dw.Upload(dw0);
            db.Upload(db0);
            cpu.Conv2dBackward(x, weight, dy, null, dw, db, w, c.Groups);
            int[] expectedDwOnly = Bits(dw);

            void Forward() => cpu.Conv2dForward(x, weight, bias, y, w, c.Groups);
            void Backward() => cpu.Conv2dBackward(x, weight, dy, dx, dw, db, w, c.Groups);
            void WeightsOnly() => cpu.Conv2dBackward(x, weight, dy, null, dw, db, w, c.Groups);
            void ResetForward() => y.Upload(Enumerable.Repeat(float.NaN, y.Length).ToArray()); // an output a window missed stays NaN
            void ResetBackward()
            {
                dx.Upload(dx0);
                dw.Upload(dw0);
                db.Upload(db0);
            }

            ResetForward();
            long forwardUnits = CountUnits(cpu, Forward);
            Assert.That(y.ToArray(), Is.All.NaN, $"{what}: counting the forward's units (an empty window) wrote outputs");
            ResetBackward();
            long backwardUnits = CountUnits(cpu, Backward), weightUnits = CountUnits(cpu, WeightsOnly);
            Assert.That(Bits(dx), Is.EqualTo(Bits(dx0)), $"{what}: counting the backward's units wrote dx");
            Assert.That(Bits(dw), Is.EqualTo(Bits(dw0)), $"{what}: counting the backward's units wrote dW");
            int channelTiles = (c.OutChannels / c.Groups + 7) / 8, inputTiles = (c.InChannels / c.Groups + 7) / 8;
            // forward tiles of 8 channels, or of the GEMM's panel width where the pixels are its rows
            int forwardTile = cpu.ForwardTile(new CpuBackend.ConvGeometry(x.Shape, weight.Shape, y.Shape, c.Groups), w);
            if (arithmetic == CpuArithmetic.Fast && c.Groups == 1 && c.InChannels * c.Window.KernelHeight * c.Window.KernelWidth >= 1024 && c.OutChannels >= 64
                && c.OutChannels % 16 == 0 && y.Shape.H * y.Shape.W <= 256)
                Assert.That(forwardTile, Is.EqualTo(Gemm.FastestKernel == GemmKernel.Vector512Fma ? 32 : 16), $"{what}: pixel-major units");
            Assert.That(forwardUnits, Is.EqualTo(c.Groups == c.InChannels && c.Groups > 1
                ? c.Batch * ((c.OutChannels + 7) / 8) : c.Groups * c.Batch * ((c.OutChannels / c.Groups + forwardTile - 1) / forwardTile)),
                $"{what}: forward units (sample × channel tile of {forwardTile} per group)");
            Assert.That(weightUnits, Is.EqualTo(c.Groups * channelTiles), $"{what}: weight-gradient units (output-channel tiles per group)");
            Assert.That(backwardUnits, Is.EqualTo(c.Groups * (channelTiles + c.Batch * inputTiles)), $"{what}: backward units");
            if (c.Batch > 1)
            {
                Assert.That(forwardUnits, Is.GreaterThan(1), $"{what}: a batch's forward splits");
                Assert.That(backwardUnits, Is.GreaterThan(1), $"{what}: a batch's backward splits");
            }

            foreach (var (scheme, windows) in WorkSlicings.Of(forwardUnits, new Random(1)))
            {
                ResetForward();
                RunWindows(cpu, Forward, windows, forwardUnits);
                Assert.That(Bits(y), Is.EqualTo(expectedY), $"{what}: y in {scheme}");
            }
            foreach (var (scheme, windows) in WorkSlicings.Of(backwardUnits, new Random(2)))
            {
                ResetBackward();
                RunWindows(cpu, Backward, windows, backwardUnits);
                Assert.That(Bits(dx), Is.EqualTo(expectedDx), $"{what}: dx in {scheme}");
                Assert.That(Bits(dw), Is.EqualTo(expectedDw), $"{what}: dW in {scheme}");
                Assert.That(Bits(db), Is.EqualTo(expectedDb), $"{what}: db in {scheme}");
            }
            foreach (var (scheme, windows) in WorkSlicings.Of(weightUnits, new Random(3)))
            {
                ResetBackward();
                RunWindows(cpu, WeightsOnly, windows, weightUnits);
                Assert.That(Bits(dw), Is.EqualTo(expectedDwOnly), $"{what}: dW without dx in {scheme}");
            }
        }
    }

    [Test]
    public void FusedForward_UnderSlices_EqualsOneCall_BitForBit()
    {
        // conv + folded batch norm + residual + ReLU: the epilogue follows each unit's outputs
        using var cpu = new CpuBackend { Threads = 2 };
        var random = new Random(9);
        var window = Window2d.Square(3, 1, 1);
        var x = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(3, 12, 10, 10), "x");
        var weight = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(20, 12, 3, 3), "w");
        var bias = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(20), "b");
        var residual = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(3, 20, 10, 10), "r");
        var mean = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(20), "mean");
        var variance = cpu.Allocate(new TensorShape(20), "var");
        variance.Upload(Enumerable.Range(0, 20).Select(i => 0.5f + i / 10f).ToArray());
        var gamma = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(20), "gamma");
        var beta = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(20), "beta");
        var y = cpu.Allocate(residual.Shape, "y");
        var batchNorm = new FoldedBatchNorm(gamma, beta, mean, variance, 1e-5f);
        void Forward() => cpu.Conv2dFusedForward(x, weight, bias, batchNorm, residual, ActivationKind.ReLU, 0f, y, window);
        Forward();
        int[] expected = Bits(y);
        long units = CountUnits(cpu, Forward);
        Assert.That(units, Is.EqualTo(3 * 3), "3 samples × 3 tiles of 8 of 20 channels");
        foreach (var (scheme, windows) in WorkSlicings.Of(units, new Random(4)))
        {
            y.Upload(new float[y.Length]);
            RunWindows(cpu, Forward, windows, units);
            Assert.That(Bits(y), Is.EqualTo(expected), $"fused forward in {scheme}");
        }
    }

    static long CountUnits(CpuBackend cpu, Action op)
    {
        var slice = new WorkSlice();
        slice.Start(0, 0);
        cpu.Slice = slice;
        try { op(); }
        finally { cpu.Slice = null; }
        return slice.Position;
    }

    static void RunWindows(CpuBackend cpu, Action op, (long First, long End)[] windows, long units)
    {
        var slice = new WorkSlice();
        foreach (var (first, end) in windows)
        {
            slice.Start(first, end);
            cpu.Slice = slice;
            try { op(); }
            finally { cpu.Slice = null; }
            Assert.That(slice.Position, Is.EqualTo(units), "every run numbers the same units");
        }
    }

    static int[] Bits(Tensor tensor) => Bits(tensor.ToArray());
    static int[] Bits(float[] values) => MemoryMarshal.Cast<float, int>(values).ToArray();
}

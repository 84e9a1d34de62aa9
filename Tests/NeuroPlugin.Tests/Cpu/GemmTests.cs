namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// The packed, register-blocked <see cref="Gemm.Multiply"/> against the three-loop <see cref="Gemm.Reference"/>, for
/// every micro-kernel this processor supports, every transpose combination, and sizes around the panel and block
/// edges (1, 7, 17, 63, …); its determinism across thread counts; and that it allocates nothing once warm.
/// </summary>
public class GemmTests
{
    // around the register tile (6×16), the row block (120) and the depth block (256)
    static readonly int[] EdgeSizes = [1, 2, 5, 6, 7, 16, 17, 63, 121, 257];
    static readonly int[] SmallSizes = [1, 5, 7, 17, 63];

    public static IEnumerable<TestCaseData> Shapes()
    {
        var random = new Random(7);
        // every edge size on each axis, the other two drawn from the small sizes
        for (int axis = 0; axis < 3; axis++)
            foreach (int size in EdgeSizes)
            {
                int m = axis == 0 ? size : SmallSizes[random.Next(SmallSizes.Length)];
                int n = axis == 1 ? size : SmallSizes[random.Next(SmallSizes.Length)];
                int k = axis == 2 ? size : SmallSizes[random.Next(SmallSizes.Length)];
                yield return new TestCaseData(m, n, k).SetArgDisplayNames($"{m}x{n}x{k}");
            }
        yield return new TestCaseData(125, 1040, 260).SetArgDisplayNames("125x1040x260 (two blocks each way, best kernel)");
    }

    static IEnumerable<GemmKernel> SupportedKernels => Enum.GetValues<GemmKernel>().Where(Gemm.IsSupported);

    [TestCaseSource(nameof(Shapes))]
    public void Multiply_MatchesReference_ForEveryKernelAndTranspose(int m, int n, int k)
    {
        var random = new Random(m * 1009 + n * 31 + k);
        // the large case (two row, column and depth blocks) only with the kernel this processor uses, to stay fast
        IEnumerable<GemmKernel> kernels = m * n * k > 1_000_000 ? [Gemm.FastestKernel] : SupportedKernels;
        foreach (var kernel in kernels)
            foreach (bool transposeA in new[] { false, true })
                foreach (bool transposeB in new[] { false, true })
                    foreach (bool accumulate in new[] { false, true })
                    {
                        // operands sit at an offset inside larger arrays, with row strides wider than the rows
                        var a = Operand(random, m, k, transposeA, out float[] aData);
                        var b = Operand(random, k, n, transposeB, out float[] bData);
                        int ldc = n + 3, cOffset = 5;
                        float[] c = RandomArray(random, cOffset + m * ldc + 2);
                        float[] original = (float[])c.Clone(), expected = (float[])c.Clone();
                        Gemm.Reference(m, n, k, a, b, expected.AsSpan(cOffset), ldc, accumulate);
                        var gemm = new Gemm(threads: 2) { Kernel = kernel };
                        gemm.Multiply(m, n, k, a, b, c, cOffset, ldc, accumulate);

                        string what = $"{kernel} {m}x{n}x{k} A{(transposeA ? "ᵀ" : "")} B{(transposeB ? "ᵀ" : "")} accumulate={accumulate}";
                        for (int i = 0; i < c.Length; i++)
                        {
                            int row = (i - cOffset) / ldc, column = (i - cOffset) % ldc;
                            bool inside = i >= cOffset && row < m && column < n;
                            if (!inside)
                            {
                                Assert.That(c[i], Is.EqualTo(expected[i]), $"{what}: element {i} outside C was written");
                                continue;
                            }
                            // both sums are within γ_k·Σ|a||b| (+ one rounding of the accumulated C) of the exact one
                            double magnitude = accumulate ? Math.Abs(original[i]) : 0;
                            for (int p = 0; p < k; p++) magnitude += Math.Abs(a[row, p] * b[p, column]);
                            double gamma = (k + 1) * Math.Pow(2, -24) / (1 - (k + 1) * Math.Pow(2, -24));
                            Assert.That(c[i], Is.EqualTo(expected[i]).Within(2 * gamma * magnitude + 1e-30), $"{what}: C[{row},{column}]");
                        }
                        GC.KeepAlive(aData); GC.KeepAlive(bData);
                    }
    }

    [Test]
    public void Multiply_IsTheSameForEveryThreadCount()
    {
        var random = new Random(3);
        foreach (bool transposeB in new[] { false, true })
        {
            var a = Operand(random, 70, 300, false, out _);
            var b = Operand(random, 300, 2100, transposeB, out _);
            float[]? first = null;
            foreach (int threads in new[] { 1, 2, 3, 8 })
            {
                float[] c = new float[70 * 2100];
                new Gemm(threads).Multiply(70, 2100, 300, a, b, c, 0, 2100, accumulate: false);
                if (first is null) first = c;
                else Assert.That(c, Is.EqualTo(first), $"{threads} threads, B{(transposeB ? "ᵀ" : "")}: bitwise the same as 1 thread");
            }
        }
    }

    [Test]
    public void PartialRowTiles_AreTheSameBitsAsThoseRowsInAWholeTile()
    {
        // a product of m < 16 rows ends in a partial tile of m mod MR rows, which AVX-512 computes with a kernel of only
        // those rows (a 7×7 plane's 49 pixels end in one): each row must be the bits it has among 16 rows, over two blocks
        // of depth and a partial panel of columns, set and added
        var random = new Random(11);
        const int k = 300, n = 70;
        var a = Operand(random, 16, k, false, out _);
        var b = Operand(random, k, n, false, out _); // (one row against a transposed B has a kernel of its own)
        var gemm = new Gemm(threads: 1);
        foreach (bool accumulate in new[] { false, true })
        {
            float[] start = RandomArray(random, 16 * n), whole = (float[])start.Clone();
            gemm.Multiply(16, n, k, a, b, whole, 0, n, accumulate);
            for (int m = 1; m < 16; m++)
            {
                float[] some = start[..(m * n)];
                gemm.Multiply(m, n, k, a, b, some, 0, n, accumulate);
                Assert.That(some, Is.EqualTo(whole[..(m * n)]), $"{gemm.Kernel}, {m} rows, accumulate={accumulate}");
            }
        }
    }

    // a classifier at batch 1 (MobileNet v2's 1280 → 1000): one row of A against B's columns stored as rows, large enough
    // (N·K ≥ 2^20) that its outputs are cut among the threads; LeNet-5's fc1 (400 → 120); and outputs and depths that
    // leave a group of four outputs and a vector of k partial (1001 × 1283, 7 × 5, 3 × 9)
    [TestCase(1000, 1280)]
    [TestCase(120, 400)]
    [TestCase(1001, 1283)]
    [TestCase(7, 5)]
    [TestCase(3, 9)]
    public void OneRowTimesTransposedB_SplitAcrossThreads_IsTheSameForEveryThreadCount_AndAllocatesNothing(int n, int k)
    {
        const int cOffset = 3;
        var random = new Random(13);
        var a = Operand(random, 1, k, false, out _);
        var b = Operand(random, k, n, true, out _);
        foreach (bool accumulate in new[] { false, true })
        {
            float[] start = RandomArray(random, cOffset + n + 2), expected = (float[])start.Clone();
            Gemm.Reference(1, n, k, a, b, expected.AsSpan(cOffset), n, accumulate);
            float[]? first = null;
            foreach (int threads in new[] { 1, 2, 3, 8 })
            {
                float[] c = (float[])start.Clone();
                new Gemm(threads).Multiply(1, n, k, a, b, c, cOffset, n, accumulate);
                if (first is null) first = c;
                else Assert.That(c, Is.EqualTo(first), $"{threads} threads, accumulate={accumulate}: bitwise the same as 1 thread");
            }
            Assert.That(first![..cOffset].Concat(first[(cOffset + n)..]), Is.EqualTo(start[..cOffset].Concat(start[(cOffset + n)..])), "nothing outside the row is written");
            // each output is the same sum wherever it falls (alone, or any place in a group of four)
            foreach (int j in new[] { 0, 1, n / 2, n - 1 })
            {
                float[] alone = [start[cOffset + j]];
                new Gemm(1).Multiply(1, 1, k, a, new GemmOperand(b.Data, b.Offset + j * b.Stride, b.Stride, transposed: true), alone, 0, 1, accumulate);
                Assert.That(alone[0], Is.EqualTo(first[cOffset + j]), $"C[0,{j}] alone, accumulate={accumulate}: the bits it has among the others");
            }
            for (int j = 0; j < n; j++)
            {
                double magnitude = accumulate ? Math.Abs(start[cOffset + j]) : 0;
                for (int p = 0; p < k; p++) magnitude += Math.Abs(a[0, p] * b[p, j]);
                double gamma = (k + 1) * Math.Pow(2, -24) / (1 - (k + 1) * Math.Pow(2, -24));
                Assert.That(first[cOffset + j], Is.EqualTo(expected[cOffset + j]).Within(2 * gamma * magnitude + 1e-30), $"C[0,{j}], accumulate={accumulate}");
            }
        }
        float[] row = new float[cOffset + n + 2];
        var gemm = new Gemm(threads: CpuWorkers.Shared.MaxParticipants);
        AllocationAssert.SteadyStateAllocatesNothing(_ => gemm.Multiply(1, n, k, a, b, row, cOffset, n, accumulate: true), 5, "bytes allocated by 5 products of one row");
    }

    [Test]
    public void ConvolutionAndBatchNorm_AreTheSameForEveryThreadCount()
    {
        // a ResNet stage-1 layer: big enough that every GEMM, im2col/col2im and batch-norm channel loop is split across threads
        var random = new Random(5);
        float[]? reference = null;
        foreach (int threads in new[] { 1, 2, 4 })
        {
            using var cpu = new CpuBackend { Threads = threads };
            var window = Window2d.Square(3, 1, 1);
            var x = Upload(cpu, random = new Random(5), new TensorShape(8, 16, 32, 32), "x");
            var w = Upload(cpu, random, new TensorShape(16, 16, 3, 3), "weight");
            var dy = Upload(cpu, random, new TensorShape(8, 16, 32, 32), "dy");
            var y = cpu.Allocate(dy.Shape, "y");
            var dx = cpu.Allocate(x.Shape, "dx");
            var dw = cpu.Allocate(w.Shape, "dw");
            cpu.Conv2dForward(x, w, null, y, window);
            cpu.Conv2dBackward(x, w, dy, dx, dw, null, window);

            var gamma = Upload(cpu, random, new TensorShape(16), "gamma");
            var beta = Upload(cpu, random, new TensorShape(16), "beta");
            var (runningMean, runningVar, mean, invStd) = (cpu.Allocate(gamma.Shape, "rm"), cpu.Allocate(gamma.Shape, "rv"), cpu.Allocate(gamma.Shape, "mean"), cpu.Allocate(gamma.Shape, "inv_std"));
            var (normalized, dNormalized, dGamma, dBeta) = (cpu.Allocate(y.Shape, "bn"), cpu.Allocate(y.Shape, "dbn"), cpu.Allocate(gamma.Shape, "dgamma"), cpu.Allocate(gamma.Shape, "dbeta"));
            cpu.BatchNormForward(y, gamma, beta, runningMean, runningVar, mean, invStd, normalized, training: true, momentum: 0.1f, epsilon: 1e-5f);
            cpu.BatchNormBackward(y, gamma, mean, invStd, dy, dNormalized, dGamma, dBeta, training: true);

            float[] all = [.. Download(y), .. Download(dx), .. Download(dw), .. Download(normalized), .. Download(runningVar), .. Download(dNormalized), .. Download(dGamma), .. Download(dBeta)];
            if (reference is null) reference = all;
            else Assert.That(all, Is.EqualTo(reference), $"{threads} threads: conv y, dx, dW and batch norm y, running variance, dx, dγ, dβ bitwise the same as 1 thread");
        }
    }

    [Test]
    public void Multiply_AllocatesNothingOnceWarm_OnAnyThread()
    {
        var random = new Random(11);
        var a = Operand(random, 64, 600, false, out _);
        var b = Operand(random, 600, 3000, true, out _);
        float[] c = new float[64 * 3000];
        var gemm = new Gemm(threads: CpuWorkers.Shared.MaxParticipants);
        AllocationAssert.SteadyStateAllocatesNothing(_ => gemm.Multiply(64, 3000, 600, a, b, c, 0, 3000, accumulate: true), 5, "bytes allocated by 5 products");
    }

    [Test]
    public void Threads_MustBePositive()
    {
        using var cpu = new CpuBackend();
        Assert.That(cpu.Threads, Is.EqualTo(CpuWorkers.Shared.MaxParticipants));
        Assert.That(() => cpu.Threads = 0, Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("Threads"));
    }

    /// <summary>A random (rows × cols) operand stored at offset 3 with a row stride 2 wider than needed, or its transpose.</summary>
    static GemmOperand Operand(Random random, int rows, int columns, bool transposed, out float[] data)
    {
        int storedRows = transposed ? columns : rows, storedColumns = transposed ? rows : columns, stride = storedColumns + 2;
        data = RandomArray(random, 3 + storedRows * stride);
        return new GemmOperand(data, 3, stride, transposed);
    }

    static float[] RandomArray(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    static Tensor Upload(IBackend backend, Random random, TensorShape shape, string name)
    {
        var tensor = backend.Allocate(shape, name);
        tensor.Upload(RandomArray(random, tensor.Length));
        return tensor;
    }

    static float[] Download(Tensor tensor)
    {
        var values = new float[tensor.Length];
        tensor.Download(values);
        return values;
    }
}

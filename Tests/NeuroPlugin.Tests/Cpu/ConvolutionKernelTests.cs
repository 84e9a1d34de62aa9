namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// Every convolution method of the CPU backend — the direct convolution on phase planes (forward, the stride-1 input
/// gradient, the weight gradient's planes), im2col + GEMM without the im2col matrix, the depthwise kernel, the pointwise
/// GEMM — against the definition evaluated in double (seven loops, no shared code with the backend), on geometries
/// around every edge: kernel 1…7, strides 1…3, asymmetric padding, dilation, groups (depthwise, channel multiplier),
/// batch 1 and 3, odd and panel-sized channel counts, planes narrower and wider than a register tile. Each backend result
/// must lie within float rounding of the exact value: <c>2·γ_K·Σ|terms|</c> with γ_K = K·u/(1 − K·u), the standard
/// bound for a K-term float sum, which holds for any summation order, fused or not.
/// Both arithmetics are run: <see cref="CpuArithmetic.Fast"/> (direct kernels) and <see cref="CpuArithmetic.Reference"/>.
/// </summary>
public class ConvolutionKernelTests
{
    public sealed record Geometry(int Batch, int InChannels, int OutChannels, int Height, int Width, Window2d Window, int Groups = 1)
    {
        public override string ToString() =>
            $"N{Batch} C{InChannels}→{OutChannels} {Height}×{Width} k{Window.KernelHeight}×{Window.KernelWidth} s{Window.StrideHeight}×{Window.StrideWidth} " +
            $"p{Window.PadTop},{Window.PadLeft},{Window.PadBottom},{Window.PadRight} d{Window.DilationHeight}×{Window.DilationWidth} g{Groups}";
    }

    public static IEnumerable<Geometry> Geometries() =>
    [
        new(1, 1, 6, 28, 28, Window2d.Square(5, 1, 2)),                          // LeNet-5 conv1
        new(3, 6, 16, 14, 14, Window2d.Square(5)),                               // LeNet-5 conv2, batch 3
        new(2, 16, 16, 9, 9, Window2d.Square(3, 1, 1)),                          // ResNet-20 block, a 9-wide plane
        new(2, 16, 32, 12, 12, Window2d.Square(3, 2, 1)),                        // stride 2 into the next stage
        new(1, 3, 8, 23, 21, Window2d.Square(7, 2, 3)),                          // the ImageNet stem's shape
        new(1, 5, 9, 11, 13, new Window2d(3, 2, 1, 1, 2, 0, 1, 1)),              // non-square kernel, asymmetric padding
        new(2, 4, 7, 12, 10, new Window2d(3, 3, 1, 1, 2, 2, 2, 2, 2, 2)),        // dilation 2 ('same')
        new(1, 3, 5, 17, 19, new Window2d(3, 3, 3, 2, 1, 0, 2, 1, 1, 2)),        // strides 3×2, dilation 1×2
        new(1, 9, 17, 6, 40, Window2d.Square(3, 1, 1)),                          // a row wider than a register tile
        new(2, 8, 8, 7, 7, Window2d.Square(3, 1, 1), Groups: 8),                 // depthwise
        new(1, 6, 12, 10, 9, Window2d.Square(3, 2, 1), Groups: 6),               // depthwise, multiplier 2, stride 2
        new(2, 6, 4, 8, 8, Window2d.Square(3, 1, 1), Groups: 2),                 // grouped
        new(3, 10, 12, 5, 6, Window2d.Square(1)),                                // pointwise (a small plane: pixels as the GEMM's rows)
        new(2, 40, 20, 14, 14, Window2d.Square(1)),                              // the same on 196 pixels: two row tiles, partial 8×8 blocks
        new(1, 24, 36, 7, 7, Window2d.Square(1), Groups: 2),                     // grouped pointwise on a 7×7 plane
        new(1, 4, 6, 5, 5, new Window2d(1, 1, 1, 1, 0, 0, 1, 1)),                // 1×1 with padding after (not pointwise)
        new(1, 2, 3, 4, 4, Window2d.Square(2, 2)),                               // 2×2 stride 2, no padding
        new(1, 70, 20, 6, 6, Window2d.Square(3, 1, 1)),                          // K = 630 > one depth block of 256
        new(2, 40, 14, 24, 24, Window2d.Square(3, 1, 1)),                        // direct: K = 360 over 19 rows a block, summed in blocks of K
        new(1, 16, 20, 40, 36, Window2d.Square(3, 1, 1)),                        // one large image: a task per block, all its panels (the last partial)
        new(1, 8, 14, 70, 66, Window2d.Square(3, 2, 1)),                         // the same at stride 2
        new(30, 12, 40, 8, 8, Window2d.Square(3, 1, 1)),                         // weight gradient: 2 parts of images × 3 groups of rows (the last partial)
        new(1, 8, 12, 14, 14, Window2d.Square(1, 2)),                           // 1×1 stride 2 (ResNet's shortcut): one phase of four
        new(2, 5, 9, 13, 11, Window2d.Square(1, 2)),                             // the same, odd sizes, batch 2
        new(1, 3, 5, 13, 14, new Window2d(2, 2, 3, 3)),                          // 2×2 stride 3: two phases of three per axis
        new(1, 4, 6, 12, 12, new Window2d(2, 2, 2, 2, 1, 1, 1, 1, 2, 2)),        // dilation 2 stride 2: one phase, padded
        new(1, 3, 4, 11, 12, new Window2d(1, 3, 2, 2, 0, 1, 1, 1)),              // 1×3 stride 2: one row phase, both column phases
        new(1, 120, 64, 7, 7, Window2d.Square(3, 1, 1)),                         // pixels as the GEMM's rows (K ≥ 1024, ≥ 64 outputs): 49 = 6 tiles and a row
        new(2, 116, 80, 9, 9, Window2d.Square(3, 2, 1)),                         // the same at stride 2 on 5×5, a partial column panel, batch 2
        new(1, 114, 64, 15, 15, Window2d.Square(3, 1, 1)),                       // 225 pixels: two row tiles
    ];

    [TestCaseSource(nameof(Geometries))]
    public void ForwardAndBackward_MatchTheDefinition(Geometry c)
    {
        foreach (var arithmetic in new[] { CpuArithmetic.Fast, CpuArithmetic.Reference })
        {
            using var cpu = new CpuBackend { Arithmetic = arithmetic, Threads = 2 };
            var w = c.Window;
            var (x, weight, bias, dy, y, dx, dw, db) = SeededTensors(cpu, c);
            float[] dx0 = dx.ToArray(), dw0 = dw.ToArray(), db0 = db.ToArray();

            cpu.Conv2dForward(x, weight, bias, y, w, c.Groups);
            cpu.Conv2dBackward(x, weight, dy, dx, dw, db, w, c.Groups);

            var exact = Definition(c, x.ToArray(), weight.ToArray(), bias.ToArray(), dy.ToArray());
            string what = $"{c} ({arithmetic})";
            AssertWithin(y.ToArray(), exact.Y, exact.YMagnitude, null, exact.YTerms, $"{what}: y");
            AssertWithin(dx.ToArray(), exact.Dx, exact.DxMagnitude, dx0, exact.DxTerms, $"{what}: dx");
            AssertWithin(dw.ToArray(), exact.Dw, exact.DwMagnitude, dw0, exact.DwTerms, $"{what}: dW");
            AssertWithin(db.ToArray(), exact.Db, exact.DbMagnitude, db0, exact.DbTerms, $"{what}: db");
        }
    }

    [TestCaseSource(nameof(Geometries))]
    public void Results_AreTheSameForEveryThreadCount(Geometry c)
    {
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var cpu = new CpuBackend { Threads = threads };
            var random = new Random(7);
            var w = c.Window;
            var x = Upload(cpu, random, new TensorShape(c.Batch, c.InChannels, c.Height, c.Width), "x");
            var weight = Upload(cpu, random, new TensorShape(c.OutChannels, c.InChannels / c.Groups, w.KernelHeight, w.KernelWidth), "w");
            var dy = Upload(cpu, random, new TensorShape(c.Batch, c.OutChannels, w.OutputHeight(c.Height, "conv"), w.OutputWidth(c.Width, "conv")), "dy");
            var (y, dx, dw) = (cpu.Allocate(dy.Shape, "y"), cpu.Allocate(x.Shape, "dx"), cpu.Allocate(weight.Shape, "dw"));
            cpu.Conv2dForward(x, weight, null, y, w, c.Groups);
            cpu.Conv2dBackward(x, weight, dy, dx, dw, null, w, c.Groups);
            float[] all = [.. y.ToArray(), .. dx.ToArray(), .. dw.ToArray()];
            if (first is null) first = all;
            else Assert.That(all, Is.EqualTo(first), $"{c}: {threads} threads give the bits of 1");
        }
    }

    /// <summary>Each value within <c>2·γ_K·Σ|terms|</c> (plus the rounding of the initial value it was added to) of the exact one.</summary>
    static void AssertWithin(float[] actual, double[] exact, double[] magnitude, float[]? initial, int terms, string what)
    {
        double u = Math.Pow(2, -24), gamma = (terms + 2) * u / (1 - (terms + 2) * u);
        for (int i = 0; i < actual.Length; i++)
        {
            double expected = exact[i] + (initial?[i] ?? 0), bound = 2 * gamma * (magnitude[i] + Math.Abs(initial?[i] ?? 0)) + 1e-30;
            if (Math.Abs(actual[i] - expected) > bound)
                Assert.Fail($"{what}[{i}] = {actual[i]}, exact {expected}, allowed ±{bound:E2}");
        }
    }

    sealed record Exact(double[] Y, double[] YMagnitude, int YTerms, double[] Dx, double[] DxMagnitude, int DxTerms,
        double[] Dw, double[] DwMagnitude, int DwTerms, double[] Db, double[] DbMagnitude, int DbTerms);

    /// <summary>y = b + Σ x·W, dx = Σ W·dy, dW = Σ x·dy, db = Σ dy, in double, from the formula of <see cref="IBackend.Conv2dForward"/>;
    /// with each value's Σ|terms| and the largest number of terms in a sum.</summary>
    static Exact Definition(Geometry c, float[] x, float[] w, float[] b, float[] dy)
    {
        var win = c.Window;
        int oh = win.OutputHeight(c.Height, "conv"), ow = win.OutputWidth(c.Width, "conv");
        int cg = c.InChannels / c.Groups, og = c.OutChannels / c.Groups, kh = win.KernelHeight, kw = win.KernelWidth;
        var (y, ym) = (new double[c.Batch * c.OutChannels * oh * ow], new double[c.Batch * c.OutChannels * oh * ow]);
        var (dx, dxm) = (new double[x.Length], new double[x.Length]);
        var (dw, dwm) = (new double[w.Length], new double[w.Length]);
        var (db, dbm) = (new double[b.Length], new double[b.Length]);
        for (int n = 0; n < c.Batch; n++)
            for (int o = 0; o < c.OutChannels; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        int yi = ((n * c.OutChannels + o) * oh + i) * ow + j;
                        y[yi] = b[o];
                        ym[yi] = Math.Abs(b[o]);
                        db[o] += dy[yi];
                        dbm[o] += Math.Abs(dy[yi]);
                        for (int ci = 0; ci < cg; ci++)
                            for (int p = 0; p < kh; p++)
                                for (int q = 0; q < kw; q++)
                                {
                                    int ih = i * win.StrideHeight - win.PadTop + p * win.DilationHeight;
                                    int iw = j * win.StrideWidth - win.PadLeft + q * win.DilationWidth;
                                    if ((uint)ih >= (uint)c.Height || (uint)iw >= (uint)c.Width) continue;
                                    int xi = ((n * c.InChannels + o / og * cg + ci) * c.Height + ih) * c.Width + iw;
                                    int wi = ((o * cg + ci) * kh + p) * kw + q;
                                    y[yi] += (double)x[xi] * w[wi];
                                    ym[yi] += Math.Abs((double)x[xi] * w[wi]);
                                    dx[xi] += (double)w[wi] * dy[yi];
                                    dxm[xi] += Math.Abs((double)w[wi] * dy[yi]);
                                    dw[wi] += (double)x[xi] * dy[yi];
                                    dwm[wi] += Math.Abs((double)x[xi] * dy[yi]);
                                }
                    }
        int kernelTerms = cg * kh * kw + 1;
        return new Exact(y, ym, kernelTerms, dx, dxm, og * kh * kw + 1, dw, dwm, c.Batch * oh * ow + 1, db, dbm, c.Batch * oh * ow + 1);
    }

    /// <summary>A convolution's tensors for geometry <paramref name="c"/>, seeded by it: x, W, b and dy in [−1, 1), y
    /// allocated, and dx, dW, db non-zero too (backward must add into them).</summary>
    internal sealed record ConvolutionTensors(Tensor X, Tensor Weight, Tensor Bias, Tensor Dy, Tensor Y, Tensor Dx, Tensor Dw, Tensor Db);

    internal static ConvolutionTensors SeededTensors(CpuBackend cpu, Geometry c)
    {
        var random = new Random(c.GetHashCode());
        var w = c.Window;
        var x = Upload(cpu, random, new TensorShape(c.Batch, c.InChannels, c.Height, c.Width), "x");
        var weight = Upload(cpu, random, new TensorShape(c.OutChannels, c.InChannels / c.Groups, w.KernelHeight, w.KernelWidth), "w");
        var bias = Upload(cpu, random, new TensorShape(c.OutChannels), "b");
        var dy = Upload(cpu, random, new TensorShape(c.Batch, c.OutChannels, w.OutputHeight(c.Height, "conv"), w.OutputWidth(c.Width, "conv")), "dy");
        var y = cpu.Allocate(dy.Shape, "y");
        return new(x, weight, bias, dy, y, Upload(cpu, random, x.Shape, "dx"), Upload(cpu, random, weight.Shape, "dw"), Upload(cpu, random, bias.Shape, "db"));
    }

    internal static Tensor Upload(IBackend backend, Random random, TensorShape shape, string name)
    {
        var tensor = backend.Allocate(shape, name);
        var values = new float[tensor.Length];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        tensor.Upload(values);
        return tensor;
    }
}

using NeuroPlugin.Tests.TestSupport;

namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// The CPU backend's Winograd F(2×2, 3×3) convolution (3×3 stride-1 layers of at least 64 channels in
/// <see cref="CpuArithmetic.Fast"/>) against the definition evaluated in double, on geometries around its edges: odd
/// output sizes (a half tile at the bottom and right), asymmetric and no padding, channel counts that are no multiple
/// of the register tile's rows or of a vector, batch 1 and 3. Its error is bounded as for any bilinear algorithm: each
/// value lies within <c>2·γ_{C+16}</c> times the algorithm's own magnitude, <c>|Aᵀ|[Σ_c (|G||g||Gᵀ|) ⊙ (|Bᵀ||d||B|)]|A|</c>
/// (every transform and the sum over channels with absolute values), which bounds the rounding of every addition on the way.
/// </summary>
public class WinogradConvolutionTests
{
    public static IEnumerable<ConvolutionKernelTests.Geometry> Geometries() =>
    [
        new(1, 64, 64, 24, 24, Window2d.Square(3, 1, 1)),                        // even output, ResNet-18's layer shape
        new(2, 64, 70, 25, 23, Window2d.Square(3, 1, 1)),                        // odd output sizes; 70 outputs: a short last panel
        new(1, 70, 66, 26, 30, new Window2d(3, 3, 1, 1, 2, 0, 1, 2)),            // asymmetric padding, 70 inputs
        new(3, 64, 64, 30, 30, Window2d.Square(3)),                              // no padding, batch 3
        new(1, 96, 64, 17, 40, Window2d.Square(3, 1, 1)),                        // a row of tiles wider than a register tile
    ];

    static CpuBackend.ConvGeometry GeometryOf(ConvolutionKernelTests.Geometry c)
    {
        var w = c.Window;
        return new(new TensorShape(c.Batch, c.InChannels, c.Height, c.Width), new TensorShape(c.OutChannels, c.InChannels, 3, 3),
            new TensorShape(c.Batch, c.OutChannels, w.OutputHeight(c.Height, "conv"), w.OutputWidth(c.Width, "conv")), 1);
    }

    [TestCaseSource(nameof(Geometries))]
    public void Forward_IsWithinItsErrorBoundOfTheDefinition(ConvolutionKernelTests.Geometry c)
    {
        Assert.That(WinogradConvolution.Applies(GeometryOf(c), c.Window), Is.True, $"{c}: the test must reach Winograd's convolution");
        using var cpu = new CpuBackend { Threads = 2, UseWinograd = true };
        var (x, weight, _, _, y, _, _, _) = ConvolutionKernelTests.SeededTensors(cpu, c);
        cpu.Conv2dForward(x, weight, null, y, c.Window);
        AssertWithinBound(c, x.ToArray(), weight.ToArray(), y.ToArray(), c.ToString());
    }

    [Test]
    public void NewWeights_AreTransformedAgain()
    {
        var c = Geometries().First();
        using var cpu = new CpuBackend { Threads = 2, UseWinograd = true };
        var (x, weight, _, _, y, _, _, _) = ConvolutionKernelTests.SeededTensors(cpu, c);
        cpu.Conv2dForward(x, weight, null, y, c.Window);
        // one weight changed in place (an optimizer's step): the cached transform must not be used
        float[] changed = weight.ToArray();
        changed[changed.Length / 2 + 3] += 0.75f;
        weight.Upload(changed);
        cpu.Conv2dForward(x, weight, null, y, c.Window);
        AssertWithinBound(c, x.ToArray(), changed, y.ToArray(), $"{c} after a weight changed");
    }

    [Test]
    public void Results_AreTheSameForEveryThreadCount()
    {
        foreach (var c in Geometries())
        {
            float[]? first = null;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                using var cpu = new CpuBackend { Threads = threads, UseWinograd = true };
                var (x, weight, bias, _, y, _, _, _) = ConvolutionKernelTests.SeededTensors(cpu, c);
                cpu.Conv2dForward(x, weight, bias, y, c.Window);
                float[] all = y.ToArray();
                if (first is null) first = all;
                else Assert.That(all, Is.EqualTo(first), $"{c}: {threads} threads give the bits of 1");
            }
        }
    }

    [Test]
    public void LargeBatch_RunInChunks_GivesEachSampleItsOwnBits()
    {
        // 28 samples of 64 channels on 24×24 need more than one chunk of V (26 samples fit): samples 0 and 27 alone must
        // give the bits they have in the batch
        var c = new ConvolutionKernelTests.Geometry(28, 64, 64, 24, 24, Window2d.Square(3, 1, 1));
        using var cpu = new CpuBackend { Threads = 2, UseWinograd = true };
        var (x, weight, bias, _, y, _, _, _) = ConvolutionKernelTests.SeededTensors(cpu, c);
        cpu.Conv2dForward(x, weight, bias, y, c.Window);
        float[] inputs = x.ToArray(), outputs = y.ToArray();
        int inputSize = 64 * 24 * 24, outputSize = 64 * 24 * 24;
        var one = cpu.Allocate(new TensorShape(1, 64, 24, 24), "x1");
        var result = cpu.Allocate(new TensorShape(1, 64, 24, 24), "y1");
        foreach (int n in new[] { 0, 27 })
        {
            one.Upload(inputs.AsSpan(n * inputSize, inputSize).ToArray());
            cpu.Conv2dForward(one, weight, bias, result, c.Window);
            Assert.That(result.ToArray(), Is.EqualTo(outputs.AsSpan(n * outputSize, outputSize).ToArray()), $"sample {n}");
        }
    }

    [Test]
    public void NewInputs_AreTransformedAgain_AndTheSameInputIsNot()
    {
        // V is kept for the last input while its tensor's version stands: the same input again gives the same bits, and an
        // input changed in any way (an upload, an op writing it, a write through a reshaped view) is transformed again
        var c = Geometries().First();
        using var cpu = new CpuBackend { Threads = 2, UseWinograd = true };
        var (x, weight, _, _, y, _, _, _) = ConvolutionKernelTests.SeededTensors(cpu, c);
        cpu.Conv2dForward(x, weight, null, y, c.Window);
        float[] first = y.ToArray();
        cpu.Conv2dForward(x, weight, null, y, c.Window);
        Assert.That(y.ToArray(), Is.EqualTo(first), "the same input: the same bits");
        foreach (var (what, change) in TensorChanges.Of(cpu, x, new Random(3)))
        {
            change();
            cpu.Conv2dForward(x, weight, null, y, c.Window);
            AssertWithinBound(c, x.ToArray(), weight.ToArray(), y.ToArray(), $"{c} after {what}");
        }
    }

    [Test]
    public void Forward_AllocatesNothingOnceWarm()
    {
        var c = Geometries().First();
        using var cpu = new CpuBackend { Threads = 2, UseWinograd = true };
        var (x, weight, bias, _, y, _, _, _) = ConvolutionKernelTests.SeededTensors(cpu, c);
        AllocationAssert.SteadyStateAllocatesNothing(_ => cpu.Conv2dForward(x, weight, bias, y, c.Window), 20, "Winograd's convolution");
    }

    /// <summary>Every y within <c>2·γ_{C+16}</c> times Winograd's magnitude (see the class remarks) of the exact sum.</summary>
    static void AssertWithinBound(ConvolutionKernelTests.Geometry c, float[] x, float[] w, float[] y, string what)
    {
        var win = c.Window;
        int oh = win.OutputHeight(c.Height, "conv"), ow = win.OutputWidth(c.Width, "conv"), channels = c.InChannels;
        double u = Math.Pow(2, -24), gamma = (channels + 16) * u / (1 - (channels + 16) * u);
        double[,] g = { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, 0.5, 0.5 } , { 0, 0, 1 } }; // |G|
        double[,] bt = { { 1, 0, 1, 0 }, { 0, 1, 1, 0 }, { 0, 1, 1, 0 }, { 0, 1, 0, 1 } }; // |Bᵀ|
        double[,] at = { { 1, 1, 1, 0 }, { 0, 1, 1, 1 } };                                   // |Aᵀ|
        // |U| = |G||g||Gᵀ| per (o, c)
        var weightMagnitude = new double[c.OutChannels, channels, 4, 4];
        for (int o = 0; o < c.OutChannels; o++)
            for (int ci = 0; ci < channels; ci++)
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++)
                    {
                        double sum = 0;
                        for (int p = 0; p < 3; p++)
                            for (int q = 0; q < 3; q++) sum += g[i, p] * Math.Abs(w[((o * channels + ci) * 3 + p) * 3 + q]) * g[j, q];
                        weightMagnitude[o, ci, i, j] = sum;
                    }
        var patch = new double[channels, 4, 4];
        for (int n = 0; n < c.Batch; n++)
            for (int ti = 0; ti < (oh + 1) / 2; ti++)
                for (int tj = 0; tj < (ow + 1) / 2; tj++)
                {
                    // |V| = |Bᵀ||d||B| of each channel's patch
                    for (int ci = 0; ci < channels; ci++)
                        for (int i = 0; i < 4; i++)
                            for (int j = 0; j < 4; j++)
                            {
                                double sum = 0;
                                for (int p = 0; p < 4; p++)
                                    for (int q = 0; q < 4; q++)
                                    {
                                        int ih = 2 * ti + p - win.PadTop, iw = 2 * tj + q - win.PadLeft;
                                        if ((uint)ih < (uint)c.Height && (uint)iw < (uint)c.Width)
                                            sum += bt[i, p] * Math.Abs(x[((n * channels + ci) * c.Height + ih) * c.Width + iw]) * bt[j, q];
                                    }
                                patch[ci, i, j] = sum;
                            }
                    for (int o = 0; o < c.OutChannels; o++)
                        for (int a = 0; a < 2; a++)
                            for (int b = 0; b < 2; b++)
                            {
                                int row = 2 * ti + a, column = 2 * tj + b;
                                if (row >= oh || column >= ow) continue;
                                double magnitude = 0, exact = 0;
                                for (int i = 0; i < 4; i++)
                                    for (int j = 0; j < 4; j++)
                                    {
                                        if (at[a, i] == 0 || at[b, j] == 0) continue;
                                        for (int ci = 0; ci < channels; ci++) magnitude += weightMagnitude[o, ci, i, j] * patch[ci, i, j];
                                    }
                                for (int ci = 0; ci < channels; ci++)
                                    for (int p = 0; p < 3; p++)
                                        for (int q = 0; q < 3; q++)
                                        {
                                            int ih = row + p - win.PadTop, iw = column + q - win.PadLeft;
                                            if ((uint)ih < (uint)c.Height && (uint)iw < (uint)c.Width)
                                                exact += (double)x[((n * channels + ci) * c.Height + ih) * c.Width + iw] * w[((o * channels + ci) * 3 + p) * 3 + q];
                                        }
                                int index = ((n * c.OutChannels + o) * oh + row) * ow + column;
                                double bound = 2 * gamma * magnitude + 1e-30;
                                if (Math.Abs(y[index] - exact) > bound)
                                    Assert.Fail($"{what}: y[{index}] = {y[index]}, exact {exact}, allowed ±{bound:E2}");
                            }
                }
    }
}

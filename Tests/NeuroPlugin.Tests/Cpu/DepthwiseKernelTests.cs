namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// The CPU depthwise kernel (one input channel per group) bit for bit against its definition: each output is one chain
/// <c>s = 0; s = s ⊕ W[o,0,p,q]·x[…]</c> over the taps, p then q ascending, the padding's zeros included, then the bias
/// added — fused multiply-adds where the backend's GEMM kernel has them (<see cref="CpuArithmetic.Fast"/> on an FMA
/// processor), products rounded first otherwise. On planes narrower than a vector, between one and two vectors wide,
/// wider than a 512-column block, odd sizes, strides 1–3, asymmetric padding, dilation, channel multiplier 2 and
/// kernels other than 3×3. Also the row mover the kernel and the phase planes share (<c>DirectConvolution.CopyRows</c>).
/// </summary>
public class DepthwiseKernelTests
{
    public sealed record Case(int Batch, int Channels, int Multiplier, int Height, int Width, Window2d Window)
    {
        public override string ToString() =>
            $"N{Batch} C{Channels}×{Multiplier} {Height}×{Width} k{Window.KernelHeight}×{Window.KernelWidth} s{Window.StrideHeight}×{Window.StrideWidth} " +
            $"p{Window.PadTop},{Window.PadLeft},{Window.PadBottom},{Window.PadRight} d{Window.DilationHeight}×{Window.DilationWidth}";
    }

    public static IEnumerable<Case> Cases() =>
    [
        new(1, 4, 1, 5, 5, Window2d.Square(3, 1, 1)),                          // rows narrower than 8 floats
        new(1, 9, 1, 7, 7, Window2d.Square(3, 1, 1)),                          // MobileNet v2's 7×7 stage
        new(1, 3, 1, 12, 11, Window2d.Square(3, 1, 1)),                        // rows of 8–15 floats
        new(2, 5, 1, 17, 19, Window2d.Square(3, 1, 1)),                        // rows of 16+ floats, batch 2
        new(1, 2, 1, 40, 37, Window2d.Square(3, 1, 1)),                        // several blocks of output rows
        new(1, 3, 1, 9, 10, Window2d.Square(3)),                               // no padding
        new(1, 4, 1, 9, 14, new Window2d(3, 3, 1, 1, 0, 2, 2, 0)),             // asymmetric padding
        new(1, 3, 1, 15, 15, Window2d.Square(3, 2, 1)),                        // stride 2, odd size
        new(1, 2, 1, 112, 112, Window2d.Square(3, 2, 1)),                      // MobileNet v2's 112² stride-2 layer
        new(1, 3, 1, 23, 21, new Window2d(3, 3, 2, 2, 0, 0, 1, 1)),            // stride 2, 'same' padding after
        new(1, 2, 1, 16, 17, Window2d.Square(3, 3, 1)),                        // stride 3
        new(1, 6, 2, 10, 9, Window2d.Square(3, 1, 1)),                         // channel multiplier 2
        new(1, 3, 1, 13, 13, Window2d.Square(5, 1, 2)),                        // 5×5 (the general taps loop)
        new(1, 2, 1, 11, 11, new Window2d(3, 3, 1, 1, 2, 2, 2, 2, 2, 2)),      // dilation 2
        new(1, 3, 1, 6, 6, Window2d.Square(1)),                                // 1×1 depthwise (a per-channel scale)
    ];

    [TestCaseSource(nameof(Cases))]
    public void Forward_GivesTheBitsOfOneChainPerOutput(Case c)
    {
        foreach (var arithmetic in new[] { CpuArithmetic.Fast, CpuArithmetic.Reference }) AssertChainBits(c, arithmetic);
    }

    static void AssertChainBits(Case c, CpuArithmetic arithmetic)
    {
        using var cpu = new CpuBackend { Arithmetic = arithmetic, Threads = 2 };
        var w = c.Window;
        int outChannels = c.Channels * c.Multiplier, oh = w.OutputHeight(c.Height, "dw"), ow = w.OutputWidth(c.Width, "dw");
        var random = new Random(c.GetHashCode());
        var x = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(c.Batch, c.Channels, c.Height, c.Width), "x");
        var weight = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(outChannels, 1, w.KernelHeight, w.KernelWidth), "w");
        var bias = ConvolutionKernelTests.Upload(cpu, random, new TensorShape(outChannels), "b");
        var y = cpu.Allocate(new TensorShape(c.Batch, outChannels, oh, ow), "y");

        cpu.Conv2dForward(x, weight, bias, y, w, groups: c.Channels);

        bool fused = arithmetic == CpuArithmetic.Fast && Gemm.FastestKernel is GemmKernel.Vector256Fma or GemmKernel.Vector512Fma;
        float[] xs = x.ToArray(), ws = weight.ToArray(), bs = bias.ToArray(), actual = y.ToArray();
        for (int n = 0; n < c.Batch; n++)
            for (int o = 0; o < outChannels; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        float sum = 0f;
                        for (int p = 0; p < w.KernelHeight; p++)
                            for (int q = 0; q < w.KernelWidth; q++)
                            {
                                int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight, iw = j * w.StrideWidth - w.PadLeft + q * w.DilationWidth;
                                bool inside = (uint)ih < (uint)c.Height && (uint)iw < (uint)c.Width;
                                float value = inside ? xs[((n * c.Channels + o / c.Multiplier) * c.Height + ih) * c.Width + iw] : 0f;
                                float weightValue = ws[(o * w.KernelHeight + p) * w.KernelWidth + q];
                                sum = fused ? MathF.FusedMultiplyAdd(weightValue, value, sum) : sum + weightValue * value;
                            }
                        float expected = sum + bs[o], got = actual[((n * outChannels + o) * oh + i) * ow + j];
                        if (BitConverter.SingleToInt32Bits(got) != BitConverter.SingleToInt32Bits(expected))
                            Assert.Fail($"{c} ({arithmetic}): y[{n},{o},{i},{j}] = {got:R}, the chain gives {expected:R}");
                    }
    }

    [Test]
    public void CopyRows_MovesEachRowsValuesAndNothingElse()
    {
        var random = new Random(5);
        for (int width = 1; width <= 40; width++)
            foreach (int rows in new[] { 1, 2, 5 })
                foreach (var (sourceGap, targetGap) in new[] { (0, 0), (3, 0), (0, 2), (7, 5) })
                {
                    int sourceStride = width + sourceGap, targetStride = width + targetGap;
                    var source = new float[(rows - 1) * sourceStride + width + 3];
                    for (int k = 0; k < source.Length; k++) source[k] = (float)random.NextDouble();
                    var target = new float[(rows - 1) * targetStride + width + 3];
                    Array.Fill(target, float.NaN);

                    DirectConvolution.CopyRows(source, sourceStride, target, targetStride, width, rows);

                    for (int k = 0; k < target.Length; k++)
                    {
                        int r = k / targetStride, s = k % targetStride;
                        bool moved = r < rows && s < width;
                        float expected = moved ? source[r * sourceStride + s] : float.NaN;
                        Assert.That(target[k], moved ? Is.EqualTo(expected) : Is.NaN,
                            $"width {width}, {rows} rows, strides {sourceStride}→{targetStride}: target[{k}]");
                    }
                }
    }

    [Test]
    public void CopyRows_RejectsSpansTooShortForTheRows()
    {
        var source = new float[20];
        var target = new float[20];
        Assert.DoesNotThrow(() => DirectConvolution.CopyRows(source, 10, target, 12, 8, 2));                   // 18 and 20 floats: they fit
        Assert.Throws<ArgumentException>(() => DirectConvolution.CopyRows(source, 10, target, 13, 8, 2)); // the target would need 21
        Assert.Throws<ArgumentException>(() => DirectConvolution.CopyRows(source, 10, target, 5, 8, 3));  // the source would need 28
    }
}

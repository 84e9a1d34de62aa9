namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// A strided convolution's input gradient by stride phases (<c>CpuBackend.StridedInputGradient.cs</c>): on strides 2 and 3,
/// odd and even sizes, kernels 1 to 5, padding 0 to 2 and asymmetric, phases that no tap reaches (1×1 and 2×2 windows at
/// stride 2 and 3), rows long enough for the interleaving vectors and their tails, dx must lie within float rounding of
/// the definition in double, setting dx (from NaN) must give the bits of adding to zeros, adding must give the bits of
/// the set gradient added to what was there, and every thread count the same bits.
/// </summary>
public class StridedInputGradientTests
{
    public static IEnumerable<TestCaseData> Windows()
    {
        yield return new TestCaseData(32, 32, Window2d.Square(3, 2, 1)).SetArgDisplayNames("3x3 stride 2 pad 1, 32x32 (ResNet's downsampling)");
        yield return new TestCaseData(15, 37, Window2d.Square(3, 2, 1)).SetArgDisplayNames("3x3 stride 2 pad 1, 15x37");
        yield return new TestCaseData(14, 14, Window2d.Square(1, 2)).SetArgDisplayNames("1x1 stride 2 (no tap reaches the odd phases)");
        yield return new TestCaseData(13, 11, new Window2d(2, 2, 3, 3)).SetArgDisplayNames("2x2 stride 3");
        yield return new TestCaseData(17, 19, Window2d.Square(5, 2, 2)).SetArgDisplayNames("5x5 stride 2 pad 2");
        yield return new TestCaseData(16, 18, Window2d.Square(3, 2)).SetArgDisplayNames("3x3 stride 2 pad 0");
        yield return new TestCaseData(20, 22, Window2d.Square(3, 3, 1)).SetArgDisplayNames("3x3 stride 3 pad 1");
        yield return new TestCaseData(12, 40, new Window2d(4, 4, 2, 2, 1, 1, 1, 1)).SetArgDisplayNames("4x4 stride 2 pad 1, 12x40");
        yield return new TestCaseData(11, 33, new Window2d(3, 3, 2, 2, 0, 1, 1, 0)).SetArgDisplayNames("3x3 stride 2, asymmetric padding");
        yield return new TestCaseData(9, 34, new Window2d(3, 3, 2, 1, 1, 1, 1, 1)).SetArgDisplayNames("3x3 stride (2, 1)");
    }

    [TestCaseSource(nameof(Windows))]
    public void InputGradient_ByPhases(int height, int width, Window2d window)
    {
        const int batch = 3, channels = 10, outputs = 12;
        int oh = window.OutputHeight(height, "conv"), ow = window.OutputWidth(width, "conv");
        var random = new Random(height * 100 + width);
        float[] w = Values(random, outputs * channels * window.KernelHeight * window.KernelWidth), dy = Values(random, batch * outputs * oh * ow);
        float[] dx0 = Values(random, batch * channels * height * width);
        float[]? reference = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var cpu = new CpuBackend { Threads = threads };
            var x = cpu.Allocate(new TensorShape(batch, channels, height, width), "x");
            var weight = Upload(cpu, w, new TensorShape(outputs, channels, window.KernelHeight, window.KernelWidth));
            var outputGrad = Upload(cpu, dy, new TensorShape(batch, outputs, oh, ow));
            var set = Upload(cpu, Enumerable.Repeat(float.NaN, dx0.Length).ToArray(), x.Shape);
            var fromZero = cpu.Allocate(x.Shape, "zeros");
            var added = Upload(cpu, dx0, x.Shape);
            cpu.Conv2dBackward(x, weight, outputGrad, set, null, null, window, accumulate: false);
            cpu.Conv2dBackward(x, weight, outputGrad, fromZero, null, null, window);
            cpu.Conv2dBackward(x, weight, outputGrad, added, null, null, window);
            float[] result = set.ToArray();
            Assert.That(result, Is.EqualTo(fromZero.ToArray()), $"{threads} thread(s): setting dx gives the bits of adding to zeros");
            Assert.That(added.ToArray(), Is.EqualTo(dx0.Zip(result, (a, b) => a + b).ToArray()), $"{threads} thread(s): adding gives dx0 + the gradient");
            if (reference is null)
            {
                reference = result;
                AssertNearDefinition(result, w, dy, batch, channels, outputs, height, width, oh, ow, window);
            }
            else Assert.That(result, Is.EqualTo(reference), $"{threads} threads give the bits of 1");
        }
    }

    /// <summary>dx[n, c, h, w] = Σ_{o, p, q} W[o, c, p, q]·dy[n, o, i, j] over h = s·i − pad + p, w = s·j − pad + q, in double,
    /// within 2·γ_K·Σ|terms| (K the most terms of a sum).</summary>
    static void AssertNearDefinition(float[] dx, float[] w, float[] dy, int batch, int channels, int outputs, int height, int width, int oh, int ow, Window2d win)
    {
        var (exact, magnitude) = (new double[dx.Length], new double[dx.Length]);
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outputs; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                        for (int c = 0; c < channels; c++)
                            for (int p = 0; p < win.KernelHeight; p++)
                                for (int q = 0; q < win.KernelWidth; q++)
                                {
                                    int h = i * win.StrideHeight - win.PadTop + p, x = j * win.StrideWidth - win.PadLeft + q;
                                    if (h < 0 || h >= height || x < 0 || x >= width) continue;
                                    double term = (double)w[((o * channels + c) * win.KernelHeight + p) * win.KernelWidth + q] * dy[((n * outputs + o) * oh + i) * ow + j];
                                    int index = ((n * channels + c) * height + h) * width + x;
                                    exact[index] += term;
                                    magnitude[index] += Math.Abs(term);
                                }
        int terms = outputs * win.KernelHeight * win.KernelWidth;
        double u = Math.Pow(2, -24), gamma = (terms + 2) * u / (1 - (terms + 2) * u);
        for (int i = 0; i < dx.Length; i++)
            if (Math.Abs(dx[i] - exact[i]) > 2 * gamma * magnitude[i] + 1e-30)
                Assert.Fail($"dx[{i}] = {dx[i]}, exact {exact[i]}, allowed ±{2 * gamma * magnitude[i]:E2}");
    }

    static Tensor Upload(CpuBackend cpu, float[] values, TensorShape shape)
    {
        var tensor = cpu.Allocate(shape, "t");
        tensor.Upload(values);
        return tensor;
    }

    static float[] Values(Random random, int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
}

namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// Max pooling's vectorized interior (16 or 8 outputs at a time for strides 1 and 2: every width this processor runs, and
/// the scalar loop alone) and scalar borders against the rule written
/// out here: the maximum over the in-bounds window, the first maximum in window order (rows, then columns) for the index,
/// −∞ and index −1 for a window with no input element, NaN never replacing a value once one is taken (the scalar
/// comparison's behaviour). Inputs full of ties (values drawn from 4 levels), NaN and −∞ check the selection rule; widths
/// above 16 and 32 reach the vector path, and planes above 4096 pixels (not copied) the vector path's reads up to the
/// plane's end. Forward and backward, every thread count.
/// </summary>
public class PoolingKernelTests
{
    public sealed record Case(int Planes, int Height, int Width, Window2d Window)
    {
        public override string ToString() => $"{Planes}×{Height}×{Width} {Window}";
    }

    public static IEnumerable<Case> Cases() =>
    [
        new(3, 28, 28, Window2d.Square(2, 2)),                                // LeNet-5
        new(2, 56, 56, Window2d.Square(3, 2, 1)),                             // the ImageNet stem's pool
        new(2, 40, 45, Window2d.Square(3, 1, 1)),                             // stride 1, odd width
        new(1, 37, 70, new Window2d(2, 3, 1, 2, 0, 1, 1, 2)),                 // asymmetric, stride 2 across
        new(2, 21, 50, new Window2d(3, 3, 2, 2, 2, 2, 2, 2, 2, 2)),           // dilation 2
        new(1, 9, 80, new Window2d(2, 2, 3, 3, 1, 1, 1, 1)),                  // stride 3 (scalar)
        new(2, 33, 33, Window2d.Square(3, 2)),                                // no padding, the last rows at the plane's end
        new(1, 70, 75, Window2d.Square(3, 2, 1)),                             // planes too large to copy: reads end in the plane
        new(1, 65, 67, Window2d.Square(2, 2)),                                // the same without padding, an odd width
        new(1, 130, 32, Window2d.Square(2, 2)),                               // the last row's last vector would read past the plane
        new(1, 64, 81, Window2d.Square(3, 1, 1)),                             // stride 1 on a large plane
    ];

    [TestCaseSource(nameof(Cases))]
    public void MaxPool_MatchesTheRule(Case c)
    {
        var w = c.Window;
        int oh = w.OutputHeight(c.Height, "pool"), ow = w.OutputWidth(c.Width, "pool");
        var random = new Random(c.Height * 31 + c.Width);
        var x = new float[c.Planes * c.Height * c.Width];
        for (int i = 0; i < x.Length; i++)
            x[i] = random.Next(40) switch { 0 => float.NaN, 1 => float.NegativeInfinity, var k => k % 4 - 1.5f };
        var dy = new float[c.Planes * oh * ow];
        for (int i = 0; i < dy.Length; i++) dy[i] = (float)random.NextDouble();
        var (expectedY, expectedIndex) = Rule(c, x, oh, ow);

        foreach (int lanes in new[] { 0, 8, 16 }.Where(lanes => lanes <= MaxPoolLanes.FastestCount))
        foreach (int threads in new[] { 1, 2, 3 })
        {
            using var cpu = new CpuBackend { Threads = threads, MaxPoolLaneCount = lanes };
            var input = Upload(cpu, new TensorShape(c.Planes, 1, c.Height, c.Width), x);
            var (y, argmax) = (cpu.Allocate(new TensorShape(c.Planes, 1, oh, ow), "y"), cpu.Allocate(new TensorShape(c.Planes, 1, oh, ow), "argmax"));
            cpu.MaxPool2dForward(input, y, argmax, w);
            Assert.That(y.ToArray(), Is.EqualTo(expectedY), $"{c}, {lanes} lanes, {threads} threads: y");
            Assert.That(argmax.ToArray(), Is.EqualTo(expectedIndex), $"{c}, {lanes} lanes, {threads} threads: argmax");

            var dx = Upload(cpu, input.Shape, Enumerable.Repeat(0.5f, x.Length).ToArray());
            cpu.MaxPool2dBackward(argmax, Upload(cpu, y.Shape, dy), dx, w);
            var expectedDx = Enumerable.Repeat(0.5f, x.Length).ToArray();
            for (int o = 0; o < dy.Length; o++)
                if (expectedIndex[o] >= 0) expectedDx[o / (oh * ow) * c.Height * c.Width + (int)expectedIndex[o]] += dy[o];
            Assert.That(dx.ToArray(), Is.EqualTo(expectedDx), $"{c}, {lanes} lanes, {threads} threads: dx");
        }
    }

    [Test]
    public void MaxPoolLaneCount_RefusesAWidthThisProcessorCannotRun()
    {
        using var cpu = new CpuBackend();
        Assert.That(cpu.MaxPoolLaneCount, Is.EqualTo(MaxPoolLanes.FastestCount));
        Assert.That(() => cpu.MaxPoolLaneCount = 4, Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("0, 8 (AVX2) or 16 (AVX-512F)"));
        if (MaxPoolLanes.FastestCount < 16)
            Assert.That(() => cpu.MaxPoolLaneCount = 16, Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains($"at most {MaxPoolLanes.FastestCount}"));
    }

    /// <summary>The rule, one output at a time.</summary>
    static (float[] Y, float[] Index) Rule(Case c, float[] x, int oh, int ow)
    {
        var w = c.Window;
        var (y, index) = (new float[c.Planes * oh * ow], new float[c.Planes * oh * ow]);
        for (int plane = 0; plane < c.Planes; plane++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    float best = float.NegativeInfinity;
                    int chosen = -1;
                    for (int p = 0; p < w.KernelHeight; p++)
                        for (int q = 0; q < w.KernelWidth; q++)
                        {
                            int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight, iw = j * w.StrideWidth - w.PadLeft + q * w.DilationWidth;
                            if (ih < 0 || ih >= c.Height || iw < 0 || iw >= c.Width) continue;
                            float v = x[(plane * c.Height + ih) * c.Width + iw];
                            if (chosen < 0 || v > best) (best, chosen) = (v, ih * c.Width + iw);
                        }
                    (y[(plane * oh + i) * ow + j], index[(plane * oh + i) * ow + j]) = (best, chosen);
                }
        return (y, index);
    }

    static Tensor Upload(IBackend backend, TensorShape shape, float[] values)
    {
        var tensor = backend.Allocate(shape, "t");
        tensor.Upload(values);
        return tensor;
    }
}

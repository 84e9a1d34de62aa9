using NeuroPlugin.Tests.Cpu;

namespace NeuroPlugin.Tests.Ops;

/// <summary>Convolution on the CPU reference: finite differences on randomized windows (padding, stride, dilation,
/// asymmetric padding) and with groups (depthwise, channel multiplier), a hand-computed case, and the groups' shape rule.
/// (PyTorch and GL: <see cref="ConvolutionGLTests"/>; the CPU's kernels against the definition: Cpu/ConvolutionKernelTests.)</summary>
public class ConvolutionTests
{
    readonly CpuBackend cpu = new();

    [TestCaseSource(typeof(CpuGradientTests), nameof(CpuGradientTests.WindowCases))]
    public void Conv2d(int batch, int inChannels, int height, int width, Window2d window)
    {
        var check = new GradientCheck(new Random(height * 31 + width));
        int outChannels = 3;
        var x = check.RandomTensor(cpu, new TensorShape(batch, inChannels, height, width), "x");
        var w = check.RandomTensor(cpu, new TensorShape(outChannels, inChannels, window.KernelHeight, window.KernelWidth), "weight");
        var b = check.RandomTensor(cpu, new TensorShape(outChannels), "bias");
        var y = cpu.Allocate(new TensorShape(batch, outChannels, window.OutputHeight(height, "conv"), window.OutputWidth(width, "conv")), "y");
        var dx = cpu.Allocate(x.Shape, "dx");
        var dw = cpu.Allocate(w.Shape, "dw");
        var db = cpu.Allocate(b.Shape, "db");
        check.Run($"Conv2d {window}", [x, w, b], y, () => cpu.Conv2dForward(x, w, b, y, window), [dx, dw, db],
            dy => cpu.Conv2dBackward(x, w, dy, dx, dw, db, window));
    }

    [TestCase(0, 1, new[] { 12f, 16f, 24f, 28f })]
    [TestCase(1, 2, new[] { 1f, 5f, 11f, 28f })]
    public void Conv2d_HandComputed(int padding, int stride, float[] expected)
    {
        // x = 1..9 as 3×3, a 2×2 kernel of ones: each output is the sum of the window's in-bounds elements
        var x = cpu.Allocate(new TensorShape(1, 1, 3, 3), "x");
        x.Upload([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var w = cpu.Allocate(new TensorShape(1, 1, 2, 2), "w");
        w.Upload([1, 1, 1, 1]);
        var y = cpu.Allocate(new TensorShape(1, 1, 2, 2), "y");
        cpu.Conv2dForward(x, w, null, y, Window2d.Square(2, stride, padding));
        Assert.That(y.ToArray(), Is.EqualTo(expected));
    }

    [TestCase(1, 4, 6, 2, 7, 5, 3, 1, 1)]    // two groups
    [TestCase(7, 3, 3, 3, 6, 6, 3, 2, 1)]    // depthwise, stride 2
    [TestCase(2, 2, 6, 2, 5, 4, 1, 1, 0)]    // 1×1 grouped (pointwise per group), channel multiplier 3
    public void Conv2d_Grouped(int batch, int inChannels, int outChannels, int groups, int height, int width, int kernel, int stride, int padding)
    {
        var check = new GradientCheck(new Random(inChannels * 13 + groups));
        var window = Window2d.Square(kernel, stride, padding);
        var x = check.RandomTensor(cpu, new TensorShape(batch, inChannels, height, width), "x");
        var w = check.RandomTensor(cpu, new TensorShape(outChannels, inChannels / groups, kernel, kernel), "weight");
        var b = check.RandomTensor(cpu, new TensorShape(outChannels), "bias");
        var y = cpu.Allocate(new TensorShape(batch, outChannels, window.OutputHeight(height, "conv"), window.OutputWidth(width, "conv")), "y");
        var dx = cpu.Allocate(x.Shape, "dx");
        var dw = cpu.Allocate(w.Shape, "dw");
        var db = cpu.Allocate(b.Shape, "db");
        check.Run($"Conv2d groups={groups}", [x, w, b], y, () => cpu.Conv2dForward(x, w, b, y, window, groups), [dx, dw, db],
            dy => cpu.Conv2dBackward(x, w, dy, dx, dw, db, window, groups));
    }

    [Test]
    public void Groups_MustDivideBothChannelCounts()
    {
        Assert.That(() => new NeuroPlugin.Layers.Conv2d(6, 4, 3, groups: 4),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("groups").And.Message.Contains("in 6, out 4"));
        var depthwise = new NeuroPlugin.Layers.Conv2d(8, 8, 3, groups: 8);
        Assert.That(depthwise.Parameters[0].Shape, Is.EqualTo(new TensorShape(8, 1, 3, 3)));
    }
}

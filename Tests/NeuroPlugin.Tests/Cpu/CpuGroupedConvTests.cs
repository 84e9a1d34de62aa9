namespace NeuroPlugin.Tests.Cpu;

/// <summary>Grouped and depthwise convolution on the CPU: finite differences, and the shape rules.</summary>
public class CpuGroupedConvTests
{
    readonly CpuBackend cpu = new();

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

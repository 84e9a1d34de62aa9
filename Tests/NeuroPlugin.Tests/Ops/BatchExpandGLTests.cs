namespace NeuroPlugin.Tests.Ops;

/// <summary>BatchExpand on GL against the CPU reference (CPU finite differences: <see cref="BatchExpandTests"/>).</summary>
public sealed class BatchExpandGLTests : GLFixture
{
    [TestCase(1, 1, 1)]
    [TestCase(3, 1, 32)]
    [TestCase(7, 5, 9)]
    public void ForwardAndBackwardMatchCpu(int batch, int rows, int columns)
    {
        using var twins = new TwinBackends(Backend, TwinBackends.Seed(batch, rows, columns));
        var c = twins.Random(new TensorShape(rows, columns), "c");
        var y = twins.Random(new TensorShape(batch, rows, columns), "y");
        twins.Run(be => be.BatchExpandForward(c[be], y[be]));
        TwinBackends.AssertSame(y, "batch expand forward");
        var dy = twins.Random(y.Cpu.Shape, "dy");
        var dc = twins.Random(c.Cpu.Shape, "dc");
        twins.Run(be => be.BatchExpandBackward(dy[be], dc[be]));
        TwinBackends.AssertSame(dc, "batch expand backward (added to what was there)");
    }
}

namespace NeuroPlugin.Tests.Ops;

/// <summary>Softmax on GL against the CPU reference on seeded random data (1e-4 relative): odd shapes and huge logits. The
/// output starts as garbage (must be overwritten), the gradient as random values (backward must add).</summary>
public sealed class SoftmaxGLTests : GLFixture
{
    [TestCase(1, 1, 3.0)]
    [TestCase(7, 10, 3.0)]
    [TestCase(3, 1001, 5.0)]
    [TestCase(64, 13, 3.0)]
    [TestCase(5, 7, 500.0)]
    public void SoftmaxMatchesCpu(int rows, int classes, double scale)
    {
        using var twins = new TwinBackends(Backend, TwinBackends.Seed(rows, classes));
        var x = twins.Random(new TensorShape(rows, classes), "x", scale);
        var y = twins.Random(x.Cpu.Shape, "y", 100);
        twins.Run(be => be.SoftmaxForward(x[be], y[be]));
        TwinBackends.AssertSame(y, "softmax forward");
        var dy = twins.Random(x.Cpu.Shape, "dy");
        var dx = twins.Random(x.Cpu.Shape, "dx");
        twins.Run(be => be.SoftmaxBackward(y[be], dy[be], dx[be]));
        TwinBackends.AssertSame(dx, "softmax backward");
    }
}

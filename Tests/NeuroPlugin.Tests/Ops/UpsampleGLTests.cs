namespace NeuroPlugin.Tests.Ops;

/// <summary>The bilinear resize on GL: equal to the CPU reference on random shapes (enlarging, shrinking, Fashion-MNIST
/// to the zoo's sizes) and to PyTorch's golden files.</summary>
public sealed class UpsampleGLTests : GLFixture
{
    [TestCase(2, 3, 4, 5, 9, 7)]
    [TestCase(1, 2, 7, 6, 3, 4)]
    [TestCase(3, 1, 28, 28, 63, 63)]
    [TestCase(1, 1, 28, 28, 299, 299)]
    [TestCase(2, 2, 13, 9, 5, 20)]
    public void MatchesCpu(int n, int c, int h, int w, int oh, int ow)
    {
        using var twins = new TwinBackends(Backend, h * 31 + oh);
        float rh = (float)h / oh, rw = (float)w / ow;
        twins.AssertForwardBackwardSame(new TensorShape(n, c, h, w), new TensorShape(n, c, oh, ow),
            (b, x, y) => b.UpsampleBilinear2dForward(x, y, rh, rw), (b, dy, dx) => b.UpsampleBilinear2dBackward(dy, dx, rh, rw));
    }

    [TestCaseSource(typeof(UpsampleChecks), nameof(UpsampleChecks.GoldenFiles))]
    public void MatchesPyTorch(string name) => UpsampleChecks.MatchesPyTorch(Backend, name);
}

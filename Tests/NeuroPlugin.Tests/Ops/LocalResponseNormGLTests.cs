namespace NeuroPlugin.Tests.Ops;

/// <summary>Local response normalization on GL against the CPU reference on seeded random data (1e-4 relative): every size
/// from 1 to more than the channels, (N,C) and (N,C,H,W). Outputs start as garbage, the gradient as random values.</summary>
public sealed class LocalResponseNormGLTests : GLFixture
{
    public static IEnumerable<TestCaseData> LrnCases()
    {
        foreach (int size in new[] { 1, 2, 3, 4, 5, 9 })
            yield return new TestCaseData(new TensorShape(3, 7, 5, 3), size).SetArgDisplayNames($"(3,7,5,3) size {size}");
        yield return new TestCaseData(new TensorShape(1, 96, 13, 13), 5).SetArgDisplayNames("AlexNet-like (1,96,13,13) size 5");
        yield return new TestCaseData(new TensorShape(7, 6), 4).SetArgDisplayNames("(7,6) size 4");
        yield return new TestCaseData(new TensorShape(2, 1, 3, 3), 3).SetArgDisplayNames("(2,1,3,3) one channel");
    }

    [TestCaseSource(nameof(LrnCases))]
    public void LocalResponseNormMatchesCpu(TensorShape shape, int size)
    {
        const float alpha = 0.4f, beta = 0.75f, k = 1.5f;
        using var twins = new TwinBackends(Backend, TwinBackends.Seed(shape, size));
        var x = twins.Random(shape, "x", 2);
        var y = twins.Random(shape, "y", 100);
        var scale = twins.Random(shape, "scale", 100);
        twins.Run(be => be.LocalResponseNormForward(x[be], y[be], scale[be], size, alpha, beta, k));
        TwinBackends.AssertSame(y, "lrn forward y");
        TwinBackends.AssertSame(scale, "lrn forward scale");
        var dy = twins.Random(shape, "dy");
        var dx = twins.Random(shape, "dx");
        twins.Run(be => be.LocalResponseNormBackward(x[be], y[be], scale[be], dy[be], dx[be], size, alpha, beta));
        TwinBackends.AssertSame(dx, "lrn backward");
    }
}

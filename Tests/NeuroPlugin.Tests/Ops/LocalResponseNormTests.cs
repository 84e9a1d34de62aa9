namespace NeuroPlugin.Tests.Ops;

/// <summary>Finite-difference gradient checks of local response normalization on the CPU: odd and even windows, windows wider
/// than the channels, (N,C) input. (PyTorch: Toolkit/ActivationGoldenTests; GL: <see cref="LocalResponseNormGLTests"/>.)</summary>
public class LocalResponseNormTests
{
    readonly CpuBackend cpu = new();

    public static IEnumerable<TestCaseData> LrnCases()
    {
        yield return new TestCaseData(new TensorShape(2, 7, 3, 4), 5, 0.5f, 0.75f, 2f).SetArgDisplayNames("(2,7,3,4) size 5");
        yield return new TestCaseData(new TensorShape(1, 6, 2, 3), 4, 0.3f, 0.6f, 1.5f).SetArgDisplayNames("(1,6,2,3) size 4 (even)");
        yield return new TestCaseData(new TensorShape(3, 3, 2, 2), 7, 0.8f, 0.9f, 1f).SetArgDisplayNames("(3,3,2,2) size 7 > C");
        yield return new TestCaseData(new TensorShape(5, 8), 2, 0.4f, 0.75f, 1f).SetArgDisplayNames("(5,8) size 2");
        yield return new TestCaseData(new TensorShape(2, 4, 3, 3), 1, 1f, 0.5f, 1f).SetArgDisplayNames("(2,4,3,3) size 1");
    }

    [TestCaseSource(nameof(LrnCases))]
    public void LocalResponseNorm(TensorShape shape, int size, float alpha, float beta, float k)
    {
        var check = new GradientCheck(new Random(shape.Length + size));
        var x = cpu.Allocate(shape, "x");
        x.Upload(check.RandomValues(x.Length, 1.5));
        var y = cpu.Allocate(shape, "y");
        var scale = cpu.Allocate(shape, "scale");
        var dx = cpu.Allocate(shape, "dx");
        check.Run($"LocalResponseNorm({size}, {alpha}, {beta}, {k})", [x], y,
            () => cpu.LocalResponseNormForward(x, y, scale, size, alpha, beta, k), [dx],
            dy => cpu.LocalResponseNormBackward(x, y, scale, dy, dx, size, alpha, beta));
    }
}

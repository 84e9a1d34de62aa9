namespace NeuroPlugin.Tests.Ops;

/// <summary>Finite-difference gradient checks on the CPU of the element-wise activations: every kind with its default
/// parameters (inputs kept off the kinks), and LeakyReLU with other slopes. (Softmax, local response normalization and
/// the global pools have their own tests in Ops/; PyTorch: Toolkit/ActivationGoldenTests; GL: <see cref="ActivationGLTests"/>.)</summary>
public class ActivationTests
{
    readonly CpuBackend cpu = new();

    [TestCase(0.2f)]
    [TestCase(-0.5f)]
    [TestCase(1.5f)]
    public void LeakyReLU_AnySlope(float slope)
    {
        var check = new GradientCheck(new Random(3));
        var x = cpu.Allocate(new TensorShape(4, 3, 5), "x");
        // away from the kink at 0 by more than the difference step
        x.Upload(check.RandomValues(x.Length, 2).Select(v => MathF.Abs(v) < 0.05f ? v + 0.1f : v).ToArray());
        var y = cpu.Allocate(x.Shape, "y");
        var dx = cpu.Allocate(x.Shape, "dx");
        check.Run($"LeakyReLU({slope})", [x], y, () => cpu.ActivationForward(ActivationKind.LeakyReLU, x, y, slope), [dx],
            dy => cpu.ActivationBackward(ActivationKind.LeakyReLU, x, y, dy, dx, slope));
    }

    [TestCase(ActivationKind.ReLU)]
    [TestCase(ActivationKind.Sigmoid)]
    [TestCase(ActivationKind.Tanh)]
    [TestCase(ActivationKind.LeakyReLU)]
    [TestCase(ActivationKind.ReLU6)]
    [TestCase(ActivationKind.SiLU)]
    [TestCase(ActivationKind.HardSigmoid)]
    [TestCase(ActivationKind.HardSwish)]
    [TestCase(ActivationKind.GELU)]
    [TestCase(ActivationKind.GELUTanh)]
    public void Activation(ActivationKind kind)
    {
        var random = new Random(5);
        var check = new GradientCheck(random);
        var x = cpu.Allocate(new TensorShape(7, 3, 5, 3), "x");
        // inputs over (−7, 7) reach every piece; keep them away from the kinks (0, ±3, 6), where the derivative does not exist
        float[] kinks = [0f, -3f, 3f, 6f];
        x.Upload(check.RandomValues(x.Length, 7).Select(v => kinks.Any(k => MathF.Abs(v - k) < 0.05f) ? v + 0.1f : v).ToArray());
        var y = cpu.Allocate(x.Shape, "y");
        var dx = cpu.Allocate(x.Shape, "dx");
        check.Run(kind.ToString(), [x], y, () => cpu.ActivationForward(kind, x, y), [dx],
            dy => cpu.ActivationBackward(kind, x, y, dy, dx));
    }
}

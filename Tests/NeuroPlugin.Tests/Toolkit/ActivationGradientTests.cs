namespace NeuroPlugin.Tests.Toolkit;

/// <summary>Finite-difference gradient check on the CPU of LeakyReLU with a non-default slope. (The element-wise
/// activations with their default parameters are checked in Cpu/CpuGradientTests.Activation; softmax, local response
/// normalization and the global pools in Ops/.)</summary>
public class ActivationGradientTests
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
}

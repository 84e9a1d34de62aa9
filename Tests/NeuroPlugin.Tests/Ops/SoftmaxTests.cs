namespace NeuroPlugin.Tests.Ops;

/// <summary>Finite-difference gradient check of softmax on the CPU. (PyTorch: Toolkit/ActivationGoldenTests; GL: <see cref="SoftmaxGLTests"/>.)</summary>
public class SoftmaxTests
{
    readonly CpuBackend cpu = new();

    [TestCase(1, 1)]
    [TestCase(1, 10)]
    [TestCase(7, 5)]
    [TestCase(3, 33)]
    public void Softmax(int batch, int classes)
    {
        var check = new GradientCheck(new Random(batch * 100 + classes));
        var x = cpu.Allocate(new TensorShape(batch, classes), "x");
        x.Upload(check.RandomValues(x.Length, 3));
        var y = cpu.Allocate(x.Shape, "y");
        var dx = cpu.Allocate(x.Shape, "dx");
        check.Run("Softmax", [x], y, () => cpu.SoftmaxForward(x, y), [dx], dy => cpu.SoftmaxBackward(y, dy, dx));
    }
}

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>Finite-difference gradient checks on the CPU for the activation family's new ops: LeakyReLU with a
/// non-default slope, softmax, local response normalization (odd and even windows, windows wider than the
/// channels, (N,C) input) and the global pooling layers. (The element-wise activations with their default
/// parameters are checked in Cpu/CpuGradientTests.Activation.)</summary>
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

    [TestCase(false, 1, 2, 5, 4)]
    [TestCase(false, 3, 3, 1, 1)]
    [TestCase(true, 2, 3, 5, 4)]
    [TestCase(true, 3, 2, 7, 9)]
    public void GlobalPooling(bool max, int batch, int channels, int height, int width)
    {
        var random = new Random(batch * 7 + height);
        var check = new GradientCheck(random);
        Layer layer = max ? new GlobalMaxPool2d() : new GlobalAvgPool2d();
        var shape = new TensorShape(batch, channels, height, width);
        var x = cpu.Allocate(shape, "x");
        // distinct values 0.1 apart, so a ±ε nudge never changes which element is the maximum
        x.Upload(Enumerable.Range(0, x.Length).OrderBy(_ => random.Next()).Select(i => i * 0.1f).ToArray());
        var outputShape = layer.InferOutputShape("pool", [shape]);
        Assert.That(outputShape, Is.EqualTo(new TensorShape(batch, channels, 1, 1)));
        var y = cpu.Allocate(outputShape, "y");
        var dx = cpu.Allocate(shape, "dx");
        var workspace = layer.WorkspaceShapes([shape], outputShape).Select(s => cpu.Allocate(s, "argmax")).ToArray();
        check.Run(layer.Type, [x], y, () => layer.Forward(cpu, new NodeTensors("pool", [x], [dx], y, null, [], [], workspace)), [dx],
            dy => layer.Backward(cpu, new NodeTensors("pool", [x], [dx], y, dy, [], [], workspace)));
    }
}

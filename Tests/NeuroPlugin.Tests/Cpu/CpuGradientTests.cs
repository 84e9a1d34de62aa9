namespace NeuroPlugin.Tests.Cpu;

/// <summary>Finite-difference gradient checks of the CPU's pooling, linear and loss ops on randomized shapes (odd sizes,
/// batch 1 and 7, each padding/stride combination, dilation, asymmetric padding, overlapping pooling windows), and the
/// SGD updates. (Convolution and the activations: Ops/ConvolutionTests, Ops/ActivationTests.)</summary>
public class CpuGradientTests
{
    readonly CpuBackend cpu = new();

    public static IEnumerable<TestCaseData> WindowCases()
    {
        foreach (int batch in new[] { 1, 7 })
        {
            yield return new TestCaseData(batch, 3, 9, 7, Window2d.Square(3, 1, 0)).SetArgDisplayNames($"N{batch} k3 s1 p0");
            yield return new TestCaseData(batch, 2, 11, 9, Window2d.Square(3, 2, 1)).SetArgDisplayNames($"N{batch} k3 s2 p1");
            yield return new TestCaseData(batch, 1, 8, 10, Window2d.Square(2, 2, 0)).SetArgDisplayNames($"N{batch} k2 s2 p0");
            yield return new TestCaseData(batch, 2, 9, 9, Window2d.Square(5, 1, 2)).SetArgDisplayNames($"N{batch} k5 s1 p2");
            yield return new TestCaseData(batch, 3, 7, 13, Window2d.Square(5, 3, 2)).SetArgDisplayNames($"N{batch} k5 s3 p2");
            yield return new TestCaseData(batch, 2, 10, 7, new Window2d(3, 2, 2, 1, 1, 0, 0, 1)).SetArgDisplayNames($"N{batch} k3x2 s2x1 asym-pad");
            yield return new TestCaseData(batch, 2, 11, 10, new Window2d(3, 3, 1, 2, 1, 1, 1, 0, 2, 2)).SetArgDisplayNames($"N{batch} k3 dilation2");
        }
    }

    [TestCaseSource(nameof(WindowCases))]
    public void MaxPool2d(int batch, int channels, int height, int width, Window2d window)
    {
        var random = new Random(height * 17 + width);
        var check = new GradientCheck(random);
        var x = cpu.Allocate(new TensorShape(batch, channels, height, width), "x");
        // distinct values 0.1 apart: a ±ε nudge never changes which element is the maximum
        x.Upload(Enumerable.Range(0, x.Length).OrderBy(_ => random.Next()).Select(i => i * 0.1f).ToArray());
        var outputShape = new TensorShape(batch, channels, window.OutputHeight(height, "pool"), window.OutputWidth(width, "pool"));
        var y = cpu.Allocate(outputShape, "y");
        var argmax = cpu.Allocate(outputShape, "argmax");
        var dx = cpu.Allocate(x.Shape, "dx");
        check.Run($"MaxPool2d {window}", [x], y, () => cpu.MaxPool2dForward(x, y, argmax, window), [dx],
            dy => cpu.MaxPool2dBackward(argmax, dy, dx, window));
    }

    [TestCaseSource(nameof(WindowCases))]
    public void AvgPool2d(int batch, int channels, int height, int width, Window2d window)
    {
        foreach (bool countIncludePad in new[] { true, false })
        {
            var check = new GradientCheck(new Random(height * 13 + width));
            var x = check.RandomTensor(cpu, new TensorShape(batch, channels, height, width), "x");
            var y = cpu.Allocate(new TensorShape(batch, channels, window.OutputHeight(height, "pool"), window.OutputWidth(width, "pool")), "y");
            var dx = cpu.Allocate(x.Shape, "dx");
            check.Run($"AvgPool2d {window} countIncludePad={countIncludePad}", [x], y,
                () => cpu.AvgPool2dForward(x, y, window, countIncludePad), [dx],
                dy => cpu.AvgPool2dBackward(dy, dx, window, countIncludePad));
        }
    }

    [TestCase(1, 5, 3)]
    [TestCase(7, 13, 9)]
    [TestCase(7, 1, 1)]
    public void Linear(int batch, int inFeatures, int outFeatures)
    {
        var check = new GradientCheck(new Random(inFeatures));
        var x = check.RandomTensor(cpu, new TensorShape(batch, inFeatures), "x");
        var w = check.RandomTensor(cpu, new TensorShape(outFeatures, inFeatures), "weight");
        var b = check.RandomTensor(cpu, new TensorShape(outFeatures), "bias");
        var y = cpu.Allocate(new TensorShape(batch, outFeatures), "y");
        var dx = cpu.Allocate(x.Shape, "dx");
        var dw = cpu.Allocate(w.Shape, "dw");
        var db = cpu.Allocate(b.Shape, "db");
        check.Run("Linear", [x, w, b], y, () => cpu.LinearForward(x, w, b, y), [dx, dw, db],
            dy => cpu.LinearBackward(x, w, dy, dx, dw, db));
    }

    [TestCase(1, 10, false)]
    [TestCase(7, 10, false)]
    [TestCase(7, 4, true)]
    public void SoftmaxCrossEntropy(int batch, int classes, bool softTargets)
    {
        var random = new Random(batch + classes);
        var check = new GradientCheck(random) { Epsilon = 1e-2 };
        var z = check.RandomTensor(cpu, new TensorShape(batch, classes), "logits", scale: 4);
        var t = cpu.Allocate(z.Shape, "target");
        var targets = new float[z.Length];
        for (int n = 0; n < batch; n++)
        {
            if (softTargets)
            {
                float[] row = Enumerable.Range(0, classes).Select(_ => (float)random.NextDouble() + 0.1f).ToArray();
                float sum = row.Sum();
                for (int k = 0; k < classes; k++) targets[n * classes + k] = row[k] / sum;
            }
            else targets[n * classes + random.Next(classes)] = 1f;
        }
        t.Upload(targets);
        var p = cpu.Allocate(z.Shape, "p");
        var loss = cpu.Allocate(new TensorShape(1), "loss");
        var dz = cpu.Allocate(z.Shape, "dz");
        // L = r·loss; backward's scale carries r
        check.Run("SoftmaxCrossEntropy", [z], loss, () => cpu.SoftmaxCrossEntropyForward(z, t, p, loss), [dz],
            dy => cpu.SoftmaxCrossEntropyBackward(p, t, dz, dy.ToArray()[0]));
    }

    [Test]
    public void SoftmaxCrossEntropy_IsStableForHugeLogits()
    {
        var z = cpu.Allocate(new TensorShape(2, 3), "z");
        z.Upload([1000f, 0f, -1000f, -1000f, 1000f, 999f]);
        var t = cpu.Allocate(z.Shape, "t");
        t.Upload([1f, 0f, 0f, 0f, 0f, 1f]);
        var p = cpu.Allocate(z.Shape, "p");
        var loss = cpu.Allocate(new TensorShape(1), "loss");
        cpu.SoftmaxCrossEntropyForward(z, t, p, loss);
        // sample 0 is right with certainty (loss 0); sample 1 gives class 2 probability 1/(1+e): loss log(1+e)
        Assert.That(loss.ToArray()[0], Is.EqualTo(Math.Log(1 + Math.E) / 2).Within(1e-5));
        Assert.That(p.ToArray(), Is.EqualTo(new[] { 1f, 0f, 0f, 0f, (float)(Math.E / (1 + Math.E)), (float)(1 / (1 + Math.E)) }).Within(1e-6));
    }

    [Test]
    public void Sgd_SubtractsScaledGradient()
    {
        var w = cpu.Allocate(new TensorShape(3), "w");
        var g = cpu.Allocate(new TensorShape(3), "g");
        w.Upload([1f, 2f, 3f]);
        g.Upload([0.5f, -1f, 0f]);
        cpu.SgdUpdate(w, g, null, 0.1f, 0f);
        Assert.That(w.ToArray(), Is.EqualTo(new[] { 0.95f, 2.1f, 3f }).Within(1e-7));
    }

    [Test]
    public void SgdMomentum_FollowsPyTorchsRecurrence()
    {
        // v ← μ·v + g, w ← w − lr·v; two steps with the same gradient g = 1, μ = 0.9, lr = 0.1:
        // v₁ = 1, w₁ = −0.1; v₂ = 1.9, w₂ = −0.29
        var w = cpu.Allocate(new TensorShape(1), "w");
        var g = cpu.Allocate(new TensorShape(1), "g");
        var v = cpu.Allocate(new TensorShape(1), "v");
        g.Upload([1f]);
        cpu.SgdUpdate(w, g, v, 0.1f, 0.9f);
        Assert.That(w.ToArray()[0], Is.EqualTo(-0.1f).Within(1e-7));
        cpu.SgdUpdate(w, g, v, 0.1f, 0.9f);
        Assert.That(v.ToArray()[0], Is.EqualTo(1.9f).Within(1e-6));
        Assert.That(w.ToArray()[0], Is.EqualTo(-0.29f).Within(1e-6));
    }
}

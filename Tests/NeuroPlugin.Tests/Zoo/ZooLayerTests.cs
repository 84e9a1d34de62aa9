namespace NeuroPlugin.Tests.Zoo;

/// <summary>
/// The layers the zoo added, on the CPU reference: finite-difference gradient checks of AdaptiveAvgPool2d, ChannelPad
/// and FractalJoin (each surviving set of a drop-path step), their shapes and errors, and the drop-path draws.
/// </summary>
public class ZooLayerTests
{
    readonly CpuBackend cpu = new();

    /// <summary>Runs <paramref name="layer"/> as a one-node step on the CPU: its forward and backward over the given tensors.</summary>
    static NodeTensors Node(Tensor[] inputs, Tensor?[] grads, Tensor output, Tensor? outputGrad, bool training = false, uint step = 0) =>
        new("node", inputs, grads, output, outputGrad, [], [], []) { Training = training, Seed = 5, RandomCounter = step, Stream = 3 };

    [TestCase(1, 2, 14, 14, 4, 4)]  // GoogLeNet's auxiliary heads: overlapping windows
    [TestCase(2, 3, 5, 7, 3, 2)]    // uneven, rectangular
    [TestCase(2, 2, 1, 1, 7, 7)]    // VGG at 32×32: one value spread over 7×7
    [TestCase(1, 2, 2, 3, 5, 4)]    // upsampling with shared elements
    [TestCase(2, 2, 12, 12, 6, 6)]  // divisible: plain 2×2 pooling
    public void AdaptiveAvgPool2d_Gradients(int n, int c, int h, int w, int oh, int ow)
    {
        var check = new GradientCheck(new Random(h * 31 + oh));
        var layer = new AdaptiveAvgPool2d(oh, ow);
        var x = check.RandomTensor(cpu, new TensorShape(n, c, h, w), "x");
        var y = cpu.Allocate(layer.InferOutputShape("pool", [x.Shape]), "y");
        var dx = cpu.Allocate(x.Shape, "dx");
        check.Run("AdaptiveAvgPool2d", [x], y, () => layer.Forward(cpu, Node([x], [dx], y, null)), [dx],
            dy => layer.Backward(cpu, Node([x], [dx], y, dy)));
    }

    [Test]
    public void AdaptiveAvgPool2d_DivisibleSizeIsPlainAveragePooling()
    {
        var check = new GradientCheck(new Random(2));
        var x = check.RandomTensor(cpu, new TensorShape(2, 3, 8, 6), "x");
        using Tensor adaptive = cpu.Allocate(new TensorShape(2, 3, 4, 2), "a"), plain = cpu.Allocate(new TensorShape(2, 3, 4, 2), "p");
        cpu.AdaptiveAvgPool2dForward(x, adaptive);
        cpu.AvgPool2dForward(x, plain, new Window2d(2, 3, 2, 3), countIncludePad: true);
        TensorAssert.AreClose(plain.ToArray(), adaptive.ToArray(), 1e-6, "8×6 → 4×2 equals 2×3 average pooling");
    }

    [Test]
    public void AdaptiveAvgPool2d_RejectsBadSizesAndRanks()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveAvgPool2d(0, 3))!.ParamName, Is.EqualTo("outputHeight"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new AdaptiveAvgPool2d(3, -1))!.ParamName, Is.EqualTo("outputWidth"));
        var error = Assert.Throws<ShapeException>(() => new AdaptiveAvgPool2d(2, 2).InferOutputShape("avgpool", [new TensorShape(2, 8)]));
        Assert.That(error!.Message, Does.StartWith("avgpool:").And.Contain("(2,8)"));
    }

    [Test]
    public void ChannelPad_Gradients_AndZeroChannels()
    {
        var check = new GradientCheck(new Random(4));
        var layer = new ChannelPad(5);
        var x = check.RandomTensor(cpu, new TensorShape(2, 3, 2, 3), "x");
        var y = cpu.Allocate(layer.InferOutputShape("pad", [x.Shape]), "y");
        var dx = cpu.Allocate(x.Shape, "dx");
        check.Run("ChannelPad", [x], y, () => layer.Forward(cpu, Node([x], [dx], y, null)), [dx],
            dy => layer.Backward(cpu, Node([x], [dx], y, dy)));
        float[] values = y.ToArray(), input = x.ToArray();
        for (int n = 0; n < 2; n++)
        {
            Assert.That(values.AsSpan(n * 30, 18).ToArray(), Is.EqualTo(input.AsSpan(n * 18, 18).ToArray()), "the first channels are the input");
            Assert.That(values.AsSpan(n * 30 + 18, 12).ToArray(), Is.All.Zero, "the added channels are zero");
        }
        var error = Assert.Throws<ShapeException>(() => new ChannelPad(2).InferOutputShape("pad", [x.Shape]));
        Assert.That(error!.Message, Does.StartWith("pad:").And.Contain("(2,3,2,3)"));
    }

    [TestCase(false, 0u)]
    [TestCase(true, 0u)]
    [TestCase(true, 1u)]
    [TestCase(true, 2u)]
    [TestCase(true, 7u)]
    public void FractalJoin_Gradients(bool training, uint step)
    {
        // per-sample drop-path: with p = 0.5 the four samples of a local step keep different sets of inputs
        var check = new GradientCheck(new Random((int)step + 10));
        var layer = new FractalJoin([0, 1, 2], 3, localDropProbability: 0.5f);
        var shape = new TensorShape(4, 2, 3, 2);
        Tensor[] xs = [check.RandomTensor(cpu, shape, "x0"), check.RandomTensor(cpu, shape, "x1"), check.RandomTensor(cpu, shape, "x2")];
        Tensor[] dxs = [cpu.Allocate(shape, "dx0"), cpu.Allocate(shape, "dx1"), cpu.Allocate(shape, "dx2")];
        var y = cpu.Allocate(shape, "y");
        Tensor[] workspace = [cpu.Allocate(layer.WorkspaceShapes([shape, shape, shape], shape)[0], "coefficients")];
        NodeTensors Join(Tensor? dy) => new("node", xs, dxs, y, dy, [], [], workspace) { Training = training, Seed = 5, RandomCounter = step, Stream = 3 };
        check.Run($"FractalJoin step {step}", xs, y, () => layer.Forward(cpu, Join(null)), dxs, dy => layer.Backward(cpu, Join(dy)));
    }

    /// <summary>Eval keeps every input; half the training steps are global (one column for the whole batch), the others
    /// local, where each sample keeps its own inputs (each with probability 1 − p, at least one) independently of the
    /// other samples.</summary>
    [Test]
    public void FractalJoin_EvalIsTheMean_GlobalStepsKeepOneColumn_LocalStepsDrawPerSample()
    {
        const int Batch = 64, Inputs = 3;
        const float P = 0.4f;
        var layer = new FractalJoin([0, 1, 2], 3, localDropProbability: P);
        var table = new float[Batch * Inputs];
        layer.DrawCoefficients(false, 1, 9, 0, table);
        Assert.That(table, Is.All.EqualTo(1f / 3));
        int global = 0, localKept = 0, fallbacks = 0, samplesDiffer = 0;
        for (uint step = 0; step < 200; step++)
        {
            layer.DrawCoefficients(true, 1, 9, step, table);
            var rows = Enumerable.Range(0, Batch).Select(n => table.AsSpan(n * Inputs, Inputs).ToArray()).ToArray();
            foreach (var row in rows)
            {
                int kept = row.Count(c => c != 0);
                Assert.That(kept, Is.InRange(1, Inputs), $"step {step}: at least one input survives in every sample");
                Assert.That(row.Where(c => c != 0), Is.All.EqualTo(1f / kept), $"step {step}: the mean of the survivors");
            }
            if (layer.GlobalColumn(true, 1, step) is { } column)
            {
                global++;
                foreach (var row in rows)
                    Assert.That(row, Is.EqualTo(Enumerable.Range(0, Inputs).Select(i => i == column ? 1f : 0f)), $"global step {step}: only column {column}");
                continue;
            }
            samplesDiffer += rows.Any(r => !r.SequenceEqual(rows[0])) ? 1 : 0;
            localKept += rows.Sum(r => r.Count(c => c != 0));
            for (int n = 0; n < Batch; n++)
                fallbacks += Enumerable.Range(0, Inputs).All(i => CounterRandom.Uniform(1, 9, step, n * (Inputs + 1) + i) < P) ? 1 : 0;
        }
        int local = 200 - global, samples = local * Batch;
        // half the steps are global (binomial 200 × 0.5: ±3σ ≈ ±21); every local step differs between samples
        Assert.That(global, Is.InRange(79, 121));
        Assert.That(samplesDiffer, Is.EqualTo(local), "local steps draw a mask per sample");
        // a sample keeps k(1 − p) inputs on average, plus one when all k were dropped (probability pᵏ)
        double mean = Inputs * (1 - P) + Math.Pow(P, Inputs), sigma = Math.Sqrt(Inputs * P * (1 - P) * samples);
        Assert.That(localKept, Is.EqualTo(mean * samples).Within(4 * sigma), "surviving inputs in local steps");
        Assert.That(fallbacks, Is.GreaterThan(0), "some samples lost every input and kept one at random");
    }

    [Test]
    public void FractalJoin_RejectsBadArguments()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new FractalJoin([0], 2))!.ParamName, Is.EqualTo("columns"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new FractalJoin([0, 3], 3))!.ParamName, Is.EqualTo("columns"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new FractalJoin([0, 1], 2, localDropProbability: 1f))!.ParamName, Is.EqualTo("localDropProbability"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new FractalJoin([0, 1], 2, globalFraction: -0.1f))!.ParamName, Is.EqualTo("globalFraction"));
        var error = Assert.Throws<ShapeException>(() => new FractalJoin([0, 1], 2).InferOutputShape("join", [new TensorShape(1, 2), new TensorShape(1, 3)]));
        Assert.That(error!.Message, Does.StartWith("join:").And.Contain("(1,2)").And.Contain("(1,3)"));
    }

    [Test]
    public void NewLayers_RoundTripThroughLayerRegistry()
    {
        foreach (Layer layer in new Layer[] { new AdaptiveAvgPool2d(6, 7), new ChannelPad(12), new FractalJoin([0, 2, 3], 4, 0.2f, 0.25f) })
        {
            var copy = LayerRegistry.Create(layer.Type, layer.Attributes());
            Assert.That(copy.Attributes().ToJsonString(), Is.EqualTo(layer.Attributes().ToJsonString()), layer.Type);
        }
    }
}

namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// Inference-time fusion on the CPU: a convolution with the batch norm, residual Add and activation that only it feeds
/// runs as one stage, and gives exactly the bits of the unfused plan (the fused epilogue repeats each op's roundings),
/// for zoo networks with every fusable pattern (ResNet: conv-bn-relu and conv-bn-add-relu; MobileNet v2: depthwise and
/// pointwise conv-bn-relu6, conv-bn-add without activation) in both arithmetics, with batch-norm statistics far from
/// their initial values so that the folded normalization does something. A fused plan has fewer stages, refuses to
/// hand out a layer it skips, and allocates nothing per forward. The GL backend's twin: InferenceFusionGLTests.
/// </summary>
public class InferenceFusionTests
{
    public static IEnumerable<TestCaseData> Networks()
    {
        yield return new TestCaseData("resnet_cifar", new ModelOptions(3, 16, 10, 2), 2).SetArgDisplayNames("resnet_cifar");
        yield return new TestCaseData("resnet18", new ModelOptions(3, 64, 7, 8), 1).SetArgDisplayNames("resnet18 (1/8 width)");
        yield return new TestCaseData("mobilenet_v2", new ModelOptions(3, 32, 5, 8), 2).SetArgDisplayNames("mobilenet_v2 (1/8 width)");
        yield return new TestCaseData("lenet5", new ModelOptions(), 3).SetArgDisplayNames("lenet5 (conv-relu, no batch norm)");
    }

    [Test]
    public void FoldedCoefficients_8AtATime_GiveTheScalarBits()
    {
        // 37 channels (four vectors of 8 and a tail): variances from 0 and denormals to 1e30, infinity and NaN, and gammas of
        // both signs, against EvalStatistics one channel at a time
        var random = new Random(4);
        float[] special = [0f, float.Epsilon, 1e-30f, 1e-7f, 1f, 3f, 1e30f, float.PositiveInfinity, float.NaN];
        float[] variance = Enumerable.Range(0, 37).Select(i => i < special.Length ? special[i] : (float)Math.Pow(10, random.NextDouble() * 12 - 6)).ToArray();
        float[] mean = Enumerable.Range(0, 37).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[] gamma = Enumerable.Range(0, 37).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        float[] shifts = new float[37], scales = new float[37];
        CpuBackend.EvalCoefficients(mean, variance, gamma, 1e-5f, shifts, scales);
        for (int c = 0; c < 37; c++)
        {
            var (m, invStd) = CpuBackend.EvalStatistics(mean[c], variance[c], 1e-5f);
            Assert.That(BitConverter.SingleToInt32Bits(shifts[c]), Is.EqualTo(BitConverter.SingleToInt32Bits(m)), $"shift of channel {c}");
            Assert.That(BitConverter.SingleToInt32Bits(scales[c]), Is.EqualTo(BitConverter.SingleToInt32Bits(invStd * gamma[c])), $"scale of channel {c} (variance {variance[c]})");
        }
    }

    [TestCaseSource(nameof(Networks))]
    public void FusedPlan_GivesTheUnfusedBits(string model, ModelOptions options, int batch)
    {
        foreach (var arithmetic in new[] { CpuArithmetic.Fast, CpuArithmetic.Reference })
        {
            using var cpu = new CpuBackend { Arithmetic = arithmetic };
            CheckFusedBits(cpu, model, options, batch, $"{model} ({arithmetic})");
        }
    }

    [Test]
    public void EveryPartOfTheChain_AndTheSkippedTensors()
    {
        using var cpu = new CpuBackend();
        CheckEveryPart(cpu, convolutionBias: true, ["forward stem", "forward conv+bn+add+act", "forward flatten", "forward fc+gelu", "forward head"]);
    }

    /// <summary>conv → bn → a piecewise-linear activation (or none), no residual: the fused epilogue normalizes and
    /// activates in one pass (<c>ActivationMath.NormalizeThenForward</c>), or while it moves the kernel's virtual rows to
    /// the output (<c>NormalizeRowsThenForward</c>: rows of 8–15 and of 16+ floats between the dropped columns, a 1×1
    /// layer's contiguous plane, a depthwise layer's rows; convolutions without a bias, as MobileNet's, take that path),
    /// on planes whose rows leave vector tails, and must still give the separate ops' bits, in both arithmetics.</summary>
    [TestCase(ActivationKind.ReLU6, 9, 7, 3, 1, true)]
    [TestCase(ActivationKind.LeakyReLU, 9, 7, 3, 1, true)]
    [TestCase(ActivationKind.HardSigmoid, 9, 7, 3, 1, true)]
    [TestCase(ActivationKind.HardSwish, 9, 7, 3, 1, true)]
    [TestCase(ActivationKind.ReLU6, 5, 11, 3, 1, false)]    // rows of 11 floats between gaps: 256-bit vectors, the last one overlapping
    [TestCase(ActivationKind.HardSwish, 4, 21, 3, 1, false)] // rows of 21: a 512-bit vector and an overlapping one
    [TestCase(ActivationKind.ReLU6, 6, 13, 1, 1, false)]    // 1×1: one contiguous run of 78 values
    [TestCase(ActivationKind.ReLU6, 7, 19, 3, 5, false)]    // depthwise (5 groups): its virtual rows to the output
    [TestCase(ActivationKind.LeakyReLU, 9, 9, 3, 5, false)]  // depthwise, rows of 9
    [TestCase(null, 5, 17, 3, 1, false)]                     // the batch norm alone (a projection layer)
    public void BatchNormThenActivation_InOnePass_GivesTheUnfusedBits(ActivationKind? kind, int height, int width, int kernel, int groups, bool bias)
    {
        foreach (var arithmetic in new[] { CpuArithmetic.Fast, CpuArithmetic.Reference })
        {
            using var cpu = new CpuBackend { Arithmetic = arithmetic };
            var graph = new NetworkGraph();
            int inChannels = groups == 1 ? 3 : 5;
            graph.AddInput("image", TensorShape.Of([inChannels, height, width]));
            graph.Add("conv", new Conv2d(inChannels, 5, Window2d.Square(kernel, 1, kernel / 2), bias, groups: groups), "image");
            graph.Add("bn", new BatchNorm2d(5), "conv");
            if (kind is { } activation) graph.Add("act", new Activation(activation, negativeSlope: 0.1f), "bn");
            using var network = Network.Create(graph, cpu, seed: 3);
            // statistics far from the initial ones, so that many values land on each piece of the activation
            network.Buffer("bn.running_mean").Upload([0.3f, -0.2f, 0.1f, 0.5f, -0.4f]);
            network.Buffer("bn.running_var").Upload([0.05f, 2f, 0.1f, 0.3f, 0.02f]);
            network.Parameter("bn.weight").Upload([4f, 0.5f, -3f, 2f, 6f]);
            network.Parameter("bn.bias").Upload([0.1f, 3.2f, -0.3f, 0f, 2.5f]);
            using var fused = ExecutionPlan.ForInference(network, 2);
            using var separate = ExecutionPlan.ForInference(network, 2, fuseLayers: false);
            var image = Enumerable.Range(0, fused.Input.Length).Select(i => 3f * MathF.Sin(i * 0.37f)).ToArray();
            fused.Input.Upload(image);
            separate.Input.Upload(image);
            fused.Forward();
            separate.Forward();

            string stage = kind is null ? "forward conv+bn" : "forward conv+bn+act";
            Assert.That(fused.InferenceStages.Select(s => s.Name), Is.EqualTo(new[] { stage }), $"{kind} ({arithmetic}): one stage");
            Assert.That(fused.Output.ToArray(), Is.EqualTo(separate.Output.ToArray()), $"{kind} ({arithmetic}): bit for bit");
        }
    }

    /// <summary>A zoo network's fused and unfused inference plans on <paramref name="backend"/>: the same logits bit for bit,
    /// something fused, fewer stages.</summary>
    internal static void CheckFusedBits(IBackend backend, string model, ModelOptions options, int batch, string label)
    {
        var random = new Random(9);
        using var network = NetworkWithStatistics(backend, model, options, random);
        using var fused = ExecutionPlan.ForInference(network, batch);
        using var separate = ExecutionPlan.ForInference(network, batch, fuseLayers: false);
        var image = RandomImages(fused.Input.Length, random);
        fused.Input.Upload(image);
        separate.Input.Upload(image);
        fused.Forward();
        separate.Forward();

        Assert.That(fused.Output.ToArray(), Is.EqualTo(separate.Output.ToArray()), $"{label}: fused logits, bit for bit");
        Assert.That(separate.InferenceStages.All(s => s.Kind == PlanStageKind.Forward), Is.True);
        int fusedStages = fused.InferenceStages.Count(s => s.Kind == PlanStageKind.FusedForward);
        Assert.That(fusedStages, Is.GreaterThan(0), $"{label}: something fused");
        Assert.That(fused.InferenceStages.Count, Is.LessThan(separate.InferenceStages.Count), $"{label}: fewer stages");
    }

    /// <summary>A zoo network (seed 5) whose batch-norm running statistics are drawn from <paramref name="random"/>: means
    /// around ±0.5, variances in [0.2, 2.2), a normalization that moves every value.</summary>
    internal static Network NetworkWithStatistics(IBackend backend, string model, ModelOptions options, Random random)
    {
        var network = Network.Create(ModelZoo.Build(model, options), backend, seed: 5);
        foreach (string name in network.BufferNames)
        {
            var buffer = network.Buffer(name);
            var values = new float[buffer.Length];
            for (int i = 0; i < values.Length; i++)
                values[i] = name.EndsWith("running_var", StringComparison.Ordinal) ? (float)(0.2 + 2 * random.NextDouble()) : (float)(random.NextDouble() - 0.5);
            buffer.Upload(values);
        }
        return network;
    }

    /// <summary><paramref name="length"/> values uniform in [−1, 1).</summary>
    internal static float[] RandomImages(int length, Random random)
    {
        var image = new float[length];
        for (int i = 0; i < image.Length; i++) image[i] = (float)(random.NextDouble() * 2 - 1);
        return image;
    }

    /// <summary>conv (with or without a bias) → bn → add(shortcut) → leaky relu, a conv whose output is also read elsewhere
    /// (not fused), and linear → GELU: the chains' bits, the stages <paramref name="stages"/>, the skipped tensors refused,
    /// and a warm fused forward allocates nothing.</summary>
    internal static void CheckEveryPart(IBackend backend, bool convolutionBias, string[] stages)
    {
        var graph = new NetworkGraph();
        graph.AddInput("image", TensorShape.Of([3, 9, 7]));
        graph.Add("stem", new Conv2d(3, 4, 3, padding: 1), "image");
        graph.Add("conv", new Conv2d(4, 4, 3, padding: 1, bias: convolutionBias), "stem");
        graph.Add("bn", new BatchNorm2d(4), "conv");
        graph.Add("add", new Add(), "bn", "stem");
        graph.Add("act", Activation.LeakyReLU(0.2f), "add");
        graph.Add("flatten", new Flatten(), "act");
        graph.Add("fc", new Linear(4 * 9 * 7, 6), "flatten");
        graph.Add("gelu", new Activation(ActivationKind.GELU), "fc");
        graph.Add("head", new Linear(6, 3), "gelu");
        using var network = Network.Create(graph, backend, seed: 2);
        network.Buffer("bn.running_mean").Upload([0.3f, -0.2f, 0.1f, 0.5f]);
        network.Buffer("bn.running_var").Upload([0.5f, 2f, 1.5f, 0.3f]);
        network.Parameter("bn.weight").Upload([1.5f, 0.5f, -1f, 2f]);
        network.Parameter("bn.bias").Upload([0.1f, 0.2f, -0.3f, 0f]);
        using var fused = ExecutionPlan.ForInference(network, 2);
        using var separate = ExecutionPlan.ForInference(network, 2, fuseLayers: false);
        var image = Enumerable.Range(0, fused.Input.Length).Select(i => MathF.Sin(i * 0.37f)).ToArray();
        fused.Input.Upload(image);
        separate.Input.Upload(image);
        fused.Forward();
        separate.Forward();

        Assert.That(fused.Output.ToArray(), Is.EqualTo(separate.Output.ToArray()), "logits, bit for bit");
        Assert.That(fused.Tensor("act").ToArray(), Is.EqualTo(separate.Tensor("act").ToArray()), "the chain's output");
        Assert.That(fused.Tensor("gelu").ToArray(), Is.EqualTo(separate.Tensor("gelu").ToArray()), "the linear chain's output");
        Assert.That(() => fused.Tensor("fc"), Throws.TypeOf<GraphException>().With.Message.Contains("fc+gelu"));
        Assert.That(fused.InferenceStages.Select(s => s.Name), Is.EqualTo(stages), "the stem feeds two nodes: not fused");
        string chain = stages[1]["forward ".Length..];
        foreach (string skipped in chain.Split('+').SkipLast(1))
            Assert.That(() => fused.Tensor(skipped), Throws.TypeOf<GraphException>().With.Message.Contains("fuseLayers: false").And.Message.Contains(chain));
        Assert.That(() => separate.Tensor("bn"), Throws.Nothing);

        // warm, a fused forward allocates nothing on any thread
        AllocationAssert.SteadyStateAllocatesNothing(_ => fused.Forward(), 3, "bytes allocated by 3 fused forwards");
    }
}

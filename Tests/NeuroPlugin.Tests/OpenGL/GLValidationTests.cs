namespace NeuroPlugin.Tests.OpenGL;

/// <summary>
/// Validation mode (<see cref="GLValidationOptions"/>) on real training: short LeNet-5 and ResNet-20 runs, through the
/// same path as <c>neuro train</c> (uploads, gradient zeroing, augmentation, optimizer), must raise no
/// <see cref="GLHazardException"/> and give bit-identical weights to normal mode, with work groups shuffled and reversed;
/// and so must fused inference plans.
/// The longer runs and the whole GL suite in validation mode are Tests/Gpu/validate.sh.
/// </summary>
public sealed class GLValidationTrainingTests : GLFixture
{
    static readonly GLValidationOptions[] Orders = [new(WorkGroupOrder.Shuffled, Seed: 7), new(WorkGroupOrder.Reversed)];

    /// <summary>Steps per run: a few in CI; Tests/Gpu/validate.sh sets NEURO_GL_VALIDATE_STEPS for longer runs.</summary>
    static int Steps(int ci) => int.TryParse(Environment.GetEnvironmentVariable("NEURO_GL_VALIDATE_STEPS"), out int steps) && steps > 0 ? steps : ci;

    [TestCaseSource(nameof(Orders))]
    public void LeNet5Steps_RaiseNoHazard_AndMatchNormalModeBitForBit(GLValidationOptions options)
    {
        var normal = Train("lenet5", new ModelOptions(1, 28, 10), batch: 16, Steps(4), validation: null);
        var validated = Train("lenet5", new ModelOptions(1, 28, 10), batch: 16, Steps(4), validation: options);
        AssertBitIdentical(normal, validated);
    }

    [TestCaseSource(nameof(Orders))]
    public void ResNet20StepsWithCutout_RaiseNoHazard_AndMatchNormalModeBitForBit(GLValidationOptions options)
    {
        var resnet = new ModelOptions(1, FashionMnist.ImageSize, FashionMnist.ClassCount, WidthDivisor: 4);
        var normal = Train("resnet_cifar", resnet, batch: 4, Steps(2), validation: null, cutout: true);
        var validated = Train("resnet_cifar", resnet, batch: 4, Steps(2), validation: options, cutout: true);
        AssertBitIdentical(normal, validated);
    }

    /// <summary>Fused inference (conv2d.comp's batch-norm, residual and activation epilogue and its max pooling;
    /// linear.comp's activation, with vec4 loads and one row a block at batch 1) in validation mode: no hazard, and the
    /// logits of normal mode bit for bit.</summary>
    [TestCaseSource(nameof(Orders))]
    public void FusedInference_RaisesNoHazard_AndMatchesNormalModeBitForBit(GLValidationOptions options)
    {
        foreach (var (model, modelOptions, batch) in new[] { ("resnet_cifar", new ModelOptions(3, 16, 10, 2), 2), ("mobilenet_v2", new ModelOptions(3, 32, 5, 8), 2), ("lenet5", new ModelOptions(), 1) })
        {
            var normal = Infer(model, modelOptions, batch, validation: null);
            var validated = Infer(model, modelOptions, batch, validation: options);
            AssertBitIdentical(normal, validated);
        }
    }

    Dictionary<string, float[]> Infer(string model, ModelOptions options, int batch, GLValidationOptions? validation)
    {
        var before = Device.Validation;
        Device.Validation = validation ?? before;
        try
        {
            var random = new Random(9);
            using var network = NeuroPlugin.Tests.Cpu.InferenceFusionTests.NetworkWithStatistics(Backend, model, options, random);
            using var plan = ExecutionPlan.ForInference(network, batch);
            Assert.That(plan.InferenceStages.Any(s => s.Kind == PlanStageKind.FusedForward), $"{model}: fused stages");
            plan.Input.Upload(NeuroPlugin.Tests.Cpu.InferenceFusionTests.RandomImages(plan.Input.Length, random));
            plan.Forward();
            return new Dictionary<string, float[]> { [$"{model} logits"] = plan.Output.ToArray() };
        }
        finally
        {
            Device.Validation = before;
        }
    }

    /// <summary>Trains <paramref name="steps"/> steps of SGD with momentum on real Fashion-MNIST and returns every
    /// parameter and buffer (batch-norm running statistics) by name.</summary>
    internal static Dictionary<string, float[]> Train(GLBackend backend, string model, ModelOptions options, int batch, int steps,
        bool cutout = false, int seed = 3)
    {
        using var network = Network.Create(ModelZoo.Build(model, options), backend, seed);
        var loader = new DataLoader(FashionMnist.LoadTrain().Take(batch * steps), batch, seed: seed, dropLast: true);
        using var augmentation = cutout ? new Augmentation(seed, new Cutout(8)) : null;
        using var trainer = new Trainer(network, new Sgd(0.02f, 0.9f), batch) { Augmentation = augmentation };
        trainer.TrainEpoch(loader, 0);
        var state = new Dictionary<string, float[]> { ["loss"] = [trainer.Plan.ReadLoss()] };
        foreach (string name in network.ParameterNames) state[name] = network.Parameter(name).ToArray();
        foreach (string name in network.BufferNames) state[name] = network.Buffer(name).ToArray();
        return state;
    }

    Dictionary<string, float[]> Train(string model, ModelOptions options, int batch, int steps, GLValidationOptions? validation, bool cutout = false)
    {
        var before = Device.Validation; // on already when the whole suite runs in validation mode (validate.sh)
        Device.Validation = validation ?? before;
        try
        {
            return Train(Backend, model, options, batch, steps, cutout);
        }
        finally
        {
            Device.Validation = before;
        }
    }

    internal static void AssertBitIdentical(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual)
    {
        Assert.That(actual.Keys, Is.EquivalentTo(expected.Keys));
        foreach (var (name, values) in expected)
        {
            var bits = Array.ConvertAll(values, BitConverter.SingleToUInt32Bits);
            var actualBits = Array.ConvertAll(actual[name], BitConverter.SingleToUInt32Bits);
            Assert.That(actualBits, Is.EqualTo(bits), $"{name}: validation mode changed bits");
        }
    }
}

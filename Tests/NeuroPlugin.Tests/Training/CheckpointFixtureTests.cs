namespace NeuroPlugin.Tests.Training;

/// <summary>
/// Checkpoints written by older code stay readable, and this code writes the same file (once the old one is upgraded to
/// the current format). <c>Fixtures/Checkpoint/v2_*.ckpt.neuro</c>
/// were written by commit 39633ce (before each optimizer described its own hyper-parameters; the generator is
/// <c>generate_v2_checkpoints.cs.txt</c> beside them): one per built-in optimizer, with clipping, weight-decay groups and
/// L1/L2 terms spread over them, saved after 3 of 5 steps of a tiny network on synthetic batches.
/// <c>v2_checkpoints.json</c> holds the float32 bits of every parameter at the end of the run that wrote them.
/// Those bits come from that code's arithmetic, every product rounded before it is added: the runs here use
/// <see cref="CpuArithmetic.Reference"/>, which keeps it (the default, fused multiply-adds, differs in the last bit).
/// </summary>
public class CheckpointFixtureTests
{
    const int BatchSize = 4, SavedAfter = 3, Total = 5;

    /// <summary>The optimizers of the generator, built as it built them.</summary>
    static Optimizer Create(string name) => name switch
    {
        "sgd" => new Sgd(0.1f) { ClipGradientNorm = 0.5f },
        "momentum" => new Sgd(0.05f, 0.9f, weightDecay: 1e-3f) { WeightDecayParameters = ParameterGroup.Weights },
        "nesterov" => new Sgd(0.05f, 0.8f, nesterov: true) { Regularizer = Regularizer.Create(1e-3f, 1e-2f) },
        "adagrad" => new AdaGrad(0.01f, epsilon: 1e-9f, weightDecay: 1e-4f),
        "rmsprop" => new RmsProp(0.001f, alpha: 0.95f, momentum: 0.5f),
        "adam" => new Adam(0.002f, beta2: 0.99f) { Regularizer = new Regularizer(new RegularizationTerm(ParameterGroup.NameEndsWith(".bias"), 0f, 1e-2f)) },
        "adamw" => new AdamW(0.002f) { WeightDecayParameters = ParameterGroup.Vectors },
        _ => throw new ArgumentException(name),
    };

    static readonly string[] Optimizers = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"];

    static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "Checkpoint", name);

    [TestCaseSource(nameof(Optimizers))]
    public void OldCheckpoint_ResumesToTheBitsOfTheRunThatWroteIt(string optimizerName)
    {
        var saved = TrainingCheckpoint.Read(Fixture($"v2_{optimizerName}.ckpt.neuro"));
        Assert.That(saved.OptimizerType, Is.EqualTo(optimizerName));
        var cpu = new CpuBackend { Arithmetic = CpuArithmetic.Reference };
        using var network = saved.CreateNetwork(cpu);
        using var plan = ExecutionPlan.ForTraining(network, BatchSize);
        using var optimizer = saved.CreateOptimizer(); // rebuilt from the file's description alone
        saved.Restore(plan, optimizer);
        Assert.That(optimizer.StepCount, Is.EqualTo(SavedAfter));
        for (long step = saved.Counters.Step; step < Total; step++) TrainStep(plan, optimizer, (int)step);

        using var expected = JsonDocument.Parse(File.ReadAllBytes(Fixture("v2_checkpoints.json")));
        var parameters = expected.RootElement.GetProperty("parameters").GetProperty(optimizerName);
        foreach (string name in network.ParameterNames)
            Assert.That(network.Parameter(name).ToArray().Select(BitConverter.SingleToInt32Bits),
                Is.EqualTo(parameters.GetProperty(name).EnumerateArray().Select(e => e.GetInt32())), name);
    }

    [TestCaseSource(nameof(Optimizers))]
    public void SameRun_WritesTheSameBytesAsTheOldCode(string optimizerName)
    {
        string path = Path.Combine(Path.GetTempPath(), $"neuro-ckpt-fixture-{Guid.NewGuid():N}.ckpt.neuro");
        try
        {
            var graph = new NetworkGraph();
            string x = graph.AddInput("input", new TensorShape(1, 4, 4));
            x = graph.Add("flatten", new Flatten(), x);
            graph.Add("fc", new Linear(16, 3), x);
            using var network = Network.Create(graph, new CpuBackend { Arithmetic = CpuArithmetic.Reference }, seed: 5);
            using var plan = ExecutionPlan.ForTraining(network, BatchSize);
            using var optimizer = Create(optimizerName);
            for (int step = 0; step < SavedAfter; step++) TrainStep(plan, optimizer, step);
            TrainingCheckpoint.Save(path, network, optimizer, TrainingCounters.Of(plan, optimizer, SavedAfter));
            // format 3 describes the model (its input) where version 2 did not: the same file once the old one is upgraded
            using var written = SafeTensorsContainer.Open(path);
            using var old = SafeTensorsContainer.Open(Fixture($"v2_{optimizerName}.ckpt.neuro"));
            ModelFileMigrations.Upgrade(old.Path, old.Metadata);
            Assert.That(Entries(written.Metadata), Is.EqualTo(Entries(old.Metadata)));
            Assert.That(written.Names, Is.EqualTo(old.Names));
            foreach (string name in written.Names)
                Assert.That(written.Read(name).Select(BitConverter.SingleToInt32Bits), Is.EqualTo(old.Read(name).Select(BitConverter.SingleToInt32Bits)), name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A file's metadata as sorted key/value text.</summary>
    static string[] Entries(System.Text.Json.Nodes.JsonObject metadata) =>
        [.. metadata.Select(p => $"{p.Key}={p.Value?.ToJsonString()}").Order(StringComparer.Ordinal)];

    /// <summary>One step on the generator's batch <paramref name="step"/>: pixel i of image n is sin(0.37·i + 1.3·n + 0.7·step),
    /// its class (n + step) mod 3.</summary>
    static void TrainStep(ExecutionPlan plan, Optimizer optimizer, int step)
    {
        var images = new float[BatchSize * 16];
        var targets = new float[BatchSize * 3];
        for (int n = 0; n < BatchSize; n++)
        {
            for (int i = 0; i < 16; i++) images[n * 16 + i] = MathF.Sin(0.37f * i + 1.3f * n + 0.7f * step);
            targets[n * 3 + (n + step) % 3] = 1f;
        }
        plan.Input.Upload(images);
        plan.Target!.Upload(targets);
        plan.TrainStep(optimizer);
    }
}

namespace NeuroPlugin.Tests.Training;

/// <summary>
/// The exact-resume experiment shared by the CPU and GL tests: a small CNN with batch norm (buffers) and dropout
/// (the plan's random counter), trained with device augmentation (crop, flip, Cutout, mixup: keyed by the step) and a
/// warm-up + cosine schedule over 3 epochs of 12 batches. The straight run saves a checkpoint after step
/// <c>k</c> (mid-epoch 2, so the rest crosses an epoch boundary) and goes on to the end; the resumed run reads the
/// checkpoint into fresh objects and trains the remaining steps. Every weight, buffer, optimizer state tensor,
/// counter and the last loss must be the same bits.
/// </summary>
static class CheckpointRuns
{
    public const int Seed = 4, Batch = 16, Epochs = 3;
    public const int Images = 200;          // 12 full batches of 16 per epoch (dropLast)
    public const int SaveAfterStep = 17;    // epoch 1 (0-based), batch 5 of 12

    public static NetworkGraph Graph()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(1, 28, 28));
        x = graph.Add("conv1", new Conv2d(1, 4, kernelSize: 5, stride: 2, padding: 2), x);
        x = graph.Add("bn1", new BatchNorm2d(4), x);
        x = graph.Add("relu1", Activation.ReLU(), x);
        x = graph.Add("pool1", new MaxPool2d(2), x);
        x = graph.Add("flatten", new Flatten(), x);
        x = graph.Add("dropout", new Dropout(0.3f), x);
        graph.Add("fc", new Linear(4 * 7 * 7, 10), x);
        return graph;
    }

    public static Optimizer CreateOptimizer(string name) => name switch
    {
        "momentum" => new Sgd(0.05f, 0.9f, weightDecay: 1e-4f),
        "nesterov" => new Sgd(0.05f, 0.9f, nesterov: true),
        "adam" => new Adam(0.002f),
        "adamw" => new AdamW(0.002f) { ClipGradientNorm = 1f },
        "rmsprop" => new RmsProp(0.001f, momentum: 0.5f) { Regularizer = Regularizer.Create(1e-4f, 1e-3f) },
        "adagrad" => new AdaGrad(0.01f) { WeightDecayParameters = ParameterGroup.Weights },
        _ => throw new ArgumentException(name),
    };

    static readonly Lazy<ImageDataset> Data = new(() => FashionMnist.LoadTrain().Take(Images));

    public static DataLoader Loader() => new(Data.Value, Batch, shuffle: true, seed: Seed, dropLast: true);

    public static Augmentation CreateAugmentation() => Augmentation.Parse("crop,flip,cutout,mixup", 28, Seed, FashionMnist.Normalization.Apply(0));

    public static LearningRateSchedule Schedule => LearningRateSchedule.Cosine.WithWarmup(5);

    /// <summary>Everything a run ends with, downloaded.</summary>
    public sealed record Outcome(Dictionary<string, float[]> Tensors, float Loss, long Step, long RandomCounter, long OptimizerSteps);

    /// <summary>Trains every epoch straight, saving a checkpoint to <paramref name="checkpoint"/> after step
    /// <see cref="SaveAfterStep"/>.</summary>
    public static Outcome Straight(IBackend backend, string optimizer, string checkpoint)
    {
        var loader = Loader();
        using var augmentation = CreateAugmentation();
        using var network = Network.Create(Graph(), backend, Seed);
        using var trainer = new Trainer(network, CreateOptimizer(optimizer), Batch, Schedule, (long)loader.BatchesPerEpoch * Epochs) { Augmentation = augmentation };
        trainer.StepCompleted = t =>
        {
            if (t.Step == SaveAfterStep) TrainingCheckpoint.Save(t, checkpoint, loader);
        };
        for (int epoch = 0; epoch < Epochs; epoch++) trainer.TrainEpoch(loader, epoch);
        return Capture(trainer);
    }

    /// <summary>Reads <paramref name="checkpoint"/> into fresh objects (network, optimizer, trainer, loader, augmentation)
    /// and trains to the end. <paramref name="tamper"/> may change the restored trainer (to show what matters).</summary>
    public static Outcome Resumed(IBackend backend, string checkpoint, Action<Trainer>? tamper = null)
    {
        var saved = TrainingCheckpoint.Read(checkpoint);
        var loader = Loader();
        saved.CheckLoader(loader);
        using var augmentation = CreateAugmentation();
        using var network = saved.CreateNetwork(backend);
        using var trainer = saved.CreateTrainer(network, Schedule, augmentation);
        tamper?.Invoke(trainer);
        int firstEpoch = trainer.Epoch, firstBatch = trainer.BatchInEpoch;
        for (int epoch = firstEpoch; epoch < Epochs; epoch++) trainer.TrainEpoch(loader, epoch, firstBatch: epoch == firstEpoch ? firstBatch : 0);
        return Capture(trainer);
    }

    static Outcome Capture(Trainer trainer)
    {
        var tensors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var network = trainer.Network;
        foreach (string name in network.ParameterNames) tensors[name] = network.Parameter(name).ToArray();
        foreach (string name in network.BufferNames) tensors[name] = network.Buffer(name).ToArray();
        var optimizer = trainer.Optimizer;
        for (int i = 0; i < optimizer.StateParameterNames.Count; i++)
            foreach (string key in optimizer.StateKeys)
                tensors[$"optimizer.state.{optimizer.StateParameterNames[i]}.{key}"] = optimizer.State(i, key).ToArray();
        return new Outcome(tensors, trainer.Plan.ReadLoss(), trainer.Step, trainer.Plan.RandomCounter, optimizer.StepCount);
    }

    /// <summary>Asserts two outcomes are the same bits.</summary>
    public static void AssertIdentical(Outcome expected, Outcome actual)
    {
        Assert.That(actual.Tensors.Keys, Is.EquivalentTo(expected.Tensors.Keys), "the same tensors, optimizer state included");
        foreach (var (name, values) in expected.Tensors)
            Assert.That(Bits(actual.Tensors[name]), Is.EqualTo(Bits(values)), $"{name}: bit-identical");
        Assert.That(BitConverter.SingleToInt32Bits(actual.Loss), Is.EqualTo(BitConverter.SingleToInt32Bits(expected.Loss)), $"last loss {expected.Loss} vs {actual.Loss}");
        Assert.That((actual.Step, actual.RandomCounter, actual.OptimizerSteps), Is.EqualTo((expected.Step, expected.RandomCounter, expected.OptimizerSteps)), "counters");
    }

    public static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();
}

using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace NeuroPlugin.Tests.Training;

/// <summary>Training checkpoints on the CPU: exact resume, the file's layout, and its validation.</summary>
public class CheckpointTests : CpuTempFolderFixture
{
    /// <summary>The straight run with <paramref name="optimizer"/>, checkpointed to <c>run.ckpt.neuro</c> in the test's folder.</summary>
    (CheckpointRuns.Outcome Run, string Checkpoint) Straight(string optimizer)
    {
        string checkpoint = Folder.Combine("run.ckpt.neuro");
        return (CheckpointRuns.Straight(Cpu, optimizer, checkpoint), checkpoint);
    }

    [TestCase("momentum")]
    [TestCase("adam")]
    [TestCase("nesterov")]
    [TestCase("adamw")]
    [TestCase("rmsprop")]
    [TestCase("adagrad")]
    public void ResumedRun_IsBitIdenticalToTheStraightRun(string optimizer)
    {
        var (straight, checkpoint) = Straight(optimizer);
        var saved = TrainingCheckpoint.Read(checkpoint);
        Assert.That((saved.Counters.Step, saved.Counters.Epoch, saved.Counters.BatchInEpoch), Is.EqualTo((17L, 1, 5)), "saved mid-epoch 2");
        var resumed = CheckpointRuns.Resumed(Cpu, checkpoint);
        CheckpointRuns.AssertIdentical(straight, resumed);
        Assert.That(straight.Step, Is.EqualTo(36), "the rest crossed into epoch 3");
    }

    [Test]
    public void ResumedRun_DependsOnTheRestoredRandomCounters()
    {
        // the experiment is sensitive: with the plan's dropout counter or the augmentation step not restored, it differs
        var (straight, checkpoint) = Straight("adam");
        var dropoutReset = CheckpointRuns.Resumed(Cpu, checkpoint, t => t.Plan.RandomCounter = 0);
        Assert.That(CheckpointRuns.Bits(dropoutReset.Tensors["fc.weight"]), Is.Not.EqualTo(CheckpointRuns.Bits(straight.Tensors["fc.weight"])), "dropout masks");
        var stepReset = CheckpointRuns.Resumed(Cpu, checkpoint, t => t.ResumeAt(0, t.Epoch, t.BatchInEpoch));
        Assert.That(CheckpointRuns.Bits(stepReset.Tensors["fc.weight"]), Is.Not.EqualTo(CheckpointRuns.Bits(straight.Tensors["fc.weight"])), "schedule and augmentation step");
    }

    [Test]
    public void RestoreIntoExistingObjects_ContinuesLikeTheStraightRun()
    {
        // a loop that owns its network and optimizer (in-game training): RestoreWeights + RestoreOptimizer + counters
        var (straight, checkpoint) = Straight("momentum");
        var saved = TrainingCheckpoint.Read(checkpoint);
        var loader = CheckpointRuns.Loader();
        using var augmentation = CheckpointRuns.CreateAugmentation();
        using var network = Network.Create(CheckpointRuns.Graph(), Cpu, seed: 99); // other weights: overwritten
        using var trainer = new Trainer(network, CheckpointRuns.CreateOptimizer("momentum"), CheckpointRuns.Batch, CheckpointRuns.Schedule,
            saved.Counters.TotalSteps) { Augmentation = augmentation };
        saved.Restore(trainer);
        Assert.That(trainer.Optimizer.StepCount, Is.EqualTo(17));
        for (int epoch = trainer.Epoch, first = trainer.BatchInEpoch; epoch < CheckpointRuns.Epochs; epoch++, first = 0)
            trainer.TrainEpoch(loader, epoch, firstBatch: first);
        Assert.That(CheckpointRuns.Bits(network.Parameter("fc.weight").ToArray()), Is.EqualTo(CheckpointRuns.Bits(straight.Tensors["fc.weight"])));
        Assert.That(CheckpointRuns.Bits(trainer.Optimizer.State(trainer.Optimizer.StateParameterNames.ToList().IndexOf("fc.bias"), "momentum_buffer").ToArray()), Is.EqualTo(CheckpointRuns.Bits(straight.Tensors["optimizer.state.fc.bias.momentum_buffer"])));
    }

    [Test]
    public void CheckpointFromBeforeTheFirstStep_ResetsAnOptimizerThatHasState()
    {
        // saved before any step, the file holds no optimizer state; restoring it into an optimizer that has trained must
        // give back the zeros a fresh run starts from, or the resumed run is not the run that was saved
        string checkpoint = Folder.Combine("start.ckpt.neuro");
        float[] straight;
        using (var fresh = Network.Create(CheckpointRuns.Graph(), Cpu, CheckpointRuns.Seed))
        using (var trainer = new Trainer(fresh, CheckpointRuns.CreateOptimizer("momentum"), CheckpointRuns.Batch, CheckpointRuns.Schedule, 12))
        {
            TrainingCheckpoint.Save(trainer, checkpoint, CheckpointRuns.Loader());
            trainer.TrainEpoch(CheckpointRuns.Loader(), 0);
            straight = fresh.Parameter("fc.weight").ToArray();
        }
        var saved = TrainingCheckpoint.Read(checkpoint);
        Assert.That(saved.HasOptimizerState, Is.False);

        using var network = Network.Create(CheckpointRuns.Graph(), Cpu, seed: 99);
        using var reused = new Trainer(network, CheckpointRuns.CreateOptimizer("momentum"), CheckpointRuns.Batch, CheckpointRuns.Schedule, 12);
        reused.TrainEpoch(CheckpointRuns.Loader(), 0); // momentum buffers now hold values
        saved.Restore(reused);
        var optimizer = reused.Optimizer;
        Assert.That(optimizer.StepCount, Is.Zero);
        for (int i = 0; i < optimizer.StateParameterNames.Count; i++)
            Assert.That(optimizer.State(i, "momentum_buffer").ToArray(), Is.All.Zero, optimizer.StateParameterNames[i]);
        reused.TrainEpoch(CheckpointRuns.Loader(), 0);
        Assert.That(CheckpointRuns.Bits(network.Parameter("fc.weight").ToArray()), Is.EqualTo(CheckpointRuns.Bits(straight)));
    }

    [Test]
    public void LoopDrivingThePlanItself_SavesAndRestoresExactly()
    {
        // in-game learning: no Trainer, no DataLoader; the loop uploads its own batches and calls TrainStep
        string checkpoint = Folder.Combine("loop.ckpt.neuro");
        var data = NeuroPlugin.Data.FashionMnist.LoadTrain().Take(64);
        var loader = new NeuroPlugin.Data.DataLoader(data, 16, shuffle: false, dropLast: true);
        void Steps(NeuroPlugin.Execution.ExecutionPlan plan, Optimizer optimizer, long from, long to)
        {
            for (long step = from; step < to; step++)
            {
                loader.StartEpoch(0, (int)(step % 4));
                loader.TryNextBatch();
                plan.Input.Upload(loader.Images);
                plan.Target!.Upload(loader.Targets);
                plan.TrainStep(optimizer);
            }
        }
        float[] expected;
        using (var network = Network.Create(CheckpointRuns.Graph(), Cpu, 3))
        using (var plan = NeuroPlugin.Execution.ExecutionPlan.ForTraining(network, 16))
        using (var optimizer = new RmsProp(0.001f, momentum: 0.9f))
        {
            Steps(plan, optimizer, 0, 6);
            TrainingCheckpoint.Save(checkpoint, network, optimizer, TrainingCounters.Of(plan, optimizer, step: 6));
            Steps(plan, optimizer, 6, 12);
            expected = network.Parameter("fc.weight").ToArray();
        }
        var saved = TrainingCheckpoint.Read(checkpoint);
        using (var network = Network.Create(CheckpointRuns.Graph(), Cpu, 8))
        using (var plan = NeuroPlugin.Execution.ExecutionPlan.ForTraining(network, 16))
        using (var optimizer = new RmsProp(0.001f, momentum: 0.9f))
        {
            saved.Restore(plan, optimizer);
            Assert.That((plan.RandomCounter, optimizer.StepCount, saved.Counters.Step), Is.EqualTo((6L, 6L, 6L)));
            Steps(plan, optimizer, saved.Counters.Step, 12);
            Assert.That(CheckpointRuns.Bits(network.Parameter("fc.weight").ToArray()), Is.EqualTo(CheckpointRuns.Bits(expected)));
        }
    }

    [Test]
    public void Checkpoint_LoadsAsAPlainModel_AndIsAPlainSafetensorsFile()
    {
        var (straight, checkpoint) = Straight("adam");
        var saved = TrainingCheckpoint.Read(checkpoint);
        using var model = ModelFile.Load(checkpoint, Cpu);
        using var restored = saved.CreateNetwork(Cpu);
        foreach (string name in model.ParameterNames)
            Assert.That(CheckpointRuns.Bits(model.Parameter(name).ToArray()), Is.EqualTo(CheckpointRuns.Bits(restored.Parameter(name).ToArray())), name);

        // safetensors' rules, read with nothing but the byte layout: metadata is string → string, every tensor F32 with
        // offsets that tile the data section exactly, and the optimizer state under its prefix
        var (header, data) = SafetensorsBytes.Read(checkpoint);
        var metadata = header["__metadata__"]!.AsObject();
        Assert.That(metadata.Select(m => m.Value!.GetValueKind()), Is.All.EqualTo(System.Text.Json.JsonValueKind.String));
        Assert.That((string?)metadata["kind"], Is.EqualTo("checkpoint"));
        Assert.That((string?)metadata["version"], Is.EqualTo(ModelFile.FormatVersion.ToString()));
        var ranges = header.Where(h => h.Key != "__metadata__").Select(h => (h.Key, Begin: (long)h.Value!["data_offsets"]![0]!, End: (long)h.Value!["data_offsets"]![1]!)).OrderBy(r => r.Begin).ToList();
        Assert.That(ranges[0].Begin, Is.EqualTo(0));
        for (int i = 1; i < ranges.Count; i++) Assert.That(ranges[i].Begin, Is.EqualTo(ranges[i - 1].End), ranges[i].Key);
        Assert.That(ranges[^1].End, Is.EqualTo(data.Length));
        Assert.That(header.Select(h => h.Key).Where(k => k.StartsWith("optimizer.state.")), Is.EquivalentTo(new[]
        {
            "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "fc.weight", "fc.bias",
        }.SelectMany(p => new[] { $"optimizer.state.{p}.exp_avg", $"optimizer.state.{p}.exp_avg_sq" })));
        var range = ranges.Single(r => r.Key == "optimizer.state.fc.bias.exp_avg_sq");
        var values = Enumerable.Range(0, 10).Select(i => BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan((int)range.Begin + 4 * i))).ToArray();
        Assert.That(values.Any(v => v != 0f), Is.True, "Adam's second moment after 17 steps");
        var training = JsonNode.Parse((string)metadata["training"]!)!.AsObject();
        Assert.That((long)training["optimizer"]!["stepCount"]!, Is.EqualTo(17));
        Assert.That((long)training["plan"]!["step"]!, Is.EqualTo(17));
        Assert.That((string?)training["trainer"]!["schedule"], Is.EqualTo("warmup+cosine"));
    }

    [Test]
    public void Save_IsAtomic_AndLeavesNoTemporaryFile()
    {
        string checkpoint = Folder.Combine("run.ckpt.neuro");
        using var network = Network.Create(CheckpointRuns.Graph(), Cpu, 1);
        using var trainer = new Trainer(network, new Adam(0.001f), CheckpointRuns.Batch);
        TrainingCheckpoint.Save(trainer, checkpoint);
        byte[] before = File.ReadAllBytes(checkpoint);
        network.Parameter("fc.bias").Dispose(); // the save fails while downloading
        Assert.That(() => TrainingCheckpoint.Save(trainer, checkpoint), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(File.ReadAllBytes(checkpoint), Is.EqualTo(before), "the old checkpoint is intact");
        Assert.That(Directory.GetFiles(Folder.Path), Has.Length.EqualTo(1), "no temporary file left behind");
        var saved = TrainingCheckpoint.Read(checkpoint);
        Assert.That(saved.HasOptimizerState, Is.False, "no state before the first step");
        Assert.That(saved.Counters.Step, Is.Zero);
    }

    // ───────────────────────────── validation ─────────────────────────────

    static IEnumerable<TestCaseData> CorruptCheckpoints()
    {
        TestCaseData Case(string name, Action<JsonObject, JsonObject, Dictionary<string, byte[]>> edit, string problem) =>
            new TestCaseData(edit, problem).SetName(name);
        yield return Case("Missing optimizer state", (h, t, d) => { h.Remove("optimizer.state.fc.weight.exp_avg"); d.Remove("optimizer.state.fc.weight.exp_avg"); },
            "tensor 'optimizer.state.fc.weight.exp_avg' is missing");
        yield return Case("State shaped unlike its parameter", (h, t, d) => { h["optimizer.state.fc.bias.exp_avg"]!["shape"] = new JsonArray(5); d["optimizer.state.fc.bias.exp_avg"] = new byte[20]; },
            "optimizer.state.fc.bias.exp_avg.shape must be (10), the shape of parameter 'fc.bias'");
        yield return Case("State of a buffer", (h, t, d) => { h["optimizer.state.bn1.running_mean.exp_avg"] = Entry(4); d["optimizer.state.bn1.running_mean.exp_avg"] = new byte[16]; },
            "'bn1.running_mean' is not a parameter of the graph");
        yield return Case("Unknown state key", (h, t, d) => { h["optimizer.state.fc.bias.momentum_buffer"] = Entry(10); d["optimizer.state.fc.bias.momentum_buffer"] = new byte[40]; },
            "'momentum_buffer' is not a state key of optimizer 'adam'");
        yield return Case("Wrong optimizer kind", (h, t, d) => t["optimizer"]!["type"] = "adagrad",
            "training.optimizer.stateKeys [exp_avg, exp_avg_sq] are not those of optimizer 'adagrad' [sum]");
        yield return Case("Negative step", (h, t, d) => t["trainer"]!["step"] = -1, "training.trainer.step must be an integer ≥ 0");
        yield return Case("Batch past the epoch", (h, t, d) => t["trainer"]!["batchInEpoch"] = 13, "training.trainer.batchInEpoch must be an integer in [0, 12]");
        yield return Case("Negative optimizer steps", (h, t, d) => t["optimizer"]!["stepCount"] = -3, "training.optimizer.stepCount must be an integer ≥ 0");
        yield return Case("Missing plan", (h, t, d) => t.Remove("plan"), "training.plan must be an object");
        yield return Case("Bad hyper-parameter", (h, t, d) => t["optimizer"]!["beta1"] = 1.5, "training.optimizer ('adam')");
        yield return Case("Inconsistent loader", (h, t, d) => t["data"]!["batchesPerEpoch"] = 11, "training.data.batchesPerEpoch 11 does not follow");
    }

    static JsonObject Entry(int length) => new() { ["dtype"] = "F32", ["shape"] = new JsonArray(length), ["data_offsets"] = new JsonArray(0, 0) };

    [TestCaseSource(nameof(CorruptCheckpoints))]
    public void CorruptCheckpoint_RaisesModelFileExceptionNamingFileAndField(Action<JsonObject, JsonObject, Dictionary<string, byte[]>> edit, string problem)
    {
        string checkpoint = Straight("adam").Checkpoint;
        Assert.That(() => TrainingCheckpoint.Read(checkpoint), Throws.Nothing, "test setup: the unedited file reads");
        SafetensorsBytes.Edit(checkpoint, edit);
        var error = Assert.Throws<ModelFileException>(() => TrainingCheckpoint.Read(checkpoint));
        Assert.That(error!.Message, Does.StartWith(checkpoint).And.Contain(problem));
    }

    [Test]
    public void RestoreIntoAMismatchedTrainer_NamesTheField()
    {
        string checkpoint = Straight("adam").Checkpoint;
        var saved = TrainingCheckpoint.Read(checkpoint);
        using var network = Network.Create(CheckpointRuns.Graph(), Cpu, 1);
        using var augmentation = CheckpointRuns.CreateAugmentation();
        void Expect(Optimizer optimizer, string problem, NeuroPlugin.Data.Augmentation? withAugmentation, LearningRateSchedule? schedule = null)
        {
            using var trainer = new Trainer(network, optimizer, CheckpointRuns.Batch, schedule ?? CheckpointRuns.Schedule, saved.Counters.TotalSteps) { Augmentation = withAugmentation };
            var error = Assert.Throws<ModelFileException>(() => saved.Restore(trainer));
            Assert.That(error!.Message, Does.StartWith(checkpoint).And.Contain(problem));
        }
        Expect(new Sgd(0.002f, 0.9f), "training.optimizer.type is \"adam\" in the checkpoint but \"momentum\"", augmentation);
        Expect(new Adam(0.002f, beta2: 0.99f), "training.optimizer.beta2 is 0.999 in the checkpoint but 0.99", augmentation);
        Expect(new Adam(0.003f), "training.trainer.baseLearningRate is 0.002 in the checkpoint but 0.003", augmentation);
        Expect(new Adam(0.002f), "training.trainer.schedule is warmup+cosine in the checkpoint but cosine", augmentation, LearningRateSchedule.Cosine);
        Expect(new Adam(0.002f), "training.augmentation", null);
        var otherLoader = new NeuroPlugin.Data.DataLoader(NeuroPlugin.Data.FashionMnist.LoadTrain().Take(CheckpointRuns.Images), CheckpointRuns.Batch, seed: 5, dropLast: true);
        Assert.That(() => saved.CheckLoader(otherLoader), Throws.InstanceOf<ModelFileException>().With.Message.Contains("training.data.seed is 4 in the checkpoint but 5"));
    }

    [Test]
    public void ModelFile_IsNotACheckpoint()
    {
        using var network = Network.Create(CheckpointRuns.Graph(), Cpu, 1);
        string path = Folder.Combine("model.neuro");
        ModelFile.Save(network, path);
        var error = Assert.Throws<ModelFileException>(() => TrainingCheckpoint.Read(path));
        Assert.That(error!.Message, Does.StartWith(path).And.Contain("__metadata__.kind is \"model\""));
    }
}

/// <summary>Reads and rewrites a safetensors file at the byte level, independently of the runtime's reader.</summary>
static class SafetensorsBytes
{
    public static (JsonObject Header, byte[] Data) Read(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (JsonNode.Parse(Encoding.UTF8.GetString(file, 8, length))!.AsObject(), file[(8 + length)..]);
    }

    /// <summary>Lets <paramref name="edit"/> change the header, the parsed training metadata and the tensors' bytes, then
    /// writes the file back with offsets recomputed in header order.</summary>
    public static void Edit(string path, Action<JsonObject, JsonObject, Dictionary<string, byte[]>> edit) => Rewrite(path, (header, tensors) =>
    {
        var metadata = header["__metadata__"]!.AsObject();
        var training = JsonNode.Parse((string)metadata["training"]!)!.AsObject();
        edit(header, training, tensors);
        metadata["training"] = training.ToJsonString();
    });

    /// <summary>Lets <paramref name="edit"/> change the header only.</summary>
    public static void EditHeader(string path, Action<JsonObject> edit) => Rewrite(path, (header, _) => edit(header));

    static void Rewrite(string path, Action<JsonObject, Dictionary<string, byte[]>> edit)
    {
        var (header, data) = Read(path);
        var tensors = header.Where(h => h.Key != "__metadata__")
            .ToDictionary(h => h.Key, h => data[(int)(long)h.Value!["data_offsets"]![0]!..(int)(long)h.Value!["data_offsets"]![1]!]);
        edit(header, tensors);
        long offset = 0;
        var body = new List<byte>();
        foreach (var (name, entry) in header.ToList())
        {
            if (name == "__metadata__") continue;
            entry!["data_offsets"] = new JsonArray(offset, offset + tensors[name].Length);
            offset += tensors[name].Length;
            body.AddRange(tensors[name]);
        }
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        var result = new byte[8 + headerBytes.Length + body.Count];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)headerBytes.Length);
        headerBytes.CopyTo(result, 8);
        body.CopyTo(result, 8 + headerBytes.Length);
        File.WriteAllBytes(path, result);
    }
}

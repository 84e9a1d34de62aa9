namespace NeuroPlugin.Tests.Training;

/// <summary>
/// The one epoch loop: a <see cref="TrainingRun"/> trains exactly as a hand-built <see cref="Trainer"/> with the same
/// parts does, tells its observers about every step, report and evaluation, stops between two steps, and resumes from
/// the checkpoint it wrote when stopped to the uninterrupted run's bits; its steps allocate nothing and read nothing back.
/// </summary>
[NonParallelizable]
public class TrainingRunTests : TempFolderFixture
{
    // CheckpointRuns' small CNN (batch norm, dropout), 200 images in batches of 16: 12 steps per epoch
    static readonly TrainingOptions Recipe = new()
    {
        Optimizer = "adam", BatchSize = CheckpointRuns.Batch, Epochs = 2, Seed = CheckpointRuns.Seed, WarmupSteps = 2, Schedule = "step", Gamma = 0.5f,
        Augment = ["flip", "cutout"], L2 = 1e-3f,
    };

    static readonly Lazy<(ImageDataset Train, ImageDataset Test)> Data = new(() => (FashionMnist.LoadTrain().Take(CheckpointRuns.Images), FashionMnist.LoadTest().Take(100)));

    /// <summary>Records what a run tells its observers; cancels after step <see cref="CancelAfter"/> when set.</summary>
    sealed class Recorder : ITrainingObserver
    {
        public readonly List<(int Epoch, int FirstBatch)> Epochs = [];
        public readonly List<long> Reports = [];
        public readonly List<float> Rates = [];
        public readonly List<TrainingEvaluation> Evaluations = [];
        public long Steps;
        public long? CancelAfter;
        public readonly CancellationTokenSource Cancellation = new();

        public void EpochStarted(TrainingRun run, int epoch, int firstBatch) => Epochs.Add((epoch, firstBatch));
        public void StepCompleted(TrainingRun run)
        {
            Steps++;
            if (run.Trainer.Step == CancelAfter) Cancellation.Cancel();
        }
        public void ProgressReported(TrainingRun run, TrainingProgress progress)
        {
            Reports.Add(progress.Step);
            Rates.Add(progress.LearningRate);
            Assert.That(progress.TotalSteps, Is.EqualTo(24));
            Assert.That(progress.SecondsLeft, Is.GreaterThanOrEqualTo(0));
        }
        public void EvaluationCompleted(TrainingRun run, TrainingEvaluation evaluation) => Evaluations.Add(evaluation);
    }

    static float[] Weights(Network network) => network.Parameter("fc.weight").ToArray();

    [Test]
    public void Run_TrainsAsAHandBuiltTrainer_AndTellsItsObservers()
    {
        var cpu = new CpuBackend();
        var (train, test) = Data.Value;
        using var network = Network.Create(CheckpointRuns.Graph(), cpu, CheckpointRuns.Seed);
        var recorder = new Recorder();
        TrainingResult result;
        using (var run = new TrainingRun(network, train, test, Recipe) { ReportEvery = 5 })
        {
            run.AddObserver(recorder);
            result = run.Run();
        }
        Assert.That(recorder.Epochs, Is.EqualTo(new[] { (0, 0), (1, 0) }));
        Assert.That(recorder.Steps, Is.EqualTo(24));
        Assert.That(recorder.Reports, Is.EqualTo(new long[] { 5, 10, 12, 17, 22, 24 }), "every 5 batches and each epoch's last");
        Assert.That(recorder.Rates, Is.EqualTo(new[] { 0.001f, 0.001f, 0.001f, 0.0005f, 0.0005f, 0.0005f }), "Adam's default rate, ×γ after epoch 1");
        Assert.That(recorder.Evaluations.Select(e => (e.Epoch, e.Step, e.Images)), Is.EqualTo(new[] { (0, 12L, 100), (1, 24L, 100) }));
        Assert.That((result.Stopped, result.FirstStep, result.Step, result.TestAccuracy), Is.EqualTo((false, 0L, 24L, (double?)recorder.Evaluations[^1].Accuracy)));

        // the same parts put together by hand, as neuro train did before the run existed
        using var twin = Network.Create(CheckpointRuns.Graph(), cpu, CheckpointRuns.Seed);
        var loader = new DataLoader(train, Recipe.BatchSize, shuffle: true, seed: Recipe.Seed, dropLast: true);
        using var augmentation = Augmentation.Parse("flip,cutout", 28, Recipe.Seed, FashionMnist.Normalization.Apply(0));
        var optimizer = new Adam(0.001f) { Regularizer = Regularizer.Create(0f, 1e-3f, ParameterGroup.Weights) };
        using var trainer = new Trainer(twin, optimizer, Recipe.BatchSize, LearningRateSchedule.Step(12, 0.5f).WithWarmup(2), 24) { Augmentation = augmentation };
        for (int epoch = 0; epoch < 2; epoch++) trainer.TrainEpoch(loader, epoch);
        Assert.That(CheckpointRuns.Bits(Weights(network)), Is.EqualTo(CheckpointRuns.Bits(Weights(twin))));
    }

    [Test]
    public void Cancelled_StopsBetweenSteps_AndItsCheckpointResumesToTheUninterruptedBits()
    {
        var cpu = new CpuBackend();
        var (train, test) = Data.Value;
        float[] straight;
        using (var network = Network.Create(CheckpointRuns.Graph(), cpu, CheckpointRuns.Seed))
        using (var run = new TrainingRun(network, train, test, Recipe))
        {
            run.Run();
            straight = Weights(network);
        }

        string checkpoint = Folder.Combine("stopped", "run.ckpt.neuro");
        var options = Recipe with { Checkpoint = checkpoint, CheckpointEvery = 100 };
        var recorder = new Recorder { CancelAfter = 7 };
        using (var network = Network.Create(CheckpointRuns.Graph(), cpu, CheckpointRuns.Seed))
        using (var run = new TrainingRun(network, train, test, options))
        {
            run.AddObserver(recorder);
            var result = run.Run(recorder.Cancellation.Token);
            Assert.That((result.Stopped, result.Step, recorder.Steps), Is.EqualTo((true, 7L, 7L)), "stopped right after the step that cancelled");
            Assert.That(recorder.Evaluations, Is.Empty, "no evaluation of a stopped epoch");
        }
        var saved = TrainingCheckpoint.Read(checkpoint);
        Assert.That((saved.Counters.Step, saved.Counters.Epoch, saved.Counters.BatchInEpoch), Is.EqualTo((7L, 0, 7)), "saved where it stopped");

        using (var network = Network.Create(CheckpointRuns.Graph(), cpu, seed: 99)) // other weights: the checkpoint's replace them
        using (var run = new TrainingRun(network, train, test, options with { Resume = checkpoint }))
        {
            var resumed = new Recorder();
            run.AddObserver(resumed);
            var result = run.Run();
            Assert.That((result.FirstStep, result.Step, resumed.Epochs[0]), Is.EqualTo((7L, 24L, (0, 7))));
            Assert.That(CheckpointRuns.Bits(Weights(network)), Is.EqualTo(CheckpointRuns.Bits(straight)));
        }
    }

    [Test]
    public void ResumingAnotherNetwork_IsRefused()
    {
        var cpu = new CpuBackend();
        var (train, test) = Data.Value;
        string checkpoint = Folder.Combine("run.ckpt.neuro");
        using (var network = Network.Create(CheckpointRuns.Graph(), cpu, 1))
        using (var run = new TrainingRun(network, train, test, Recipe with { Epochs = 1, Checkpoint = checkpoint }))
            run.Run();
        // the same parameters in another graph: a different dropout rate
        string json = GraphJson.Write(CheckpointRuns.Graph()).ToJsonString(), changedJson = json.Replace("0.3", "0.5");
        Assert.That(changedJson, Is.Not.EqualTo(json));
        var other = GraphJson.Read(changedJson);
        using var changed = Network.Create(other, cpu, 1);
        Assert.That(() => new TrainingRun(changed, train, test, Recipe with { Epochs = 1, Resume = checkpoint }),
            Throws.TypeOf<ModelFileException>().With.Message.EqualTo($"{checkpoint}: the checkpoint's network is not the one this run trains"));
    }

    [Test]
    public void DataThatDoesNotFit_IsRefusedNamingTheField()
    {
        var cpu = new CpuBackend();
        var (train, test) = Data.Value;
        using var network = Network.Create(CheckpointRuns.Graph(), cpu, 1);
        Assert.That(() => new TrainingRun(network, train, test, Recipe with { BatchSize = 64, TrainLimit = 50 }, TrainingOptionNaming.Flag),
            Throws.TypeOf<TrainingOptionsException>().With.Message.EqualTo("--batch 64 is larger than the 50 training images"));
        using var wide = Network.Create(CheckpointRuns.Graph(), cpu, 1);
        var threeClasses = new ImageDataset("three", train.Images.AsSpan(0, train.Count * 28 * 28).ToArray(), train.Labels.Take(train.Count).Select(l => (byte)(l % 3)).ToArray(), train.Count, 28, 28,
            classNames: ["a", "b", "c"], normalization: train.Normalization);
        Assert.That(() => new TrainingRun(wide, threeClasses, null, Recipe),
            Throws.ArgumentException.With.Message.EqualTo("the network's output 'fc' must be (N,3) logits for the 3 classes of three, got (1,10)"));
    }

    [Test]
    public void Steps_AllocateNothingAndReadNothingBack()
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(CheckpointRuns.Graph(), cpu, 1);
        // epochs of the whole training set (3,750 steps of 16) until the probe stops the run: a fast machine runs an
        // epoch of this small network in under the warm-up's second
        using var stop = new CancellationTokenSource();
        var probe = new StepProbe(cpu, stop, measured: 40);
        using var run = new TrainingRun(network, FashionMnist.LoadTrain(), null, Recipe with { Epochs = 1000 }) { ReportEvery = 1000 };
        run.AddObserver(probe);
        Assert.That(run.Run(stop.Token).Stopped, Is.True, "the probe stopped the run");
        Assert.That(probe.Measured, Is.EqualTo(40), "steps measured after the warm-up");
        // each step between two observer calls: nothing (a step during which a collection ran cannot be counted: see
        // AllocationWindow)
        var counted = probe.Windows.Where(w => !w.Disturbed).ToArray();
        Assert.That(counted, Has.Length.GreaterThanOrEqualTo(30), "steps without a collection");
        Assert.That(counted.Select(w => w.Bytes), Is.All.Zero, "managed bytes per step");
        Assert.That(probe.Readbacks, Is.All.Zero, "readbacks per step");
    }

    /// <summary>After <see cref="AllocationAssert"/>'s warm-up (<see cref="AllocationAssert.WarmUpCalls"/> steps and
    /// <see cref="AllocationAssert.WarmUpTime"/>: the JIT's tiering is timed, and a fast machine ran 70 steps in 95 ms and
    /// saw a step allocate 1,648 bytes once), measures each of the next <paramref name="measured"/> steps from the previous
    /// step's observer call to its own, then stops the run. An epoch's first step (the trainer starts its clock), its last and
    /// every <see cref="TrainingRun.ReportEvery"/>-th (they report the loss: a readback and a progress record) start the
    /// measurement again. (A machine that ran about 980 steps in the warm-up's second measured the report of step 1000.)</summary>
    sealed class StepProbe(CpuBackend cpu, CancellationTokenSource stop, int measured) : ITrainingObserver
    {
        readonly Stopwatch clock = Stopwatch.StartNew();
        AllocationWindow open;
        long readbacks;
        int warmUpSteps;
        bool measuring, restart;

        public AllocationWindow[] Windows { get; } = new AllocationWindow[measured];
        public long[] Readbacks { get; } = new long[measured];
        public int Measured { get; private set; }

        public void EpochStarted(TrainingRun run, int epoch, int firstBatch) => restart = true;

        public void StepCompleted(TrainingRun run)
        {
            if (!measuring) measuring = ++warmUpSteps >= AllocationAssert.WarmUpCalls && clock.Elapsed >= AllocationAssert.WarmUpTime;
            else if (restart || run.Trainer.BatchInEpoch == run.Loader.BatchesPerEpoch || run.Trainer.BatchInEpoch % run.ReportEvery == 0)
                Measured = 0; // an epoch's first, last or reporting step: measure again from the next one
            else
            {
                Windows[Measured] = open.Stop();
                Readbacks[Measured] = cpu.ReadbackCount - readbacks;
                if (++Measured == Windows.Length)
                {
                    stop.Cancel();
                    return;
                }
            }
            restart = false;
            if (!measuring) return;
            readbacks = cpu.ReadbackCount;
            open = AllocationWindow.Start();
        }
    }
}

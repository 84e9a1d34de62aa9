using NeuroPlugin.Tests.Training;
using static NeuroPlugin.Tests.Embedding.EmbeddingModels;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// The online learner on the CPU device: it learns Fashion-MNIST from a few hundred examples added one by one; a run
/// saved and resumed takes the next steps of the uninterrupted run bit for bit (weights, batch-norm statistics, warm-up,
/// dropout); a failed save leaves the previous file whole; misuse is a typed error naming both shapes; and adding,
/// stepping and predicting allocate nothing after warm-up. (GL: <see cref="OnlineLearnerGLTests"/>.)
/// </summary>
public sealed class OnlineLearnerTests : TempFolderFixture
{
    /// <summary>Grey Fashion-MNIST image <paramref name="index"/> as RGBA8 pixels (as a game's frame would be).</summary>
    static byte[] Rgba(ImageDataset data, int index)
    {
        var grey = data.GetImage(index);
        var rgba = new byte[grey.Length * 4];
        for (int p = 0; p < grey.Length; p++) (rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2], rgba[4 * p + 3]) = (grey[p], grey[p], grey[p], 255);
        return rgba;
    }

    static double Accuracy(OnlineLearner learner, ImageDataset test, int count)
    {
        var result = learner.Model.CreatePrediction();
        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            learner.Model.PredictPixels(Rgba(test, i), 28, 28, result);
            if (result.Best().Index == test.Labels[i]) correct++;
        }
        return (double)correct / count;
    }

    [Test]
    public void LearnsFashionMnistFromAFewHundredExamples()
    {
        var train = FashionMnist.LoadTrain();
        var test = FashionMnist.LoadTest();
        var graph = ModelZoo.Build("lenet5");
        var options = new OnlineLearnerOptions
        {
            Training = new TrainingOptions { Optimizer = "adam", Schedule = "constant", BatchSize = 32, Seed = 1 },
            ReplayCapacity = 512,
            Metadata = LeNetMetadata(graph),
        };
        using var learner = OnlineLearner.Create(graph, NeuroDevice.Cpu, options);
        double before = Accuracy(learner, test, 300);
        for (int i = 0; i < 500; i++) learner.AddPixels(Rgba(train, i), 28, 28, train.Labels[i]);
        Assert.That((learner.ExampleCount, learner.ExamplesAdded), Is.EqualTo((500, 500L)));
        Assert.That(learner.Train(300), Is.EqualTo(300));
        double after = Accuracy(learner, test, 300);
        TestContext.Out.WriteLine($"test accuracy on 300 images: {before:P1} before, {after:P1} after 300 steps on 500 examples");
        Assert.That(learner.Steps, Is.EqualTo(300));
        Assert.That(learner.NonFiniteCount, Is.Zero);
        Assert.That(after, Is.GreaterThan(0.65), "learned");
        Assert.That(after, Is.GreaterThan(before + 0.3), "better than the fresh weights");
    }

    [Test]
    public void NonFiniteExamples_AreSkippedSteps_ThatLeaveWeightsAndStatisticsAlone() => AssertNonFiniteStepsAreSkipped(NeuroDevice.Cpu);

    /// <summary>Every example holds a NaN, so every batch's loss is NaN: each of the steps run is detected
    /// (<see cref="OnlineLearner.NonFiniteDetected"/>, <see cref="OnlineLearner.NonFiniteCount"/>) and undone, and the
    /// weights, the batch-norm statistics and the optimizer's updates stay those of the fresh learner, bit for bit.
    /// Then finite examples train again. (Also run on GL by <see cref="OnlineLearnerGLTests"/>.)</summary>
    internal static void AssertNonFiniteStepsAreSkipped(NeuroDevice device)
    {
        var graph = FrameBudgetChecks.SmallCnn(); // conv → bn → relu → pool → dropout → fc, 1×12×12, 5 classes
        var options = new OnlineLearnerOptions
        {
            Training = new TrainingOptions { Optimizer = "adam", Schedule = "constant", BatchSize = 8, Seed = 5 },
            ReplayCapacity = 16,
        };
        using var learner = OnlineLearner.Create(graph, device, options);
        var network = learner.Network;
        string[] names = [.. network.ParameterNames, .. network.BufferNames];
        float[] State(string name) => (network.ParameterNames.Contains(name) ? network.Parameter(name) : network.Buffer(name)).ToArray();
        var fresh = names.ToDictionary(name => name, State);

        var inputs = Inputs(16 * 144, seed: 31);
        for (int i = 0; i < 16; i++) inputs[i * 144 + i] = float.NaN;
        for (int i = 0; i < 16; i++) learner.Add(inputs.AsSpan(i * 144, 144), i % 5);
        var reports = new List<NonFiniteReport>();
        learner.NonFiniteDetected += reports.Add;
        Assert.That(learner.Train(3), Is.EqualTo(3));
        for (int frame = 0; reports.Count < 3; frame++)
        {
            learner.Step(1.0); // detection is polled without a stall: it arrives in a later frame on GL
            Assert.That(frame, Is.LessThan(10_000), "the non-finite steps are reported");
        }
        Assert.That(learner.NonFiniteCount, Is.EqualTo(reports.Count));
        Assert.That(learner.LastNonFinite, Is.Not.Null);
        foreach (string name in names)
            Assert.That(State(name), Is.EqualTo(fresh[name]), $"{name}: every non-finite step undone (bit for bit)");

        // finite examples replace every NaN one (16 slots); a step the budgeted frames left in progress, and reports still on
        // their way back, may hold a NaN batch, so the count is taken after a few steps and frames
        var finite = Inputs(16 * 144, seed: 32);
        for (int i = 0; i < 16; i++) learner.Add(finite.AsSpan(i * 144, 144), i % 5);
        void TrainAndCollect()
        {
            learner.Train(3);
            for (int frame = 0; frame < 20; frame++) learner.Step(1.0);
        }
        TrainAndCollect();
        int detected = learner.NonFiniteCount;
        TrainAndCollect();
        Assert.That(learner.NonFiniteCount, Is.EqualTo(detected), "finite examples train without a detection");
        Assert.That(State("fc1.weight"), Is.Not.EqualTo(fresh["fc1.weight"]), "and move the weights");
    }

    [Test]
    public void WarmUp_ChangesNothingTheGameSees_AndTheFirstFramePlansWithMeasuredCosts() => AssertWarmUpChangesNothing(NeuroDevice.Cpu);

    /// <summary>Two learners made alike, one warmed up at 1 ms before any example: it still has no steps and no examples,
    /// every stage of its trainer has an estimate, and after the same examples, budgeted frames and then whole steps up
    /// to 20 both hold the same weights and statistics bit for bit. (Also run on GL by <see cref="OnlineLearnerGLTests"/>.)</summary>
    internal static void AssertWarmUpChangesNothing(NeuroDevice device)
    {
        var options = new OnlineLearnerOptions
        {
            Training = new TrainingOptions { Optimizer = "adam", Schedule = "constant", WarmupSteps = 2, BatchSize = 8, Seed = 6 },
            ReplayCapacity = 16,
        };
        using var warmed = OnlineLearner.Create(FrameBudgetChecks.SmallCnn(), device, options);
        using var plain = OnlineLearner.Create(FrameBudgetChecks.SmallCnn(), device, options);
        warmed.WarmUp(1.0);
        Assert.That((warmed.Steps, warmed.ExampleCount, warmed.Trainer.StepInProgress), Is.EqualTo((0L, 0, false)));
        var trainer = warmed.Trainer;
        for (int stage = 0; stage < trainer.StageCount; stage++)
            Assert.That(trainer.StageEstimate(stage), Is.Not.Null, $"stage {trainer.StageName(stage)} has an estimate");

        var inputs = Inputs(16 * 144, seed: 41);
        foreach (var learner in new[] { warmed, plain })
        {
            for (int i = 0; i < 16; i++) learner.Add(inputs.AsSpan(i * 144, 144), i % 5);
            for (int frame = 0; learner.Steps < 4; frame++)
            {
                learner.Step(1.0);
                Assert.That(frame, Is.LessThan(10_000), "training progresses");
            }
            Assert.That(learner.Steps, Is.LessThan(20), "test setup: frames of 1 ms run fewer steps");
            learner.Train(20 - (int)learner.Steps); // a step in progress counts as the first
        }
        Assert.That((warmed.Steps, plain.Steps), Is.EqualTo((20L, 20L)));
        foreach (string name in plain.Network.ParameterNames)
            Assert.That(warmed.Network.Parameter(name).ToArray(), Is.EqualTo(plain.Network.Parameter(name).ToArray()), $"{name} (bit for bit)");
        foreach (string name in plain.Network.BufferNames)
            Assert.That(warmed.Network.Buffer(name).ToArray(), Is.EqualTo(plain.Network.Buffer(name).ToArray()), $"{name} (bit for bit)");
    }

    /// <summary>Batch norm, dropout, Adam and a warm-up across the save: the resumed learner (with the same examples added
    /// again) and the uninterrupted one end with the same bits. The save comes mid-step, between budgeted frames.</summary>
    [Test]
    public void SaveAndResume_TakeTheSameNextStepsBitForBit()
    {
        var graph = FrameBudgetChecks.SmallCnn(); // conv → bn → relu → pool → dropout → fc, 1×12×12, 5 classes
        var options = new OnlineLearnerOptions
        {
            Training = new TrainingOptions { Optimizer = "adam", Schedule = "constant", WarmupSteps = 8, BatchSize = 8, Seed = 4 },
            ReplayCapacity = 48,
        };
        var inputs = Inputs(64 * 144, seed: 21);
        void AddExamples(OnlineLearner learner)
        {
            for (int i = 0; i < 64; i++) learner.Add(inputs.AsSpan(i * 144, 144), i % 5); // 64 into 48 slots: the ring wraps
        }
        string checkpoint = Path.Combine(Folder.Path, "game.ckpt.neuro");

        using var uninterrupted = OnlineLearner.Create(graph, NeuroDevice.Cpu, options);
        AddExamples(uninterrupted);
        for (int frame = 0; uninterrupted.Steps < 5; frame++)
        {
            uninterrupted.Step(0.02);
            Assert.That(frame, Is.LessThan(100_000));
        }
        uninterrupted.Save(checkpoint); // finishes the step in progress
        long saved = uninterrupted.Steps;
        Assert.That(saved, Is.InRange(5, 6));
        uninterrupted.Train(6);

        using var resumed = OnlineLearner.Resume(checkpoint, NeuroDevice.Cpu, options);
        Assert.That((resumed.Steps, resumed.ExampleCount), Is.EqualTo((saved, 0)), "the step count comes back, the examples do not");
        AddExamples(resumed);
        resumed.Train(6);

        Assert.That(resumed.Steps, Is.EqualTo(uninterrupted.Steps));
        Assert.That(resumed.LearningRate, Is.EqualTo(uninterrupted.LearningRate), "warm-up went on from the saved step");
        var (a, b) = (uninterrupted.Network, resumed.Network);
        foreach (string name in a.ParameterNames.Concat(a.BufferNames))
        {
            var tensor = a.ParameterNames.Contains(name) ? (a.Parameter(name), b.Parameter(name)) : (a.Buffer(name), b.Buffer(name));
            Assert.That(tensor.Item2.ToArray(), Is.EqualTo(tensor.Item1.ToArray()), $"{name} (bit for bit)");
        }
        Assert.That(a.Buffer("bn1.running_mean").ToArray(), Is.Not.EqualTo(new float[4]), "the statistics moved");

        var wrongRecipe = options with { Training = options.Training with { BatchSize = 4 } };
        var error = Assert.Throws<ModelFileException>(() => OnlineLearner.Resume(checkpoint, NeuroDevice.Cpu, wrongRecipe));
        Assert.That(error!.Message, Does.Contain("game.ckpt.neuro").And.Contain("batchSize"));
        var otherWarmup = options with { Training = options.Training with { WarmupSteps = 20 } };
        error = Assert.Throws<ModelFileException>(() => OnlineLearner.Resume(checkpoint, NeuroDevice.Cpu, otherWarmup));
        Assert.That(error!.Message, Does.Contain("learningRate"));
    }

    /// <summary>The observation is the latest input as the network sees it: added again as an example it trains as the same
    /// example added as values (the same bits), and predicted from it gives what the values give.</summary>
    [Test]
    public void Observation_IsTheLatestInput_AddedAndPredictedAsItsValues()
    {
        string model = SaveLeNet(Folder.Path);
        var options = new OnlineLearnerOptions { Training = new() { Optimizer = "adam", Schedule = "constant", BatchSize = 4, Seed = 3 } };
        using var learner = OnlineLearner.Create(model, NeuroDevice.Cpu, options);
        using var twin = OnlineLearner.Create(model, NeuroDevice.Cpu, options);
        Assert.That(Assert.Throws<InvalidOperationException>(() => learner.AddObservation(1))!.Message, Does.Contain("observed nothing"));
        var inputs = Inputs(3 * 784, seed: 31);
        for (int i = 0; i < 3; i++)
        {
            var input = inputs.AsSpan(i * 784, 784);
            learner.Add(input, i);
            Assert.That(learner.Observation.ToArray(), Is.EqualTo(input.ToArray()), "the values as they were added");
            learner.AddObservation(9 - i);
            twin.Add(input, i);
            twin.Add(input, 9 - i);
        }
        Assert.That(learner.Observation.Shape, Is.EqualTo(new TensorShape(1, 1, 28, 28)));
        Assert.That(learner.ExamplesAdded, Is.EqualTo(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.AddObservation(10));

        var fromObservation = learner.Model.CreatePrediction();
        var fromValues = learner.Model.CreatePrediction();
        learner.Model.Predict(learner.Observation, fromObservation);
        learner.Model.Predict(inputs.AsSpan(2 * 784), fromValues);
        Assert.That(fromObservation.Outputs().ToArray(), Is.EqualTo(fromValues.Outputs().ToArray()));

        Assert.That((learner.Train(3), twin.Train(3)), Is.EqualTo((3, 3)));
        foreach (string name in learner.Network.ParameterNames)
            Assert.That(learner.Network.Parameter(name).ToArray(), Is.EqualTo(twin.Network.Parameter(name).ToArray()), $"{name} (bit for bit)");
    }

    /// <summary>A rate set between steps, by the game or on the trainer's optimizer as a live link's control does, is the
    /// base rate from then on (the warm-up's factor still applies while it lasts) and is what a checkpoint records.</summary>
    [Test]
    public void ALearningRateSetBetweenSteps_IsTheBaseRateFromThenOn()
    {
        var options = new OnlineLearnerOptions
        {
            Training = new TrainingOptions { Optimizer = "adam", LearningRate = 0.001f, Schedule = "constant", WarmupSteps = 4, BatchSize = 4, Seed = 3 },
            ReplayCapacity = 16,
        };
        var warmup = LearningRateSchedule.Constant.WithWarmup(4);
        var inputs = Inputs(8 * 144, seed: 32);
        void AddExamples(OnlineLearner learner)
        {
            for (int i = 0; i < 8; i++) learner.Add(inputs.AsSpan(i * 144, 144), i % 5);
        }
        using var learner = OnlineLearner.Create(FrameBudgetChecks.SmallCnn(), NeuroDevice.Cpu, options);
        AddExamples(learner);
        learner.Train(1);
        Assert.That(learner.LearningRate, Is.EqualTo(0.001f * warmup.Factor(0, 0)));
        learner.LearningRate = 0.004f;
        Assert.That(learner.LearningRate, Is.EqualTo(0.004f), "at once");
        learner.Train(1);
        Assert.That(learner.LearningRate, Is.EqualTo(0.004f * warmup.Factor(1, 0)), "the new base rate, warmed up");
        learner.Trainer.Optimizer.LearningRate = 0.01f; // as a live link's control does
        learner.Train(4);
        Assert.That(learner.LearningRate, Is.EqualTo(0.01f), "kept after the warm-up, not reset to the options' rate");
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.LearningRate = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.LearningRate = float.NaN);

        string checkpoint = Path.Combine(Folder.Path, "rate.ckpt.neuro");
        learner.Save(checkpoint);
        var counters = TrainingCheckpoint.Read(checkpoint).Counters;
        Assert.That((counters.BaseLearningRate, counters.LearningRate, counters.Step), Is.EqualTo((0.01f, 0.01f, 6L)));
        var error = Assert.Throws<ModelFileException>(() => OnlineLearner.Resume(checkpoint, NeuroDevice.Cpu, options));
        Assert.That(error!.Message, Does.Contain("rate.ckpt.neuro").And.Contain("baseLearningRate"));
        using var resumed = OnlineLearner.Resume(checkpoint, NeuroDevice.Cpu, options with { Training = options.Training with { LearningRate = 0.01f } });
        AddExamples(resumed);
        resumed.Train(1);
        Assert.That((resumed.Steps, resumed.LearningRate), Is.EqualTo((7L, 0.01f)));
    }

    /// <summary>A checkpoint saved without the model's description (labels, normalization), as Samples/InGameLearning wrote
    /// them before it used the learner: resumed with the options' description, it takes pixels again; without one it says
    /// what is missing; with a description of another network it is a typed error naming the file and the field.</summary>
    [Test]
    public void ACheckpointWithoutADescription_ResumesWithTheOptionsDescription()
    {
        var graph = ModelZoo.Build("lenet5");
        string path = Path.Combine(Folder.Path, "undescribed.ckpt.neuro");
        float[] weights;
        using (var cpu = new CpuBackend())
        using (var network = Network.Create(graph, cpu, 7))
        using (var plan = ExecutionPlan.ForTraining(network, 16))
        using (var adam = new Adam(0.002f))
        {
            plan.Input.Upload(Inputs(16 * 784, seed: 33));
            plan.Target!.Upload(Enumerable.Range(0, 16 * 10).Select(i => i % 10 == i / 10 % 10 ? 1f : 0f).ToArray());
            plan.TrainStep(adam);
            TrainingCheckpoint.Save(path, network, adam, TrainingCounters.Of(plan, adam, step: 1));
            weights = network.Parameter("conv1.weight").ToArray();
        }
        var options = new OnlineLearnerOptions
        {
            Training = new() { Optimizer = "adam", LearningRate = 0.002f, Schedule = "constant", BatchSize = 16 },
            Metadata = LeNetMetadata(graph),
        };
        using (var resumed = OnlineLearner.Resume(path, NeuroDevice.Cpu, options))
        {
            Assert.That((resumed.Steps, resumed.Model.Labels), Is.EqualTo((1L, FashionMnist.ClassNames)));
            Assert.That(resumed.Network.Parameter("conv1.weight").ToArray(), Is.EqualTo(weights));
            resumed.AddPixels(Pixels(28, 28, seed: 33), 28, 28, 3);
            Assert.That(resumed.ExamplesAdded, Is.EqualTo(1));
        }
        using (var bare = OnlineLearner.Resume(path, NeuroDevice.Cpu, options with { Metadata = null }))
            Assert.That(Assert.Throws<InvalidOperationException>(() => bare.AddPixels(Pixels(28, 28, seed: 33), 28, 28, 3))!.Message, Does.Contain("normalized"));
        var other = options with { Metadata = ModelMetadata.Describe(FrameBudgetChecks.SmallCnn()) };
        var error = Assert.Throws<ModelFileException>(() => OnlineLearner.Resume(path, NeuroDevice.Cpu, other));
        Assert.That(error!.Message, Does.StartWith(path + ": graph:").And.Contain("input"));
    }

    [Test]
    public void AFailedSave_LeavesThePreviousFileWhole()
    {
        using var learner = OnlineLearner.Create(FrameBudgetChecks.SmallCnn(), NeuroDevice.Cpu,
            new OnlineLearnerOptions { Training = new() { Optimizer = "adam", Schedule = "constant", BatchSize = 4 } });
        var inputs = Inputs(8 * 144, seed: 22);
        for (int i = 0; i < 8; i++) learner.Add(inputs.AsSpan(i * 144, 144), i % 5);
        learner.Train(2);
        string first = Path.Combine(Folder.Path, "first.ckpt.neuro");
        learner.Save(first);
        // a name the file system takes, whose temporary file name ({path}.{pid}.{guid}.tmp) it refuses: the save fails
        string target = Path.Combine(Folder.Path, new string('g', 240) + ".ckpt.neuro");
        File.Copy(first, target);
        byte[] previous = File.ReadAllBytes(target);
        learner.Train(2);
        Assert.Throws(Is.InstanceOf<IOException>(), () => learner.Save(target));
        Assert.That(File.ReadAllBytes(target), Is.EqualTo(previous), "the previous checkpoint is untouched");
        Assert.That(TrainingCheckpoint.Read(target).Counters.Step, Is.EqualTo(2));
        Assert.That(Directory.GetFiles(Folder.Path, "*.tmp"), Is.Empty);
    }

    [Test]
    public void Misuse_IsATypedErrorNamingBothShapes()
    {
        string model = SaveLeNet(Folder.Path);
        using var learner = OnlineLearner.Create(model, NeuroDevice.Cpu);
        Assert.That(learner.Model.Labels, Is.EqualTo(FashionMnist.ClassNames), "the file's metadata");
        var error = Assert.Throws<InputShapeException>(() => learner.Add(new float[700], 3));
        Assert.That((error!.Expected, error.Actual), Is.EqualTo(("(1,28,28)", "(700) floats")));
        Assert.That(error.Message, Is.EqualTo("learner input (1,28,28), one example, got (700) floats"));
        error = Assert.Throws<InputShapeException>(() => learner.AddPixels(new byte[99], 5, 5, 3));
        Assert.That(error!.Message, Is.EqualTo("learner input (1,28,28), one example, got 99 bytes for one 5×5 RGBA8 image of 100"));
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.Add(new float[784], 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => learner.Add(new float[784], -1));
        Assert.That(Assert.Throws<InvalidOperationException>(() => learner.AddTexture(1, 0))!.Message, Does.StartWith("texture input needs a GL device"));
        Assert.That(learner.ExamplesAdded, Is.Zero, "nothing was added");
        Assert.That(learner.Step(4), Is.Zero, "no steps before a batch of examples");

        var cosine = new OnlineLearnerOptions { Training = new() { Schedule = "cosine" } };
        Assert.That(Assert.Throws<TrainingOptionsException>(() => OnlineLearner.Create(model, NeuroDevice.Cpu, cosine))!.Message, Does.Contain("schedule"));
        var augmented = new OnlineLearnerOptions { Training = new() { Schedule = "constant", Augment = ["flip"] } };
        Assert.That(Assert.Throws<TrainingOptionsException>(() => OnlineLearner.Create(model, NeuroDevice.Cpu, augmented))!.Message, Does.Contain("augment"));
        learner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => learner.Add(new float[784], 1));
        learner.Dispose(); // twice is fine
    }

    [Test]
    public void AddingSteppingAndPredicting_AllocateNothingAfterWarmUp()
    {
        string model = SaveLeNet(Folder.Path);
        using var learner = OnlineLearner.Create(model, NeuroDevice.Cpu, new OnlineLearnerOptions
        {
            Training = new() { Optimizer = "adam", Schedule = "constant", BatchSize = 4, WarmupSteps = 100 },
            ReplayCapacity = 16,
        });
        var input = Inputs(784, seed: 23);
        var pixels = Pixels(40, 30, seed: 23);
        var result = learner.Model.CreatePrediction();
        int label = 0;
        void Frame()
        {
            learner.Add(input, label);
            learner.AddPixels(pixels, 40, 30, label);
            label = (label + 1) % 10;
            learner.Step(0.5);
            learner.Model.Predict(input, result);
        }
        AllocationAssert.WarmUp(_ => Frame()); // also the first steps and the budget's estimates settling
        learner.Train(2);
        long steps = learner.Steps;
        Assert.That(AllocationAssert.AllocatedBy(() => { for (int i = 0; i < 20; i++) Frame(); learner.Train(3); }), Is.Zero, "managed bytes allocated by 20 frames and 3 whole steps");
        Assert.That(learner.Steps, Is.GreaterThanOrEqualTo(steps + 3), "it trained");
    }
}

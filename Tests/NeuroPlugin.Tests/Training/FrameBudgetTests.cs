namespace NeuroPlugin.Tests.Training;

/// <summary>Frame-budgeted training and inference, and the non-finite guard, on each backend (the GL backend's own timing
/// checks in OpenGL/GLFrameBudgetTests).</summary>
[TestFixture(BackendUnderTest.Cpu)]
[TestFixture(BackendUnderTest.GL)]
public class FrameBudgetTests(BackendUnderTest kind) : BackendFixture(kind)
{
    [TestCase(0.0)]        // one stage per frame: a step spread over ~25 frames
    [TestCase(0.05)]       // a few stages per frame
    [TestCase(3_600_000.0)] // everything fits: several steps per frame
    public void Budgeted_EqualsUnbudgetedTrainStep_BitForBit(double budgetMilliseconds) =>
        FrameBudgetChecks.BudgetedEqualsUnbudgeted(Backend, TimeSpan.FromMilliseconds(budgetMilliseconds));

    [Test]
    public void GuardedTrainingInParts_EqualsUnbudgetedSteps_BitForBit() => FrameBudgetChecks.GuardedPartsEqualUnbudgeted(Backend);

    [Test]
    public void BudgetedInference_EqualsOneShotForward() => FrameBudgetChecks.InferenceEqualsOneShot(Backend);

    [Test]
    public void WarmUp_TouchesNothingAndLearnsEveryCost() => FrameBudgetChecks.WarmUpTouchesNothingAndLearnsEveryCost(Backend);

    [Test]
    public void InferenceWarmUp_LearnsEveryCost() => FrameBudgetChecks.InferenceWarmUpLearnsEveryCost(Backend);

    [Test]
    public void WarmUp_RefusesWhatItCannotDo() => FrameBudgetChecks.WarmUpRefusesWhatItCannotDo(Backend);

    [Test]
    public void BudgetedAdvance_AllocatesNothing() => FrameBudgetChecks.AdvanceAllocatesNothing(Backend);

    [Test]
    public void Budget_SpreadsCostlyStepsAndReportsOverruns() => FrameBudgetChecks.ReportOverrun(Backend, TimeSpan.FromMilliseconds(4));

    [Test]
    public void NonFiniteGradient_SkipsTheUpdateAndNamesTheLayer() => FrameBudgetChecks.NonFiniteGradientNamesLayer(Backend);

    [Test]
    public void NonFiniteActivation_NamesTheLayerThatOverflowed() => FrameBudgetChecks.NonFiniteActivationNamesLayer(Backend);

    [Test]
    public void NonFiniteInput_KeepsLastGoodWeightsAndAdamContinuesAsIfSkipped() => FrameBudgetChecks.NonFiniteInputSkipsStep(Backend);

    [Test]
    public void NonFiniteInBudgetedTraining_IsReportedAndTrainingContinues() => FrameBudgetChecks.BudgetedTrainingRecoversFromNonFinite(Backend);

    [Test]
    public void HugeLearningRate_StopsAtTheLastFiniteWeights() => FrameBudgetChecks.HugeLearningRateKeepsLastFiniteWeights(Backend);

    [Test]
    public void NonFiniteWithoutHandler_ThrowsNonFiniteException() => FrameBudgetChecks.UnhandledNonFiniteThrows(Backend);

    [Test]
    public void Settle_FinishesTheStepAndCollectsTheGuardsReport() => FrameBudgetChecks.SettleBeforeSaving(Backend);

    [Test]
    public void NonFiniteInOneGradientAmongMany_ReportsExactlyThatGradient() => FrameBudgetChecks.OneBadGradientAmongMany(Backend);

    [Test]
    public void FlagNonFiniteTensors_SetsExactlyTheFlagOfTheBadTensor() => FrameBudgetChecks.FlagsOfManyTensors(Backend);
}

/// <summary>The stages a plan splits a step into, on the CPU backend.</summary>
public class PlanStagesTests
{
    [Test]
    public void PlanStages_ListEveryNodeInOrder()
    {
        using var backend = new CpuBackend();
        using var network = Network.Create(FrameBudgetChecks.SmallCnn(), backend, seed: 3);
        using var plan = ExecutionPlan.ForTraining(network, 4);
        string[] names = plan.TrainingStages.Select(s => s.Name).ToArray();
        Assert.That(names, Is.EqualTo(new[]
        {
            "forward conv1", "forward bn1", "forward relu1", "forward pool1", "forward flatten", "forward dropout", "forward fc1",
            "loss", "loss backward",
            "backward fc1", "backward dropout", "backward flatten", "backward pool1", "backward relu1", "backward bn1", "backward conv1",
        }));
        using var unfused = ExecutionPlan.ForInference(network, 4, fuseLayers: false);
        Assert.That(unfused.TrainingStages, Is.Empty);
        Assert.That(unfused.InferenceStages.Select(s => s.Node), Is.EqualTo(Enumerable.Range(0, 7)));
        // fused (the default on the CPU): conv1, bn1, relu1 and pool1 run as one stage, at pool1's node, which writes its output
        using var fused = ExecutionPlan.ForInference(network, 4);
        Assert.That(fused.InferenceStages.Select(s => (s.Kind, s.Node, s.Name)), Is.EqualTo(new[]
        {
            (PlanStageKind.FusedForward, 3, "forward conv1+bn1+relu1+pool1"),
            (PlanStageKind.Forward, 4, "forward flatten"), (PlanStageKind.Forward, 5, "forward dropout"), (PlanStageKind.Forward, 6, "forward fc1"),
        }));
    }
}

/// <summary>The budget and guard checks, shared by the CPU and GL fixtures.</summary>
public static partial class FrameBudgetChecks
{
    const int Batch = 4, Classes = 5, Batches = 3;

    /// <summary>conv1 3×3 (4) → bn1 → ReLU → pool 2×2 → flatten → dropout 0.25 → fc1 (5): batch norm and dropout
    /// make every step depend on the plan's step counter and on the batch statistics.</summary>
    public static NetworkGraph SmallCnn()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(1, 12, 12));
        x = graph.Add("conv1", new Conv2d(1, 4, kernelSize: 3, padding: 1), x);
        x = graph.Add("bn1", new BatchNorm2d(4), x);
        x = graph.Add("relu1", Activation.ReLU(), x);
        x = graph.Add("pool1", new MaxPool2d(2), x);
        x = graph.Add("flatten", new Flatten(), x);
        x = graph.Add("dropout", new Dropout(0.25f), x);
        graph.Add("fc1", new Linear(144, Classes), x);
        return graph;
    }

    /// <summary>Adam with L2 penalty, weight decay and clipping: every optimizer stage does something.</summary>
    static Optimizer CreateOptimizer(float learningRate = 0.01f) => new Adam(learningRate, weightDecay: 1e-3f)
    {
        ClipGradientNorm = 1f,
        Regularizer = Regularizer.Create(l1: 1e-4f, l2: 0f),
    };

    /// <summary>Batches cycled by step; one step can be given a poisoned batch.</summary>
    sealed class CycledBatches(int seed) : IBatchSource
    {
        readonly float[][] images = Enumerable.Range(0, Batches).Select(b => Random(seed + b, Batch * 144)).ToArray();
        readonly float[] targets = OneHot();
        public long PoisonStep { get; set; } = -1;
        public float[]? Poison { get; set; }

        public void FillBatch(ExecutionPlan plan, long step)
        {
            plan.Input.Upload(step == PoisonStep ? Poison! : images[step % Batches]);
            plan.Target!.Upload(targets);
        }

        public float[] Images(long step) => images[step % Batches];

        /// <summary>Step <paramref name="step"/> gets its usual images with value <paramref name="index"/> replaced.</summary>
        public CycledBatches PoisonedAt(long step, int index, float value)
        {
            PoisonStep = step;
            Poison = (float[])Images(step).Clone();
            Poison[index] = value;
            return this;
        }
    }

    /// <summary>The guarded training the NaN checks share: <see cref="SmallCnn"/> (seed 3), a training plan of
    /// <see cref="Batch"/> items, <see cref="CreateOptimizer"/>'s Adam, a guard on them and, given batches, a
    /// frame-budgeted trainer over them. Disposed in reverse order.</summary>
    sealed class GuardedRun : IDisposable
    {
        public GuardedRun(IBackend backend, IBatchSource? batches = null)
        {
            Network = Network.Create(SmallCnn(), backend, seed: 3);
            Plan = ExecutionPlan.ForTraining(Network, Batch);
            Optimizer = CreateOptimizer();
            Guard = new NonFiniteGuard(Plan, Optimizer);
            Trainer = batches is null ? null : new FrameBudgetedTrainer(Plan, Optimizer, batches, Guard);
        }

        public Network Network { get; }
        public ExecutionPlan Plan { get; }
        public Optimizer Optimizer { get; }
        public NonFiniteGuard Guard { get; }
        public FrameBudgetedTrainer? Trainer { get; }

        public void Dispose()
        {
            Trainer?.Dispose();
            Guard.Dispose();
            Optimizer.Dispose();
            Plan.Dispose();
            Network.Dispose();
        }
    }

    static float[] Random(int seed, int length)
    {
        var random = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    static float[] OneHot()
    {
        var targets = new float[Batch * Classes];
        for (int n = 0; n < Batch; n++) targets[n * Classes + (n * 3) % Classes] = 1f;
        return targets;
    }

    static float[][] Weights(Network network) => network.ParameterNames.Select(n => network.Parameter(n).ToArray()).ToArray();

    /// <summary>The parameters and the buffers (bn1's running statistics, which the guard must also keep) bit for bit.</summary>
    static void AssertSameWeights(Network expected, Network actual, string what)
    {
        foreach (string name in expected.ParameterNames)
            Assert.That(actual.Parameter(name).ToArray(), Is.EqualTo(expected.Parameter(name).ToArray()), $"{what}: {name} (bit-for-bit)");
        foreach (string name in expected.BufferNames)
            Assert.That(actual.Buffer(name).ToArray(), Is.EqualTo(expected.Buffer(name).ToArray()), $"{what}: {name} (bit-for-bit)");
    }

    /// <summary>Plain <c>FillBatch</c> + <see cref="ExecutionPlan.TrainStep"/> for the steps <paramref name="run"/> keeps,
    /// each with the plan's step counter of that step (skipped steps still ran their forward in the guarded run).</summary>
    static Network Reference(IBackend backend, int steps, Func<long, bool> run, CycledBatches batches)
    {
        var network = Network.Create(SmallCnn(), backend, seed: 3);
        using var plan = ExecutionPlan.ForTraining(network, Batch);
        using var optimizer = CreateOptimizer();
        for (long s = 0; s < steps; s++)
        {
            if (!run(s)) continue;
            plan.RandomCounter = s;
            batches.FillBatch(plan, s);
            plan.TrainStep(optimizer);
        }
        return network;
    }

    public static void BudgetedEqualsUnbudgeted(IBackend backend, TimeSpan budget)
    {
        const int steps = 5;
        var batches = new CycledBatches(seed: 11);
        using var expected = Reference(backend, steps, _ => true, batches);

        using var network = Network.Create(SmallCnn(), backend, seed: 3);
        using var plan = ExecutionPlan.ForTraining(network, Batch);
        using var optimizer = CreateOptimizer();
        using var trainer = new FrameBudgetedTrainer(plan, optimizer, batches);
        int frames = 0;
        while (trainer.CompletedSteps < steps)
        {
            var (stage, part) = (trainer.NextStage, trainer.NextPart);
            trainer.Advance(budget, maxSteps: (int)(steps - trainer.CompletedSteps));
            frames++;
            Assert.That(frames, Is.LessThan(10_000), "the trainer makes progress");
            // a zero budget runs one item per frame, of one part: a whole stage, or the next part of a split one. (How many
            // parts a stage has may change between steps: a part measured over half the last item's limit, as a time slice
            // lost to another process makes it, is split finer.)
            if (budget == TimeSpan.Zero)
            {
                Assert.That(trainer.LastFrame.Stages, Is.EqualTo(1), $"frame {frames}: one item");
                bool stageEnded = part + 1 == trainer.StagePartCount(stage);
                Assert.That((trainer.NextStage == stage, trainer.NextPart), Is.EqualTo(stageEnded ? (false, 0) : (true, part + 1)),
                    $"frame {frames}: one part of stage {stage} ({trainer.StagePartCount(stage)} parts) from part {part}");
            }
        }
        Assert.That(trainer.CompletedSteps, Is.EqualTo(steps));
        Assert.That(trainer.StepInProgress, Is.False);
        // items not measured yet run only first in a frame, so the first step runs one stage per frame (on the CPU the
        // later parts of a stage plan with its first part's cost); the frame of its last stage then has every estimate
        // and runs the remaining steps at once. On GL an item's estimate waits for its GPU timestamps, a frame or more
        // later: until then each part of the first step may need a frame of its own.
        if (budget > TimeSpan.FromMinutes(1))
        {
            int items = Enumerable.Range(0, trainer.StageCount).Sum(trainer.StagePartCount);
            if (backend is CpuBackend) Assert.That(frames, Is.EqualTo(trainer.StageCount), "one frame per stage of the first step");
            Assert.That(frames, Is.InRange(trainer.StageCount, 2 * items));
            Assert.That(trainer.LastFrame.StepsCompleted, Is.GreaterThanOrEqualTo(2), "several measured steps in one frame");
        }
        Assert.That(optimizer.StepCount, Is.EqualTo(steps));
        AssertSameWeights(expected, network, $"after {steps} steps in {frames} frames of {budget.TotalMilliseconds} ms");
    }

    /// <summary>Guarded budgeted steps at a budget far below any stage: every splittable stage, the non-finite check
    /// included, runs in parts (one or a few per frame), and the weights and batch norm's buffers are the bits of plain
    /// unguarded steps (a healthy step's check changes nothing).</summary>
    public static void GuardedPartsEqualUnbudgeted(IBackend backend)
    {
        const int steps = 4;
        var batches = new CycledBatches(seed: 13);
        using var expected = Reference(backend, steps, _ => true, batches);
        using var run = new GuardedRun(backend, batches);
        var trainer = run.Trainer!;
        int check = Enumerable.Range(0, trainer.StageCount).Single(s => trainer.StageName(s) == "non-finite check"), frames = 0;
        while (trainer.CompletedSteps < steps)
        {
            trainer.Advance(TimeSpan.FromMilliseconds(0.02), maxSteps: (int)(steps - trainer.CompletedSteps));
            Assert.That(++frames, Is.LessThan(20_000), "the trainer makes progress");
        }
        Assert.That(trainer.StagePartCount(check), Is.GreaterThan(1), "the non-finite check runs in parts");
        Assert.That(trainer.LastNonFinite, Is.Null);
        Assert.That(run.Optimizer.StepCount, Is.EqualTo(steps));
        AssertSameWeights(expected, run.Network, $"after {steps} guarded steps in {frames} frames of 0.02 ms");
    }

    public static void InferenceEqualsOneShot(IBackend backend)
    {
        using var network = Network.Create(SmallCnn(), backend, seed: 3);
        using var plan = ExecutionPlan.ForInference(network, Batch);
        var batches = new CycledBatches(seed: 12);
        float[] expected = OneShotForward(plan, batches.Images(0));
        using var inference = new FrameBudgetedInference(plan);
        foreach (var budget in new[] { TimeSpan.Zero, TimeSpan.FromMilliseconds(0.05), TimeSpan.FromHours(1) })
        {
            backend.Fill(plan.Output, 0f);
            plan.Input.Upload(batches.Images(0));
            inference.Begin();
            Assert.Throws<InvalidOperationException>(inference.Begin, "a second Begin while a pass runs");
            int frames = 1;
            while (!inference.Advance(budget)) frames++;
            Assert.That(plan.Output.ToArray(), Is.EqualTo(expected), $"output after {frames} frames of {budget.TotalMilliseconds} ms (bit-for-bit)");
            if (budget == TimeSpan.Zero)
                Assert.That(frames, Is.EqualTo(Enumerable.Range(0, inference.StageCount).Sum(inference.StagePartCount)), "one item per frame");
            if (budget == TimeSpan.FromHours(1)) Assert.That(frames, Is.EqualTo(1));
        }
        Assert.That(inference.CompletedPasses, Is.EqualTo(3));
        Assert.That(inference.Advance(TimeSpan.Zero), Is.True, "no pass running: nothing to do");
    }

    /// <summary>The plan's output for <paramref name="images"/> from one whole eval-mode forward pass.</summary>
    static float[] OneShotForward(ExecutionPlan plan, float[] images)
    {
        plan.Input.Upload(images);
        plan.Forward();
        return plan.Output.ToArray();
    }

    public static void AdvanceAllocatesNothing(IBackend backend)
    {
        using var network = Network.Create(ModelZoo.Build("lenet5"), backend, seed: 1);
        using var plan = ExecutionPlan.ForTraining(network, 8);
        using var optimizer = new Sgd(0.01f, momentum: 0.9f);
        using var guard = new NonFiniteGuard(plan, optimizer);
        var source = new UploadBatches(plan);
        using var trainer = new FrameBudgetedTrainer(plan, optimizer, source, guard);
        using var inferencePlan = ExecutionPlan.ForInference(network, 8);
        using var inference = new FrameBudgetedInference(inferencePlan);
        var small = TimeSpan.FromMilliseconds(0.2);
        // warm-up: state, shader compiles, the first timings, and the JIT's tiering of the hot methods, which needs time
        // as well as calls (AllocationAssert.WarmUp): on .NET 8 a tier-up with PGO inside the measurement was seen to
        // allocate 450 KB once on the CPU backend, whose 40 steps take well under a second
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (trainer.CompletedSteps < AllocationAssert.WarmUpCalls || clock.Elapsed < AllocationAssert.WarmUpTime)
        {
            trainer.Advance(trainer.CompletedSteps % 2 == 0 ? TimeSpan.Zero : small);
            if (!inference.IsRunning) inference.Begin();
            inference.Advance(TimeSpan.Zero);
        }
        long allocated = AllocationAssert.AllocatedBy(() =>
        {
            long stepsBefore = trainer.CompletedSteps;
            while (trainer.CompletedSteps < stepsBefore + 20)
            {
                trainer.Advance(trainer.CompletedSteps % 2 == 0 ? TimeSpan.Zero : small);
                if (!inference.IsRunning) inference.Begin();
                inference.Advance(TimeSpan.Zero);
            }
        });
        Assert.That(allocated, Is.EqualTo(0), "managed bytes allocated by 20 budgeted steps and inference passes (guarded)");
        Assert.That(trainer.LastNonFinite, Is.Null);
    }

    /// <summary>Uploads one fixed batch; allocates nothing.</summary>
    sealed class UploadBatches : IBatchSource
    {
        readonly float[] images, targets;

        public UploadBatches(ExecutionPlan plan)
        {
            images = Random(5, plan.Input.Length);
            targets = new float[plan.Target!.Length];
            int classes = plan.Target.Shape[1];
            for (int n = 0; n < plan.BatchSize; n++) targets[n * classes + n % classes] = 1f;
        }

        public void FillBatch(ExecutionPlan plan, long step)
        {
            plan.Input.Upload(images);
            plan.Target!.Upload(targets);
        }
    }

    /// <summary>Trains LeNet-5 (batch 8) under <paramref name="budget"/> per frame after a warm-up and reports the overrun
    /// figures (timing on a shared machine is not asserted); checks that steps costlier than the budget are spread over
    /// frames and that no frame exceeded the budget by more than its stages could explain.</summary>
    public static void ReportOverrun(IBackend backend, TimeSpan budget)
    {
        using var network = Network.Create(ModelZoo.Build("lenet5"), backend, seed: 1);
        using var plan = ExecutionPlan.ForTraining(network, 8);
        using var optimizer = new Sgd(0.01f, momentum: 0.9f);
        using var trainer = new FrameBudgetedTrainer(plan, optimizer, new UploadBatches(plan));
        while (trainer.CompletedSteps < 5) trainer.Advance(budget); // warm-up: shader compiles, state, first timings
        trainer.ResetStatistics();
        int frames = 0;
        long stages = 0;
        double worstHost = 0;
        while (trainer.CompletedSteps < 25)
        {
            trainer.Advance(budget);
            frames++;
            stages += trainer.LastFrame.Stages;
            worstHost = Math.Max(worstHost, trainer.LastFrame.HostTime.TotalMilliseconds);
        }
        for (int i = 0; i < 8; i++) trainer.Advance(TimeSpan.Zero, maxSteps: 0); // let the last GPU timings come back
        var largest = Enumerable.Range(0, trainer.StageCount).Select(s => trainer.StageEstimate(s) ?? TimeSpan.Zero).Max();
        TestContext.Progress.WriteLine(
            $"{backend.Name} ({backend.DeviceName}): budget {budget.TotalMilliseconds} ms, LeNet-5 batch 8 step ≈ {trainer.EstimatedStepTime.TotalMilliseconds:F2} ms " +
            $"({trainer.StageCount} stages, largest {largest.TotalMilliseconds:F3} ms); {frames} frames, {(double)stages / frames:F1} stages/frame; " +
            $"overruns {trainer.Overruns}, max overrun {trainer.MaxOverrun.TotalMilliseconds:F3} ms, worst frame {worstHost:F3} ms host; " +
            $"last device frame {trainer.LastDeviceFrameTime?.TotalMilliseconds:F3} ms");
        if (trainer.EstimatedStepTime > 2 * budget)
            Assert.That(frames, Is.GreaterThan(20), "steps costlier than the budget are spread over several frames");
    }

    /// <summary>A run is savable only between whole steps with no guard report outstanding. Right after a poisoned step
    /// the optimizer's t still counts the skipped update until the report is read: Settle reads it (t back to the applied
    /// updates); stopped inside a step, Settle finishes that step.</summary>
    public static void SettleBeforeSaving(IBackend backend)
    {
        var batches = new CycledBatches(seed: 71).PoisonedAt(2, 5, float.NaN);
        using var run = new GuardedRun(backend, batches);
        var (network, plan, optimizer, guard, trainer) = (run.Network, run.Plan, run.Optimizer, run.Guard, run.Trainer!);
        var reports = new List<NonFiniteReport>();
        trainer.NonFiniteDetected += reports.Add;
        while (trainer.CompletedSteps < 3) trainer.Advance(TimeSpan.FromHours(1), maxSteps: 3 - (int)trainer.CompletedSteps);
        Assert.That((reports.Count, optimizer.StepCount), Is.EqualTo((0, 3L)), "test setup: the bad step is counted until its report is read");

        trainer.Settle();
        Assert.That(reports, Has.Count.EqualTo(1));
        Assert.That(reports[0].Step, Is.EqualTo(3), "the 3rd update (step index 2) went bad");
        Assert.That((trainer.CompletedSteps, optimizer.StepCount), Is.EqualTo((3L, 2L)), "t counts the two applied updates");

        trainer.Advance(TimeSpan.Zero); // one stage of the 4th step
        Assert.That(trainer.StepInProgress, Is.True, "test setup: stopped inside a step");
        trainer.Settle();
        Assert.That((trainer.StepInProgress, trainer.CompletedSteps, optimizer.StepCount, reports.Count), Is.EqualTo((false, 4L, 3L, 1)));
    }
}

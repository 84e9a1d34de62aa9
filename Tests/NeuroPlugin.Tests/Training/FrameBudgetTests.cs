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
        // fused (the default on the CPU): conv1, bn1 and relu1 run as one stage, at relu1's node, which writes its output
        using var fused = ExecutionPlan.ForInference(network, 4);
        Assert.That(fused.InferenceStages.Select(s => (s.Kind, s.Node, s.Name)), Is.EqualTo(new[]
        {
            (PlanStageKind.FusedForward, 2, "forward conv1+bn1+relu1"), (PlanStageKind.Forward, 3, "forward pool1"),
            (PlanStageKind.Forward, 4, "forward flatten"), (PlanStageKind.Forward, 5, "forward dropout"), (PlanStageKind.Forward, 6, "forward fc1"),
        }));
    }
}

/// <summary>The budget and guard checks, shared by the CPU and GL fixtures.</summary>
public static class FrameBudgetChecks
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
            trainer.Advance(budget, maxSteps: (int)(steps - trainer.CompletedSteps));
            frames++;
            Assert.That(frames, Is.LessThan(10_000), "the trainer makes progress");
        }
        Assert.That(trainer.CompletedSteps, Is.EqualTo(steps));
        Assert.That(trainer.StepInProgress, Is.False);
        // a zero budget runs one item per frame: a whole stage, or one of the parts of a stage that does several ops
        if (budget == TimeSpan.Zero)
            Assert.That(frames, Is.EqualTo(steps * Enumerable.Range(0, trainer.StageCount).Sum(trainer.StagePartCount)), "one item per frame");
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
        plan.Input.Upload(batches.Images(0));
        plan.Forward();
        float[] expected = plan.Output.ToArray();

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
        // warm-up: state, shader compiles, the first timings, and the JIT's tiering of the hot methods
        while (trainer.CompletedSteps < 40)
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

    /// <summary>One good guarded step, then a step whose conv1 weight gradient gets a NaN just before the check: the
    /// update is skipped, the report names conv1.weight and layer conv1, and the weights and Adam's state stay those of step 1.</summary>
    public static void NonFiniteGradientNamesLayer(IBackend backend)
    {
        var batches = new CycledBatches(seed: 21);
        using var expected = Reference(backend, 1, _ => true, batches);
        using var run = new GuardedRun(backend);
        var (network, plan, optimizer, guard) = (run.Network, run.Plan, run.Optimizer, run.Guard);
        var parameters = plan.Parameters.ToArray();
        var gradients = plan.ParameterGradients.ToArray();

        batches.FillBatch(plan, 0);
        guard.TrainStep();
        Assert.That(guard.ReadNow(), Is.Null, "a finite step reports nothing");
        var exponentialAverage = optimizer.State(0, "exp_avg").ToArray();

        batches.FillBatch(plan, 1);
        plan.ComputeGradients();
        var conv1Grad = gradients.Single(g => g.Name == "conv1.weight.grad");
        var values = conv1Grad.ToArray();
        values[7] = float.NaN;
        conv1Grad.Upload(values);
        guard.Check();
        optimizer.Step(backend, parameters, gradients);

        AssertSameWeights(expected, network, "after the skipped step");
        Assert.That(optimizer.State(0, "exp_avg").ToArray(), Is.EqualTo(exponentialAverage), "Adam's exp_avg of conv1.weight is kept");
        var report = guard.ReadNow();
        Assert.That(report, Is.Not.Null);
        Assert.That(report!.Step, Is.EqualTo(2));
        Assert.That(report.SkippedUpdates, Is.EqualTo(1));
        Assert.That(report.Tensors, Is.EqualTo(new[] { new NonFiniteTensor("conv1.weight", NonFiniteTensorKind.Gradient, "conv1") }));
        Assert.That(report.Layer, Is.EqualTo("conv1"));
        Assert.That(report.ToString(), Does.Contain("conv1.weight (gradient)").And.Contain("layer 'conv1'"));
        Assert.That(optimizer.StepCount, Is.EqualTo(1), "t rewound to the last applied update");
        Assert.That(guard.ReadNow(), Is.Null, "the report is cleared once delivered");
    }

    /// <summary>An MLP whose fc1 overflows to +∞ on a finite (huge) input: the report's origin is fc1's output.</summary>
    public static void NonFiniteActivationNamesLayer(IBackend backend)
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("features", new TensorShape(8));
        x = graph.Add("fc1", new Linear(8, 4), x);
        x = graph.Add("relu1", Activation.ReLU(), x);
        graph.Add("fc2", new Linear(4, 3), x);
        using var network = Network.Create(graph, backend, seed: 4);
        network.Parameter("fc1.weight").Upload(Enumerable.Repeat(1f, 32).ToArray());
        float[] before = network.Parameter("fc1.weight").ToArray();
        float[] fc2Before = network.Parameter("fc2.weight").ToArray();
        using var plan = ExecutionPlan.ForTraining(network, 2);
        using var optimizer = new Sgd(0.1f);
        using var guard = new NonFiniteGuard(plan, optimizer);
        plan.Input.Upload(Enumerable.Repeat(3e38f, 16).ToArray()); // finite, but 8 of them summed overflow
        plan.Target!.Upload([1, 0, 0, 0, 1, 0]);
        guard.TrainStep();

        var report = guard.ReadNow()!;
        Assert.That(report, Is.Not.Null);
        Assert.That(report.Origin, Is.EqualTo(new NonFiniteTensor("fc1", NonFiniteTensorKind.Activation, "fc1")));
        Assert.That(report.Layer, Is.EqualTo("fc1"));
        Assert.That(report.Tensors.Select(t => t.Name), Does.Contain("loss"));
        Assert.That(network.Parameter("fc1.weight").ToArray(), Is.EqualTo(before));
        Assert.That(network.Parameter("fc2.weight").ToArray(), Is.EqualTo(fc2Before));
    }

    /// <summary>Steps 0, 1 (NaN in the input), 2 with Adam: the guarded run's weights equal a reference that trained on
    /// steps 0 and 2 only — so the skipped step left weights and moments alone and t continued from 1, not 2.</summary>
    public static void NonFiniteInputSkipsStep(IBackend backend)
    {
        var batches = new CycledBatches(seed: 31).PoisonedAt(1, 5, float.NaN);
        using var expectedAfterOne = Reference(backend, 1, _ => true, batches);
        using var expected = Reference(backend, 3, s => s != 1, batches);

        using var run = new GuardedRun(backend);
        var (network, plan, optimizer, guard) = (run.Network, run.Plan, run.Optimizer, run.Guard);
        var initialMean = network.Buffer("bn1.running_mean").ToArray();
        batches.FillBatch(plan, 0);
        guard.TrainStep();
        var goodMean = network.Buffer("bn1.running_mean").ToArray();
        Assert.That(goodMean, Is.Not.EqualTo(initialMean), "a good step moves the running mean");
        batches.FillBatch(plan, 1);
        guard.TrainStep();
        Assert.That(network.Buffer("bn1.running_mean").ToArray(), Is.EqualTo(goodMean), "the poisoned step's batch statistics are undone");
        Assert.That(network.Buffer("bn1.running_var").ToArray(), Is.All.Matches<float>(float.IsFinite));
        AssertSameWeights(expectedAfterOne, network, "after the poisoned step");

        var report = guard.ReadNow();
        Assert.That(report, Is.Not.Null);
        Assert.That(report!.Origin, Is.EqualTo(new NonFiniteTensor("input", NonFiniteTensorKind.Input, "input")));
        Assert.That(report.Step, Is.EqualTo(2));
        // NaN reaches conv1's gradients on every backend; whether it survives ReLU into the loss differs (GLSL's max(NaN, 0)
        // may return 0), which is why the guard watches gradients and not only the loss
        Assert.That(report.Tensors, Does.Contain(new NonFiniteTensor("conv1.weight", NonFiniteTensorKind.Gradient, "conv1")));
        batches.FillBatch(plan, 2);
        guard.TrainStep();
        Assert.That(guard.ReadNow(), Is.Null);
        Assert.That(optimizer.StepCount, Is.EqualTo(2));
        AssertSameWeights(expected, network, "steps 0 and 2");
    }

    /// <summary>Budgeted and guarded, with the report read asynchronously: a poisoned batch at step 3 is reported through
    /// the event a little later; the skipped steps (3 and any queued before the report arrived) leave no trace, and the
    /// weights equal a reference trained on the other steps.</summary>
    public static void BudgetedTrainingRecoversFromNonFinite(IBackend backend)
    {
        const int steps = 12;
        var batches = new CycledBatches(seed: 41).PoisonedAt(3, 0, float.PositiveInfinity);

        using var run = new GuardedRun(backend, batches);
        var (network, plan, optimizer, guard, trainer) = (run.Network, run.Plan, run.Optimizer, run.Guard, run.Trainer!);
        var reports = new List<(NonFiniteReport Report, long AtStep)>();
        trainer.NonFiniteDetected += r => reports.Add((r, trainer.CompletedSteps));
        int frames = 0;
        while (trainer.CompletedSteps < steps)
        {
            trainer.Advance(TimeSpan.FromMilliseconds(0.05), maxSteps: (int)(steps - trainer.CompletedSteps));
            Assert.That(++frames, Is.LessThan(10_000));
        }
        Assert.That(reports, Has.Count.EqualTo(1));
        var (report, atStep) = reports[0];
        Assert.That(report.Step, Is.EqualTo(4), "the 4th update (step index 3) went bad");
        Assert.That(report.Layer, Is.EqualTo("input"));
        Assert.That(report.SkippedUpdates, Is.EqualTo(atStep - 3), "the bad step and those queued before the report arrived");
        Assert.That(trainer.LastNonFinite, Is.SameAs(report));
        Assert.That(optimizer.StepCount, Is.EqualTo(steps - report.SkippedUpdates));
        using var expected = Reference(backend, steps, s => s < 3 || s >= atStep, batches);
        AssertSameWeights(expected, network, $"skipping steps 3..{atStep - 1}");
    }

    /// <summary>SGD with an absurd learning rate: an update overflows the weights to ±∞ within a few steps, and the next
    /// step's forward goes non-finite. The guard skips that step: the weights equal an unguarded run of exactly the
    /// updates before the report's step, and the report's origin is the first parameter (forward order) that the
    /// reference run shows non-finite — the layer an update blew up.</summary>
    public static void HugeLearningRateKeepsLastFiniteWeights(IBackend backend)
    {
        var batches = new CycledBatches(seed: 51);
        using var network = Network.Create(SmallCnn(), backend, seed: 3);
        using var plan = ExecutionPlan.ForTraining(network, Batch);
        using var optimizer = new Sgd(1e30f);
        using var guard = new NonFiniteGuard(plan, optimizer);
        NonFiniteReport? report = null;
        for (int s = 0; s < 10 && report is null; s++)
        {
            batches.FillBatch(plan, s);
            guard.TrainStep();
            report = guard.ReadNow();
        }
        Assert.That(report, Is.Not.Null, "a learning rate of 1e30 overflows within 10 steps");
        long good = report!.Step - 1;
        Assert.That(good, Is.GreaterThanOrEqualTo(1));

        using var reference = Network.Create(SmallCnn(), backend, seed: 3);
        using var referencePlan = ExecutionPlan.ForTraining(reference, Batch);
        using var referenceOptimizer = new Sgd(1e30f);
        for (int s = 0; s < good; s++)
        {
            batches.FillBatch(referencePlan, s);
            referencePlan.TrainStep(referenceOptimizer);
        }
        AssertSameWeights(reference, network, $"the weights after {good} updates");

        // the reference's next step, scanned on the host in the guard's order, lists the same bad tensors
        batches.FillBatch(referencePlan, good);
        referencePlan.ComputeGradients();
        var expected = new List<NonFiniteTensor>();
        bool Bad(Tensor tensor) => !tensor.ToArray().All(float.IsFinite);
        string LayerOf(string parameter) => parameter[..parameter.LastIndexOf('.')];
        if (Bad(referencePlan.Input)) expected.Add(new("input", NonFiniteTensorKind.Input, "input"));
        foreach (var p in referencePlan.Parameters) if (Bad(p)) expected.Add(new(p.Name, NonFiniteTensorKind.Parameter, LayerOf(p.Name)));
        foreach (var node in reference.Graph.Nodes)
            if (Bad(referencePlan.Tensor(node.Name))) expected.Add(new(node.Name, NonFiniteTensorKind.Activation, node.Name));
        if (Bad(referencePlan.Loss!)) expected.Add(new("loss", NonFiniteTensorKind.Loss, "loss"));
        for (int i = referencePlan.Parameters.Count - 1; i >= 0; i--)
            if (Bad(referencePlan.ParameterGradients[i]))
                expected.Add(new(referencePlan.Parameters[i].Name, NonFiniteTensorKind.Gradient, LayerOf(referencePlan.Parameters[i].Name)));
        Assert.That(report.Tensors, Is.EqualTo(expected));
        TestContext.Progress.WriteLine(report.ToString());
    }

    public static void UnhandledNonFiniteThrows(IBackend backend)
    {
        var batches = new CycledBatches(seed: 61) { PoisonStep = 0 };
        batches.Poison = Enumerable.Repeat(float.NaN, Batch * 144).ToArray();
        using var network = Network.Create(SmallCnn(), backend, seed: 3);
        float[][] initial = Weights(network);
        using var plan = ExecutionPlan.ForTraining(network, Batch);
        using var optimizer = CreateOptimizer();
        using var guard = new NonFiniteGuard(plan, optimizer);
        using var trainer = new FrameBudgetedTrainer(plan, optimizer, batches, guard);
        var thrown = Assert.Throws<NonFiniteException>(() =>
        {
            for (int frame = 0; frame < 1000; frame++) trainer.Advance(TimeSpan.FromHours(1), maxSteps: 1);
        });
        Assert.That(thrown!.Report.Step, Is.EqualTo(1));
        Assert.That(thrown.Message, Does.Contain("layer 'input'"));
        Assert.That(Weights(network), Is.EqualTo(initial), "no update was applied");
        Assert.That(optimizer.StepCount, Is.Zero);
    }

    /// <summary>NaN or +∞ planted at the first or the last element of the first, a middle or the last parameter's gradient
    /// (on GL the gradients are ranges of one buffer, flagged in one dispatch): each guarded step's report names exactly
    /// that gradient, and the next step, whose gradients are computed afresh, goes on.</summary>
    public static void OneBadGradientAmongMany(IBackend backend)
    {
        var batches = new CycledBatches(seed: 81);
        using var run = new GuardedRun(backend);
        var (plan, optimizer, guard) = (run.Plan, run.Optimizer, run.Guard);
        var parameters = plan.Parameters.ToArray();
        var gradients = plan.ParameterGradients.ToArray();
        Assert.That(gradients, Has.Length.GreaterThanOrEqualTo(3), "test setup: several gradients");
        int step = 0;
        foreach (int k in new[] { 0, gradients.Length / 2, gradients.Length - 1 })
            foreach (bool last in new[] { false, true })
            {
                batches.FillBatch(plan, step++);
                plan.ComputeGradients();
                var values = gradients[k].ToArray();
                values[last ? values.Length - 1 : 0] = last ? float.PositiveInfinity : float.NaN;
                gradients[k].Upload(values);
                guard.Check();
                optimizer.Step(backend, parameters, gradients);
                string name = parameters[k].Name;
                Assert.That(guard.ReadNow()?.Tensors, Is.EqualTo(new[] { new NonFiniteTensor(name, NonFiniteTensorKind.Gradient, name[..name.LastIndexOf('.')]) }),
                    $"{(last ? "+∞ at the last" : "NaN at the first")} element of {name}'s gradient ({values.Length} values)");
                batches.FillBatch(plan, step++);
                guard.TrainStep();
                Assert.That(guard.ReadNow(), Is.Null, "the next, finite step");
            }
    }

    /// <summary>The lengths of <see cref="FlagsOfManyTensors"/>' grouped tensors: whole and partial last vec4s.</summary>
    public static readonly int[] FlagGroupLengths = [6, 4, 9, 3, 7];

    /// <summary><see cref="FlagsOfManyTensors"/>' tensors: a group (ranges of one buffer on GL) and one tensor of its own,
    /// listed as group 0..3, the lone tensor, group 4 (on GL a run of four, a lone tensor, a run of one), and their flag
    /// indices, a permutation with flag 6 set by none.</summary>
    public static (Tensor[] Group, Tensor Lone, Tensor[] Inputs, int[] Indices) FlagTensors(IBackend backend)
    {
        var group = backend.AllocateGroup(FlagGroupLengths.Select(n => new TensorShape(n)).ToArray(),
            FlagGroupLengths.Select((_, i) => $"g{i}").ToArray(), "flagged group");
        var lone = backend.Allocate(new TensorShape(5), "lone");
        return (group, lone, [group[0], group[1], group[2], group[3], lone, group[4]], [4, 0, 5, 2, 1, 3]);
    }

    /// <summary>IBackend.FlagNonFiniteTensors against its definition: NaN, +∞ or −∞ planted at the first, a middle and the
    /// last element (the last vec4's last own lane) of each tensor in turn sets exactly that tensor's flag; finite extremes
    /// (±float.MaxValue, subnormals, −0) set none; two bad tensors set both; flags nobody sets are left as they were.</summary>
    public static void FlagsOfManyTensors(IBackend backend)
    {
        var (group, lone, inputs, indices) = FlagTensors(backend);
        using var flags = backend.Allocate(new TensorShape(7), "flags");
        try
        {
            var random = new Random(5);
            float[][] clean = inputs.Select(t => Enumerable.Range(0, t.Length).Select(i => (i % 4) switch
            {
                0 => float.MaxValue,
                1 => -float.Epsilon,
                2 => -0f,
                _ => (float)random.NextDouble() * 2f - 1f,
            }).ToArray()).ToArray();
            float[] Flags(params (int Tensor, int Element, float Value)[] plants)
            {
                for (int t = 0; t < inputs.Length; t++)
                {
                    var values = (float[])clean[t].Clone();
                    foreach (var (tensor, element, value) in plants)
                        if (tensor == t) values[element] = value;
                    inputs[t].Upload(values);
                }
                backend.Fill(flags, 0f);
                backend.FlagNonFiniteTensors(inputs, flags, indices);
                return flags.ToArray();
            }
            float[] Expected(params int[] tensors)
            {
                var expected = new float[7];
                foreach (int t in tensors) expected[indices[t]] = 1f;
                return expected;
            }

            Assert.That(Flags(), Is.EqualTo(new float[7]), "finite values, the largest and the subnormals included");
            float[] bad = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];
            int plant = 0;
            for (int t = 0; t < inputs.Length; t++)
                foreach (int element in new[] { 0, inputs[t].Length / 2, inputs[t].Length - 1 })
                {
                    float value = bad[plant++ % bad.Length];
                    Assert.That(Flags((t, element, value)), Is.EqualTo(Expected(t)), $"{value} at {inputs[t].Name}[{element}] of {inputs[t].Length}");
                }
            Assert.That(Flags((0, 1, float.NaN), (5, 6, float.PositiveInfinity)), Is.EqualTo(Expected(0, 5)), "the first and the last tensor");

            for (int t = 0; t < inputs.Length; t++) inputs[t].Upload(t == 2 ? Enumerable.Repeat(float.NaN, inputs[t].Length).ToArray() : clean[t]);
            flags.Upload([0f, 0f, 0f, 0f, 0f, 0f, 1f]);
            backend.FlagNonFiniteTensors(inputs, flags, indices);
            Assert.That(flags.ToArray(), Is.EqualTo(new[] { 0f, 0f, 0f, 0f, 0f, 1f, 1f }), "a set flag stays set; others are left alone");
            Assert.Throws<ArgumentException>(() => backend.FlagNonFiniteTensors(inputs, flags, indices.AsSpan(1)));
            Assert.Throws<ArgumentOutOfRangeException>(() => backend.FlagNonFiniteTensors(inputs, flags, [0, 1, 2, 3, 4, 7]));
        }
        finally
        {
            foreach (var tensor in group) tensor.Dispose();
            lone.Dispose();
        }
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

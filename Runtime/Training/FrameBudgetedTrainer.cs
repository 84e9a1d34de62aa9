using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Training;

/// <summary>
/// Supplies training batches to a <see cref="FrameBudgetedTrainer"/>: called once at the start of every step, it fills
/// <see cref="ExecutionPlan.Input"/> (N, item shape) and <see cref="ExecutionPlan.Target"/> (N,K) — by uploading, or with
/// device kernels (sampling a replay buffer on the GPU) so nothing crosses the bus. It may also set the optimizer's
/// learning rate for the step (a schedule). Should allocate nothing, so that a step allocates nothing.
/// </summary>
public interface IBatchSource
{
    /// <summary>Fills the plan's input and targets for training step <paramref name="step"/> (0, 1, 2, …: the trainer's
    /// <see cref="FrameBudgetedTrainer.CompletedSteps"/> when the step starts).</summary>
    void FillBatch(ExecutionPlan plan, long step);
}

/// <summary>
/// Training that fits a frame: <see cref="Advance"/> runs as many stages of training steps as fit a time budget (say 4 ms
/// of a 16 ms frame) and returns; the next call resumes where it stopped. A step is the sequence
/// <list type="number">
/// <item>batch: <see cref="IBatchSource.FillBatch"/> (and, with a guard, <see cref="NonFiniteGuard.SaveStatistics"/>);</item>
/// <item>the plan's <see cref="ExecutionPlan.TrainingStages"/>: forward of each node, loss, zeroed gradients and the
/// loss gradient, backward of each node;</item>
/// <item>with a <see cref="NonFiniteGuard"/>, its <see cref="NonFiniteGuard.Check"/>;</item>
/// <item>with a <see cref="Monitor"/> sampling the step and tracking updates, the weights before the update;</item>
/// <item>the optimizer's stages (<see cref="Optimizer.RunStage"/>): penalty and clipping (which need every gradient),
/// then one update per parameter;</item>
/// <item>with a <see cref="Monitor"/> sampling the step, its statistics kernels (in parts, like the plan's stages), so a
/// sampled step costs the frames no more than their budget.</item>
/// </list>
/// These are exactly the kernels of <c>FillBatch</c> + <see cref="ExecutionPlan.TrainStep"/>, in the same order, so the
/// weights after n steps are bit-for-bit those of n unbudgeted steps, whatever the budgets. The monitor's stages are passed
/// over on the steps it does not sample (neither run nor timed). Which stages fit is decided by
/// cost estimates (host wall time on the CPU backend, GPU time from timer queries read back asynchronously on GL; see
/// <see cref="FrameBudget"/> for the policy). The granularity is finer than an op: a node's forward or backward and a
/// parameter's update run in parts (windows of their work groups on GL; on the CPU a convolution's (sample, channel tile)
/// blocks and output-channel tiles, element blocks and op calls; see <see cref="WorkSlice"/>), split until a part takes at
/// most an eighth of the smallest budget seen, with the same bits as a whole run; the parts of a stage that fit a frame
/// together run as one call. The non-finite check runs in parts too (its flag kernels); only the batch and the optimizer's penalty stage run whole.
/// <para>After warm-up (first step, first timings) Advance allocates nothing on the managed heap and waits for nothing.
/// With a guard, every step-start polls it (non-blocking; see <see cref="NonFiniteGuard.Poll"/>): a report raises
/// <see cref="NonFiniteDetected"/>, or throws <see cref="NonFiniteException"/> when nobody subscribed, after the guard
/// rewound the optimizer to the last good step — training then continues from the last good weights.</para>
/// <para>All calls on the thread that owns the backend (the GL context's thread). The plan, optimizer, batches and guard
/// stay the caller's; Dispose releases only the timing queries.</para>
/// </summary>
public sealed class FrameBudgetedTrainer : FrameBudgetedStages
{
    readonly IBatchSource batches;
    readonly Tensor[] parameters, gradients;
    // stage numbers: 0 batch, [1, guardStage) the plan's, then the guard's check (when there is a guard), the monitor's
    // weights before the update (while a monitor is attached), the optimizer's penalty, one update per parameter, and the
    // monitor's statistics (while attached); a stage a layout lacks is −1
    int guardStage, weightsStage, penaltyStage, statisticsStage;
    string[] stageNames;
    int stepsThisCall, stepsLimit;

    /// <param name="plan">A training plan; its <see cref="ExecutionPlan.Input"/>/<see cref="ExecutionPlan.Target"/> are filled by <paramref name="batches"/>.</param>
    /// <param name="optimizer">Updates the plan's parameters.</param>
    /// <param name="batches">Fills each step's batch.</param>
    /// <param name="guard">Optional non-finite guard made for the same plan and optimizer.</param>
    public FrameBudgetedTrainer(ExecutionPlan plan, Optimizer optimizer, IBatchSource batches, NonFiniteGuard? guard = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(batches);
        if (!plan.IsTraining) throw new ArgumentException("frame-budgeted training needs a plan made by ExecutionPlan.ForTraining", nameof(plan));
        if (guard is not null && !ReferenceEquals(optimizer.SkipFlag, guard.Report))
            throw new ArgumentException($"the non-finite guard was made for another optimizer than this {optimizer.Name}", nameof(guard));
        Plan = plan;
        Optimizer = optimizer;
        Guard = guard;
        this.batches = batches;
        parameters = [.. plan.Parameters];
        gradients = [.. plan.ParameterGradients];
        (stageNames, Budget) = LayOutStages(monitored: false);
    }

    /// <summary>Numbers the stages of a step, with or without the monitor's two, and makes the scheduler for them.</summary>
    (string[] Names, FrameBudget Budget) LayOutStages(bool monitored)
    {
        var names = new List<string> { "batch" };
        foreach (var stage in Plan.TrainingStages) names.Add(stage.Name);
        guardStage = names.Count;
        if (Guard is not null) names.Add("non-finite check");
        weightsStage = monitored ? names.Count : -1;
        if (monitored) names.Add("monitor weights before the update");
        penaltyStage = names.Count;
        names.Add($"{Optimizer.Name} penalty and clipping");
        foreach (var parameter in parameters) names.Add($"{Optimizer.Name} update {parameter.Name}");
        statisticsStage = monitored ? names.Count : -1;
        if (monitored) names.Add("monitor statistics");
        return ([.. names], new FrameBudget(Plan.Network.Backend, names.Count));
    }

    /// <summary>The training plan whose stages are spread over frames.</summary>
    public ExecutionPlan Plan { get; }
    /// <summary>The rule that updates the plan's parameters, one parameter per stage.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>The non-finite guard polled at every step start; null when none was given.</summary>
    public NonFiniteGuard? Guard { get; }
    /// <summary>The training monitor riding along (<see cref="Monitoring.TrainingMonitor.Attach(FrameBudgetedTrainer, Monitoring.MonitorOptions?)"/>);
    /// null when none. Its sampled steps' statistics run as this trainer's last stage, within the budgets.</summary>
    public Monitoring.TrainingMonitor? Monitor
    {
        get => monitor;
        internal set
        {
            if (StepInProgress) throw new InvalidOperationException("a monitor attaches and detaches at a step boundary (CompleteStep first)");
            monitor = value;
            // the step gains or loses the monitor's stages: a new scheduler learns their costs (and the others' again)
            (bool split, double percentile, TimeSpan lastItem) = (Budget.SplitStages, Budget.MarginPercentile, Budget.LastItemLimit);
            Budget.Dispose();
            (stageNames, Budget) = LayOutStages(monitored: value is not null);
            (Budget.SplitStages, Budget.MarginPercentile, Budget.LastItemLimit) = (split, percentile, lastItem);
        }
    }

    Monitoring.TrainingMonitor? monitor;

    /// <summary>Stages in one training step (see the class remarks).</summary>
    public int StageCount => stageNames.Length;
    /// <summary>How much of the step in progress is done, in [0, 1): stages done plus the done share of the current one
    /// (by parts), over <see cref="StageCount"/>. With <see cref="CompletedSteps"/> it measures progress between frames
    /// (steps per second = the change of <c>CompletedSteps + StepFraction</c> over a second).</summary>
    public double StepFraction => Budget.SequenceFraction(next);
    /// <summary>A stage's name for reports: "batch", "forward conv1", "backward fc3", "adam update conv1.weight", ….</summary>
    public string StageName(int stage) => stageNames[stage];
    /// <summary>A stage's current cost estimate; null until measured.</summary>
    public TimeSpan? StageEstimate(int stage) => Budget.Estimate(stage);
    /// <summary>The summed estimates: what one whole step costs, as far as measured.</summary>
    public TimeSpan EstimatedStepTime => Budget.EstimatedTotal;

    /// <summary>Training steps finished (updates issued, skipped ones included).</summary>
    public long CompletedSteps { get; private set; }
    /// <summary>True between a step's first and last stage: the weights are those of the previous step until it finishes.</summary>
    public bool StepInProgress => next != 0 || Budget.NextPart != 0;

    /// <summary>Raised at a step start when the guard reports NaN or ±∞ (the optimizer is already rewound; training goes on).
    /// Without a subscriber, <see cref="Advance"/> throws <see cref="NonFiniteException"/> instead.</summary>
    public event Action<NonFiniteReport>? NonFiniteDetected;

    /// <summary>The last report the guard delivered; null if none.</summary>
    public NonFiniteReport? LastNonFinite { get; private set; }

    /// <summary>
    /// Runs training stages while their estimated cost fits <paramref name="budget"/> (always at least one), resuming
    /// where the previous call stopped, and finishes at most <paramref name="maxSteps"/> steps (a step in progress
    /// counts; with 0 only a step already in progress advances, up to its end). Returns the number of steps finished in
    /// this call. With a large budget and no <paramref name="maxSteps"/>, the call trains for the whole budget.
    /// </summary>
    /// <exception cref="NonFiniteException">The guard reported a non-finite step and <see cref="NonFiniteDetected"/> has no subscriber.</exception>
    public int Advance(TimeSpan budget, int maxSteps = int.MaxValue)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(maxSteps);
        stepsLimit = maxSteps;
        stepsThisCall = 0;
        var work = new Work(this);
        return Budget.Run(budget, ref work, ref next, stopAtEnd: false);
    }

    /// <summary>Runs the rest of the step in progress now, without a budget (before saving or reading the weights); does
    /// nothing at a step boundary.</summary>
    public void CompleteStep()
    {
        ThrowIfDisposed();
        var work = new Work(this);
        Budget.CompleteSequence(ref work, ref next);
    }

    /// <summary>
    /// Brings the run to a state a checkpoint can hold (<c>TrainingCheckpoint.Save(path, network, optimizer, counters)</c>):
    /// finishes the step in progress (<see cref="CompleteStep"/>) and, with a guard, reads its report now — a wait for
    /// the device — delivering it as <see cref="Advance"/> would, so <see cref="Optimizer.StepCount"/> no longer counts
    /// updates the guard skipped.
    /// </summary>
    /// <exception cref="NonFiniteException">The guard reported a non-finite step and <see cref="NonFiniteDetected"/> has no subscriber.</exception>
    public void Settle()
    {
        CompleteStep();
        if (Guard?.ReadNow() is { } report) Deliver(report);
    }

    /// <summary>
    /// Readies training for the frames ahead, on a loading screen: runs a few training steps of this trainer's network on
    /// a scratch copy — the same graph and batch size with fresh weights, a new optimizer of the same rule and
    /// hyper-parameters, a new guard when this trainer has one — on the same backend, and then disposes the copy. The
    /// first step compiles what a step's first run compiles (the JIT's methods, the GL programs, the driver's code for
    /// each dispatch), which otherwise lands in the first frames that train as items 5–20× their cost; the other
    /// <paramref name="measuredSteps"/> are scheduled at <paramref name="budget"/> per call by this trainer's own
    /// scheduler, so it knows every stage's cost and split from its first frame on instead of running one item a frame
    /// while it learns them. This trainer's network, optimizer, guard, step count and batches are not touched (results
    /// stay the bits of unbudgeted steps); its overrun counts are reset. Takes a few steps' time and, while it runs,
    /// a second copy of the plan's memory. Call between steps, with no monitor attached (attach it afterwards).
    /// </summary>
    /// <param name="budget">The per-frame budget the game will give <see cref="Advance"/> (its smallest, if it varies).</param>
    /// <param name="batches">Fills the scratch plan's batches (a replay buffer of blank examples, say, so its code
    /// compiles too); null fills them with zeros.</param>
    /// <param name="measuredSteps">Steps measured after the compiling one (at least 1).</param>
    /// <exception cref="InvalidOperationException">A step is in progress, or a monitor is attached.</exception>
    /// <exception cref="NotSupportedException">The optimizer is not a built-in rule, so it cannot be copied.</exception>
    public void WarmUp(TimeSpan budget, IBatchSource? batches = null, int measuredSteps = 2)
    {
        CheckWarmUp(budget, measuredSteps, "Steps");
        if (monitor is not null) throw new InvalidOperationException("warm up before attaching a monitor: its stages are not in the scratch copy's steps");
        var backend = Plan.Network.Backend;
        using var network = Network.Create(Plan.Network.Graph, backend, Plan.Network.Seed);
        using var plan = ExecutionPlan.ForTraining(network, Plan.BatchSize);
        plan.Seed = Plan.Seed;
        using var optimizer = Optimizer.FromDescription(Optimizer.DescribeHyperParameters(), Optimizer.LearningRate, "optimizer.")
            ?? throw new NotSupportedException($"warm-up trains a copy of the optimizer, and '{Optimizer.Name}' is not a built-in rule it can copy");
        using var guard = Guard is null ? null : new NonFiniteGuard(plan, optimizer, Guard.WatchesForward);
        using var scratch = new FrameBudgetedTrainer(plan, optimizer, batches ?? new ZeroBatches(), guard) { stepsLimit = int.MaxValue };
        var work = new Work(scratch);
        WarmUp(budget, measuredSteps, ref work, ref scratch.next, backend, StageCount);
    }

    /// <summary>Zero inputs and targets: a warm-up's batches when the caller gives none.</summary>
    sealed class ZeroBatches : IBatchSource
    {
        public void FillBatch(ExecutionPlan plan, long step)
        {
            plan.Input.Backend.Fill(plan.Input, 0f);
            plan.Target!.Backend.Fill(plan.Target, 0f);
        }
    }

    void RunStage(int stage)
    {
        if (stage == 0)
        {
            batches.FillBatch(Plan, CompletedSteps);
            Guard?.SaveStatistics();
            return;
        }
        if (stage < guardStage) Plan.RunTrainingStage(stage - 1);
        else if (stage == weightsStage) monitor!.RememberWeights();
        else if (stage == statisticsStage) monitor!.RecordStatistics();
        else if (stage < penaltyStage) Guard!.Check();
        else Optimizer.RunStage(Plan.Network.Backend, parameters, gradients, stage - penaltyStage);
    }

    /// <summary>The plan's stages, the non-finite check, the optimizer's per-parameter updates and the monitor's statistics
    /// may run in parts; the batch (the source's own code), the monitor's weights and the optimizer's penalty stage (which
    /// counts the step) run whole. The check's host code issues the same kernels every time (its step number is the
    /// optimizer's count, which only the penalty stage after it moves): a flag pass over dozens of tensors, one dispatch
    /// or op call each, that on llvmpipe costs about as much as a small budget.</summary>
    bool CanSplit(int stage) => (stage >= 1 && stage < guardStage) || (stage == guardStage && Guard is not null) || stage > penaltyStage;

    /// <summary>The monitor's stages when it does not sample this step (the weights' stage also when it does not track updates).</summary>
    bool Skips(int stage) =>
        (stage == weightsStage && !(monitor!.SamplesCurrentStep && monitor.Options.TrackUpdates)) ||
        (stage == statisticsStage && !monitor!.SamplesCurrentStep);

    long RunStagePart(int stage, WorkSlice slice, long first, long end)
    {
        if (stage < guardStage) return Plan.RunTrainingStage(stage - 1, slice, first, end);
        var backend = Plan.Network.Backend;
        slice.Start(first, end);
        backend.Slice = slice;
        try
        {
            if (stage == statisticsStage) monitor!.RecordStatistics();
            else if (stage == guardStage) Guard!.Check();
            else Optimizer.RunStage(backend, parameters, gradients, stage - penaltyStage);
        }
        finally
        {
            backend.Slice = null;
        }
        return slice.Position;
    }

    /// <summary>At a step boundary: false when this call may start no more steps; collects the guard's report, if one has arrived.</summary>
    bool MayStartStep()
    {
        if (stepsThisCall >= stepsLimit) return false;
        if (Guard?.Poll() is { } report) Deliver(report);
        return true;
    }

    void Deliver(NonFiniteReport report)
    {
        LastNonFinite = report;
        var handler = NonFiniteDetected;
        if (handler is null) throw new NonFiniteException(report);
        handler(report);
    }

    /// <summary>The step's stages as <see cref="FrameBudget"/> runs them.</summary>
    readonly struct Work(FrameBudgetedTrainer trainer) : IStagedWork
    {
        public void RunStage(int stage) => trainer.RunStage(stage);
        public bool CanSplit(int stage) => trainer.CanSplit(stage);
        public bool Skips(int stage) => trainer.Skips(stage);
        public long RunStagePart(int stage, WorkSlice slice, long first, long end) => trainer.RunStagePart(stage, slice, first, end);
        public bool MayStartSequence() => trainer.MayStartStep();
        public void SequenceCompleted()
        {
            trainer.CompletedSteps++;
            trainer.stepsThisCall++;
            trainer.Monitor?.StepCompleted();
        }
    }
}

using NeuroPlugin.Execution;

namespace NeuroPlugin.Training;

/// <summary>
/// Inference of a model too large for one frame: <see cref="Begin"/> starts a forward pass over the batch in
/// <see cref="ExecutionPlan.Input"/>, and each <see cref="Advance"/> runs as many nodes (<see cref="ExecutionPlan.InferenceStages"/>,
/// eval mode) as fit its time budget, until the pass is finished and <see cref="ExecutionPlan.Output"/> holds exactly what
/// <c>Forward(training: false)</c> would have written (the same kernels in the same order). Cost estimates and their policy
/// are those of <see cref="FrameBudgetedTrainer"/> (<see cref="FrameBudget"/>); a node's forward runs in parts (windows of
/// its work, <see cref="WorkSlice"/>) when it is large against the budget.
/// Leave the plan's input alone while a pass runs. Allocates nothing per Advance after warm-up; all calls on the
/// backend's thread. Dispose releases the timing queries only.
/// </summary>
public sealed class FrameBudgetedInference : FrameBudgetedStages
{
    bool running;

    /// <param name="plan">Any plan (an inference plan, or a training plan evaluated in eval mode).</param>
    public FrameBudgetedInference(ExecutionPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Plan = plan;
        Budget = new FrameBudget(plan.Network.Backend, plan.InferenceStages.Count);
    }

    /// <summary>The plan whose inference stages are spread over frames; its input is read at <see cref="Begin"/>.</summary>
    public ExecutionPlan Plan { get; }

    /// <summary>True from <see cref="Begin"/> until the pass finished (or <see cref="Cancel"/>).</summary>
    public bool IsRunning => running;
    /// <summary>Passes finished so far.</summary>
    public long CompletedPasses { get; private set; }
    /// <summary>Nodes in one pass.</summary>
    public int StageCount => Plan.InferenceStages.Count;
    /// <summary>The summed estimates: what one whole pass costs, as far as measured.</summary>
    public TimeSpan EstimatedPassTime => Budget.EstimatedTotal;

    /// <summary>Starts a pass over the batch now in <see cref="ExecutionPlan.Input"/>.</summary>
    /// <exception cref="InvalidOperationException">A pass is still running (finish it or <see cref="Cancel"/> it).</exception>
    public void Begin()
    {
        ThrowIfDisposed();
        if (running) throw new InvalidOperationException($"an inference pass is still running (node {next} of {StageCount}): Advance until it finishes, or Cancel it");
        running = true;
        next = 0;
    }

    /// <summary>
    /// Readies the passes for the frames ahead, on a loading screen: runs 1 + <paramref name="measuredPasses"/> passes over
    /// the plan's current input, call after call. The first compiles what a pass's first run compiles (the JIT's methods,
    /// the GL programs, the driver's code for each dispatch) and its measurements are dropped; the others are scheduled at
    /// <paramref name="budget"/> per call, so the first budgeted pass plans with every node's cost and split. The plan's
    /// output is then that of the last pass (eval mode changes nothing else); <see cref="CompletedPasses"/> does not
    /// count them, and the overrun counts are reset. Call while no pass is running.
    /// </summary>
    /// <param name="budget">The per-frame budget the game will give <see cref="Advance"/> (its smallest, if it varies).</param>
    /// <param name="measuredPasses">Passes measured after the compiling one (at least 1).</param>
    /// <exception cref="InvalidOperationException">A pass is running.</exception>
    public void WarmUp(TimeSpan budget, int measuredPasses = 2)
    {
        CheckWarmUp(budget, measuredPasses, "Passes");
        if (running) throw new InvalidOperationException($"a warm-up runs between passes, and one is running (node {next} of {StageCount}): Advance until it finishes, or Cancel it");
        var work = new Work(this, counted: false);
        WarmUp(budget, measuredPasses, ref work, ref next, Plan.Network.Backend, StageCount);
    }

    /// <summary>Abandons the running pass (the output is then incomplete).</summary>
    public void Cancel()
    {
        running = false;
        next = 0;
        Budget.ResetPosition();
    }

    /// <summary>Runs nodes of the current pass while they fit <paramref name="budget"/> (at least one). True when the pass is
    /// finished (the output is ready) or none is running.</summary>
    public bool Advance(TimeSpan budget)
    {
        ThrowIfDisposed();
        if (!running) return true;
        var work = new Work(this);
        if (Budget.Run(budget, ref work, ref next, stopAtEnd: true) > 0) running = false;
        return !running;
    }

    /// <summary>The pass's nodes as <see cref="FrameBudget"/> runs them; a warm-up's passes are not <paramref name="counted"/>.</summary>
    readonly struct Work(FrameBudgetedInference inference, bool counted = true) : IStagedWork
    {
        public void RunStage(int stage) => inference.Plan.RunInferenceStage(stage);
        public bool CanSplit(int stage) => true;
        public bool Skips(int stage) => false;
        public long RunStagePart(int stage, WorkSlice slice, long first, long end) => inference.Plan.RunInferenceStage(stage, slice, first, end);
        public bool MayStartSequence() => true;
        public void SequenceCompleted()
        {
            if (counted) inference.CompletedPasses++;
        }
    }
}

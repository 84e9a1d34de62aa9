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

    readonly struct Work(FrameBudgetedInference inference) : IStagedWork
    {
        public void RunStage(int stage) => inference.Plan.RunInferenceStage(stage);
        public bool CanSplit(int stage) => true;
        public bool Skips(int stage) => false;
        public long RunStagePart(int stage, WorkSlice slice, long first, long end) => inference.Plan.RunInferenceStage(stage, slice, first, end);
        public bool MayStartSequence() => true;
        public void SequenceCompleted() => inference.CompletedPasses++;
    }
}

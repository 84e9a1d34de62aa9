namespace NeuroPlugin.Execution;

/// <summary>What one stage of a plan's step does (<see cref="ExecutionPlan.TrainingStages"/>, <see cref="ExecutionPlan.InferenceStages"/>).</summary>
public enum PlanStageKind
{
    /// <summary>One node's forward: <c>y = layer(x)</c> (training or eval mode, by the list it belongs to).</summary>
    Forward,
    /// <summary>The softmax cross-entropy of the output (and of each auxiliary head) into <see cref="ExecutionPlan.Loss"/>.</summary>
    Loss,
    /// <summary>Every gradient that no backward sets (see <see cref="NodeTensors.SetsInputGrad"/>) set to 0, the parameters'
    /// included, then the loss's gradient <c>dlogits = (p − t)/N</c> (per head, weighted).</summary>
    LossBackward,
    /// <summary>One node's backward: adds into its inputs' and parameters' gradients.</summary>
    Backward,
    /// <summary>A convolution and the layers fused into it (inference plans, see <see cref="ExecutionPlan.ForInference"/>):
    /// one op writing the output of its last node, <see cref="PlanStage.Node"/>.</summary>
    FusedForward,
}

/// <summary>One stage of a plan's step: its kind, the node it runs (index into the plan's nodes, −1 for the loss
/// stages) and a name for reports ("forward conv1", "loss", "backward conv1").</summary>
public readonly record struct PlanStage(PlanStageKind Kind, int Node, string Name);

// A step as an ordered list of stages, runnable one at a time, so that a caller can spread one step over several
// frames (Training/FrameBudgetedTrainer). Forward and ComputeGradients are themselves these stages run back to back,
// so a step split over frames issues exactly the same kernels in the same order: the same bits. A stage can itself
// be run in windows of its units of work (Backends/WorkSlice): finer than an op, with the same bits.
public sealed partial class ExecutionPlan
{
    readonly PlanStage[] trainingStages, inferenceStages;

    /// <summary>
    /// The stages of <see cref="ComputeGradients"/>, in order: forward of every node in training mode (the last one
    /// advances <see cref="RandomCounter"/>), <see cref="PlanStageKind.Loss"/>, <see cref="PlanStageKind.LossBackward"/>, then
    /// the backward of every node that has an output gradient, in reverse topological order. Empty for inference plans.
    /// </summary>
    public IReadOnlyList<PlanStage> TrainingStages => trainingStages;

    /// <summary>The stages of <see cref="Forward(bool)"/> in eval mode: one forward per node, auxiliary-only heads left out,
    /// and in a plan that fuses layers (<see cref="ForInference"/>) one <see cref="PlanStageKind.FusedForward"/> per
    /// chain in place of its nodes, at its last node.</summary>
    public IReadOnlyList<PlanStage> InferenceStages => inferenceStages;

    /// <summary>Runs stage <paramref name="index"/> of <see cref="TrainingStages"/>. Running every stage in order is
    /// <see cref="ComputeGradients"/>; a later stage reads what the earlier ones wrote, so they must run in order.
    /// Allocates nothing and reads nothing back.</summary>
    public void RunTrainingStage(int index)
    {
        if (!IsTraining) throw new InvalidOperationException("training stages need a plan made by ExecutionPlan.ForTraining");
        StageObserver?.StageStarting(index);
        IssueTrainingStage(index);
        StageFinishing(index);
    }

    /// <summary>
    /// Runs units [<paramref name="first"/>, <paramref name="end"/>) of training stage <paramref name="index"/> under
    /// <paramref name="slice"/> (see <see cref="WorkSlice"/>) and returns the stage's number of units. Windows that
    /// cover [0, total) one after another, with nothing of this plan in between, are <see cref="RunTrainingStage(int)"/>
    /// bit for bit; other work (another plan, the game's rendering) may run between them. An empty window [0, 0) only
    /// counts the units (and sizes the slice's backend memory). The observer hears the stage start with the window
    /// that starts at 0 and finish with the one that reaches the total. Allocates nothing and reads nothing back.
    /// </summary>
    public long RunTrainingStage(int index, WorkSlice slice, long first, long end)
    {
        if (!IsTraining) throw new InvalidOperationException("training stages need a plan made by ExecutionPlan.ForTraining");
        ArgumentNullException.ThrowIfNull(slice);
        if (first == 0 && end > 0) StageObserver?.StageStarting(index);
        long total = Sliced(slice, first, end, index, static (plan, stage) => plan.IssueTrainingStage(stage));
        if (end >= total && end > first) StageFinishing(index);
        return total;
    }

    /// <summary>Runs stage <paramref name="index"/> of <see cref="InferenceStages"/> (one node's forward in eval mode, or a fused chain).
    /// Every stage in order is <c>Forward(training: false)</c>. Allocates nothing and reads nothing back.</summary>
    public void RunInferenceStage(int index)
    {
        var stage = inferenceStages[index];
        if (stage.Kind == PlanStageKind.FusedForward) RunFused(fusedChains[stage.Node]);
        else ForwardNode(stage.Node, training: false);
    }

    /// <summary>Runs units [<paramref name="first"/>, <paramref name="end"/>) of inference stage <paramref name="index"/>
    /// under <paramref name="slice"/> and returns the stage's number of units, as
    /// <see cref="RunTrainingStage(int, WorkSlice, long, long)"/> does for training stages.</summary>
    public long RunInferenceStage(int index, WorkSlice slice, long first, long end)
    {
        ArgumentNullException.ThrowIfNull(slice);
        return Sliced(slice, first, end, index, static (plan, stage) => plan.RunInferenceStage(stage));
    }

    /// <summary>Runs <paramref name="issue"/> (a stage's host code) with the backend's slice set to the window, and returns
    /// the units it numbered.</summary>
    long Sliced(WorkSlice slice, long first, long end, int index, Action<ExecutionPlan, int> issue)
    {
        slice.Start(first, end);
        backend.Slice = slice;
        try
        {
            issue(this, index);
        }
        finally
        {
            backend.Slice = null;
        }
        return slice.Position;
    }

    /// <summary>Issues the kernels of training stage <paramref name="index"/>: the same on every run, so that windows of
    /// it add up to one run.</summary>
    void IssueTrainingStage(int index)
    {
        var stage = trainingStages[index];
        switch (stage.Kind)
        {
            case PlanStageKind.Forward:
                ForwardNode(stage.Node, training: true);
                break;
            case PlanStageKind.Loss:
                backend.SoftmaxCrossEntropyForward(Output, Target!, Probabilities!, Loss!);
                foreach (var head in auxiliaryHeads)
                {
                    backend.SoftmaxCrossEntropyForward(head.Logits, Target!, head.Probabilities, head.Loss);
                    backend.Accumulate(head.Loss, Loss!, head.Weight);
                }
                break;
            case PlanStageKind.LossBackward:
                for (int i = 0; i < gradientsToZero.Length; i++) backend.Fill(gradientsToZero[i], 0f);
                backend.SoftmaxCrossEntropyBackward(Probabilities!, Target!, logitsGrad!, 1f);
                foreach (var head in auxiliaryHeads)
                    backend.SoftmaxCrossEntropyBackward(head.Probabilities, Target!, head.LogitsGrad, head.Weight);
                break;
            case PlanStageKind.Backward:
                layers[stage.Node].Backward(backend, nodes[stage.Node]);
                break;
        }
    }

    /// <summary>After the whole of training stage <paramref name="index"/>: the step's last forward advances the random
    /// counter (the next forward draws fresh numbers), and the observer hears the stage finish.</summary>
    void StageFinishing(int index)
    {
        var stage = trainingStages[index];
        if (stage.Kind == PlanStageKind.Forward && stage.Node == nodes.Length - 1) RandomCounter++;
        StageObserver?.StageFinished(index);
    }

    void ForwardNode(int k, bool training)
    {
        var node = nodes[k];
        node.Training = training;
        node.Seed = unchecked((uint)Seed);
        node.RandomCounter = unchecked((uint)RandomCounter);
        layers[k].Forward(backend, node);
    }

    (PlanStage[] Training, PlanStage[] Inference) PlanStages()
    {
        var inference = new List<PlanStage>(nodes.Length);
        for (int k = 0; k < nodes.Length; k++)
            if (fusedChains.TryGetValue(k, out var chain))
                inference.Add(new PlanStage(PlanStageKind.FusedForward, k, "forward " + string.Join("+", chain.Nodes.Select(n => nodes[n].Node))));
            else if (!auxiliaryOnly[k] && !fusedAway.ContainsKey(nodes[k].Node))
                inference.Add(new PlanStage(PlanStageKind.Forward, k, "forward " + nodes[k].Node));
        if (!IsTraining) return ([], [.. inference]);

        var training = new List<PlanStage>(2 * nodes.Length + 2);
        for (int k = 0; k < nodes.Length; k++) training.Add(new PlanStage(PlanStageKind.Forward, k, "forward " + nodes[k].Node));
        training.Add(new PlanStage(PlanStageKind.Loss, -1, "loss"));
        training.Add(new PlanStage(PlanStageKind.LossBackward, -1, "loss backward"));
        for (int k = nodes.Length - 1; k >= 0; k--)
            if (nodes[k].OutputGrad is not null) training.Add(new PlanStage(PlanStageKind.Backward, k, "backward " + nodes[k].Node));
        return ([.. training], [.. inference]);
    }
}

namespace NeuroPlugin.Execution;

/// <summary>
/// Watches the stages of a plan's training steps (<see cref="ExecutionPlan.StageObserver"/>): called on the backend's
/// thread right before and right after each stage of <see cref="ExecutionPlan.TrainingStages"/> runs, whoever runs it
/// (<see cref="ExecutionPlan.ComputeGradients"/>, <see cref="ExecutionPlan.TrainStep"/>, a frame-budgeted trainer). The
/// training monitor times nodes with it and notes where a step begins. Implementations must not allocate or wait.
/// </summary>
public interface IPlanStageObserver
{
    /// <summary>Stage <paramref name="stage"/> (an index into <see cref="ExecutionPlan.TrainingStages"/>) is about to run;
    /// stage 0 starts a training step.</summary>
    void StageStarting(int stage);

    /// <summary>Stage <paramref name="stage"/> has issued all its work (on GL the device may still be running it).</summary>
    void StageFinished(int stage);
}

// The observer hook and read access to the gradients of node outputs, for the training monitor (Monitoring/).
public sealed partial class ExecutionPlan
{
    /// <summary>Called around every training stage; null (the default) costs one test per stage and nothing else.</summary>
    public IPlanStageObserver? StageObserver { get; set; }

    /// <summary>The gradient of the loss with respect to node <paramref name="name"/>'s output, as the last backward pass
    /// left it: (N, …) shaped as <see cref="Tensor(string)"/>; null when the plan computes none (inference plans, nodes that
    /// no parameter feeds). Read it between steps, do not write it.</summary>
    /// <exception cref="Graph.GraphException">No node of the plan has that name.</exception>
    public Tensor? OutputGradient(string name)
    {
        foreach (var node in nodes)
            if (node.Node == name) return node.OutputGrad;
        throw new Graph.GraphException($"no node named '{name}' in the plan");
    }
}

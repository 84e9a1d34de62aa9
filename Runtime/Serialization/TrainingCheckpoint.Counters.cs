using NeuroPlugin.Data;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Serialization;

/// <summary>
/// Where a training run stands, besides its tensors: every counter that a resumed run needs to continue with the
/// same bits (the schedule, Adam's bias correction, dropout masks, augmentation and the data order are all keyed by
/// these).
/// </summary>
/// <param name="Step">Training steps taken, one optimizer update each (the schedule's t and the augmentation's step).</param>
/// <param name="Epoch">The epoch in progress or last run (0-based).</param>
/// <param name="BatchInEpoch">Batches of <paramref name="Epoch"/> done: the run continues with the next one.</param>
/// <param name="BatchSize">Items per step.</param>
/// <param name="TotalSteps">T of the schedule.</param>
/// <param name="BaseLearningRate">ε₀, which the schedule scales.</param>
/// <param name="LearningRate">The rate of the last step, <c>ε₀·factor(Step − 1, T)</c> (ε₀ before the first).</param>
/// <param name="Schedule">The schedule's name (<see cref="LearningRateSchedule.Name"/>).</param>
/// <param name="PlanSeed">The plan's random seed (<see cref="Execution.ExecutionPlan.Seed"/>).</param>
/// <param name="RandomCounter">The plan's random counter (<see cref="Execution.ExecutionPlan.RandomCounter"/>): training
/// forwards run. Stored as <c>plan.step</c> in the file, the key it had before the counter was renamed.</param>
/// <param name="OptimizerStepCount">The optimizer's t (<see cref="Optimizer.StepCount"/>).</param>
public sealed record TrainingCounters(long Step, int Epoch, int BatchInEpoch, int BatchSize, long TotalSteps, float BaseLearningRate,
    float LearningRate, string Schedule, int PlanSeed, long RandomCounter, long OptimizerStepCount)
{
    /// <summary>The counters of a loop that drives <paramref name="plan"/> and <paramref name="optimizer"/> itself at a
    /// constant rate (a frame-budgeted trainer): its own <paramref name="step"/> count and, if it walks a dataset in
    /// epochs, its position.</summary>
    public static TrainingCounters Of(Execution.ExecutionPlan plan, Optimizer optimizer, long step, int epoch = 0, int batchInEpoch = 0) =>
        new(step, epoch, batchInEpoch, plan.BatchSize, 0, optimizer.LearningRate, optimizer.LearningRate, LearningRateSchedule.Constant.Name,
            plan.Seed, plan.RandomCounter, optimizer.StepCount);
}

/// <summary>The data loader of a run, to check that a resumed run reads the same batches in the same order.</summary>
/// <param name="Seed">Shuffle seed.</param>
/// <param name="Shuffle">Whether epochs are shuffled.</param>
/// <param name="DropLast">Whether a short last batch is skipped.</param>
/// <param name="BatchSize">Items per batch.</param>
/// <param name="Items">Items in the dataset.</param>
/// <param name="BatchesPerEpoch">Batches per epoch.</param>
public sealed record DataLoaderPosition(int Seed, bool Shuffle, bool DropLast, int BatchSize, int Items, int BatchesPerEpoch)
{
    /// <summary>The settings of <paramref name="loader"/>.</summary>
    public static DataLoaderPosition Of(DataLoader loader) =>
        new(loader.Seed, loader.Shuffle, loader.DropLast, loader.BatchSize, loader.Dataset.Count, loader.BatchesPerEpoch);
}

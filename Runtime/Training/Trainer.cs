using NeuroPlugin.Data;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Training;

/// <summary>Where training stands, reported while an epoch runs.</summary>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="Batch">Batches done in this epoch.</param>
/// <param name="BatchesPerEpoch">Batches in the epoch.</param>
/// <param name="Loss">The objective of the latest batch: mean data loss plus <paramref name="Penalty"/> (read back
/// from the device only when reported).</param>
/// <param name="ImagesPerSecond">Training throughput over the epoch so far.</param>
/// <param name="Penalty">The optimizer's L1/L2 penalty at that batch's weights (0 without a <see cref="Regularizer"/>).</param>
public readonly record struct TrainingProgress(int Epoch, int Batch, int BatchesPerEpoch, float Loss, double ImagesPerSecond, float Penalty = 0f)
{
    /// <summary>Training steps taken in the whole run (<see cref="Trainer.Step"/>).</summary>
    public long Step { get; init; }
    /// <summary>Steps of the whole run (<see cref="Trainer.TotalSteps"/>; 0 when the trainer was not told).</summary>
    public long TotalSteps { get; init; }
    /// <summary>The learning rate of the latest step (the schedule's).</summary>
    public float LearningRate { get; init; }
    /// <summary>Seconds the remaining steps take at this epoch's pace (evaluations not counted); null without
    /// <see cref="TotalSteps"/>.</summary>
    public double? SecondsLeft { get; init; }
}

/// <summary>
/// Trains a classifier with softmax cross-entropy: for each batch of the loader, upload the images and
/// one-hot targets, set the learning rate from the schedule, run one <see cref="ExecutionPlan.TrainStep"/>.
/// The loss is read back only when progress is reported, every <see cref="ReportEvery"/> batches.
/// </summary>
public sealed class Trainer : IDisposable
{
    readonly ExecutionPlan plan;
    readonly float baseLearningRate;
    long step;

    /// <param name="network">The network to train (its parameters are updated in place).</param>
    /// <param name="optimizer">The update rule; its learning rate is the base rate of the schedule.</param>
    /// <param name="batchSize">Items per step.</param>
    /// <param name="schedule">How the rate changes over <paramref name="totalSteps"/> (constant when null).</param>
    /// <param name="totalSteps">Steps of the whole run, for the schedule.</param>
    public Trainer(Network network, Optimizer optimizer, int batchSize, LearningRateSchedule? schedule = null, long totalSteps = 0)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        Network = network;
        Optimizer = optimizer;
        Schedule = schedule ?? LearningRateSchedule.Constant;
        TotalSteps = totalSteps;
        baseLearningRate = optimizer.LearningRate;
        plan = ExecutionPlan.ForTraining(network, batchSize);
    }

    public Network Network { get; }
    public Optimizer Optimizer { get; }
    public LearningRateSchedule Schedule { get; }
    public long TotalSteps { get; }
    /// <summary>Steps taken so far.</summary>
    public long Step => step;
    /// <summary>ε₀, the rate the schedule scales: the optimizer's learning rate when the trainer was made.</summary>
    public float BaseLearningRate => baseLearningRate;
    /// <summary>The epoch <see cref="TrainEpoch"/> is running or ran last (0 before the first).</summary>
    public int Epoch { get; private set; }
    /// <summary>Batches of <see cref="Epoch"/> done: where a resumed run continues.</summary>
    public int BatchInEpoch { get; private set; }
    /// <summary>Called after each step of <see cref="TrainEpoch"/>, with <see cref="Step"/> and <see cref="BatchInEpoch"/>
    /// already advanced: the place to save a checkpoint (<see cref="Serialization.TrainingCheckpoint"/>).</summary>
    public Action<Trainer>? StepCompleted { get; set; }
    public ExecutionPlan Plan => plan;
    /// <summary>The training monitor riding along (<see cref="Monitoring.TrainingMonitor.Attach(Trainer, Monitoring.MonitorOptions?)"/>);
    /// null when none: then the epoch loop does nothing more than train.</summary>
    public Monitoring.TrainingMonitor? Monitor { get; internal set; }
    /// <summary>Batches between loss readbacks for progress reports (≥ 1).</summary>
    public int ReportEvery
    {
        get;
        set => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(ReportEvery), value, "must be at least 1");
    } = 50;
    /// <summary>Augmentation applied on the device to each uploaded batch (images and targets) before its step, with
    /// the draws of that step (<see cref="Step"/>); none when null. Not owned: the caller disposes it.</summary>
    public Augmentation? Augmentation { get; init; }

    /// <summary>Sets the counters of a run resumed from a checkpoint: the steps taken (which the schedule and the
    /// augmentation are keyed by) and where in which epoch it stopped. The plan's random counter and the optimizer's
    /// state are restored separately (<see cref="Serialization.TrainingCheckpoint.Restore(Trainer)"/> does all of it).</summary>
    public void ResumeAt(long step, int epoch, int batchInEpoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        ArgumentOutOfRangeException.ThrowIfNegative(batchInEpoch);
        this.step = step;
        Epoch = epoch;
        BatchInEpoch = batchInEpoch;
    }

    /// <summary>Runs one epoch over <paramref name="loader"/> (which must have the plan's batch size and drop the last
    /// partial batch), from batch <paramref name="firstBatch"/> on (0, or <see cref="BatchInEpoch"/> of a resumed run).
    /// Returns early, between two steps, once <paramref name="cancellation"/> is cancelled (<see cref="BatchInEpoch"/> says
    /// where it stopped).</summary>
    public void TrainEpoch(DataLoader loader, int epoch, Action<TrainingProgress>? progress = null, int firstBatch = 0, CancellationToken cancellation = default)
    {
        if (loader.BatchSize != plan.BatchSize || !loader.DropLast)
            throw new ArgumentException($"the loader must produce full batches of {plan.BatchSize} (dropLast), got batch {loader.BatchSize}, dropLast {loader.DropLast}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        loader.StartEpoch(epoch, firstBatch);
        int batch = firstBatch;
        Epoch = epoch;
        BatchInEpoch = batch;
        if (Monitor is { } monitor) monitor.Epoch = epoch;
        while (!cancellation.IsCancellationRequested && loader.TryNextBatch())
        {
            plan.Input.Upload(loader.Images);
            plan.Target!.Upload(loader.Targets);
            Augmentation?.Apply(plan.Input, plan.Target, step);
            Optimizer.LearningRate = baseLearningRate * Schedule.Factor(step++, TotalSteps);
            plan.TrainStep(Optimizer);
            Monitor?.StepCompleted();
            BatchInEpoch = ++batch;
            if (progress is not null && (batch % ReportEvery == 0 || batch == loader.BatchesPerEpoch))
            {
                float penalty = Optimizer.Regularizer?.ReadPenalty() ?? 0f;
                double seconds = clock.Elapsed.TotalSeconds;
                int done = batch - firstBatch;
                progress(new TrainingProgress(epoch, batch, loader.BatchesPerEpoch, plan.ReadLoss() + penalty, done * (double)plan.BatchSize / seconds, penalty)
                {
                    Step = step, TotalSteps = TotalSteps, LearningRate = Optimizer.LearningRate,
                    SecondsLeft = TotalSteps > 0 ? Math.Max(0, TotalSteps - step) * seconds / done : null,
                });
            }
            StepCompleted?.Invoke(this);
        }
        Monitor?.EpochCompleted();
    }

    /// <summary>Releases the plan's tensors and the optimizer's state.</summary>
    public void Dispose()
    {
        plan.Dispose();
        Optimizer.Dispose();
    }
}

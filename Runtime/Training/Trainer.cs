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
public readonly record struct TrainingProgress(int Epoch, int Batch, int BatchesPerEpoch, float Loss, double ImagesPerSecond, float Penalty = 0f);

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
    /// <summary>Batches between loss readbacks for progress reports.</summary>
    public int ReportEvery { get; init; } = 50;
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
    /// partial batch), from batch <paramref name="firstBatch"/> on (0, or <see cref="BatchInEpoch"/> of a resumed run).</summary>
    public void TrainEpoch(DataLoader loader, int epoch, Action<TrainingProgress>? progress = null, int firstBatch = 0)
    {
        if (loader.BatchSize != plan.BatchSize || !loader.DropLast)
            throw new ArgumentException($"the loader must produce full batches of {plan.BatchSize} (dropLast), got batch {loader.BatchSize}, dropLast {loader.DropLast}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        loader.StartEpoch(epoch, firstBatch);
        int batch = firstBatch;
        Epoch = epoch;
        BatchInEpoch = batch;
        if (Monitor is { } monitor) monitor.Epoch = epoch;
        while (loader.TryNextBatch())
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
                progress(new TrainingProgress(epoch, batch, loader.BatchesPerEpoch, plan.ReadLoss() + penalty, (batch - firstBatch) * (double)plan.BatchSize / clock.Elapsed.TotalSeconds, penalty));
            }
            StepCompleted?.Invoke(this);
        }
        Monitor?.EpochCompleted();
    }

    /// <summary>Fraction of <paramref name="dataset"/> classified correctly (argmax of the output), in eval mode: an
    /// inference plan, so batch norm uses its running statistics, dropout is off, and the batch size cannot matter.</summary>
    public static double Evaluate(Network network, ImageDataset dataset, int batchSize = 500)
    {
        using var inference = ExecutionPlan.ForInference(network, batchSize);
        var loader = new DataLoader(dataset, batchSize, shuffle: false);
        var logits = new float[inference.Output.Length];
        int classes = inference.Output.Shape[1];
        long correct = 0;
        loader.StartEpoch(0);
        while (loader.TryNextBatch())
        {
            inference.Input.Upload(loader.Images);
            inference.Forward();
            inference.Output.Download(logits);
            for (int n = 0; n < loader.Count; n++)
                if (ArgMax(logits.AsSpan(n * classes, classes)) == loader.Labels[n]) correct++;
        }
        return (double)correct / dataset.Count;
    }

    /// <summary>Index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }

    /// <summary>Releases the plan's tensors and the optimizer's state.</summary>
    public void Dispose()
    {
        plan.Dispose();
        Optimizer.Dispose();
    }
}

using NeuroPlugin.Data;

namespace NeuroPlugin.Monitoring;

/// <summary>What a <see cref="TrainingMonitor"/> samples and how often.</summary>
public sealed record MonitorOptions
{
    /// <summary>The default <see cref="Every"/>: a sample costs about one step's worth of memory passes over the weights
    /// and activations, so one in 50 keeps the cost within a few percent (measured by <c>neuro bench --monitor-every</c>).</summary>
    public const int DefaultEvery = 50;
    /// <summary>The default <see cref="HistogramBins"/> (TensorBoard's bucket count).</summary>
    public const int DefaultHistogramBins = 30;

    /// <summary>Steps between samples: steps K, 2K, 3K, … are sampled, and also the first step and the last
    /// (<see cref="TotalSteps"/>). 1 samples every step.</summary>
    public int Every { get; init; } = DefaultEvery;

    /// <summary>Bins of every histogram (1 to <see cref="StatisticsLayout.MaxBins"/>).</summary>
    public int HistogramBins { get; init; } = DefaultHistogramBins;

    /// <summary>Track each sampled step's update <c>Δw</c> (its norm and the update-to-weight ratio). Costs one extra copy of
    /// the parameters on the device.</summary>
    public bool TrackUpdates { get; init; } = true;

    /// <summary>Time each node's forward and backward in sampled steps (GL timer queries; the wall clock on the CPU).</summary>
    public bool TimeNodes { get; init; } = true;

    /// <summary>The step the run ends with, always sampled; 0 when unknown (a trainer's total is used when it has one).</summary>
    public long TotalSteps { get; init; }

    /// <summary>Samples whose numbers may be on their way back from the device at once.</summary>
    public int ReadbackSlots { get; init; } = 4;

    /// <summary>When a sample falls due while <see cref="ReadbackSlots"/> samples are still in flight: wait for the oldest
    /// (true: a trainer that may block, the CLI) or skip this one and count it in
    /// <see cref="TrainingMonitor.SkippedSamples"/> (false: a game, whose frame must not wait). The last step always waits.</summary>
    public bool WaitWhenBusy { get; init; }

    /// <summary>Evaluated at every epoch end (<see cref="TrainingMonitor.EpochCompleted"/>) when set.</summary>
    public ImageDataset? TestSet { get; init; }

    /// <summary>Batch size of evaluations.</summary>
    public int EvaluationBatchSize { get; init; } = 250;

    /// <summary>How many of the most confidently wrong test images an evaluation keeps.</summary>
    public int MostConfidentlyWrong { get; init; } = 16;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (Every < 1) throw new ArgumentOutOfRangeException(nameof(Every), Every, "the monitor samples every K ≥ 1 steps");
        if (HistogramBins < 1 || HistogramBins > StatisticsLayout.MaxBins)
            throw new ArgumentOutOfRangeException(nameof(HistogramBins), HistogramBins, $"histograms have 1 to {StatisticsLayout.MaxBins} bins");
        if (TotalSteps < 0) throw new ArgumentOutOfRangeException(nameof(TotalSteps), TotalSteps, "total steps cannot be negative");
        if (ReadbackSlots < 1) throw new ArgumentOutOfRangeException(nameof(ReadbackSlots), ReadbackSlots, "at least one readback slot");
        if (EvaluationBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(EvaluationBatchSize), EvaluationBatchSize, "evaluation batch size must be at least 1");
        if (MostConfidentlyWrong < 0) throw new ArgumentOutOfRangeException(nameof(MostConfidentlyWrong), MostConfidentlyWrong, "cannot keep a negative number of images");
    }
}

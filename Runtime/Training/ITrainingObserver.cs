namespace NeuroPlugin.Training;

/// <summary>The test accuracy of a run at an epoch's end (<see cref="ITrainingObserver.EvaluationCompleted"/>).</summary>
/// <param name="Epoch">The epoch just finished (0-based).</param>
/// <param name="Step">Training steps taken.</param>
/// <param name="Accuracy">Fraction of the test images classified correctly, in eval mode.</param>
/// <param name="Images">Test images evaluated.</param>
public readonly record struct TrainingEvaluation(int Epoch, long Step, double Accuracy, int Images)
{
    /// <summary>The mean cross-entropy on the test images; null when the run has no monitor (accuracy only).</summary>
    public double? Loss { get; init; }
    /// <summary>The monitor's whole evaluation (confusion matrix, per-class accuracy, mistakes); null without a monitor.</summary>
    public Monitoring.EvaluationSample? Details { get; init; }
}

/// <summary>
/// Watches a <see cref="TrainingRun"/> (<see cref="TrainingRun.AddObserver"/>): a progress view, a training monitor, a
/// log. Every method has an empty default, so an observer implements only what it needs. All calls come on the run's
/// thread, between steps; the run waits for them, so they should be quick. <see cref="StepCompleted"/> comes after
/// every step and must not allocate nor read back from the device (a game's frame pays for it); the loss is read back
/// only for <see cref="ProgressReported"/>, every <see cref="TrainingRun.ReportEvery"/> steps.
/// </summary>
public interface ITrainingObserver
{
    /// <summary>An epoch starts at batch <paramref name="firstBatch"/> (0, or where a resumed run left it).</summary>
    void EpochStarted(TrainingRun run, int epoch, int firstBatch) { }

    /// <summary>A step's update was issued (<see cref="Trainer.Step"/> and <see cref="Trainer.BatchInEpoch"/> already
    /// advanced; the device may still be working on it).</summary>
    void StepCompleted(TrainingRun run) { }

    /// <summary>Every <see cref="TrainingRun.ReportEvery"/> steps and at each epoch's last one: the loss (read back),
    /// throughput, learning rate, steps and time left.</summary>
    void ProgressReported(TrainingRun run, TrainingProgress progress) { }

    /// <summary>The test set was evaluated at an epoch's end.</summary>
    void EvaluationCompleted(TrainingRun run, TrainingEvaluation evaluation) { }

    /// <summary>A monitored run's sample arrived (<see cref="TrainingOptions.Monitor"/>), a step or two after the step it
    /// describes; it is already in the monitor file.</summary>
    void SampleReady(TrainingRun run, Monitoring.TrainingSample sample) { }

    /// <summary>The diagnostics in force changed (a finding appeared or went away), and once more when the run ends.</summary>
    void DiagnosticsChanged(TrainingRun run, Monitoring.DiagnosticReport report) { }
}

using System.Diagnostics;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Serialization;
using AugmentationPipeline = NeuroPlugin.Data.Augmentation;

namespace NeuroPlugin.Training;

/// <summary>How a <see cref="TrainingRun"/> ended.</summary>
/// <param name="Stopped">Whether it was cancelled before its last step.</param>
/// <param name="FirstStep">The step it started at (0, or where a resumed run continued).</param>
/// <param name="Step">Steps taken in all when it ended.</param>
/// <param name="LastLoss">The last reported loss (NaN when nothing was reported).</param>
/// <param name="TestAccuracy">The last evaluation's accuracy, or null when none ran.</param>
/// <param name="TrainImagesPerSecond">Training throughput of this run's steps (evaluations not counted).</param>
/// <param name="TrainSeconds">Seconds spent training (evaluations not counted).</param>
/// <param name="Seconds">Seconds in all.</param>
public sealed record TrainingResult(bool Stopped, long FirstStep, long Step, float LastLoss, double? TestAccuracy,
    double TrainImagesPerSecond, double TrainSeconds, double Seconds)
{
    /// <summary>The diagnostics in force at the end (<see cref="TrainingDiagnostics"/>): from the monitor's samples when the
    /// run had one, else from the reported losses and accuracies.</summary>
    public DiagnosticReport Diagnostics { get; init; } = new(0, []);
    /// <summary>Whether the run diverged (its loss went NaN or ∞, or rose far above its start).</summary>
    public bool Diverged => Diagnostics.Diverged;
}

/// <summary>
/// One training run from <see cref="TrainingOptions"/>: the epoch loop that <c>neuro train</c>, the editor's server and a
/// game share. It builds the data loader (shuffled by the seed, full batches), the optimizer, the schedule and the
/// augmentation from the options, and a <see cref="Training.Trainer"/> on the given network; resumes from a checkpoint
/// when <see cref="TrainingOptions.Resume"/> names one; then <see cref="Run"/> trains epoch after epoch, reporting
/// progress every <see cref="ReportEvery"/> steps, evaluating the test set at epoch ends, writing checkpoints every
/// <see cref="TrainingOptions.CheckpointEvery"/> steps and after the last (and when stopped), and stopping between two
/// steps when cancelled. <see cref="AddObserver"/> attaches views (<see cref="ITrainingObserver"/>). With
/// <see cref="TrainingOptions.Monitor"/> the run carries a <see cref="TrainingMonitor"/> (every
/// <see cref="TrainingOptions.MonitorEvery"/> steps) whose samples, evaluations (the monitor's, at epoch ends) and
/// diagnostics go to that JSON Lines file as they come, and to the observers. Every run is judged by
/// <see cref="TrainingDiagnostics"/> (a run without a monitor from its reported losses and accuracies: enough to tell it
/// diverged).
/// Everything runs on the caller's thread (a GL backend's thread). The run owns its optimizer, plan and augmentation,
/// not the network.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    readonly AugmentationPipeline? augmentation;
    readonly Action<TrainingProgress> onProgress;
    readonly int checkpointEvery;
    ITrainingObserver[] observers = [];
    TrainingMonitor? monitor;
    MonitorJsonlWriter? monitorFile;
    long savedStep = -1;
    TrainingProgress lastProgress;
    bool reported;

    /// <param name="network">The network to train, in place (freshly initialized, or loaded).</param>
    /// <param name="train">The training images; <see cref="TrainingOptions.TrainLimit"/> is applied here.</param>
    /// <param name="test">The test images (<see cref="TrainingOptions.TestLimit"/> applied here), or null for no evaluation.</param>
    /// <param name="options">The recipe; validated here, with the optimizer's defaults filled in (<see cref="Options"/>).</param>
    /// <param name="naming">How errors name the options (the caller's vocabulary).</param>
    /// <param name="resumeFrom">The checkpoint of <see cref="TrainingOptions.Resume"/> when the caller has read it already
    /// (to fail before loading data); read here otherwise.</param>
    /// <exception cref="TrainingOptionsException">An option is invalid, or the batch is larger than the training set.</exception>
    /// <exception cref="ArgumentException">The network's input or output does not fit the data.</exception>
    /// <exception cref="ModelFileException">The checkpoint to resume is unreadable or is not of this run (names the field).</exception>
    public TrainingRun(Network network, ImageDataset train, ImageDataset? test, TrainingOptions options,
        TrainingOptionNaming naming = TrainingOptionNaming.Field, TrainingCheckpoint? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(naming);
        Options = options.WithOptimizerDefaults();
        CheckFits(network.Graph, train);
        if (options.TrainLimit is int n && n < train.Count) train = train.Take(n);
        if (test is not null && options.TestLimit is int m && m < test.Count) test = test.Take(m);
        if (options.BatchSize > train.Count)
            throw new TrainingOptionsException("batchSize", $"{TrainingOptions.Field("batchSize").NameIn(naming)} {options.BatchSize} is larger than the {train.Count} training images");
        Network = network;
        Train = train;
        Test = test;
        Loader = new DataLoader(train, options.BatchSize, shuffle: true, seed: options.Seed, dropLast: true);
        checkpointEvery = options.CheckpointEvery ?? Loader.BatchesPerEpoch;
        var schedule = Options.CreateSchedule(Loader.BatchesPerEpoch);
        augmentation = Options.CreateAugmentation(train.Height, train.Normalization.Apply(0)); // no device memory before its first batch
        var optimizer = Options.CreateOptimizer();
        try
        {
            Trainer = new Trainer(network, optimizer, options.BatchSize, schedule, (long)Loader.BatchesPerEpoch * options.Epochs)
            {
                Augmentation = augmentation, StepCompleted = OnStep,
            };
        }
        catch
        {
            optimizer.Dispose();
            augmentation?.Dispose();
            throw;
        }
        onProgress = OnProgress;
        try
        {
            ResumedFrom = resumeFrom ?? (options.Resume is null ? null : TrainingCheckpoint.Read(options.Resume));
            if (ResumedFrom is not null)
            {
                if (!ResumedFrom.IsCheckpointOf(network.Graph))
                    throw new ModelFileException(ResumedFrom.Path, "the checkpoint's network is not the one this run trains");
                ResumedFrom.CheckLoader(Loader); // the same options rebuild the same run; Restore checks optimizer, schedule, augmentation
                ResumedFrom.Restore(Trainer);
            }
            if (options.Checkpoint is not null && Path.GetDirectoryName(Path.GetFullPath(options.Checkpoint)) is { } folder)
                Directory.CreateDirectory(folder);
        }
        catch
        {
            Dispose();
            throw;
        }
        FirstStep = Trainer.Step;
    }

    /// <summary>The options in use, the optimizer's defaults filled in (the learning rate a report shows).</summary>
    public TrainingOptions Options { get; }
    /// <summary>The network being trained.</summary>
    public Network Network { get; }
    /// <summary>The training images, after <see cref="TrainingOptions.TrainLimit"/>.</summary>
    public ImageDataset Train { get; }
    /// <summary>The test images, after <see cref="TrainingOptions.TestLimit"/>; null when there is no evaluation.</summary>
    public ImageDataset? Test { get; }
    /// <summary>The batches: shuffled by <see cref="TrainingOptions.Seed"/>, full batches only.</summary>
    public DataLoader Loader { get; }
    /// <summary>The step loop (its plan, optimizer, schedule, counters).</summary>
    public Trainer Trainer { get; }
    /// <summary>The checkpoint the run continued from, or null.</summary>
    public TrainingCheckpoint? ResumedFrom { get; }
    /// <summary>The step the run starts at: 0, or the resumed checkpoint's.</summary>
    public long FirstStep { get; }
    /// <summary>Steps of the whole run: batches per epoch × epochs.</summary>
    public long TotalSteps => Trainer.TotalSteps;

    /// <summary>Steps between progress reports (each reads the loss back); default 50.</summary>
    public int ReportEvery
    {
        get => Trainer.ReportEvery;
        set => Trainer.ReportEvery = value;
    }

    /// <summary>Whether the test set is evaluated at every epoch's end (default) or only after the last epoch.</summary>
    public bool EvaluateEveryEpoch { get; set; } = true;

    /// <summary>What the run is called in its monitor file (a model's or a document's name); null for none.</summary>
    public string? Name { get; init; }

    /// <summary>The training monitor, from the start of <see cref="Run"/> when <see cref="TrainingOptions.Monitor"/> is set;
    /// null otherwise.</summary>
    public TrainingMonitor? Monitor => monitor;

    /// <summary>The run's diagnostics (made by <see cref="Run"/>); null before.</summary>
    public TrainingDiagnostics? Diagnostics { get; private set; }

    /// <summary>Attaches <paramref name="observer"/>; it is called from <see cref="Run"/> on the run's thread.</summary>
    public void AddObserver(ITrainingObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        observers = [.. observers, observer]; // a new array: a step iterates the old one without allocating
    }

    /// <summary>Detaches <paramref name="observer"/>; false when it was not attached.</summary>
    public bool RemoveObserver(ITrainingObserver observer)
    {
        if (Array.IndexOf(observers, observer) < 0) return false;
        observers = observers.Where(o => !ReferenceEquals(o, observer)).ToArray();
        return true;
    }

    /// <summary>
    /// Trains the remaining epochs (all of them, or from where a resumed run stopped) and evaluates the test set at each
    /// epoch's end (or only after the last, see <see cref="EvaluateEveryEpoch"/>). Once <paramref name="cancellation"/> is
    /// cancelled the run stops between two steps, writes a checkpoint of where it stopped (when checkpointing) and returns
    /// with <see cref="TrainingResult.Stopped"/> set.
    /// </summary>
    public TrainingResult Run(CancellationToken cancellation = default)
    {
        if (Options.Monitor is not null && monitor is null) StartMonitor(Options.Monitor);
        Diagnostics = new TrainingDiagnostics(monitor?.Run);
        var clock = Stopwatch.StartNew();
        double evaluationSeconds = 0;
        double? accuracy = null;
        bool stopped = false;
        int firstBatch = Trainer.BatchInEpoch; // a resumed run starts mid-epoch
        for (int epoch = Trainer.Epoch; epoch < Options.Epochs && !stopped; epoch++, firstBatch = 0)
        {
            foreach (var observer in observers) observer.EpochStarted(this, epoch, firstBatch);
            Trainer.TrainEpoch(Loader, epoch, onProgress, firstBatch, cancellation);
            stopped = cancellation.IsCancellationRequested;
            if (stopped || Test is null || !(EvaluateEveryEpoch || epoch == Options.Epochs - 1)) continue;
            var started = clock.Elapsed;
            var evaluation = Evaluate(epoch);
            accuracy = evaluation.Accuracy;
            evaluationSeconds += (clock.Elapsed - started).TotalSeconds;
            foreach (var observer in observers) observer.EvaluationCompleted(this, evaluation);
        }
        monitor?.Flush(); // the last step's sample
        if (stopped && Options.Checkpoint is not null && savedStep != Trainer.Step) SaveCheckpoint();
        monitorFile?.Write(Diagnostics.Report); // the verdict, with the latest values
        foreach (var observer in observers) observer.DiagnosticsChanged(this, Diagnostics.Report);
        double seconds = clock.Elapsed.TotalSeconds, trainSeconds = seconds - evaluationSeconds;
        return new TrainingResult(stopped, FirstStep, Trainer.Step, reported ? lastProgress.Loss : float.NaN, accuracy,
            (Trainer.Step - FirstStep) * (double)Options.BatchSize / trainSeconds, trainSeconds, seconds) { Diagnostics = Diagnostics.Report };
    }

    /// <summary>The test set's evaluation at an epoch's end: the monitor's (loss, confusion matrix, mistakes; its samples so
    /// far delivered first, so the file reads in order), or the accuracy alone without one.</summary>
    TrainingEvaluation Evaluate(int epoch)
    {
        if (monitor is null)
        {
            double accuracy = Classification.Accuracy(Network, Test!);
            if (Diagnostics!.ObserveAccuracy(Trainer.Step, epoch, accuracy, Test!.ClassCount)) DiagnosticsChanged();
            return new TrainingEvaluation(epoch, Trainer.Step, accuracy, Test.Count);
        }
        monitor.Flush();
        var details = monitor.Evaluate(Test!); // raised through EvaluationReady: written and judged there
        return new TrainingEvaluation(epoch, Trainer.Step, details.TestAccuracy, details.Count) { Loss = details.TestLoss, Details = details };
    }

    /// <summary>Attaches the monitor to the trainer and opens its file (appending to it when the run is resumed).</summary>
    void StartMonitor(string path)
    {
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } folder) Directory.CreateDirectory(folder);
        monitor = TrainingMonitor.Attach(Trainer, new MonitorOptions
        {
            Every = Options.MonitorEvery ?? MonitorOptions.DefaultEvery, TotalSteps = TotalSteps, WaitWhenBusy = true,
        });
        try
        {
            monitorFile = new MonitorJsonlWriter(path, append: ResumedFrom is not null);
            monitorFile.Write(Describe());
        }
        catch
        {
            monitor.Dispose();
            monitor = null;
            monitorFile?.Dispose();
            monitorFile = null;
            throw;
        }
        monitor.SampleReady += OnSample;
        monitor.EvaluationReady += OnEvaluation;
    }

    /// <summary>The monitor's description of the run, with its name, start, length and options.</summary>
    RunDescription Describe() => monitor!.Run with
    {
        Name = Name, StartedAt = DateTimeOffset.UtcNow, TotalSteps = TotalSteps, Options = Options.ToJson(),
    };

    void OnSample(TrainingSample sample)
    {
        monitorFile!.Write(sample);
        bool changed = Diagnostics!.Observe(sample);
        foreach (var observer in observers) observer.SampleReady(this, sample);
        if (changed) DiagnosticsChanged();
    }

    void OnEvaluation(EvaluationSample evaluation)
    {
        monitorFile!.Write(evaluation);
        if (Diagnostics!.Observe(evaluation)) DiagnosticsChanged();
    }

    /// <summary>Writes the new findings and tells the observers.</summary>
    void DiagnosticsChanged()
    {
        var report = Diagnostics!.Report;
        monitorFile?.Write(report);
        foreach (var observer in observers) observer.DiagnosticsChanged(this, report);
    }

    /// <summary>The progress of the latest report, or null before the first.</summary>
    public TrainingProgress? LastProgress => reported ? lastProgress : null;

    void OnProgress(TrainingProgress progress)
    {
        lastProgress = progress;
        reported = true;
        if (monitor is null && Diagnostics!.ObserveLoss(progress.Step, progress.Loss)) DiagnosticsChanged();
        foreach (var observer in observers) observer.ProgressReported(this, progress);
    }

    // After every step: nothing allocated, nothing read back unless a checkpoint is due.
    void OnStep(Trainer trainer)
    {
        if (Options.Checkpoint is not null && (trainer.Step % checkpointEvery == 0 || trainer.Step == trainer.TotalSteps)) SaveCheckpoint();
        foreach (var observer in observers) observer.StepCompleted(this);
    }

    void SaveCheckpoint()
    {
        TrainingCheckpoint.Save(Trainer, Options.Checkpoint!, Loader);
        savedStep = Trainer.Step;
    }

    /// <summary>Checks that the network takes the dataset's images and gives one logit per class.</summary>
    static void CheckFits(NetworkGraph graph, ImageDataset train)
    {
        var input = graph.Inputs[0];
        if (input.ItemShape.Rank != 3 || input.ItemShape[0] != train.Channels || input.ItemShape[1] != train.Height || input.ItemShape[2] != train.Width)
            throw new ArgumentException($"the network's input '{input.Name}' takes {input.ItemShape} items; {train.Name}'s images are {train.Channels}×{train.Height}×{train.Width}");
        var output = graph.InferShapes(1)[graph.Output];
        if (output.Rank != 2 || output[1] != train.ClassCount)
            throw new ArgumentException($"the network's output '{graph.Output}' must be (N,{train.ClassCount}) logits for the {train.ClassCount} classes of {train.Name}, got {output}");
    }

    /// <summary>Releases the monitor and its file, the plan, the optimizer's state and the augmentation's buffers (not the network).</summary>
    public void Dispose()
    {
        monitor?.Dispose();
        monitorFile?.Dispose();
        Trainer?.Dispose();
        augmentation?.Dispose();
    }
}

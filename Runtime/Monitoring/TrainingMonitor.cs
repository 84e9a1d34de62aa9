using System.Diagnostics;
using NeuroPlugin.Data;
using NeuroPlugin.Execution;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Training;

namespace NeuroPlugin.Monitoring;

/// <summary>
/// Watches a network learn, every <see cref="MonitorOptions.Every"/> steps, without stalling or slowing the step: the
/// statistics of a sample (<see cref="TrainingSample"/>: per parameter the norms, range, zero/NaN/∞ counts and histograms
/// of weights, gradient and update; per node the output's mean, std, zero, dead-channel and saturated fractions and
/// histogram, the output gradient's norm, forward and backward times; the loss, batch accuracy, rate, throughput) are
/// computed on the device into one statistics tensor (<see cref="IBackend.Summarize"/> and its siblings) after the sampled
/// step and read back through an <see cref="AsyncReadback"/>, so they reach <see cref="SampleReady"/> a step or two later
/// and nothing waits for the device. Evaluations (<see cref="Evaluate"/>, each epoch end with
/// <see cref="MonitorOptions.TestSet"/>) and probes (<see cref="Probe"/>: filters, feature maps) run between steps.
/// <para>Attach with one call: <see cref="Attach(Trainer, MonitorOptions?)"/> or
/// <see cref="Attach(FrameBudgetedTrainer, MonitorOptions?)"/>. A custom loop constructs one on its plan and calls
/// <see cref="StepCompleted"/> after each optimizer step. The monitor sees where a step begins and how long each stage
/// takes through the plan's <see cref="ExecutionPlan.StageObserver"/>.</para>
/// <para>Costs. Detached (the default), nothing: the hooks are null tests. Attached, a step that is not sampled and
/// receives no sample allocates nothing and issues no device work; a sampled step adds the statistics kernels (two
/// passes over each parameter, gradient, activation and activation gradient), a few copies and timer queries; the
/// <see cref="TrainingSample"/> objects are built when the numbers arrive. On a <see cref="FrameBudgetedTrainer"/> the
/// statistics kernels (and the copy of the weights before the update) are the trainer's own stages, run in parts within the
/// frames' budgets like the training's, so a sampled step makes no frame longer. Memory: one more copy of the parameters when
/// <see cref="MonitorOptions.TrackUpdates"/>, and the statistics staging (a few words per tensor per slot).</para>
/// All calls on the backend's thread; events are raised on it too.
/// </summary>
public sealed class TrainingMonitor : IDisposable, IPlanStageObserver
{
    readonly IBackend backend;
    readonly SampleLayout layout;
    readonly Tensor statistics;
    readonly AsyncReadback readback;
    readonly StageClock clock;
    readonly int slots;
    readonly float[] words;                 // [slot × layout.Length]: values read back, waiting for their timings
    readonly bool[] arrived;
    readonly SampleContext[] contexts;
    readonly Stopwatch wallClock = Stopwatch.StartNew();
    int head, count;                        // the ring of samples in flight, oldest first (the readback's order)
    int samplingSlot = -1;                  // ring slot of the step being sampled, −1 when the current step is not
    long samplingStep;
    bool sampleRequested, disposed;
    bool trainerRecords;                    // a FrameBudgetedTrainer runs RememberWeights and RecordStatistics as its stages
    long lastSampleStep;
    double lastSampleSeconds = double.NaN;
    Action? detach;
    NetworkProbe? probe;

    /// <summary>A monitor of <paramref name="plan"/>'s training steps (it becomes the plan's stage observer until disposed).</summary>
    /// <param name="plan">A training plan.</param>
    /// <param name="optimizer">The optimizer that updates it (for the learning rate of each sample).</param>
    /// <param name="options">What to sample; <see cref="MonitorOptions"/>'s defaults when null.</param>
    /// <param name="completedSteps">Steps the run took before (a resumed run), so sample steps continue its count.</param>
    public TrainingMonitor(ExecutionPlan plan, Optimizer optimizer, MonitorOptions? options = null, long completedSteps = 0)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!plan.IsTraining) throw new ArgumentException("the training monitor needs a plan made by ExecutionPlan.ForTraining", nameof(plan));
        if (plan.StageObserver is not null) throw new InvalidOperationException("the plan already has a stage observer (another monitor?)");
        ArgumentOutOfRangeException.ThrowIfNegative(completedSteps);
        Options = options ?? new MonitorOptions();
        Options.Validate();
        Plan = plan;
        Optimizer = optimizer;
        backend = plan.Network.Backend;
        slots = Options.ReadbackSlots;
        CompletedSteps = lastSampleStep = completedSteps;
        TotalSteps = Options.TotalSteps;

        layout = new SampleLayout(plan, Options.HistogramBins, Options.TrackUpdates);
        var owned = new List<IDisposable> { layout };
        try
        {
            statistics = backend.Allocate(new TensorShape(layout.Length), "monitor.statistics");
            owned.Add(statistics);
            readback = new AsyncReadback(backend, layout.Length, slots);
            owned.Add(readback);
            clock = new StageClock(backend, Options.TimeNodes ? layout.StageCount : 0, slots);
        }
        catch
        {
            foreach (var item in owned) item.Dispose();
            throw;
        }
        words = new float[slots * layout.Length];
        arrived = new bool[slots];
        contexts = new SampleContext[slots];
        Run = layout.Describe(Options.Every);
        plan.StageObserver = this;
    }

    /// <summary>Attaches a monitor to <paramref name="trainer"/>: it is sampled as <see cref="Trainer.TrainEpoch"/> runs,
    /// its epochs are followed, and the test set (if any) is evaluated at each epoch end. Dispose to detach.</summary>
    public static TrainingMonitor Attach(Trainer trainer, MonitorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (trainer.Monitor is not null) throw new InvalidOperationException("the trainer already carries a monitor");
        options ??= new MonitorOptions();
        if (options.TotalSteps == 0 && trainer.TotalSteps > 0) options = options with { TotalSteps = trainer.TotalSteps };
        var monitor = new TrainingMonitor(trainer.Plan, trainer.Optimizer, options, trainer.Step) { Epoch = trainer.Epoch };
        trainer.Monitor = monitor;
        monitor.detach = () => { if (trainer.Monitor == monitor) trainer.Monitor = null; };
        return monitor;
    }

    /// <summary>Attaches a monitor to a frame-budgeted trainer (a game): sampled steps are spread over frames like the
    /// others and never wait for the device; by default a sample due while every readback slot is busy is skipped.
    /// Dispose to detach.</summary>
    public static TrainingMonitor Attach(FrameBudgetedTrainer trainer, MonitorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (trainer.Monitor is not null) throw new InvalidOperationException("the trainer already carries a monitor");
        if (trainer.StepInProgress) throw new InvalidOperationException("attach the monitor at a step boundary (CompleteStep first)");
        var monitor = new TrainingMonitor(trainer.Plan, trainer.Optimizer, options, trainer.CompletedSteps) { trainerRecords = true };
        trainer.Monitor = monitor;
        monitor.detach = () =>
        {
            if (trainer.Monitor != monitor) return;
            trainer.CompleteStep(); // the step in progress may be sampled: its statistics stage needs this monitor
            trainer.Monitor = null;
        };
        return monitor;
    }

    /// <summary>The training plan watched (the monitor is its stage observer while attached).</summary>
    public ExecutionPlan Plan { get; }
    /// <summary>The optimizer that updates <see cref="Plan"/>'s parameters; each sample records its learning rate.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>The options in force (validated; when attached to a <see cref="Trainer"/>, its total steps filled in).</summary>
    public MonitorOptions Options { get; }

    /// <summary>The run's parameters and nodes as the samples name them (the JSONL file's first line).</summary>
    public RunDescription Run { get; }

    /// <summary>Optimizer steps completed (counted by <see cref="StepCompleted"/>).</summary>
    public long CompletedSteps { get; private set; }

    /// <summary>The epoch samples are labelled with (a <see cref="Trainer"/> sets it; a game may).</summary>
    public int Epoch { get; set; }

    /// <summary>The last step of the run, always sampled; 0 when unknown.</summary>
    public long TotalSteps { get; set; }

    /// <summary>Samples taken (their device work issued).</summary>
    public long SamplesTaken { get; private set; }
    /// <summary>Samples delivered to <see cref="SampleReady"/>.</summary>
    public long SamplesDelivered { get; private set; }
    /// <summary>Samples that fell due while every readback slot was busy and were skipped (<see cref="MonitorOptions.WaitWhenBusy"/>).</summary>
    public long SkippedSamples { get; private set; }
    /// <summary>Samples whose numbers are still on their way.</summary>
    public int PendingSamples => count;

    /// <summary>The latest delivered sample; null before the first.</summary>
    public TrainingSample? LastSample { get; private set; }
    /// <summary>The latest evaluation; null before the first.</summary>
    public EvaluationSample? LastEvaluation { get; private set; }

    /// <summary>Raised on the backend's thread when a sample's numbers have arrived.</summary>
    public event Action<TrainingSample>? SampleReady;
    /// <summary>Raised when an evaluation finished.</summary>
    public event Action<EvaluationSample>? EvaluationReady;

    /// <summary>Filters and feature maps of the monitored network, on request (made on first use).</summary>
    public NetworkProbe Probe => probe ??= new NetworkProbe(Plan.Network);

    /// <summary>Whether step <paramref name="step"/> (1-based) is sampled by the schedule: the first, every
    /// <see cref="MonitorOptions.Every"/>-th and the last.</summary>
    public bool IsScheduled(long step) => step == 1 || step % Options.Every == 0 || step == TotalSteps;

    /// <summary>Samples the next step too, whatever the schedule (the editor's "sample now").</summary>
    public void RequestSample() => sampleRequested = true;

    void IPlanStageObserver.StageStarting(int stage)
    {
        if (stage == 0) BeginStep();
        if (samplingSlot >= 0 && Options.TimeNodes) clock.Start(samplingSlot, stage);
    }

    void IPlanStageObserver.StageFinished(int stage)
    {
        if (samplingSlot >= 0 && Options.TimeNodes) clock.Stop(samplingSlot, stage);
    }

    /// <summary>At a step's first stage: decides whether the step is sampled and, if so, remembers the weights the update
    /// will change.</summary>
    void BeginStep()
    {
        if (double.IsNaN(lastSampleSeconds)) lastSampleSeconds = wallClock.Elapsed.TotalSeconds;
        long step = CompletedSteps + 1;
        samplingSlot = -1;
        if (disposed || !(IsScheduled(step) || sampleRequested)) return;
        if (count == slots)
        {
            Poll();
            if (count == slots)
            {
                if (!Options.WaitWhenBusy && step != TotalSteps)
                {
                    SkippedSamples++;
                    return;
                }
                DeliverOldest(wait: true);
            }
        }
        sampleRequested = false;
        samplingSlot = (head + count) % slots;
        samplingStep = step;
        if (!trainerRecords) layout.RememberWeights();
    }

    /// <summary>Whether the step in progress is sampled (decided at its first stage).</summary>
    internal bool SamplesCurrentStep => samplingSlot >= 0;

    /// <summary>A sampled step's weights before its update (a frame-budgeted trainer's stage; see <see cref="MonitorOptions.TrackUpdates"/>).</summary>
    internal void RememberWeights() => layout.RememberWeights();

    /// <summary>A sampled step's statistics kernels, after its update (a frame-budgeted trainer's last stage, which may run
    /// it in windows of a <see cref="Backends.WorkSlice"/>).</summary>
    internal void RecordStatistics() => layout.Record(statistics);

    /// <summary>
    /// Call after each optimizer step (the trainers do): counts the step and, when it was sampled, queues its statistics on
    /// the device and their readback; then delivers whatever has arrived (<see cref="Poll"/>). Waits for nothing.
    /// </summary>
    public void StepCompleted()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CompletedSteps++;
        if (samplingSlot >= 0 && samplingStep == CompletedSteps)
        {
            int slot = samplingSlot;
            if (!trainerRecords) layout.Record(statistics);
            readback.Request(statistics);
            clock.Flush();
            double now = wallClock.Elapsed.TotalSeconds;
            double imagesPerSecond = (CompletedSteps - lastSampleStep) * (double)Plan.BatchSize / Math.Max(now - lastSampleSeconds, 1e-9);
            contexts[slot] = new SampleContext(CompletedSteps, Epoch, Optimizer.LearningRate, imagesPerSecond, now);
            arrived[slot] = false;
            lastSampleStep = CompletedSteps;
            lastSampleSeconds = now;
            count++;
            SamplesTaken++;
        }
        samplingSlot = -1;
        Poll();
    }

    /// <summary>Delivers every sample whose numbers have arrived, oldest first, and the probes' results; never waits.
    /// <see cref="StepCompleted"/> calls it; call it between steps to receive samples sooner (a game: once per frame).</summary>
    public void Poll()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        while (count > 0 && DeliverOldest(wait: false)) { }
        probe?.Poll();
    }

    /// <summary>Waits until every sample in flight (and every probe) has been delivered: the end of a run, before reading
    /// <see cref="LastSample"/>. A blocking wait for the device, outside any step.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        while (count > 0) DeliverOldest(wait: true);
        probe?.Wait();
    }

    /// <summary>Delivers the oldest sample when its numbers and timings are back (or after waiting for them); false when
    /// they are not back and <paramref name="wait"/> is false.</summary>
    bool DeliverOldest(bool wait)
    {
        int slot = head;
        var destination = words.AsSpan(slot * layout.Length, layout.Length);
        if (!arrived[slot])
        {
            if (wait) readback.Read(destination);
            else if (!readback.TryRead(destination)) return false;
            arrived[slot] = true;
        }
        bool timed = Options.TimeNodes;
        if (timed && !clock.TryCollect(slot))
        {
            if (!wait) return false;
            // the fence after the statistics has passed, and the timestamps came before it: they are available or about to be
            var deadline = Stopwatch.StartNew();
            while (!(timed = clock.TryCollect(slot)) && deadline.Elapsed < TimeSpan.FromSeconds(5))
            {
                clock.Flush();
                Thread.Yield();
            }
        }
        var sample = layout.Decode(destination, timed ? clock.Seconds(slot) : [], contexts[slot]);
        head = (head + 1) % slots;
        count--;
        SamplesDelivered++;
        LastSample = sample;
        SampleReady?.Invoke(sample);
        return true;
    }

    /// <summary>At an epoch's end (a <see cref="Trainer"/> calls it): evaluates <see cref="MonitorOptions.TestSet"/>, if set.</summary>
    public void EpochCompleted()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (Options.TestSet is { } test) Evaluate(test);
    }

    /// <summary>
    /// Evaluates the network on <paramref name="dataset"/> now, in eval mode (an inference plan of
    /// <see cref="MonitorOptions.EvaluationBatchSize"/>): test loss and accuracy, the confusion matrix, per-class accuracy
    /// and the most confidently wrong images, computed per sample on the device (<see cref="IBackend.ClassifyRows"/>) and
    /// read back asynchronously batch by batch. Waits until done: call it between steps (a game spreads it over frames
    /// with <see cref="ModelEvaluation.Advance"/> instead). Raises <see cref="EvaluationReady"/>.
    /// </summary>
    public EvaluationSample Evaluate(ImageDataset dataset)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        using var evaluation = new ModelEvaluation(Plan.Network, dataset, Options.EvaluationBatchSize, Options.MostConfidentlyWrong);
        evaluation.Advance(int.MaxValue, wait: true);
        return Report(evaluation.Result(CompletedSteps, Epoch));
    }

    /// <summary>Delivers an evaluation made elsewhere (a game's frame-by-frame <see cref="ModelEvaluation"/>) as this
    /// monitor's: <see cref="LastEvaluation"/> and <see cref="EvaluationReady"/>.</summary>
    public EvaluationSample Report(EvaluationSample evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        LastEvaluation = evaluation;
        EvaluationReady?.Invoke(evaluation);
        return evaluation;
    }

    /// <summary>Detaches from the plan and the trainer and releases the monitor's tensors, readback and timers (samples still
    /// in flight are dropped: <see cref="Flush"/> first to keep them). Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        detach?.Invoke(); // first: a frame-budgeted trainer finishes its step in progress with this monitor
        disposed = true;
        if (ReferenceEquals(Plan.StageObserver, this)) Plan.StageObserver = null;
        probe?.Dispose();
        clock.Dispose();
        readback.Dispose();
        statistics.Dispose();
        layout.Dispose();
    }
}

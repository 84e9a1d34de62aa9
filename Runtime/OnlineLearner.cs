using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Data;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Serialization;
using NeuroPlugin.Serialization.Onnx;
using NeuroPlugin.Training;

namespace NeuroPlugin;

/// <summary>Choices a game makes when it creates an <see cref="OnlineLearner"/>; the defaults fit a small classifier.</summary>
public sealed record OnlineLearnerOptions
{
    /// <summary>The recipe: optimizer, learning rate, momentum, weight decay, L1/L2, clipping, warm-up, batch size and
    /// seed (of fresh weights, replay sampling and dropout). Online learning has no planned end, so the rate is constant
    /// after the warm-up: <see cref="TrainingOptions.Schedule"/> must be "constant", and augmentation is not applied
    /// (it must be empty); the dataset fields (epochs, limits, image size, checkpoint, resume) do not apply.
    /// Default: Adam at its default rate (0.001), batch 16, seed 1.</summary>
    public TrainingOptions Training { get; init; } = new() { Optimizer = "adam", Schedule = "constant", BatchSize = 16 };
    /// <summary>Examples the replay buffer keeps (the oldest is overwritten when full).</summary>
    public int ReplayCapacity { get; init; } = 2048;
    /// <summary>Examples the buffer must hold before training steps run; null: one batch.</summary>
    public int? MinimumExamples { get; init; }
    /// <summary>Whether the NaN guard also watches the inputs, parameters and node outputs, so its report names where values
    /// went bad (one more pass over each per step); the loss and gradients are always watched.</summary>
    public bool WatchForward { get; init; } = true;
    /// <summary>What the model says about itself (input colours, normalization, labels): null takes the model file's or
    /// checkpoint's, or the graph's bare description.</summary>
    public ModelMetadata? Metadata { get; init; }
    /// <summary>How <see cref="OnlineLearner.Model"/> predicts (preprocessing override, resize, started predictions in flight).</summary>
    public NeuroModelOptions? Model { get; init; }
}

/// <summary>
/// A classifier that learns while the game runs (<c>using NeuroPlugin;</c>): examples go into a replay buffer on the
/// device, training steps on minibatches drawn from it run within a per-frame time budget, and <see cref="Model"/> predicts
/// with the current weights.
/// <code>
/// using var learner = OnlineLearner.Create("model.neuro", NeuroDevice.CurrentContext(gl));
/// learner.AddTexture(frameTexture, label);   // an example: the frame, preprocessed on the GPU, and what it shows
/// learner.Step(4);                          // ≤ ~4 ms of training this frame; a step may span frames
/// learner.Model.StartTexture(frameTexture, result);
/// learner.Save("game.ckpt.neuro");          // weights, optimizer state, counters; later OnlineLearner.Resume(…)
/// </code>
/// A frame that is both learned from and predicted is converted once: <see cref="Observe"/> it, then
/// <see cref="AddObservation"/> and <c>Model.Start(learner.Observation, result)</c>.
/// It wires the runtime's pieces together: a <see cref="ReplayBuffer"/> (appending and sampling on the device), a
/// <see cref="FrameBudgetedTrainer"/> with a <see cref="NonFiniteGuard"/> (a step whose loss or gradients are not finite
/// leaves weights, optimizer state and batch-norm statistics as they were, and is reported through
/// <see cref="NonFiniteDetected"/>), and <see cref="TrainingCheckpoint"/>s (written to a temporary file and renamed, so a
/// failed save leaves the previous file whole). The n-th step trains on replay rows drawn from (seed, n), so a run resumed
/// from a checkpoint, with the same examples added again, takes the same next steps bit for bit (the replay buffer itself
/// is not saved: a resumed game refills it as it plays).
/// <para>Rules, as for <see cref="NeuroModel"/> and enforced with the same typed errors before anything runs: on a GL
/// device every call from the context's thread (<see cref="WrongThreadException"/>) with the context alive and current
/// (<see cref="ContextLostException"/>); an example that does not fit is an <see cref="InputShapeException"/> naming both
/// shapes. After warm-up, adding examples and stepping allocate nothing on the managed heap and read nothing back
/// synchronously (the guard's report arrives asynchronously). Dispose on the learner's thread.</para>
/// </summary>
public sealed partial class OnlineLearner : IDisposable
{
    readonly bool ownsBackend;
    readonly GLContextGuard? context;
    readonly ExecutionPlan plan;
    readonly Optimizer optimizer;
    readonly NonFiniteGuard guard;
    readonly FrameBudgetedTrainer trainer;
    readonly ReplayBuffer replay;
    readonly ReplayBatches batches;
    readonly Tensor example;        // (1, item shape): the latest input observed or added (Observation)
    readonly float[] exampleValues; // host staging of one preprocessed image
    readonly LearningRateSchedule schedule;
    float baseLearningRate;         // the rate after warm-up
    float appliedRate;              // the rate the learner last gave the optimizer: another value was set from outside
    TextureInput? textures;
    bool observed, disposed;

    OnlineLearner(Network network, IBackend backend, bool ownsBackend, ModelMetadata metadata, OnlineLearnerOptions options, TrainingCheckpoint? checkpoint)
    {
        Network = network;
        Backend = backend;
        this.ownsBackend = ownsBackend;
        Options = options;
        var training = options.Training;
        BatchSize = training.BatchSize;
        MinimumExamples = options.MinimumExamples ?? BatchSize;
        if (backend is GLBackend gl) context = new GLContextGuard(gl.Device);
        Model = NeuroModel.FromNetwork(network, metadata, options.Model);
        try
        {
            if (Model.ClassCount < 1)
                throw new ArgumentException($"online learning trains classifiers with an (N,K) output; this network's output is {network.Graph.InferShapes(1)[network.Graph.Output]}", nameof(network));
            plan = ExecutionPlan.ForTraining(network, BatchSize);
            plan.Seed = training.Seed;
            optimizer = training.CreateOptimizer();
            baseLearningRate = optimizer.LearningRate;
            schedule = LearningRateSchedule.Constant.WithWarmup(training.WarmupSteps);
            long firstStep = 0;
            if (checkpoint is not null) firstStep = Restore(checkpoint);
            guard = new NonFiniteGuard(plan, optimizer, options.WatchForward);
            replay = new ReplayBuffer(backend, options.ReplayCapacity, Model.Input.ItemShape, Model.ClassCount);
            batches = new ReplayBatches(this, firstStep);
            trainer = new FrameBudgetedTrainer(plan, optimizer, batches, guard);
            trainer.NonFiniteDetected += Deliver;
            example = backend.Allocate(TensorShape.Of([1, .. Model.Input.ItemShape.ToArray()]), "online.example");
            exampleValues = new float[Model.InputLength];
            appliedRate = optimizer.LearningRate;
        }
        catch
        {
            DisposeParts(); // the network and the backend are the caller's until the learner exists
            throw;
        }
    }

    // ───────────────────────────── creating ─────────────────────────────

    /// <summary>A learner that goes on training the model in <paramref name="path"/> (a <c>.neuro</c> model file or an ONNX
    /// model; its weights are the start) on <paramref name="device"/> (default <see cref="NeuroDevice.Auto"/>).</summary>
    /// <exception cref="ModelFileException">A model file that cannot be read (names the file and the field).</exception>
    /// <exception cref="OnnxException">An ONNX model that cannot be read.</exception>
    /// <exception cref="TrainingOptionsException">Options that are out of range or do not apply to online learning (names the field).</exception>
    public static OnlineLearner Create(string path, NeuroDevice? device = null, OnlineLearnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Open(device, options, backend =>
        {
            if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            {
                var imported = OnnxImporter.Convert(path);
                return (imported.CreateNetwork(backend), imported.Metadata, null);
            }
            return (ModelFile.Load(path, backend, out var metadata), metadata, null);
        });
    }

    /// <summary>A learner for a network of <paramref name="graph"/> with fresh weights (initialized from
    /// <see cref="TrainingOptions.Seed"/>, as <c>neuro train</c> does).</summary>
    public static OnlineLearner Create(NetworkGraph graph, NeuroDevice? device = null, OnlineLearnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var training = (options ?? new OnlineLearnerOptions()).Training;
        return Open(device, options, backend => (Network.Create(graph, backend, training.Seed), ModelMetadata.Describe(graph), null));
    }

    /// <summary>A learner that continues from a checkpoint written by <see cref="Save"/>: weights and batch-norm statistics,
    /// optimizer state, the step count (so replay draws and warm-up go on where they stopped) and the dropout counter.
    /// The options must be those the checkpoint was written with (optimizer, its hyper-parameters, batch size, warm-up).
    /// The replay buffer starts empty. <see cref="OnlineLearnerOptions.Metadata"/>, when given, replaces the checkpoint's
    /// (so a checkpoint written without labels or normalization resumes as a described model).</summary>
    /// <exception cref="ModelFileException">Not such a checkpoint, one written with other options, or one of a network that
    /// <see cref="OnlineLearnerOptions.Metadata"/> does not describe (names the file and the field).</exception>
    public static OnlineLearner Resume(string checkpointPath, NeuroDevice? device = null, OnlineLearnerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(checkpointPath);
        var checkpoint = TrainingCheckpoint.Read(checkpointPath);
        var metadata = ModelFile.ReadMetadata(checkpointPath);
        if (options?.Metadata?.Mismatch(checkpoint.Graph) is { } problem)
            throw new ModelFileException(checkpointPath, $"graph: the checkpoint's network does not fit the learner's OnlineLearnerOptions.Metadata ({problem})");
        return Open(device, options, backend => (checkpoint.CreateNetwork(backend), metadata, checkpoint));
    }

    static OnlineLearner Open(NeuroDevice? device, OnlineLearnerOptions? options,
        Func<IBackend, (Network Network, ModelMetadata Metadata, TrainingCheckpoint? Checkpoint)> load)
    {
        options ??= new OnlineLearnerOptions();
        Check(options);
        var (backend, owned) = (device ?? NeuroDevice.Auto).Open();
        Network? network = null;
        try
        {
            (network, var metadata, var checkpoint) = load(backend);
            return new OnlineLearner(network, backend, owned, options.Metadata ?? metadata, options, checkpoint);
        }
        catch
        {
            network?.Dispose();
            if (owned) backend.Dispose();
            throw;
        }
    }

    /// <summary>The options' own checks, and those of online learning: a constant rate (after warm-up), no augmentation.</summary>
    static void Check(OnlineLearnerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options.Training);
        options.Training.Validate();
        if (options.Training.Schedule != LearningRateSchedule.Constant.Name)
            throw new TrainingOptionsException("schedule", $"schedule '{options.Training.Schedule}' needs a planned number of steps; online learning has none: use \"constant\" (with warmupSteps if wanted)");
        if (options.Training.Augment.Count > 0)
            throw new TrainingOptionsException("augment", $"augment ({string.Join(", ", options.Training.Augment)}) is not applied by online learning: leave it empty");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReplayCapacity, 1, nameof(options.ReplayCapacity));
        if (options.MinimumExamples is { } minimum) ArgumentOutOfRangeException.ThrowIfLessThan(minimum, 1, nameof(options.MinimumExamples));
    }

    // ───────────────────────────── state ─────────────────────────────

    /// <summary>Predicts with the current weights (the same network: every finished step is seen by the next
    /// prediction; a step spread over frames updates its parameters one by one in its last stages). Owned by the learner.</summary>
    public NeuroModel Model { get; }
    /// <summary>The network being trained.</summary>
    public Network Network { get; }
    /// <summary>Where it runs.</summary>
    public IBackend Backend { get; }
    /// <summary>The options it was created with.</summary>
    public OnlineLearnerOptions Options { get; }
    /// <summary>Examples per training step.</summary>
    public int BatchSize { get; }
    /// <summary>Examples the replay buffer must hold before steps run.</summary>
    public int MinimumExamples { get; }
    /// <summary>Training steps finished, those before a resume included (skipped non-finite steps included).</summary>
    public long Steps => batches.FirstStep + trainer.CompletedSteps;
    /// <summary>Examples in the replay buffer (at most <see cref="OnlineLearnerOptions.ReplayCapacity"/>).</summary>
    public int ExampleCount => replay.Count;
    /// <summary>Examples added since creation.</summary>
    public long ExamplesAdded => replay.AppendCount;
    /// <summary>The trainer (frame figures: overruns, stage estimates, the step's stages).</summary>
    public FrameBudgetedTrainer Trainer => trainer;
    /// <summary>The learning rate of the latest step (the warm-up's, or the base rate). Setting it (or setting
    /// <c>Trainer.Optimizer.LearningRate</c>, as a live link's control does) changes the base rate: the step in progress
    /// updates with the new rate, later steps with it times the warm-up's factor while the warm-up lasts, and
    /// <see cref="Save"/> records it (resume with it in <see cref="TrainingOptions.LearningRate"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a finite number &gt; 0.</exception>
    public float LearningRate
    {
        get => optimizer.LearningRate;
        set
        {
            EnsureUsable();
            if (!(value > 0) || !float.IsFinite(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "the learning rate must be a finite number > 0");
            optimizer.LearningRate = value;
            AdoptRateSetOutside();
        }
    }

    /// <summary>A rate set on the optimizer since the learner last set one (<see cref="LearningRate"/>, a live link's
    /// control) becomes the base rate.</summary>
    void AdoptRateSetOutside()
    {
        if (optimizer.LearningRate == appliedRate) return;
        baseLearningRate = appliedRate = optimizer.LearningRate;
    }

    /// <summary>Steps the NaN guard reported (each report may cover several skipped updates).</summary>
    public int NonFiniteCount { get; private set; }
    /// <summary>The guard's latest report; null while none.</summary>
    public NonFiniteReport? LastNonFinite => trainer.LastNonFinite;
    /// <summary>Raised (inside <see cref="Step(double)"/> or <see cref="Train"/>) when the guard reports a step whose loss or
    /// gradients were not finite: that step and those queued before the report left everything as it was; training goes on.</summary>
    public event Action<NonFiniteReport>? NonFiniteDetected;

    void Deliver(NonFiniteReport report)
    {
        NonFiniteCount++;
        NonFiniteDetected?.Invoke(report);
    }

    // ───────────────────────────── training ─────────────────────────────

    /// <summary>Runs training stages for about <paramref name="budgetMilliseconds"/> of this frame (at least one stage; a step
    /// in progress resumes at the next call) and returns the steps finished. Nothing runs until the replay buffer holds
    /// <see cref="MinimumExamples"/>. Allocates nothing after warm-up.</summary>
    public int Step(double budgetMilliseconds)
    {
        if (!double.IsFinite(budgetMilliseconds) || budgetMilliseconds < 0)
            throw new ArgumentOutOfRangeException(nameof(budgetMilliseconds), budgetMilliseconds, "the frame's training budget must be a finite number of milliseconds ≥ 0");
        return Step(TimeSpan.FromTicks((long)(budgetMilliseconds * TimeSpan.TicksPerMillisecond)));
    }

    /// <summary>As <see cref="Step(double)"/>, with the budget as a <see cref="TimeSpan"/>.</summary>
    public int Step(TimeSpan budget)
    {
        EnsureUsable();
        return replay.Count < MinimumExamples ? 0 : trainer.Advance(budget);
    }

    /// <summary>
    /// Readies training for the game's frames, on its loading screen (this is not the learning rate's warm-up): runs a
    /// few steps of this network on a scratch copy, batches of blank examples drawn from a scratch replay buffer, so the
    /// first frames that train compile nothing (the JIT's methods, the GL programs) and plan with measured costs (see
    /// <see cref="FrameBudgetedTrainer.WarmUp"/>). The learner's weights, optimizer, replay buffer and step count stay as
    /// they were. Takes a few steps' time. Call before the first <see cref="Step(double)"/>, with no monitor attached
    /// (later, a step in progress is finished first).
    /// </summary>
    /// <param name="budgetMilliseconds">The training budget the frames will give <see cref="Step(double)"/>.</param>
    public void WarmUp(double budgetMilliseconds)
    {
        if (!double.IsFinite(budgetMilliseconds) || budgetMilliseconds <= 0)
            throw new ArgumentOutOfRangeException(nameof(budgetMilliseconds), budgetMilliseconds, "the frame's training budget must be a finite number of milliseconds > 0");
        EnsureUsable();
        using var scratch = new ReplayBuffer(Backend, BatchSize, Model.Input.ItemShape, Model.ClassCount, name: "warm-up replay");
        using var blank = Backend.Allocate(example.Shape, "warm-up example");
        Backend.Fill(blank, 0f);
        for (int i = 0; i < BatchSize; i++) scratch.Append(blank, 0, i % Model.ClassCount);
        trainer.CompleteStep(); // a step a frame budget left half done: a warm-up starts between steps
        trainer.WarmUp(TimeSpan.FromTicks((long)(budgetMilliseconds * TimeSpan.TicksPerMillisecond)), new ScratchBatches(scratch));
    }

    /// <summary>A warm-up's batches: drawn from its scratch replay buffer as the learner's are from its own.</summary>
    sealed class ScratchBatches(ReplayBuffer replay) : IBatchSource
    {
        public void FillBatch(ExecutionPlan plan, long step) => replay.SampleInto(plan.Input, plan.Target!, plan.Seed, step);
    }

    /// <summary>Runs exactly <paramref name="steps"/> whole training steps now, whatever they cost (loading screens,
    /// tests); the weights after n steps are those of any budgets. Returns the steps run (0 while the buffer holds
    /// fewer than <see cref="MinimumExamples"/>).</summary>
    public int Train(int steps)
    {
        EnsureUsable();
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        if (replay.Count < MinimumExamples) return 0;
        int done = 0;
        if (steps > 0 && trainer.StepInProgress)
        {
            trainer.CompleteStep(); // a step a frame budget left half done counts as the first
            done = 1;
        }
        for (; done < steps; done++)
        {
            trainer.Advance(TimeSpan.Zero, maxSteps: 1); // the batch stage (and the guard's poll)
            trainer.CompleteStep();
        }
        return steps;
    }

    /// <summary>Each step's minibatch, drawn from the replay buffer on the device by (seed, step), and its learning rate
    /// (the warm-up's factor of the step).</summary>
    sealed class ReplayBatches(OnlineLearner learner, long firstStep) : IBatchSource
    {
        /// <summary>Steps taken before this learner was created (from a checkpoint).</summary>
        public long FirstStep { get; } = firstStep;

        public void FillBatch(ExecutionPlan plan, long step)
        {
            long t = FirstStep + step;
            learner.AdoptRateSetOutside();
            learner.optimizer.LearningRate = learner.appliedRate = learner.baseLearningRate * learner.schedule.Factor(t, 0);
            learner.replay.SampleInto(plan.Input, plan.Target!, plan.Seed, t);
        }
    }

    /// <summary>The checks at the start of every call: not disposed; on GL, the context rules.</summary>
    void EnsureUsable()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        context?.Check();
    }

    /// <summary>Frees every device object (on the learner's thread), the network, and the backend if the learner made it.
    /// Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        DisposeParts();
        Network.Dispose();
        if (ownsBackend) Backend.Dispose();
    }

    void DisposeParts()
    {
        textures?.Dispose();
        example?.Dispose();
        trainer?.Dispose();
        guard?.Dispose();
        replay?.Dispose();
        optimizer?.Dispose();
        plan?.Dispose();
        Model.Dispose();
    }
}

using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Data;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Serialization;
using NeuroPlugin.Training;

namespace NeuroPlugin.Samples.InGameLearning;

/// <summary>A prediction that came back from the GPU: the frame it was made for, the shape it was about (and its
/// true kind, which the game knew), and what the network said.</summary>
public readonly record struct Prediction(int Frame, int ShapeId, ShapeKind Truth, ShapeKind Predicted)
{
    public bool Correct => Predicted == Truth;
}

/// <summary>
/// The network side of the game, everything on the GL device and nothing read back synchronously:
/// <list type="number">
/// <item><see cref="Observe"/>: the look-ahead texture → the inference plan's input (1,1,32,32), a compute shader
///   (<see cref="TextureInput"/>: area resize, grayscale, normalization);</item>
/// <item><see cref="Remember"/>: that input and the true kind → the <see cref="ReplayBuffer"/> on the device;</item>
/// <item><see cref="Predict"/>: an eval forward pass and an <see cref="AsyncReadback"/> request of the 4 logits;
///   <see cref="TryTakePrediction"/> collects them a frame or so later, without waiting;</item>
/// <item><see cref="Train(TimeSpan)"/>: training stages within the frame's budget (<see cref="FrameBudgetedTrainer"/>),
///   each step on a minibatch sampled from the replay buffer on the device, guarded against NaN/±∞
///   (<see cref="NonFiniteGuard"/>);</item>
/// <item><see cref="SaveCheckpoint"/> / <see cref="LoadCheckpoint"/>: weights, optimizer state and counters
///   (<see cref="TrainingCheckpoint"/>).</item>
/// </list>
/// The network is LeNet-5 from the model zoo for 1×32×32 inputs and 4 classes; training uses Adam. The inference plan
/// (batch 1) and the training plan (batch <see cref="BatchSize"/>) share the network's weights, so every finished step is
/// seen by the next prediction (a step split across frames updates its parameters in its last stages, one by one).
/// </summary>
public sealed class Learner : IDisposable
{
    /// <summary>The network's input is ImageSize × ImageSize grayscale.</summary>
    public const int ImageSize = 32;
    /// <summary>Samples the replay buffer must hold before training starts.</summary>
    const int MinimumSamples = 64;

    readonly Network network;
    readonly ExecutionPlan inference, training;
    readonly Adam optimizer;
    readonly NonFiniteGuard guard;
    readonly FrameBudgetedTrainer trainer;
    readonly ReplayBatches batches;
    readonly TextureInput textureInput;
    readonly ReplayBuffer replay;
    readonly AsyncReadback readback;
    readonly (int Frame, int ShapeId, ShapeKind Truth)[] requests; // what each in-flight readback is about, by request number
    readonly float[] logits = new float[ClassCount];

    static int ClassCount => Enum.GetValues<ShapeKind>().Length;

    /// <summary>Builds the network and every GPU resource on <paramref name="backend"/> (the game's GL context, current on
    /// this thread).</summary>
    public Learner(GLBackend backend, int seed, int batchSize = 16, int replayCapacity = 2048, float learningRate = 1e-3f)
    {
        BatchSize = batchSize;
        network = Network.Create(ModelZoo.Build("lenet5", new ModelOptions(InputChannels: 1, ImageSize: ImageSize, Classes: ClassCount)), backend, seed);
        inference = ExecutionPlan.ForInference(network, 1);
        training = ExecutionPlan.ForTraining(network, batchSize);
        optimizer = new Adam(learningRate);
        guard = new NonFiniteGuard(training, optimizer);
        replay = new ReplayBuffer(backend, replayCapacity, network.Graph.Inputs[0].ItemShape, ClassCount);
        batches = new ReplayBatches(replay, seed);
        trainer = new FrameBudgetedTrainer(training, optimizer, batches, guard);
        trainer.NonFiniteDetected += report => NonFiniteReports.Add(report);
        // Pixels in [0,1] → luma → (v − 0.5)/0.5 in [−1,1]; area averaging shrinks the 64×64 view to 32×32.
        textureInput = new TextureInput(backend, new ImageInputTransform(ChannelOrder.Grayscale, ResizeMode.Area, 1f, [0.5f], [0.5f]));
        readback = new AsyncReadback(backend, ClassCount, slots: 4);
        requests = new (int, int, ShapeKind)[readback.Slots];
    }

    /// <summary>Items per training step.</summary>
    public int BatchSize { get; }
    /// <summary>Training steps finished.</summary>
    public long Steps => batches.FirstStep + trainer.CompletedSteps;
    /// <summary>The trainer (budget figures: overruns, stage estimates).</summary>
    public FrameBudgetedTrainer Trainer => trainer;
    /// <summary>Whether training runs: the replay buffer holds a few batches' worth of frames.</summary>
    public bool CanTrain => replay.Count >= MinimumSamples;

    /// <summary>The observed frame as the network sees it (the inference plan's input, (1,1,32,32)): a live link's
    /// feature-map probes run on it.</summary>
    public NeuroPlugin.Tensors.Tensor ObservedInput => inference.Input;
    /// <summary>Samples in the replay buffer.</summary>
    public int ReplayCount => replay.Count;
    /// <summary>Steps the NaN guard skipped, as it reported them (normally none).</summary>
    public List<NonFiniteReport> NonFiniteReports { get; } = [];

    /// <summary>Converts the look-ahead texture (RGBA8, rows bottom-up as GL rendered them) into the network's input, on the GPU.</summary>
    public void Observe(GLTexture2D eye) => textureInput.CopyToTensor(eye.Handle, inference.Input, 0, RowOrder.BottomUp);

    /// <summary>Stores the observed input with its true kind in the replay buffer (a device-side copy).</summary>
    public void Remember(ShapeKind truth) => replay.Append(inference.Input, 0, (int)truth);

    /// <summary>Runs the network on the observed input and asks for the logits back, without waiting. False (nothing
    /// done) when every readback slot is still in flight: the GPU is behind, so the game skips a prediction rather than stall.</summary>
    public bool Predict(int frame, Shape shape)
    {
        if (readback.PendingCount == readback.Slots) return false;
        inference.Forward();
        long request = readback.Request(inference.Output);
        requests[request % requests.Length] = (frame, shape.Id, shape.Kind);
        return true;
    }

    /// <summary>The oldest prediction whose logits have arrived, if any (never waits).</summary>
    public bool TryTakePrediction(out Prediction prediction)
    {
        prediction = default;
        if (!readback.TryRead(logits, out long request)) return false;
        var (frame, shapeId, truth) = requests[request % requests.Length];
        prediction = new Prediction(frame, shapeId, truth, (ShapeKind)NeuroPlugin.Training.Classification.ArgMax(logits));
        return true;
    }

    /// <summary>Runs training stages within <paramref name="budget"/> (the step in progress resumes next frame); returns
    /// the steps finished. Nothing happens until the replay buffer holds a few batches' worth of frames.</summary>
    public int Train(TimeSpan budget) => CanTrain ? trainer.Advance(budget) : 0;

    /// <summary>Runs exactly <paramref name="steps"/> whole training steps, whatever they cost: reproducible runs (tests,
    /// benchmarks). The weights after n steps are the same as with any budgets.</summary>
    public int Train(int steps)
    {
        if (!CanTrain) return 0;
        for (int i = 0; i < steps; i++)
        {
            trainer.Advance(TimeSpan.Zero); // one stage: the step's batch (and the guard's poll)
            trainer.CompleteStep();         // the rest of the step, unbudgeted
        }
        return steps;
    }

    /// <summary>Saves the weights, Adam's state and the counters (settling first: a step in progress is finished and the
    /// NaN guard's report read, so the file holds a whole number of applied steps). The replay buffer is not saved: a
    /// resumed game refills it as it plays.</summary>
    public void SaveCheckpoint(string path)
    {
        trainer.Settle();
        var counters = new TrainingCounters(Steps, Epoch: 0, BatchInEpoch: 0, BatchSize, TotalSteps: 0, optimizer.LearningRate,
            optimizer.LearningRate, LearningRateSchedule.Constant.Name, training.Seed, training.RandomCounter, optimizer.StepCount);
        TrainingCheckpoint.Save(path, network, optimizer, counters);
    }

    /// <summary>Continues from a checkpoint this sample saved: weights, optimizer state, the plan's random counters and
    /// the step number (so replay sampling continues with fresh draws).</summary>
    /// <exception cref="ModelFileException">The file is not such a checkpoint; names the file and the field.</exception>
    public void LoadCheckpoint(string path)
    {
        var checkpoint = TrainingCheckpoint.Read(path);
        if (checkpoint.Counters.BatchSize != BatchSize)
            throw new ModelFileException(path, $"training.trainer.batchSize is {checkpoint.Counters.BatchSize}, this game trains with {BatchSize}");
        checkpoint.RestoreWeights(network);
        checkpoint.RestoreOptimizer(optimizer, training.Parameters);
        training.Seed = checkpoint.Counters.PlanSeed;
        training.RandomCounter = checkpoint.Counters.RandomCounter;
        batches.FirstStep = checkpoint.Counters.Step - trainer.CompletedSteps;
    }

    /// <summary>Deletes every GPU resource (on the GL thread); the device stays the caller's.</summary>
    public void Dispose()
    {
        readback.Dispose();
        textureInput.Dispose();
        trainer.Dispose();
        guard.Dispose();
        optimizer.Dispose();
        replay.Dispose();
        training.Dispose();
        inference.Dispose();
        network.Dispose();
    }

    /// <summary>Each training step's minibatch: rows drawn uniformly from the replay buffer, on the device.</summary>
    sealed class ReplayBatches(ReplayBuffer replay, int seed) : IBatchSource
    {
        /// <summary>Steps taken before this run (from a checkpoint): the draws continue where that run stopped.</summary>
        public long FirstStep { get; set; }

        public void FillBatch(ExecutionPlan plan, long step) => replay.SampleInto(plan.Input, plan.Target!, seed, FirstStep + step);
    }
}

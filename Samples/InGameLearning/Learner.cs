using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Models;
using NeuroPlugin.Serialization;
using NeuroPlugin.Training;
using ModelResult = NeuroPlugin.Prediction;

namespace NeuroPlugin.Samples.InGameLearning;

/// <summary>A prediction that came back from the GPU: the frame it was made for, the shape it was about (and its
/// true kind, which the game knew), and what the network said.</summary>
public readonly record struct Prediction(int Frame, int ShapeId, ShapeKind Truth, ShapeKind Predicted)
{
    public bool Correct => Predicted == Truth;
}

/// <summary>
/// The network side of the game, on the game's GL context and nothing read back synchronously, through the runtime's
/// <see cref="OnlineLearner"/> (<c>using NeuroPlugin;</c>):
/// <list type="number">
/// <item><see cref="Observe"/>: the look-ahead texture is the frame the network looks at;</item>
/// <item><see cref="Remember"/>: that texture and the true kind → <see cref="OnlineLearner.AddTexture"/> (area resize,
///   grayscale and normalization by a compute shader, into the replay buffer on the device);</item>
/// <item><see cref="Predict"/>: <see cref="NeuroModel.StartTexture"/> with the learner's current weights (an eval forward
///   pass and an asynchronous copy of the 4 logits); <see cref="TryTakePrediction"/> collects them a frame or so later,
///   without waiting;</item>
/// <item><see cref="Train(TimeSpan)"/>: <see cref="OnlineLearner.Step(TimeSpan)"/>, training stages within the frame's
///   budget on minibatches sampled from the replay buffer on the device, guarded against NaN/±∞;</item>
/// <item><see cref="SaveCheckpoint"/> / the <c>resume</c> argument: <see cref="OnlineLearner.Save"/> and
///   <see cref="OnlineLearner.Resume"/> (weights, optimizer state and counters).</item>
/// </list>
/// The network is LeNet-5 from the model zoo for 1×32×32 inputs and 4 classes; training uses Adam on batches of
/// <see cref="BatchSize"/>. Predictions share the learner's weights, so every finished step is seen by the next one (a
/// step split across frames updates its parameters in its last stages, one by one).
/// </summary>
public sealed class Learner : IDisposable
{
    /// <summary>The network's input is ImageSize × ImageSize grayscale.</summary>
    public const int ImageSize = 32;
    /// <summary>Samples the replay buffer must hold before training starts.</summary>
    const int MinimumSamples = 64;

    readonly OnlineLearner learner;
    readonly ModelResult[] results; // a ring of started predictions, oldest at `first`
    readonly (int Frame, int ShapeId, ShapeKind Truth)[] requests; // what each started prediction is about
    int first, inFlight;
    uint eye;

    static int ClassCount => Enum.GetValues<ShapeKind>().Length;

    /// <summary>Builds the network and every GPU resource on <paramref name="backend"/> (the game's GL context, current on
    /// this thread), or continues from the checkpoint <paramref name="resume"/> that this sample saved.</summary>
    /// <exception cref="ModelFileException">The file is not such a checkpoint; names the file and the field.</exception>
    public Learner(GLBackend backend, int seed, int batchSize = 16, int replayCapacity = 2048, float learningRate = 1e-3f, string? resume = null)
    {
        var graph = ModelZoo.Build("lenet5", new ModelOptions(InputChannels: 1, ImageSize: ImageSize, Classes: ClassCount));
        var options = new OnlineLearnerOptions
        {
            Training = new TrainingOptions { Optimizer = "adam", LearningRate = learningRate, Schedule = "constant", BatchSize = batchSize, Seed = seed },
            ReplayCapacity = replayCapacity,
            MinimumExamples = MinimumSamples,
            // Pixels in [0,1] → luma → (v − 0.5)/0.5 in [−1,1]; area averaging shrinks the 64×64 view to 32×32.
            Metadata = new ModelMetadata
            {
                Input = InputSpecification.FromGraph(graph),
                Normalization = new InputNormalization([0.5f], [0.5f]),
                Labels = Enum.GetNames<ShapeKind>(),
            },
            Model = new NeuroModelOptions { MaxInFlight = 4 },
        };
        var device = NeuroDevice.Of(backend);
        learner = resume is null ? OnlineLearner.Create(graph, device, options) : OnlineLearner.Resume(resume, device, options);
        learner.NonFiniteDetected += report => NonFiniteReports.Add(report);
        results = [.. Enumerable.Range(0, 4).Select(_ => learner.Model.CreatePrediction())];
        requests = new (int, int, ShapeKind)[results.Length];
    }

    /// <summary>Items per training step.</summary>
    public int BatchSize => learner.BatchSize;
    /// <summary>Training steps finished.</summary>
    public long Steps => learner.Steps;
    /// <summary>The trainer (budget figures: overruns, stage estimates).</summary>
    public FrameBudgetedTrainer Trainer => learner.Trainer;
    /// <summary>Samples in the replay buffer.</summary>
    public int ReplayCount => learner.ExampleCount;
    /// <summary>Steps the NaN guard skipped, as it reported them (normally none).</summary>
    public List<NonFiniteReport> NonFiniteReports { get; } = [];

    /// <summary>The look-ahead texture (RGBA8, rows bottom-up as GL rendered them) is what the network looks at next.</summary>
    public void Observe(GLTexture2D eye) => this.eye = eye.Handle;

    /// <summary>Stores the observed frame with its true kind in the replay buffer (on the device).</summary>
    public void Remember(ShapeKind truth) => learner.AddTexture(eye, (int)truth);

    /// <summary>Runs the network on the observed frame and asks for the logits back, without waiting. False (nothing
    /// done) when every prediction slot is still in flight: the GPU is behind, so the game skips a prediction rather than stall.</summary>
    public bool Predict(int frame, Shape shape)
    {
        if (inFlight == results.Length) return false;
        int slot = (first + inFlight) % results.Length;
        _ = learner.Model.StartTexture(eye, results[slot]);
        requests[slot] = (frame, shape.Id, shape.Kind);
        inFlight++;
        return true;
    }

    /// <summary>The oldest prediction whose logits have arrived, if any (never waits).</summary>
    public bool TryTakePrediction(out Prediction prediction)
    {
        prediction = default;
        if (inFlight == 0 || !results[first].IsReady) return false;
        var (frame, shapeId, truth) = requests[first];
        prediction = new Prediction(frame, shapeId, truth, (ShapeKind)results[first].Best().Index);
        first = (first + 1) % results.Length;
        inFlight--;
        return true;
    }

    /// <summary>Runs training stages within <paramref name="budget"/> (the step in progress resumes next frame); returns
    /// the steps finished. Nothing happens until the replay buffer holds a few batches' worth of frames.</summary>
    public int Train(TimeSpan budget) => learner.Step(budget);

    /// <summary>Runs exactly <paramref name="steps"/> whole training steps, whatever they cost: reproducible runs (tests,
    /// benchmarks). The weights after n steps are the same as with any budgets.</summary>
    public int Train(int steps) => learner.Train(steps);

    /// <summary>Saves the weights, Adam's state and the counters (a step in progress is finished and the NaN guard's
    /// report read first). The replay buffer is not saved: a resumed game refills it as it plays.</summary>
    public void SaveCheckpoint(string path) => learner.Save(path);

    /// <summary>Deletes every GPU resource (on the GL thread); the device stays the caller's.</summary>
    public void Dispose() => learner.Dispose();
}

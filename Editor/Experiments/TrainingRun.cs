using NeuroPlugin.Execution;
using NeuroPlugin.Training;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>How long to train and how often to measure.</summary>
/// <param name="BatchSize">Images per step.</param>
/// <param name="Steps">Optimizer steps in all (epochs over the training subset follow from it).</param>
/// <param name="RecordEvery">Steps between measurements (evaluation and the probe, i.e. the readbacks).</param>
internal sealed record TrainingOptions(int BatchSize, int Steps, int RecordEvery);

/// <summary>Measurements taken every <see cref="TrainingOptions.RecordEvery"/> steps (step 0 = before training).
/// Losses are mean softmax cross-entropy, accuracies fractions, both in eval mode (dropout off, running statistics).</summary>
internal sealed class TrainingCurve
{
    public List<double> Steps { get; } = [];
    public List<double> TrainLoss { get; } = [];
    public List<double> TrainAccuracy { get; } = [];
    public List<double> TestLoss { get; } = [];
    public List<double> TestAccuracy { get; } = [];

    /// <summary>The last test accuracy.</summary>
    public double FinalTestAccuracy => TestAccuracy[^1];
    /// <summary>The last training accuracy (on the training subset evaluated).</summary>
    public double FinalTrainAccuracy => TrainAccuracy[^1];
    /// <summary>The last training loss.</summary>
    public double FinalTrainLoss => TrainLoss[^1];
    /// <summary>Whether the training loss became NaN or infinite (the run diverged).</summary>
    public bool Diverged => TrainLoss.Any(l => !double.IsFinite(l));
}

/// <summary>
/// Trains a network with softmax cross-entropy for a fixed number of steps (shuffled mini-batches of the
/// training subset, epoch after epoch) and measures it every few steps. Between measurements the loop only
/// uploads batches and runs <see cref="ExecutionPlan.TrainStep"/>: nothing is read back.
/// </summary>
internal static class TrainingRun
{
    /// <param name="probe">Called at every measurement with the training plan (after that step's update, so
    /// its gradients are the step's) and the step number: where experiments read gradients or activations back.</param>
    /// <param name="trainEvaluation">The training images the training loss and accuracy are measured on
    /// (<paramref name="train"/> when null; pass a subset to keep measurements cheap).</param>
    /// <param name="augmentation">Applied on the backend to every uploaded batch (images and one-hot targets) with the
    /// step's draws; measurements see the images unaugmented.</param>
    public static TrainingCurve Train(Network network, Optimizer optimizer, ImageDataset train, ImageDataset test,
        TrainingOptions options, int seed, Action<ExecutionPlan, int>? probe = null, ImageDataset? trainEvaluation = null,
        Augmentation? augmentation = null)
    {
        using var plan = ExecutionPlan.ForTraining(network, options.BatchSize);
        using var evaluator = new Evaluator(network);
        var loader = new DataLoader(train, options.BatchSize, shuffle: true, seed: seed, dropLast: true);
        if (loader.BatchesPerEpoch == 0)
            throw new ArgumentException($"{train.Count} training images do not fill one batch of {options.BatchSize}");
        var curve = new TrainingCurve();

        void Measure(int step)
        {
            var (trainLoss, trainAccuracy) = evaluator.Evaluate(trainEvaluation ?? train);
            var (testLoss, testAccuracy) = evaluator.Evaluate(test);
            curve.Steps.Add(step);
            curve.TrainLoss.Add(trainLoss);
            curve.TrainAccuracy.Add(trainAccuracy);
            curve.TestLoss.Add(testLoss);
            curve.TestAccuracy.Add(testAccuracy);
        }

        Measure(0);
        int epoch = 0;
        loader.StartEpoch(epoch);
        for (int step = 1; step <= options.Steps; step++)
        {
            if (!loader.TryNextBatch())
            {
                loader.StartEpoch(++epoch);
                loader.TryNextBatch();
            }
            plan.Input.Upload(loader.Images);
            plan.Target!.Upload(loader.Targets);
            augmentation?.Apply(plan.Input, plan.Target, step);
            plan.TrainStep(optimizer);
            if (step % options.RecordEvery == 0 || step == options.Steps)
            {
                probe?.Invoke(plan, step);
                Measure(step);
            }
        }
        return curve;
    }
}

/// <summary>
/// Loss and accuracy of a network on a dataset in eval mode (<see cref="Classification.Evaluate"/>), through one
/// inference plan reused for every call.
/// </summary>
internal sealed class Evaluator(Network network, int batchSize = 500) : IDisposable
{
    readonly ExecutionPlan plan = ExecutionPlan.ForInference(network, batchSize);

    /// <summary>Mean cross-entropy and the fraction classified correctly (argmax).</summary>
    public (double Loss, double Accuracy) Evaluate(ImageDataset dataset) => Classification.Evaluate(plan, dataset);

    public void Dispose() => plan.Dispose();
}

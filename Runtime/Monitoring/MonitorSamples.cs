namespace NeuroPlugin.Monitoring;

// The monitor's data model: immutable records built on the host from the statistics the device computed. They hold no
// tensors and no backend, so any thread may read them: the JSONL writer (MonitorJsonlWriter), the editor's WebSocket and
// a game's live link all serialize the same objects (MonitorJson).

/// <summary>A histogram of equal bins over <c>[Min, Max]</c> (torch.histc's bins: the maximum counts in the last bin).</summary>
/// <param name="Min">Lower edge of the first bin; NaN when the tensor held no finite value.</param>
/// <param name="Max">Upper edge of the last bin.</param>
/// <param name="Counts">Finite values per bin; bin b covers <c>[Min + b·w, Min + (b+1)·w)</c>, <c>w = (Max − Min)/bins</c>.</param>
public sealed record Histogram(double Min, double Max, IReadOnlyList<long> Counts);

/// <summary>
/// Statistics of one tensor (<see cref="IBackend.Summarize"/>): of its <see cref="Count"/> elements, the finite ones
/// give the range, mean, standard deviation, norm and histogram; NaN and ±∞ are only counted. Values without a finite
/// element are NaN.
/// </summary>
public sealed record TensorSummary(long Count, double Min, double Max, double Mean, double Std, double Norm,
    long Zeros, long NaNs, long Infinities, long Saturated, Histogram Histogram)
{
    /// <summary>Finite elements: <c>Count − NaNs − Infinities</c>.</summary>
    public long FiniteCount => Count - NaNs - Infinities;
    /// <summary>NaN and ±∞ elements.</summary>
    public long NonFinite => NaNs + Infinities;
    /// <summary>Fraction of exact zeros among all elements.</summary>
    public double ZeroFraction => Count == 0 ? double.NaN : (double)Zeros / Count;
    /// <summary>Fraction of elements at or beyond a saturation bound.</summary>
    public double SaturatedFraction => Count == 0 ? double.NaN : (double)Saturated / Count;

    /// <summary>
    /// Reads the words <see cref="IBackend.Summarize"/> wrote for a tensor of <paramref name="count"/> elements: mean
    /// <c>μ = Σx/m</c>, population standard deviation <c>√(Σ(x − μ)²/m)</c> and norm <c>√Σx²</c> over the m finite elements.
    /// </summary>
    public static TensorSummary Read(ReadOnlySpan<float> words, long count, int bins)
    {
        long nans = StatisticsLayout.ReadCount(words, StatisticsLayout.NaNs);
        long infinities = StatisticsLayout.ReadCount(words, StatisticsLayout.Infinities);
        long finite = count - nans - infinities;
        var counts = new long[bins];
        for (int b = 0; b < bins; b++) counts[b] = StatisticsLayout.ReadCount(words, StatisticsLayout.Histogram + b);
        double min = double.NaN, max = double.NaN, low = double.NaN, high = double.NaN, mean = double.NaN, std = double.NaN;
        if (finite > 0)
        {
            min = words[StatisticsLayout.Minimum];
            max = words[StatisticsLayout.Maximum];
            (float lowEdge, float highEdge) = StatisticsLayout.HistogramRange(words[StatisticsLayout.Minimum], words[StatisticsLayout.Maximum]);
            (low, high) = (lowEdge, highEdge);
            mean = StatisticsLayout.ReadDouble(words, StatisticsLayout.Sum) / finite;
            std = Math.Sqrt(StatisticsLayout.ReadDouble(words, StatisticsLayout.SquaredDeviations) / finite);
        }
        // over the finite elements; with none (all NaN or ±∞) NaN, not the 0 an empty sum gives (a diverged gradient is not a vanished one)
        double norm = finite > 0 || count == 0 ? Math.Sqrt(StatisticsLayout.ReadDouble(words, StatisticsLayout.SumOfSquares)) : double.NaN;
        return new TensorSummary(count, min, max, mean, std, norm,
            StatisticsLayout.ReadCount(words, StatisticsLayout.Zeros), nans, infinities,
            StatisticsLayout.ReadCount(words, StatisticsLayout.Saturated), new Histogram(low, high, counts));
    }
}

/// <summary>One parameter tensor at a sampled step: its values after the step's update, its gradient, and the update
/// itself (<c>Δw = w_after − w_before</c>; null when the monitor does not track updates).</summary>
/// <param name="Name">The state-dict name (<c>conv1.weight</c>).</param>
/// <param name="Weight">Statistics of the values after the update.</param>
/// <param name="Gradient">Statistics of the step's gradient <c>∂L/∂w</c>.</param>
/// <param name="Update">Statistics of <c>Δw</c>; null when <see cref="MonitorOptions.TrackUpdates"/> is off.</param>
public sealed record ParameterStatistics(string Name, TensorSummary Weight, TensorSummary Gradient, TensorSummary? Update)
{
    /// <summary><c>‖w‖₂</c>.</summary>
    public double WeightNorm => Weight.Norm;
    /// <summary><c>‖∂L/∂w‖₂</c>.</summary>
    public double GradNorm => Gradient.Norm;
    /// <summary><c>‖Δw‖₂</c>; NaN when updates are not tracked.</summary>
    public double UpdateNorm => Update?.Norm ?? double.NaN;
    /// <summary><c>‖Δw‖ / ‖w‖</c>, CS231n's update-to-weight ratio (healthy around 10⁻³).</summary>
    public double UpdateRatio => UpdateNorm / WeightNorm;
}

/// <summary>One node's output at a sampled step (the forward values of that step's batch) and the gradient of the loss
/// with respect to it.</summary>
/// <param name="Name">The node's name.</param>
/// <param name="Type">Its layer type (<c>Conv2d</c>, <c>ReLU</c>, …).</param>
/// <param name="Output">The output's statistics; <see cref="TensorSummary.Saturated"/> counts values within 2 % of a bound
/// of a saturating activation (<see cref="Saturation"/>).</param>
/// <param name="DeadChannels">Channels (axis 1) that are exactly 0 for every sample of the batch.</param>
/// <param name="Channels">Channels of the output.</param>
/// <param name="Saturating">Whether the node is a saturating activation (sigmoid, tanh, hard sigmoid).</param>
/// <param name="Gradient">Statistics of <c>∂L/∂y</c>; null when no gradient reaches the node.</param>
/// <param name="ForwardMs">Device time of its forward (GL timer queries; the wall clock on the CPU); null when not timed.</param>
/// <param name="BackwardMs">Device time of its backward; null when it has none or was not timed.</param>
public sealed record NodeStatistics(string Name, string Type, TensorSummary Output, long DeadChannels, int Channels, bool Saturating,
    TensorSummary? Gradient, double? ForwardMs, double? BackwardMs)
{
    /// <summary>Mean of the output's finite values, <see cref="TensorSummary.Mean"/> of <see cref="Output"/>.</summary>
    public double Mean => Output.Mean;
    /// <summary>Standard deviation of the output's finite values, <see cref="TensorSummary.Std"/> of <see cref="Output"/>.</summary>
    public double Std => Output.Std;
    /// <summary>Fraction of output elements exactly 0, in [0, 1] (high after a ReLU: dying units); NaN for an empty output.</summary>
    public double ZeroFraction => Output.ZeroFraction;
    /// <summary>Fraction of channels dead for the whole batch.</summary>
    public double DeadChannelFraction => Channels == 0 ? double.NaN : (double)DeadChannels / Channels;
    /// <summary>Fraction of saturated outputs; null for activations that do not saturate.</summary>
    public double? SaturatedFraction => Saturating ? Output.SaturatedFraction : null;
    /// <summary><c>‖∂L/∂y‖₂</c>; NaN without a gradient.</summary>
    public double GradNorm => Gradient?.Norm ?? double.NaN;
}

/// <summary>One sampled training step.</summary>
/// <param name="Step">Optimizer steps completed, this one included (1 for the first step).</param>
/// <param name="Epoch">The epoch the step belongs to (zero-based).</param>
/// <param name="Loss">The plan's loss on the step's batch: mean cross-entropy (plus weighted auxiliary heads), without
/// an L1/L2 penalty.</param>
/// <param name="BatchAccuracy">Fraction of the batch whose largest logit is the target's largest entry.</param>
/// <param name="LearningRate">The rate the step's update used.</param>
/// <param name="ImagesPerSecond">Training throughput since the previous sample (host wall clock).</param>
/// <param name="ElapsedSeconds">Wall time since the monitor was attached.</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="ForwardMs">Summed forward time of every node (null when not timed).</param>
/// <param name="BackwardMs">Summed loss and backward time of every node (null when not timed).</param>
/// <param name="Parameters">Per parameter, in <see cref="Graph.Network.ParameterNames"/> order.</param>
/// <param name="Nodes">Per node, in graph order.</param>
public sealed record TrainingSample(long Step, int Epoch, double Loss, double BatchAccuracy, double LearningRate,
    double ImagesPerSecond, double ElapsedSeconds, int BatchSize, double? ForwardMs, double? BackwardMs,
    IReadOnlyList<ParameterStatistics> Parameters, IReadOnlyList<NodeStatistics> Nodes);

/// <summary>A test image the network got wrong, with the probability it gave its (wrong) answer.</summary>
/// <param name="Index">Index in the evaluated dataset.</param>
/// <param name="Label">The true class.</param>
/// <param name="Predicted">The predicted class.</param>
/// <param name="Confidence">softmax probability of <paramref name="Predicted"/>.</param>
/// <param name="Pixels">The image as stored in the dataset: bytes (C,H,W).</param>
public sealed record Misclassification(int Index, int Label, int Predicted, double Confidence, byte[] Pixels);

/// <summary>An evaluation on a test set in eval mode (running batch-norm statistics, no dropout).</summary>
/// <param name="Step">Training steps completed when it ran.</param>
/// <param name="Epoch">The epoch that had just ended (or was running, for one on request).</param>
/// <param name="Count">Images evaluated.</param>
/// <param name="TestLoss">Mean cross-entropy over them.</param>
/// <param name="TestAccuracy">Fraction classified correctly.</param>
/// <param name="Confusion">Confusion matrix: <c>Confusion[t][p]</c> images of true class t predicted as p (rows are
/// true classes).</param>
/// <param name="ClassNames">The dataset's class names, in class order.</param>
/// <param name="MostConfidentlyWrong">The mistakes with the highest confidence, highest first.</param>
/// <param name="Channels">Channels of each image (for <see cref="Misclassification.Pixels"/>).</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
public sealed record EvaluationSample(long Step, int Epoch, int Count, double TestLoss, double TestAccuracy,
    IReadOnlyList<IReadOnlyList<long>> Confusion, IReadOnlyList<string> ClassNames, IReadOnlyList<Misclassification> MostConfidentlyWrong,
    int Channels, int Height, int Width)
{
    /// <summary>The predicted class of every evaluated image, in dataset order (the confusion matrix's cells, image by
    /// image); empty when not kept. Not part of the JSON form.</summary>
    public IReadOnlyList<int> Predictions { get; init; } = [];

    /// <summary>Indices of the images of true class <paramref name="label"/> predicted as <paramref name="predicted"/> (a cell
    /// of the confusion matrix), in dataset order, at most <paramref name="limit"/>.</summary>
    public IEnumerable<int> ImagesOf(int label, int predicted, IReadOnlyList<byte> labels, int limit = int.MaxValue) =>
        Enumerable.Range(0, Predictions.Count).Where(i => labels[i] == label && Predictions[i] == predicted).Take(limit);

    /// <summary>Per class: the fraction of its images classified correctly (<c>Confusion[c][c] / Σₚ Confusion[c][p]</c>);
    /// NaN for a class without test images.</summary>
    public IReadOnlyList<double> ClassAccuracy => Confusion.Select((row, c) => row.Sum() is var total and > 0 ? (double)row[c] / total : double.NaN).ToArray();
}

/// <summary>What a run is, written once before its samples: the network's parameters and nodes as the samples name them.</summary>
/// <param name="Backend">"cpu" or "gl".</param>
/// <param name="Device">The device's description.</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="Every">Steps between samples.</param>
/// <param name="HistogramBins">Bins of every histogram.</param>
/// <param name="Parameters">The parameters, in sample order.</param>
/// <param name="Nodes">The nodes, in sample order (topological).</param>
public sealed record RunDescription(string Backend, string Device, int BatchSize, int Every, int HistogramBins,
    IReadOnlyList<ParameterDescription> Parameters, IReadOnlyList<NodeDescription> Nodes)
{
    /// <summary>What the host calls the run (the model's or document's name); null when it gave none.</summary>
    public string? Name { get; init; }
    /// <summary>When the run started; null when unknown.</summary>
    public DateTimeOffset? StartedAt { get; init; }
    /// <summary>Steps of the whole run; 0 when unknown.</summary>
    public long TotalSteps { get; init; }
    /// <summary>The training options the run uses (<c>TrainingOptions.ToJson</c>), so that runs can be compared; null when
    /// the host gave none.</summary>
    public System.Text.Json.Nodes.JsonObject? Options { get; init; }
}

/// <summary>A parameter of the run: its state-dict name and shape.</summary>
public sealed record ParameterDescription(string Name, IReadOnlyList<int> Shape);

/// <summary>A node of the run: its name, layer type, input tensors and output shape (with the batch axis).</summary>
public sealed record NodeDescription(string Name, string Type, IReadOnlyList<string> Inputs, IReadOnlyList<int> Shape);

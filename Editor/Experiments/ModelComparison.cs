using System.Diagnostics;
using NeuroPlugin.Search;
using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>One trained configuration of a comparison between architectures or regularizers.</summary>
/// <param name="Label">Its name in charts and tables ("plain, 14 layers").</param>
/// <param name="Key">Its metric prefix (<c>plain.14</c>).</param>
/// <param name="Curve">Its measurements during training.</param>
/// <param name="Cost">Parameters, forward FLOPs per image and, where measured, batch-1 latency (NaN otherwise).</param>
/// <param name="TrainingSeconds">Wall time of the training loop with its measurements.</param>
internal sealed record TrainedModel(string Label, string Key, TrainingCurve Curve, ArchitectureCost Cost, double TrainingSeconds)
{
    public double TestAccuracy => Curve.FinalTestAccuracy;
    public double TrainAccuracy => Curve.FinalTrainAccuracy;
    public double TrainLoss => Curve.FinalTrainLoss;
    /// <summary>Training minus test accuracy at the end.</summary>
    public double Gap => TrainAccuracy - TestAccuracy;
}

/// <summary>
/// What the lineage experiments (fc-vs-cnn, depth, regularizers, efficient-blocks) share: one training recipe (SGD with
/// momentum 0.9 at a fixed rate of 0.02, the context's seed for weights and batch order), the cost of each network
/// (<see cref="ArchitectureCost"/>: the counts <c>neuro inspect</c> and <c>neuro search</c> report, and the measured
/// batch-1 latency on the experiment's backend), the metrics each model records, and the charts that compare them.
/// </summary>
internal static class ModelComparison
{
    /// <summary>Momentum and learning rate of the shared recipe (<c>neuro train</c>'s default starting rate).</summary>
    public const float Momentum = 0.9f, LearningRate = 0.02f;

    /// <summary>
    /// Creates <paramref name="graph"/> on the context's backend from its seed, trains it with SGD (momentum
    /// <see cref="Momentum"/>, rate <see cref="LearningRate"/>) and, with <paramref name="measureLatency"/>, times
    /// batch-1 inference afterwards. Logs one line.
    /// </summary>
    public static TrainedModel Train(ExperimentContext context, string label, string key, NetworkGraph graph, ImageDataset train, ImageDataset test,
        TrainingOptions options, ImageDataset? trainEvaluation = null, Augmentation? augmentation = null, bool measureLatency = false)
    {
        var (parameters, flops) = ArchitectureCost.Count(graph);
        using var network = Network.Create(graph, context.Backend, context.Seed);
        using var optimizer = new Sgd(LearningRate, Momentum);
        var clock = Stopwatch.StartNew();
        var curve = TrainingRun.Train(network, optimizer, train, test, options, context.Seed, trainEvaluation: trainEvaluation, augmentation: augmentation);
        double seconds = clock.Elapsed.TotalSeconds;
        double latency = measureLatency ? ArchitectureCost.MeasureLatency(network) : double.NaN;
        var model = new TrainedModel(label, key, curve, new ArchitectureCost(parameters, flops, latency), seconds);
        context.Log.WriteLine($"  {label}: {parameters:N0} parameters, {Format.Number(flops)} FLOPs, training loss {Format.Number(model.TrainLoss)}, " +
            $"train {Format.Percent(model.TrainAccuracy)}, test {Format.Percent(model.TestAccuracy)}" +
            (measureLatency ? $", batch-1 latency {Format.Milliseconds(latency)}" : "") + $" ({Format.Seconds(seconds)})");
        return model;
    }

    /// <summary>Records <c>{key}.test_accuracy</c>, <c>.train_accuracy</c>, <c>.train_loss</c>, <c>.gap</c>, <c>.parameters</c>,
    /// <c>.flops</c> and, where measured, <c>.latency_ms</c>.</summary>
    public static void Record(ExperimentResult result, TrainedModel model)
    {
        result.Metrics[$"{model.Key}.test_accuracy"] = model.TestAccuracy;
        result.Metrics[$"{model.Key}.train_accuracy"] = model.TrainAccuracy;
        result.Metrics[$"{model.Key}.train_loss"] = model.TrainLoss;
        result.Metrics[$"{model.Key}.gap"] = model.Gap;
        result.Metrics[$"{model.Key}.parameters"] = model.Cost.Parameters;
        result.Metrics[$"{model.Key}.flops"] = model.Cost.Flops;
        if (double.IsFinite(model.Cost.LatencyMilliseconds)) result.Metrics[$"{model.Key}.latency_ms"] = model.Cost.LatencyMilliseconds;
    }

    /// <summary>The common columns of a comparison table: parameters, FLOPs, training loss, training and test accuracy.</summary>
    public static readonly string[] Columns = ["parameters", "FLOPs per image", "training loss", "training accuracy", "test accuracy"];

    /// <summary>A model's cells under <see cref="Columns"/>, after its label.</summary>
    public static IReadOnlyList<string> Row(TrainedModel model) =>
        [model.Label, model.Cost.Parameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), Format.Number(model.Cost.Flops),
         Format.Number(model.TrainLoss), Format.Percent(model.TrainAccuracy), Format.Percent(model.TestAccuracy)];

    /// <summary>The measured batch-1 latency as an extra column of <see cref="ComparisonTable"/>.</summary>
    public static readonly (string Header, Func<TrainedModel, string> Cell) Latency =
        ("batch-1 latency", m => Format.Milliseconds(m.Cost.LatencyMilliseconds));

    /// <summary>Appends the comparison table: a row per model, its label under <paramref name="labelHeader"/>, then
    /// <see cref="Columns"/> and the <paramref name="extra"/> columns.</summary>
    public static MarkdownReport ComparisonTable(this MarkdownReport report, string labelHeader, IEnumerable<TrainedModel> models,
        params (string Header, Func<TrainedModel, string> Cell)[] extra) =>
        report.Table([labelHeader, .. Columns, .. extra.Select(e => e.Header)],
            models.Select(m => (IReadOnlyList<string>)[.. Row(m), .. extra.Select(e => e.Cell(m))]));

    /// <summary>One line per model of <paramref name="series"/> (a curve's list) against the training step; colours by position.</summary>
    public static void Curves(Plot plot, IReadOnlyList<TrainedModel> models, Func<TrainingCurve, IReadOnlyList<double>> series, Func<int, bool>? dashed = null)
    {
        for (int i = 0; i < models.Count; i++)
            Charts.Line(plot, models[i].Curve.Steps, series(models[i].Curve), models[i].Label, i, dashed: dashed?.Invoke(i) ?? false);
    }

    /// <summary>A bar per model of <paramref name="value"/>, printed with <paramref name="format"/>, the labels under the bars.</summary>
    public static void Bars(Plot plot, IReadOnlyList<TrainedModel> models, Func<TrainedModel, double> value, Func<double, string> format) =>
        Charts.Bars(plot, models.Select(m => m.Label).ToArray(), models.Select(value).ToArray(), format);
}

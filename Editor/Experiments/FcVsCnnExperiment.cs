using NeuroPlugin.Search;
using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Course §4: a convolution layer learns an image as the 3-D data it is (height, width, channels) and passes it on,
/// where a fully connected layer flattens it and loses the relations between neighbouring pixels. Trains a small CNN
/// and a two-hidden-layer perceptron whose width is solved for the CNN's parameter count, with the same recipe, data
/// and steps, and compares test accuracy, parameters, FLOPs and measured batch-1 latency.
/// </summary>
internal sealed class FcVsCnnExperiment() : Experiment("fc-vs-cnn",
    "a fully connected network against a CNN of about the same parameter count: accuracy, parameters, FLOPs, latency")
{
    /// <summary>Test accuracy lead (fraction) that counts as "better".</summary>
    const double AccuracyLead = 0.01;

    protected override MarkdownReport Measure(ExperimentContext context, ExperimentResult result)
    {
        var options = new TrainingOptions(BatchSize: 64, Steps: context.Size(600, 40), RecordEvery: context.Size(50, 20));
        var (train, test, trainEvaluation) = context.Subsets(context.Size(12000, 1280), context.Size(2000, 300), context.Size(1000, 320));

        var cnnGraph = ConvNet.Stack(16, [(32, 2), (64, 1)], separable: false);
        long cnnParameters = ArchitectureCost.Count(cnnGraph).Parameters;
        int width = MatchingWidth(cnnParameters);
        var perceptron = new Perceptron([width, width], ActivationKind.ReLU);
        var models = new[]
        {
            ModelComparison.Train(context, $"fully connected (784-{width}-{width}-10)", "fc", perceptron.Build(), train, test, options,
                trainEvaluation, measureLatency: true),
            ModelComparison.Train(context, "CNN (3 conv layers)", "cnn", cnnGraph, train, test, options, trainEvaluation, measureLatency: true),
        };
        foreach (var model in models) ModelComparison.Record(result, model);
        var (fc, cnn) = (models[0], models[1]);

        double parameterRatio = (double)cnn.Cost.Parameters / fc.Cost.Parameters;
        result.Conclusions.Add(new Conclusion(
            "at about the same number of parameters, the CNN, which keeps the image's neighbourhoods, classifies better than the fully connected network, which flattens them.",
            cnn.TestAccuracy >= fc.TestAccuracy + AccuracyLead,
            $"test accuracy {Format.Percent(cnn.TestAccuracy)} (CNN, {cnn.Cost.Parameters:N0} parameters) against {Format.Percent(fc.TestAccuracy)} " +
            $"(fully connected, {fc.Cost.Parameters:N0} parameters, ratio {Format.Number(parameterRatio)}) after {options.Steps} steps " +
            $"(agreement needs the CNN ahead by ≥ {AccuracyLead * 100:0} point). The CNN reuses each weight at every position: " +
            $"{Format.Times((double)cnn.Cost.Flops / fc.Cost.Flops)} the FLOPs per image, batch-1 latency {Format.Milliseconds(cnn.Cost.LatencyMilliseconds)} " +
            $"against {Format.Milliseconds(fc.Cost.LatencyMilliseconds)} on {context.Backend.Name}."));

        return new MarkdownReport()
            .Heading("Fully connected against convolutional")
            .Paragraph($"A CNN (stem conv 3×3 (16) → BN → ReLU → 2×2 max pool, conv 3×3/2 (32) and conv 3×3 (64) each with BN and ReLU, global " +
                $"average pool → fc) and a ReLU perceptron with two hidden layers of {width} units (the width whose parameter count is closest to " +
                $"the CNN's), both with PyTorch's default initialization, trained with SGD (momentum {ModelComparison.Momentum}, ε = {ModelComparison.LearningRate}) on " +
                $"{train.Count:N0} training images, batch {options.BatchSize}, for {options.Steps} steps; accuracy on {trainEvaluation.Count:N0} training " +
                $"and {test.Count:N0} test images. Latency: median of batch-1 inferences (upload, forward, download) on {context.Backend.Name}.")
            .Image("accuracy curves, test accuracy, FLOPs and latency", DrawChart(context, result, models))
            .ComparisonTable("network", models, ModelComparison.Latency);
    }

    /// <summary>The hidden width H of a 784-H-H-10 perceptron whose parameter count <c>784H + H + H² + H + 10H + 10</c> is closest to <paramref name="parameters"/>.</summary>
    internal static int MatchingWidth(long parameters)
    {
        static long Count(long h) => 784 * h + h + h * h + h + 10 * h + 10;
        int best = 1;
        for (int h = 1; Count(h) <= 2 * parameters; h++)
            if (Math.Abs(Count(h) - parameters) < Math.Abs(Count(best) - parameters)) best = h;
        return best;
    }

    string DrawChart(ExperimentContext context, ExperimentResult result, IReadOnlyList<TrainedModel> models)
    {
        var (figure, panels) = Charts.Grid(1, 3);
        var curves = Charts.Label(panels[0], "Test accuracy during training", "training step", "test accuracy");
        ModelComparison.Curves(curves, models, c => c.TestAccuracy);
        curves.Axes.SetLimitsY(0, 1);
        Charts.Legend(curves, Alignment.LowerRight);
        ModelComparison.Bars(Charts.Label(panels[1], "Forward FLOPs per image (log scale)", "", "log₁₀ FLOPs"), models, m => Math.Log10(m.Cost.Flops),
            v => Format.Number(Math.Pow(10, v)));
        ModelComparison.Bars(Charts.Label(panels[2], $"Batch-1 latency on {context.Backend.Name}", "", "milliseconds"), models, m => m.Cost.LatencyMilliseconds,
            Format.Milliseconds);
        return SaveChart(context, result, figure, 1700, 550);
    }
}

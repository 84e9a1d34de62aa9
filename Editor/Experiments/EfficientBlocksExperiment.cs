using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Course §5, improvements since ResNet, 2 and 5: separable convolution (Xception) and architectures built for speed
/// (MobileNet). A depthwise-separable convolution (a k×k convolution per channel, then a 1×1 convolution across
/// channels) costs <c>k²·C_in + C_in·C_out</c> multiply-accumulates per output pixel instead of <c>k²·C_in·C_out</c>: about
/// <c>1/C_out + 1/k²</c> of it. Trains the same stack with standard and with depthwise-separable 3×3 convolutions and
/// compares accuracy, FLOPs, parameters and the batch-1 latency measured on the backend.
/// </summary>
internal sealed class EfficientBlocksExperiment() : Experiment("efficient-blocks",
    "standard against depthwise-separable convolutions: accuracy, FLOPs, parameters and measured batch-1 latency")
{
    /// <summary>Factor by which the separable network must cut FLOPs and parameters to count as "far cheaper".</summary>
    const double CostFactor = 3;
    /// <summary>Test accuracy (fraction) the separable network may lose and still count as "close".</summary>
    const double AccuracyTolerance = 0.02;

    protected override MarkdownReport Measure(ExperimentContext context, ExperimentResult result)
    {
        const int width = 16;
        (int, int)[] layers = [(2 * width, 1), (2 * width, 2), (4 * width, 1), (4 * width, 2), (8 * width, 1)];
        var options = new TrainingOptions(BatchSize: 64, Steps: context.Size(500, 30), RecordEvery: context.Size(50, 30));
        var (train, test, trainEvaluation) = context.Subsets(context.Size(12000, 640), context.Size(2000, 300), context.Size(1000, 320));

        var models = new[] { false, true }.Select(separable =>
        {
            var model = ModelComparison.Train(context, separable ? "depthwise-separable" : "standard", separable ? "separable" : "standard",
                ConvNet.Stack(width, layers, separable), train, test, options, trainEvaluation, measureLatency: true);
            ModelComparison.Record(result, model);
            return model;
        }).ToArray();
        var (standard, separable) = (models[0], models[1]);

        double flopRatio = (double)standard.Cost.Flops / separable.Cost.Flops;
        double parameterRatio = (double)standard.Cost.Parameters / separable.Cost.Parameters;
        double speedup = standard.Cost.LatencyMilliseconds / separable.Cost.LatencyMilliseconds;
        result.Metrics["flop_ratio"] = flopRatio;
        result.Metrics["parameter_ratio"] = parameterRatio;
        result.Metrics["latency_ratio"] = speedup;
        result.Conclusions.Add(new Conclusion(
            "depthwise-separable convolutions need far fewer multiply-adds and parameters than standard ones.",
            flopRatio >= CostFactor && parameterRatio >= CostFactor,
            $"{Format.Number(standard.Cost.Flops)} against {Format.Number(separable.Cost.Flops)} FLOPs per image ({Format.Times(flopRatio)}), " +
            $"{standard.Cost.Parameters:N0} against {separable.Cost.Parameters:N0} parameters ({Format.Times(parameterRatio)}) " +
            $"(agreement needs both ≥ {Format.Times(CostFactor)})."));
        result.Conclusions.Add(new Conclusion(
            "the separable network loses little accuracy for it.",
            separable.TestAccuracy >= standard.TestAccuracy - AccuracyTolerance,
            $"test accuracy {Format.Percent(separable.TestAccuracy)} against {Format.Percent(standard.TestAccuracy)} after {options.Steps} steps " +
            $"(agreement needs it no more than {AccuracyTolerance * 100:0} points lower)."));
        result.Conclusions.Add(new Conclusion(
            "fewer multiply-adds make the network faster: the separable network's measured batch-1 latency is lower.",
            speedup > 1,
            $"{Format.Milliseconds(separable.Cost.LatencyMilliseconds)} against {Format.Milliseconds(standard.Cost.LatencyMilliseconds)} on " +
            $"{context.Backend.Name} ({context.Backend.DeviceName}), {Format.Times(speedup)} faster for {Format.Times(flopRatio)} fewer FLOPs " +
            "(agreement needs it lower at all" +
            (speedup < flopRatio ? "; the speed-up is smaller than the FLOP ratio: a depthwise convolution does little work per value it reads)." : ").")));

        return new MarkdownReport()
            .Heading("Efficient blocks: standard against depthwise-separable convolution")
            .Paragraph($"The same stack with standard and with depthwise-separable 3×3 convolutions: stem conv 3×3 ({width}) → BN → ReLU → 2×2 max pool, " +
                $"then {string.Join(", ", layers.Select(l => $"{l.Item1}{(l.Item2 == 2 ? "/2" : "")}"))} channels (/2: stride 2), each a conv 3×3 → BN → ReLU, or " +
                "depthwise 3×3 → BN → ReLU → pointwise 1×1 → BN → ReLU (MobileNet's unit), then global average pool → fc. PyTorch's default initialization, " +
                $"SGD (momentum {ModelComparison.Momentum}, ε = {ModelComparison.LearningRate}), batch {options.BatchSize}, {options.Steps} steps on {train.Count:N0} training " +
                $"images; test accuracy on {test.Count:N0} images. Latency: median of batch-1 inferences (upload, forward, download) on " +
                $"{context.Backend.Name} ({context.Backend.DeviceName}).")
            .Image("accuracy, FLOPs, parameters and latency", DrawChart(context, result, models))
            .ComparisonTable("convolution", models, ModelComparison.Latency);
    }

    string DrawChart(ExperimentContext context, ExperimentResult result, IReadOnlyList<TrainedModel> models)
    {
        var (figure, panels) = Charts.Grid(1, 4);
        var curves = Charts.Label(panels[0], "Test accuracy during training", "training step", "test accuracy");
        ModelComparison.Curves(curves, models, c => c.TestAccuracy);
        Charts.Legend(curves, Alignment.LowerRight);
        ModelComparison.Bars(Charts.Label(panels[1], "Forward FLOPs per image", "", "FLOPs"), models, m => m.Cost.Flops, Format.Number);
        ModelComparison.Bars(Charts.Label(panels[2], "Parameters", "", "parameters"), models, m => m.Cost.Parameters, Format.Number);
        ModelComparison.Bars(Charts.Label(panels[3], $"Batch-1 latency on {context.Backend.Name}", "", "milliseconds"), models, m => m.Cost.LatencyMilliseconds,
            Format.Milliseconds);
        return SaveChart(context, result, figure, 2000, 550);
    }
}

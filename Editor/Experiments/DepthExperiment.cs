using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Course §5, ResNet: residual shortcuts around blocks make very deep networks trainable. He et al. (2015) show the
/// degradation problem this answers: a deeper plain network (batch-normalized, so not a vanishing-gradient problem) has a
/// <i>higher training</i> error than a shallower one, while the same networks with shortcuts get better with depth.
/// Trains plain and residual versions of the CIFAR-style network (<see cref="ConvNet.Staged"/>) at three depths with the
/// same recipe, data and steps, and compares their training losses.
/// </summary>
internal sealed class DepthExperiment() : Experiment("depth",
    "plain against residual networks at three depths: training loss and accuracy (the degradation problem)")
{
    /// <summary>Blocks per stage of the three depths: 6n + 2 weighted layers.</summary>
    static readonly int[] BlocksPerStage = [1, 2, 3];
    /// <summary>Relative training-loss difference that counts as "higher" or "lower".</summary>
    const double Margin = 0.05;

    protected override MarkdownReport Measure(ExperimentContext context, ExperimentResult result)
    {
        const int width = 8;
        var options = new TrainingOptions(BatchSize: 64, Steps: context.Size(400, 30), RecordEvery: context.Size(50, 30));
        var (train, test, trainEvaluation) = context.Subsets(context.Size(12000, 640), context.Size(1000, 300), context.Size(1000, 320));

        var plain = new List<TrainedModel>();
        var residual = new List<TrainedModel>();
        foreach (int n in BlocksPerStage)
            foreach (var join in new[] { BlockJoin.Plain, BlockJoin.Residual })
            {
                int depth = 6 * n + 2;
                string kind = join == BlockJoin.Plain ? "plain" : "residual";
                var model = ModelComparison.Train(context, $"{kind}-{depth}", $"{kind}.{depth}", ConvNet.Staged(width, n, join), train, test, options,
                    trainEvaluation);
                ModelComparison.Record(result, model);
                (join == BlockJoin.Plain ? plain : residual).Add(model);
            }

        string Losses(List<TrainedModel> models) => string.Join(", ", models.Select(m => $"{m.Label} {Format.Number(m.TrainLoss)}"));
        var (plainShallow, plainDeep) = (plain[0], plain[^1]);
        var (residualShallow, residualDeep) = (residual[0], residual[^1]);
        result.Conclusions.Add(new Conclusion(
            "the degradation problem: the deepest plain network trains worse (a higher training loss) than the shallowest, though it could copy it.",
            plainDeep.TrainLoss >= plainShallow.TrainLoss * (1 + Margin),
            $"training loss after {options.Steps} steps: {Losses(plain)} (agreement needs {plainDeep.Label}'s ≥ {Margin * 100:0} % above {plainShallow.Label}'s)."));
        result.Conclusions.Add(new Conclusion(
            "with residual shortcuts the deepest network trains at least as well as the shallowest.",
            residualDeep.TrainLoss <= residualShallow.TrainLoss * (1 + Margin),
            $"training loss: {Losses(residual)} (agreement needs {residualDeep.Label}'s no more than {Margin * 100:0} % above {residualShallow.Label}'s)."));
        result.Conclusions.Add(new Conclusion(
            "at the greatest depth the residual network trains better than the plain one.",
            residualDeep.TrainLoss <= plainDeep.TrainLoss * (1 - Margin),
            $"training loss {Format.Number(residualDeep.TrainLoss)} ({residualDeep.Label}) against {Format.Number(plainDeep.TrainLoss)} ({plainDeep.Label}); " +
            $"test accuracy {Format.Percent(residualDeep.TestAccuracy)} against {Format.Percent(plainDeep.TestAccuracy)} " +
            $"(agreement needs the residual loss ≥ {Margin * 100:0} % lower)."));

        return new MarkdownReport()
            .Heading("Depth: plain against residual networks")
            .Paragraph($"Networks of 6n + 2 weighted layers for n = {string.Join(", ", BlocksPerStage)}: stem conv 3×3 ({width}) → BN → ReLU → 2×2 max pool, " +
                $"three stages of n two-convolution blocks at {width}, {2 * width}, {4 * width} channels (the first block of stages 2 and 3 halves the map), " +
                "global average pool → fc. Plain blocks are conv → BN → ReLU → conv → BN → ReLU; residual blocks add the input (option A shortcut: " +
                "subsampled and zero-padded where the shape changes) before the last ReLU. Everything else is equal: PyTorch's default initialization " +
                $"from the same seed, SGD (momentum {ModelComparison.Momentum}, ε = {ModelComparison.LearningRate}), batch {options.BatchSize}, {options.Steps} steps on " +
                $"{train.Count:N0} training images. Training loss and accuracy on {trainEvaluation.Count:N0} training images (eval mode), test accuracy on {test.Count:N0}.")
            .Image("training loss by depth, plain and residual", DrawChart(context, result, plain, residual))
            .ComparisonTable("network", plain.Concat(residual));
    }

    string DrawChart(ExperimentContext context, ExperimentResult result, List<TrainedModel> plain, List<TrainedModel> residual)
    {
        var (figure, panels) = Charts.Grid(1, 3);
        var byDepth = Charts.Label(panels[0], "Final training loss by depth", "weighted layers", "training loss (cross-entropy)");
        var depths = BlocksPerStage.Select(n => (double)(6 * n + 2)).ToArray();
        Charts.Line(byDepth, depths, plain.Select(m => m.TrainLoss).ToArray(), "plain", 1, dashed: true);
        Charts.Line(byDepth, depths, residual.Select(m => m.TrainLoss).ToArray(), "residual", 0);
        byDepth.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(depths.Select(d => new Tick(d, d.ToString("0"))).ToArray());
        Charts.Legend(byDepth, Alignment.UpperLeft);
        foreach (var (panel, models, title) in new[] { (panels[1], plain, "Plain networks"), (panels[2], residual, "Residual networks") })
        {
            var curves = Charts.Label(panel, $"{title}: training loss", "training step", "training loss (cross-entropy)");
            ModelComparison.Curves(curves, models, c => c.TrainLoss);
            Charts.Legend(curves, Alignment.UpperRight);
        }
        return SaveChart(context, result, figure, 1800, 550);
    }
}

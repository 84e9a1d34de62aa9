using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Course §5, improvements since ResNet, 4: the lineage's regularizers. On one small residual network trained under the
/// same budget (data, steps, recipe, seed), compares no regularization with Cutout and Random Erasing (a rectangle of
/// each training image blanked), mixup (pairs of images and their labels blended), Stochastic Depth (each residual
/// branch dropped per sample with a probability rising linearly to 0.5) and Shake-Shake (two branches mixed with random
/// per-sample weights, forward and backward independently). The augmentations are the runtime's own (<c>neuro train
/// --augment</c>'s defaults, <see cref="Augmentation.Parse"/>), the joins its layers (<c>StochasticDepth</c>, <c>ShakeShake</c>).
/// </summary>
internal sealed class RegularizersExperiment() : Experiment("regularizers",
    "a small ResNet with none, Cutout, Random Erasing, mixup, Stochastic Depth and Shake-Shake under the same budget: test accuracy and train/test gap")
{
    /// <summary>How much (fraction) a regularizer must shrink the train/test gap to count as "narrows it".</summary>
    const double Narrower = 0.01;
    const float DropProbability = 0.5f;
    const int BlocksPerStage = 1;

    /// <param name="Augment">Names for <see cref="Augmentation.Parse"/> ("" for none).</param>
    sealed record Setting(string Label, string Key, string Augment, BlockJoin Join);

    static readonly Setting[] Settings =
    [
        new("none", "none", "", BlockJoin.Residual),
        new("Cutout", "cutout", "cutout", BlockJoin.Residual),
        new("Random Erasing", "erasing", "erasing", BlockJoin.Residual),
        new("mixup", "mixup", "mixup", BlockJoin.Residual),
        new("Stochastic Depth", "stochastic_depth", "", BlockJoin.StochasticDepth),
        new("Shake-Shake", "shake_shake", "", BlockJoin.ShakeShake),
    ];

    protected override MarkdownReport Measure(ExperimentContext context, ExperimentResult result)
    {
        const int width = 8;
        // a small training set trained for many epochs, so that the unregularized network overfits and a regularizer has a gap to close
        var options = new TrainingOptions(BatchSize: 64, Steps: context.Size(600, 30), RecordEvery: context.Size(50, 30));
        var (train, test) = context.Subsets(context.Size(3000, 640), context.Size(2000, 300));

        var models = new List<TrainedModel>();
        foreach (var setting in Settings)
        {
            using var augmentation = Augmentation.Parse(setting.Augment, FashionMnist.ImageSize, context.Seed);
            NetworkGraph graph = ConvNet.Staged(width, BlocksPerStage, setting.Join, DropProbability);
            var model = ModelComparison.Train(context, setting.Label, setting.Key, graph, train, test, options,
                augmentation: augmentation.Transforms.Count > 0 ? augmentation : null);
            ModelComparison.Record(result, model);
            models.Add(model);
        }

        var none = models[0];
        var regularized = models.Skip(1).ToList();
        result.Conclusions.Add(new Conclusion(
            $"with {train.Count:N0} training images seen {options.Steps * options.BatchSize / train.Count} times, every regularizer narrows the gap between training and test accuracy.",
            regularized.All(m => m.Gap <= none.Gap - Narrower),
            $"gap {Format.Percent(none.Gap)} without regularization; " + string.Join(", ", regularized.Select(m => $"{m.Label} {Format.Percent(m.Gap)}")) +
            $" (agreement needs each narrower by ≥ {Narrower * 100:0} point)."));
        foreach (var model in regularized)
            result.Conclusions.Add(new Conclusion(
                $"{model.Label} raises the test accuracy over the unregularized network under the same budget.",
                model.TestAccuracy > none.TestAccuracy,
                $"test accuracy {Format.Percent(model.TestAccuracy)} against {Format.Percent(none.TestAccuracy)} (training accuracy " +
                $"{Format.Percent(model.TrainAccuracy)} against {Format.Percent(none.TrainAccuracy)}; agreement needs it higher)."));

        return new MarkdownReport()
            .Heading("Regularizers of the lineage")
            .Paragraph($"A residual network of 8 weighted layers (stem conv 3×3 ({width}) → BN → ReLU → 2×2 max pool, three residual blocks at {width}, " +
                $"{2 * width}, {4 * width} channels, global average pool → fc; Shake-Shake's blocks have two branches, so twice the block parameters) " +
                $"trained on {train.Count:N0} training images with SGD (momentum {ModelComparison.Momentum}, ε = {ModelComparison.LearningRate}), batch {options.BatchSize}, " +
                $"for {options.Steps} steps with each regularizer — the same data, steps, initial weights (from the same seed) and batch order. Cutout " +
                "blanks an 8×8 square; Random Erasing, with probability 0.5, a rectangle of 2–33 % of the image; mixup blends each batch with a shuffled copy " +
                $"of itself, labels too, by λ ~ Beta(0.2, 0.2); Stochastic Depth drops the l-th of the L = {3 * BlocksPerStage} residual branches with probability " +
                $"(l/L)·{DropProbability}. Accuracies in eval mode on the unaugmented training images and on " +
                $"{test.Count:N0} test images.")
            .Image("accuracy curves, test accuracy and gap per regularizer", DrawChart(context, result, models))
            .ComparisonTable("regularizer", models, ("gap", m => Format.Percent(m.Gap)));
    }

    string DrawChart(ExperimentContext context, ExperimentResult result, List<TrainedModel> models)
    {
        var (figure, panels) = Charts.Grid(1, 3);
        var curves = Charts.Label(panels[0], "Test accuracy during training", "training step", "test accuracy");
        ModelComparison.Curves(curves, models, c => c.TestAccuracy);
        Charts.Legend(curves, Alignment.LowerRight, 10);
        ModelComparison.Bars(Charts.Label(panels[1], "Final test accuracy", "", "test accuracy"), models, m => m.TestAccuracy, Format.Percent);
        ModelComparison.Bars(Charts.Label(panels[2], "Train/test accuracy gap at the end", "", "training − test accuracy"), models, m => m.Gap, Format.Percent);
        return SaveChart(context, result, figure, 2000, 600);
    }
}

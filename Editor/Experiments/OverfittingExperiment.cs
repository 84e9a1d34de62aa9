using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Course §3: with too little data a large network overfits (training accuracy far above test accuracy);
/// regularization constrains it: L2 (ridge, <c>(λ₂/2)·Σw²</c>), L1 (lasso, <c>λ₁·Σ|w|</c>, whose corners drive weights to
/// exactly zero) and dropout. Trains the same perceptron on a few hundred images with none, L2, L1 and dropout, and
/// measures the train/test gap and the share of near-zero weights.
/// </summary>
internal sealed class OverfittingExperiment() : Experiment("overfitting",
    "a few hundred training images; none vs L2 vs L1 vs dropout: train/test accuracy gap and the share of near-zero weights")
{
    /// <summary>A weight counts as "near zero" below this magnitude (He init puts about 2 % of fc1's weights there).</summary>
    const float NearZero = 1e-3f;
    /// <summary>The gap (fraction) that counts as overfitting.</summary>
    const double LargeGap = 0.10;
    /// <summary>How much (fraction) a regularizer must shrink the gap to count as "narrows it".</summary>
    const double Narrower = 0.02;
    /// <summary>How much larger L1's share of near-zero weights must be than L2's to count as "sparse".</summary>
    const double SparsityFactor = 2;
    const float L2Strength = 0.1f, L1Strength = 2e-3f, DropoutP = 0.35f;

    sealed record Setting(string Label, string Key, float Dropout, Func<Regularizer?> Regularizer);

    static readonly Setting[] Settings =
    [
        new("none", "none", 0f, () => null),
        new($"L2 (λ₂ = {L2Strength.ToString(CultureInfo.InvariantCulture)})", "l2", 0f, () => Regularizer.Create(0f, L2Strength)),
        new($"L1 (λ₁ = {L1Strength.ToString(CultureInfo.InvariantCulture)})", "l1", 0f, () => Regularizer.Create(L1Strength, 0f)),
        new($"dropout (p = {DropoutP.ToString(CultureInfo.InvariantCulture)})", "dropout", DropoutP, () => null),
    ];

    sealed record Outcome(Setting Setting, TrainingCurve Curve, float[] Weights)
    {
        public double Gap => Curve.FinalTrainAccuracy - Curve.FinalTestAccuracy;
        public double NearZeroShare => Readback.Fraction(Weights, w => Math.Abs(w) < NearZero);
    }

    protected override MarkdownReport Measure(ExperimentContext context, ExperimentResult result)
    {
        int width = context.Size(100, 50), depth = 5;
        const float learningRate = 0.1f;
        var options = new TrainingOptions(BatchSize: 50, Steps: context.Size(1500, 150), RecordEvery: context.Size(50, 25));
        var (train, test) = context.Subsets(context.Size(300, 200), context.Size(2000, 500));

        var outcomes = new List<Outcome>();
        foreach (var setting in Settings)
        {
            var spec = new Perceptron(Enumerable.Repeat(width, depth).ToArray(), ActivationKind.ReLU)
            {
                WeightInit = Initializer.KaimingNormal(),
                BiasInit = Initializer.Zeros,
                Dropout = setting.Dropout,
            };
            using var network = spec.Create(context.Backend, context.Seed);
            using var optimizer = new Sgd(learningRate) { Regularizer = setting.Regularizer() };
            var curve = TrainingRun.Train(network, optimizer, train, test, options, context.Seed);
            var outcome = new Outcome(setting, curve, Weights(network, spec));
            outcomes.Add(outcome);
            context.Log.WriteLine($"  {setting.Label}: train {Format.Percent(curve.FinalTrainAccuracy)}, test {Format.Percent(curve.FinalTestAccuracy)}, " +
                $"near-zero weights {Format.Percent(outcome.NearZeroShare)}");
            result.Metrics[$"{setting.Key}.train_accuracy"] = curve.FinalTrainAccuracy;
            result.Metrics[$"{setting.Key}.test_accuracy"] = curve.FinalTestAccuracy;
            result.Metrics[$"{setting.Key}.gap"] = outcome.Gap;
            result.Metrics[$"{setting.Key}.near_zero_share"] = outcome.NearZeroShare;
        }

        var (none, l2, l1, dropout) = (outcomes[0], outcomes[1], outcomes[2], outcomes[3]);
        result.Conclusions.Add(new Conclusion(
            $"with only {train.Count} training images the unregularized network overfits: it fits the training set far better than unseen data.",
            none.Gap >= LargeGap,
            $"training accuracy {Format.Percent(none.Curve.FinalTrainAccuracy)}, test accuracy {Format.Percent(none.Curve.FinalTestAccuracy)}, " +
            $"a gap of {Format.Percent(none.Gap)} (agreement needs ≥ {Format.Percent(LargeGap)})."));
        foreach (var regularized in outcomes.Skip(1))
            result.Conclusions.Add(new Conclusion(
                $"{regularized.Setting.Label} narrows the gap between training and test accuracy.",
                regularized.Gap <= none.Gap - Narrower,
                $"gap {Format.Percent(regularized.Gap)} (training {Format.Percent(regularized.Curve.FinalTrainAccuracy)}, test {Format.Percent(regularized.Curve.FinalTestAccuracy)}) " +
                $"against {Format.Percent(none.Gap)} without regularization (agreement needs it narrower by ≥ {Narrower * 100:0} points)."));
        result.Conclusions.Add(new Conclusion(
            "L1 (lasso) makes the weights sparse, L2 (ridge) only makes them small.",
            l1.NearZeroShare >= SparsityFactor * l2.NearZeroShare && l1.NearZeroShare >= SparsityFactor * none.NearZeroShare,
            $"share of weights with |w| < {NearZero.ToString(CultureInfo.InvariantCulture)}: L1 {Format.Percent(l1.NearZeroShare)}, L2 {Format.Percent(l2.NearZeroShare)}, " +
            $"none {Format.Percent(none.NearZeroShare)} (agreement needs L1's ≥ {SparsityFactor:0}× both others)."));

        return new MarkdownReport()
            .Heading("Overfitting and regularization")
            .Paragraph($"A ReLU perceptron with {depth} hidden layers of {width} units (He-normal weights, zero biases) trained on only {train.Count} " +
                $"Fashion-MNIST training images with plain SGD (ε = {learningRate}), batch {options.BatchSize}, for {options.Steps} steps " +
                $"({options.Steps * options.BatchSize / train.Count} epochs); accuracy in eval mode on the {train.Count} training images and on {test.Count:N0} test images. " +
                "L1 and L2 penalize the weight matrices (not the biases) and are added to the gradients by the optimizer's regularizer; dropout follows every hidden activation.")
            .Image("train/test accuracy, gap and weight distributions", DrawChart(context, result, outcomes, options))
            .Table(["regularization", "training accuracy", "test accuracy", "gap", $"weights with |w| < {NearZero.ToString(CultureInfo.InvariantCulture)}", "mean |w|"],
                outcomes.Select(o => (IReadOnlyList<string>)
                    [o.Setting.Label, Format.Percent(o.Curve.FinalTrainAccuracy), Format.Percent(o.Curve.FinalTestAccuracy), Format.Percent(o.Gap),
                     Format.Percent(o.NearZeroShare), Format.Number(o.Weights.Average(w => Math.Abs(w)))]));
    }

    /// <summary>Every weight matrix's values, concatenated (the parameters L1 and L2 act on).</summary>
    static float[] Weights(Network network, Perceptron spec) =>
        spec.WeightNames().SelectMany(name => network.Parameter(name).ToArray()).ToArray();

    string DrawChart(ExperimentContext context, ExperimentResult result, List<Outcome> outcomes, TrainingOptions options)
    {
        var none = outcomes[0];
        var (figure, panels) = Charts.Grid(2, 2);
        var curves = Charts.Label(panels[0], "Training (dashed) and test (solid) accuracy", "training step", "accuracy");
        for (int i = 0; i < outcomes.Count; i++)
        {
            Charts.Line(curves, outcomes[i].Curve.Steps, outcomes[i].Curve.TestAccuracy, $"{outcomes[i].Setting.Label} test", i);
            Charts.Line(curves, outcomes[i].Curve.Steps, outcomes[i].Curve.TrainAccuracy, $"{outcomes[i].Setting.Label} train", i, dashed: true, width: 1.5f);
        }
        curves.Axes.SetLimitsY(0, 1.05);
        Charts.Legend(curves, Alignment.LowerRight, 10);

        var labels = outcomes.Select(o => o.Setting.Label).ToArray();
        Charts.Bars(Charts.Label(panels[1], "Train/test accuracy gap at the end", "", "training − test accuracy"),
            labels, outcomes.Select(o => o.Gap).ToArray(), Format.Percent);
        Charts.Bars(Charts.Label(panels[3], $"Share of weights with |w| < {NearZero.ToString(CultureInfo.InvariantCulture)}", "", "share of weights"),
            labels, outcomes.Select(o => o.NearZeroShare).ToArray(), Format.Percent);

        // Weight distributions as line histograms (log share), so L1's spike at 0 and the tails of the others both show.
        var histogram = Charts.Label(panels[2], "Distribution of the weights after training", "weight value", "share of weights per bin (log scale)");
        const int bins = 81;
        // The range covers 99.5 % of the unregularized weights; the few beyond it are left out, not piled into the end bins.
        var magnitudes = none.Weights.Select(Math.Abs).Order().ToArray();
        double range = magnitudes[(int)(0.995 * (magnitudes.Length - 1))];
        for (int i = 0; i < outcomes.Count; i++)
        {
            var counts = new double[bins];
            foreach (float w in outcomes[i].Weights)
            {
                int bin = (int)Math.Floor((w + range) / (2 * range) * bins);
                if (bin >= 0 && bin < bins) counts[bin]++;
            }
            var centers = Enumerable.Range(0, bins).Select(b => -range + (b + 0.5) * 2 * range / bins).ToArray();
            Charts.Line(histogram, centers, counts.Select(c => Charts.Log10(c / outcomes[i].Weights.Length)).ToArray(), outcomes[i].Setting.Label, i, width: 1.5f);
        }
        Charts.LogY(histogram);
        Charts.Legend(histogram, Alignment.UpperRight, 10);
        return SaveChart(context, result, figure, 1500, 1100);
    }
}

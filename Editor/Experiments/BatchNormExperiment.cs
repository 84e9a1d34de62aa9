using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Course §1, batch normalization: normalizing each hidden layer's input <c>u = Wz + b</c> over the mini-batch
/// (<c>x̂ = (u − μ_B)/√(σ²_B + ε)</c>, <c>y = γx̂ + β</c>) lets the middle layers learn and keeps the distributions from
/// going to extremes. Trains the same deep perceptron with and without BatchNorm1d before each activation, with plain
/// SGD at several learning rates, for a sigmoid network (Xavier init: the network whose gradients vanish) and a ReLU
/// network (PyTorch's default init), and compares the accuracy curves and how many sigmoid outputs end up saturated.
/// </summary>
internal sealed class BatchNormExperiment() : Experiment("batch-norm",
    "deep sigmoid and ReLU perceptrons with and without batch normalization at several learning rates: accuracy curves and saturation")
{
    const int Depth = 5;
    /// <summary>Test accuracy BN may lose against plain training and still count as "as good" (noise of a short run).</summary>
    const double Tolerance = 0.01;
    /// <summary>Mean test-accuracy lead (fraction) that counts as "learns better".</summary>
    const double AccuracyLead = 0.05;
    /// <summary>Final test accuracy from which a learning rate counts as one that trains.</summary>
    const double Trains = 0.5;
    static readonly float[] LearningRates = [0.01f, 0.1f, 1f];
    static readonly ActivationKind[] Activations = [ActivationKind.Sigmoid, ActivationKind.ReLU];

    sealed record Outcome(ActivationKind Activation, bool BatchNorm, float LearningRate, TrainingCurve Curve, double SaturatedShare)
    {
        public string Label => $"{Activation} {(BatchNorm ? "with BN" : "without BN")}, ε = {LearningRate}";
        public double Accuracy => Curve.FinalTestAccuracy;
    }

    protected override MarkdownReport Measure(ExperimentContext context, ExperimentResult result)
    {
        int width = context.Size(100, 32);
        var options = new TrainingOptions(BatchSize: 64, Steps: context.Size(500, 30), RecordEvery: context.Size(25, 10));
        var (train, test, trainEvaluation) = context.Subsets(context.Size(20000, 640), context.Size(2000, 300), 2000);
        var probeImages = test.Take(context.Size(1000, 200));
        var nodes = Enumerable.Range(1, Depth).Select(Perceptron.ActivationName).ToArray();

        var outcomes = new List<Outcome>();
        foreach (var activation in Activations)
            foreach (bool batchNorm in new[] { false, true })
                foreach (float learningRate in LearningRates)
                {
                    var spec = new Perceptron(Enumerable.Repeat(width, Depth).ToArray(), activation)
                    {
                        WeightInit = activation == ActivationKind.Sigmoid ? Initializer.XavierNormal() : null,
                        BiasInit = activation == ActivationKind.Sigmoid ? Initializer.Zeros : null,
                        BatchNorm = batchNorm,
                    };
                    using var network = spec.Create(context.Backend, context.Seed);
                    using var optimizer = new Sgd(learningRate);
                    var curve = TrainingRun.Train(network, optimizer, train, test, options, context.Seed, trainEvaluation: trainEvaluation);
                    double saturated = activation != ActivationKind.Sigmoid ? double.NaN
                        : ActivationSnapshot.Take(network, probeImages, nodes).Average(a => Readback.Fraction(a, Readback.Saturated));
                    var outcome = new Outcome(activation, batchNorm, learningRate, curve, saturated);
                    outcomes.Add(outcome);
                    context.Log.WriteLine($"  {outcome.Label}: test accuracy {Format.Percent(outcome.Accuracy)}" +
                        (double.IsNaN(saturated) ? "" : $", saturated outputs {Format.Percent(saturated)}"));
                    string key = $"{activation.ToString().ToLowerInvariant()}.{(batchNorm ? "bn" : "plain")}.lr{learningRate.ToString(CultureInfo.InvariantCulture)}";
                    result.Metrics[$"{key}.test_accuracy"] = outcome.Accuracy;
                    if (!double.IsNaN(saturated)) result.Metrics[$"{key}.saturated_share"] = saturated;
                }

        var plain = outcomes.Where(o => !o.BatchNorm).ToList();
        var normalized = outcomes.Where(o => o.BatchNorm).ToList();
        var leads = normalized.Zip(plain, (b, p) => b.Accuracy - p.Accuracy).ToArray();
        result.Conclusions.Add(new Conclusion(
            "with batch normalization the deep network learns at least as well at every learning rate, and better overall.",
            leads.All(d => d >= -Tolerance) && leads.Average() >= AccuracyLead,
            $"test accuracy after {options.Steps} steps, without → with BN: " +
            string.Join("; ", plain.Zip(normalized, (p, b) => $"{p.Activation} ε = {p.LearningRate}: {Format.Percent(p.Accuracy)} → {Format.Percent(b.Accuracy)}")) +
            $" (agreement needs BN no more than {Tolerance * 100:0} point behind anywhere and ahead by ≥ {AccuracyLead * 100:0} points on average)."));
        int plainTrains = plain.Count(o => o.Accuracy >= Trains), normalizedTrains = normalized.Count(o => o.Accuracy >= Trains);
        result.Conclusions.Add(new Conclusion(
            "batch normalization widens the range of learning rates that train.",
            normalizedTrains > plainTrains,
            $"of the {plain.Count} (activation, learning rate) pairs, {plainTrains} reach ≥ {Format.Percent(Trains)} test accuracy without BN and " +
            $"{normalizedTrains} with BN (agreement needs more with BN)."));
        var sigmoidPlain = plain.Where(o => o.Activation == ActivationKind.Sigmoid).ToList();
        var sigmoidNormalized = normalized.Where(o => o.Activation == ActivationKind.Sigmoid).ToList();
        double plainSaturated = sigmoidPlain.Average(o => o.SaturatedShare), normalizedSaturated = sigmoidNormalized.Average(o => o.SaturatedShare);
        result.Conclusions.Add(new Conclusion(
            "batch normalization keeps the hidden layers' distributions away from the extremes.",
            normalizedSaturated <= plainSaturated,
            $"after training, {Format.Percent(plainSaturated)} of the sigmoid network's hidden outputs are within {Readback.SaturationMargin} of 0 or 1 without BN and " +
            $"{Format.Percent(normalizedSaturated)} with BN (mean over the rates and layers; agreement needs BN's share to be no larger)."));

        return new MarkdownReport()
            .Heading("Batch normalization")
            .Paragraph($"Perceptrons with {Depth} hidden layers of {width} units — sigmoid (Xavier-normal weights, zero biases) and ReLU (PyTorch's default " +
                "initialization) — with and without BatchNorm1d between each hidden Linear and its activation, trained with plain SGD on " +
                $"{train.Count:N0} training images, batch {options.BatchSize}, for {options.Steps} steps at each learning rate; accuracy on {test.Count:N0} " +
                "test images (eval mode: BN uses its running statistics). Saturated outputs: the share of the sigmoid network's hidden outputs within " +
                $"{Readback.SaturationMargin} of 0 or 1 after training, on {probeImages.Count:N0} test images.")
            .Image("accuracy with and without batch normalization", DrawChart(context, result, outcomes, options))
            .Table(["activation", "learning rate ε", "test accuracy without BN", "test accuracy with BN", "training loss without BN", "training loss with BN",
                    "saturated outputs without BN", "saturated outputs with BN"],
                plain.Zip(normalized, (p, b) => (IReadOnlyList<string>)
                    [p.Activation.ToString(), p.LearningRate.ToString(CultureInfo.InvariantCulture), Format.Percent(p.Accuracy), Format.Percent(b.Accuracy),
                     Format.Number(p.Curve.FinalTrainLoss), Format.Number(b.Curve.FinalTrainLoss),
                     double.IsNaN(p.SaturatedShare) ? "–" : Format.Percent(p.SaturatedShare), double.IsNaN(b.SaturatedShare) ? "–" : Format.Percent(b.SaturatedShare)]));
    }

    string DrawChart(ExperimentContext context, ExperimentResult result, List<Outcome> outcomes, TrainingOptions options)
    {
        int columns = LearningRates.Length + 1;
        var (figure, panels) = Charts.Grid(Activations.Length, columns);
        for (int a = 0; a < Activations.Length; a++)
        {
            var activation = Activations[a];
            for (int i = 0; i < LearningRates.Length; i++)
            {
                var panel = Charts.Label(panels[a * columns + i], $"{activation}, ε = {LearningRates[i].ToString(CultureInfo.InvariantCulture)}", "training step", "test accuracy");
                foreach (var outcome in outcomes.Where(o => o.Activation == activation && o.LearningRate == LearningRates[i]))
                    Charts.Line(panel, outcome.Curve.Steps, outcome.Curve.TestAccuracy, outcome.BatchNorm ? "with batch norm" : "without batch norm",
                        outcome.BatchNorm ? 0 : 1, dashed: !outcome.BatchNorm);
                panel.Axes.SetLimitsY(0, 1);
                Charts.Legend(panel, Alignment.UpperLeft);
            }
            var summary = Charts.Label(panels[a * columns + LearningRates.Length], $"{activation}: final test accuracy", "learning rate ε (log scale)", "test accuracy");
            foreach (bool batchNorm in new[] { true, false })
            {
                var runs = outcomes.Where(o => o.Activation == activation && o.BatchNorm == batchNorm).ToList();
                Charts.Line(summary, runs.Select(o => Math.Log10(o.LearningRate)).ToArray(), runs.Select(o => o.Accuracy).ToArray(),
                    batchNorm ? "with batch norm" : "without batch norm", batchNorm ? 0 : 1, dashed: !batchNorm);
            }
            summary.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                LearningRates.Select(r => new Tick(Math.Log10(r), r.ToString(CultureInfo.InvariantCulture))).ToArray());
            summary.Axes.SetLimitsY(0, 1);
            Charts.Legend(summary, Alignment.UpperLeft);
        }
        return SaveChart(context, result, figure, 1900, 950);
    }
}

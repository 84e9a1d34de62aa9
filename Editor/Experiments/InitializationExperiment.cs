using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Course §1, the initialization experiment: a perceptron of five hidden layers of 100 units (biases 0) starts from
/// weights drawn with std 1, std 0.01, or the activation's own rule (Xavier for sigmoid, He for ReLU), or all zeros.
/// The activation histograms of every hidden layer at initialization show where the outputs pile up (sigmoid: at 0
/// and 1 with std 1, at 0.5 with std 0.01); a short training run shows which start learns, and zero weights show the
/// symmetry failure: every unit of a layer gets the same update, so the units stay identical.
/// </summary>
internal sealed class InitializationExperiment() : Experiment("initialization",
    "std 1 vs std 0.01 vs Xavier (sigmoid) / He (ReLU) vs zeros: activation histograms per layer, accuracy, symmetry of zero init")
{
    const int Depth = 5;
    /// <summary>Sigmoid outputs within this distance of 0.5 count as "at 0.5": the margin within which they count as
    /// saturated near 0 or 1 (<see cref="Readback.Saturated"/>).</summary>
    const float Near = Readback.SaturationMargin;
    /// <summary>Share of outputs that counts as "piled up".</summary>
    const double Majority = 0.5;
    /// <summary>ReLU activations' std from the first to the last hidden layer: "kept" within this factor, "vanishing"/"exploding" beyond its square.</summary>
    const double KeptFactor = 3;
    /// <summary>Units whose outputs differ by at most this on every image count as identical.</summary>
    const double Identical = 1e-6;

    sealed record Configuration(string Label, ActivationKind Activation, Initializer Weights, string Key);

    sealed class Outcome(Configuration configuration, float[][] initial, TrainingCurve curve, double[] spread)
    {
        public Configuration Configuration { get; } = configuration;
        /// <summary>Each hidden layer's outputs at initialization, (N,units) flattened.</summary>
        public float[][] Initial { get; } = initial;
        public TrainingCurve Curve { get; } = curve;
        /// <summary>Each hidden layer's <see cref="Readback.UnitSpread"/> after training.</summary>
        public double[] Spread { get; } = spread;
        public double Std(int layer) => Readback.MeanStd(Initial[layer]).Std;
        public double Share(int layer, Func<float, bool> predicate) => Readback.Fraction(Initial[layer], predicate);
        public double MeanShare(Func<float, bool> predicate) => Enumerable.Range(0, Initial.Length).Average(l => Share(l, predicate));
        public bool Symmetric => Spread.All(s => s <= Identical);
    }

    static bool AtHalf(float y) => Math.Abs(y - 0.5f) < Near;

    static readonly Configuration[] Configurations =
    [
        new("std 1", ActivationKind.Sigmoid, Initializer.Normal(0, 1), "sigmoid.std1"),
        new("std 0.01", ActivationKind.Sigmoid, Initializer.Normal(0, 0.01f), "sigmoid.std0.01"),
        new("Xavier", ActivationKind.Sigmoid, Initializer.XavierNormal(), "sigmoid.xavier"),
        new("zeros", ActivationKind.Sigmoid, Initializer.Zeros, "sigmoid.zeros"),
        new("std 1", ActivationKind.ReLU, Initializer.Normal(0, 1), "relu.std1"),
        new("std 0.01", ActivationKind.ReLU, Initializer.Normal(0, 0.01f), "relu.std0.01"),
        new("He", ActivationKind.ReLU, Initializer.KaimingNormal(), "relu.he"),
        new("zeros", ActivationKind.ReLU, Initializer.Zeros, "relu.zeros"),
    ];

    protected override MarkdownReport Measure(ExperimentContext context, ExperimentResult result)
    {
        int width = context.Size(100, 50);
        var options = new TrainingOptions(BatchSize: 64, Steps: context.Size(1000, 30), RecordEvery: context.Size(50, 10));
        const float learningRate = 0.05f, momentum = 0.9f;
        var (train, test, trainEvaluation) = context.Subsets(context.Size(30000, 640), context.Size(2000, 300), 2000);
        var probeImages = test.Take(context.Size(1000, 200));
        var nodes = Enumerable.Range(1, Depth).Select(Perceptron.ActivationName).ToArray();

        var outcomes = new List<Outcome>();
        foreach (var configuration in Configurations)
        {
            var spec = new Perceptron(Enumerable.Repeat(width, Depth).ToArray(), configuration.Activation)
            {
                WeightInit = configuration.Weights,
                BiasInit = Initializer.Zeros,
            };
            using var network = spec.Create(context.Backend, context.Seed);
            var initial = ActivationSnapshot.Take(network, probeImages, nodes);
            using var optimizer = new Sgd(learningRate, momentum);
            var curve = TrainingRun.Train(network, optimizer, train, test, options, context.Seed, trainEvaluation: trainEvaluation);
            var spread = ActivationSnapshot.Take(network, probeImages, nodes).Select(a => Readback.UnitSpread(a, width)).ToArray();
            var outcome = new Outcome(configuration, initial, curve, spread);
            outcomes.Add(outcome);
            context.Log.WriteLine($"  {configuration.Activation} {configuration.Label}: test accuracy {Format.Percent(curve.FinalTestAccuracy)}, " +
                $"layer std {string.Join(" ", Enumerable.Range(0, Depth).Select(l => Format.Number(outcome.Std(l))))}{(outcome.Symmetric ? ", units identical" : "")}");
            result.Metrics[$"{configuration.Key}.test_accuracy"] = curve.FinalTestAccuracy;
            result.Metrics[$"{configuration.Key}.max_unit_spread"] = spread.Max();
            for (int l = 0; l < Depth; l++) result.Metrics[$"{configuration.Key}.act{l + 1}.std"] = outcome.Std(l);
            if (configuration.Activation == ActivationKind.Sigmoid)
            {
                result.Metrics[$"{configuration.Key}.saturated_share"] = outcome.MeanShare(Readback.Saturated);
                result.Metrics[$"{configuration.Key}.half_share"] = outcome.MeanShare(AtHalf);
            }
        }

        AddConclusions(result, outcomes, options);
        var sigmoidChart = DrawHistograms(context, result, outcomes.Where(o => o.Configuration.Activation == ActivationKind.Sigmoid).ToList(), "sigmoid");
        var reluChart = DrawHistograms(context, result, outcomes.Where(o => o.Configuration.Activation == ActivationKind.ReLU).ToList(), "relu");
        var accuracyChart = DrawAccuracy(context, result, outcomes);
        return Report(outcomes, width, options, learningRate, momentum, train.Count, test.Count, probeImages.Count, [sigmoidChart, reluChart, accuracyChart]);
    }

    static Outcome Find(List<Outcome> outcomes, string key) => outcomes.Single(o => o.Configuration.Key == key);

    void AddConclusions(ExperimentResult result, List<Outcome> outcomes, TrainingOptions options)
    {
        var (std1, small, xavier, sigmoidZeros) = (Find(outcomes, "sigmoid.std1"), Find(outcomes, "sigmoid.std0.01"), Find(outcomes, "sigmoid.xavier"), Find(outcomes, "sigmoid.zeros"));
        double std1Saturated = std1.MeanShare(Readback.Saturated), smallHalf = small.MeanShare(AtHalf);
        double xavierSaturated = xavier.MeanShare(Readback.Saturated), xavierHalf = xavier.MeanShare(AtHalf);
        result.Conclusions.Add(new Conclusion(
            "with sigmoid, std 1 piles the outputs up at 0 and 1 and std 0.01 piles them up at 0.5, while Xavier spreads them.",
            std1Saturated >= Majority && smallHalf >= Majority && xavierSaturated < Majority && xavierHalf < Majority,
            $"averaged over the {Depth} hidden layers, {Format.Percent(std1Saturated)} of std 1's outputs are within {Near} of 0 or 1, " +
            $"{Format.Percent(smallHalf)} of std 0.01's are within {Near} of 0.5, and Xavier has {Format.Percent(xavierSaturated)} and " +
            $"{Format.Percent(xavierHalf)} (agreement needs ≥ {Format.Percent(Majority)} for the first two and < {Format.Percent(Majority)} for both of Xavier's)."));

        var (reluStd1, reluSmall, he) = (Find(outcomes, "relu.std1"), Find(outcomes, "relu.std0.01"), Find(outcomes, "relu.he"));
        double Growth(Outcome o) => o.Std(Depth - 1) / o.Std(0);
        result.Conclusions.Add(new Conclusion(
            "with ReLU, He keeps the activations' scale from layer to layer, std 0.01 lets it vanish and std 1 lets it explode.",
            Growth(he) >= 1 / KeptFactor && Growth(he) <= KeptFactor
                && Growth(reluSmall) < 1 / (KeptFactor * KeptFactor) && Growth(reluStd1) > KeptFactor * KeptFactor,
            $"the std of layer {Depth}'s outputs over layer 1's is {Format.Number(Growth(he))} with He, {Format.Number(Growth(reluSmall))} with std 0.01 " +
            $"and {Format.Number(Growth(reluStd1))} with std 1 (agreement needs He within {KeptFactor:0}× either way, std 0.01 below 1/{KeptFactor * KeptFactor:0} " +
            $"and std 1 above {KeptFactor * KeptFactor:0})."));

        var reluZeros = Find(outcomes, "relu.zeros");
        result.Conclusions.Add(new Conclusion(
            "zero initialization fails: every unit of a layer gets the same update, so the units stay identical and the layer is as good as one unit.",
            sigmoidZeros.Symmetric && reluZeros.Symmetric
                && sigmoidZeros.Curve.FinalTestAccuracy <= xavier.Curve.FinalTestAccuracy && reluZeros.Curve.FinalTestAccuracy <= he.Curve.FinalTestAccuracy,
            $"after {options.Steps} steps the largest difference between two units of a hidden layer is {Format.Number(sigmoidZeros.Spread.Max())} with sigmoid " +
            $"and {Format.Number(reluZeros.Spread.Max())} with ReLU (identical means ≤ {Identical:0e0}); test accuracy {Format.Percent(sigmoidZeros.Curve.FinalTestAccuracy)} " +
            $"(sigmoid) and {Format.Percent(reluZeros.Curve.FinalTestAccuracy)} (ReLU), against {Format.Percent(xavier.Curve.FinalTestAccuracy)} for Xavier and " +
            $"{Format.Percent(he.Curve.FinalTestAccuracy)} for He."));

        foreach (var (activation, best) in new[] { ("sigmoid", xavier), ("ReLU", he) })
        {
            var others = outcomes.Where(o => o.Configuration.Activation == best.Configuration.Activation && o != best).ToList();
            result.Conclusions.Add(new Conclusion(
                $"{best.Configuration.Label} is the initialization that suits {activation}: it trains best of the four.",
                others.All(o => best.Curve.FinalTestAccuracy >= o.Curve.FinalTestAccuracy),
                $"test accuracy after {options.Steps} steps: {string.Join(", ", others.Prepend(best).Select(o => $"{o.Configuration.Label} {Format.Percent(o.Curve.FinalTestAccuracy)}"))}."));
        }
    }

    string DrawHistograms(ExperimentContext context, ExperimentResult result, List<Outcome> rows, string activation)
    {
        var (figure, panels) = Charts.Grid(rows.Count, Depth);
        bool sigmoid = activation == "sigmoid";
        for (int r = 0; r < rows.Count; r++)
        {
            var outcome = rows[r];
            // ReLU's scale differs by orders of magnitude between inits: each row gets its own range, [0, 99th percentile].
            double positive99 = Percentile(outcome.Initial.SelectMany(a => a).Where(v => v > 0), 0.99);
            double max = sigmoid || positive99 <= 0 ? 1 : positive99;
            for (int l = 0; l < Depth; l++)
            {
                var panel = panels[r * Depth + l];
                var values = sigmoid ? outcome.Initial[l] : outcome.Initial[l].Where(v => v > 0).ToArray();
                string title = $"{(sigmoid ? "Sigmoid" : "ReLU")}, {outcome.Configuration.Label} · layer {l + 1}";
                Charts.Label(panel, title, r == rows.Count - 1 ? (sigmoid ? "sigmoid output" : "ReLU output (> 0)") : "", l == 0 ? "share of outputs" : "");
                if (values.Length > 0)
                    Charts.Histogram(panel, values, 0, max, 30, r);
                else
                {
                    Note(panel, "every output is 0", Alignment.MiddleCenter);
                    panel.Axes.SetLimitsY(0, 1);
                }
                panel.Axes.SetLimitsX(0, max);
                panel.Axes.Title.Label.FontSize = 13;
                string note = sigmoid
                    ? $"at 0/1: {Format.Percent(outcome.Share(l, Readback.Saturated))}\nat 0.5: {Format.Percent(outcome.Share(l, AtHalf))}"
                    : $"std {Format.Number(outcome.Std(l))}\nzeros: {Format.Percent(outcome.Share(l, v => v == 0))}";
                Note(panel, note, Alignment.UpperRight);
            }
        }
        return SaveChart(context, result, figure, 1800, 250 * rows.Count + 60, $"-{activation}");
    }

    /// <summary>A boxed note inside a panel (the numbers behind a histogram).</summary>
    static void Note(Plot panel, string text, Alignment where)
    {
        var annotation = panel.Add.Annotation(text, where);
        annotation.LabelFontSize = 11;
        annotation.LabelBackgroundColor = Colors.White.WithAlpha(.85);
        annotation.LabelBorderColor = Colors.Gray;
        annotation.LabelShadowColor = Colors.Transparent;
    }

    static double Percentile(IEnumerable<float> values, double fraction)
    {
        var sorted = values.ToArray();
        if (sorted.Length == 0) return 0;
        Array.Sort(sorted);
        return sorted[Math.Min(sorted.Length - 1, (int)(fraction * sorted.Length))];
    }

    string DrawAccuracy(ExperimentContext context, ExperimentResult result, List<Outcome> outcomes)
    {
        var (figure, panels) = Charts.Grid(1, 2);
        foreach (var (panel, activation) in new[] { (panels[0], ActivationKind.Sigmoid), (panels[1], ActivationKind.ReLU) })
        {
            Charts.Label(panel, $"{activation}: test accuracy by initialization", "training step", "test accuracy");
            var rows = outcomes.Where(o => o.Configuration.Activation == activation).ToList();
            for (int i = 0; i < rows.Count; i++)
                Charts.Line(panel, rows[i].Curve.Steps, rows[i].Curve.TestAccuracy, rows[i].Configuration.Label, i);
            panel.Axes.SetLimitsY(0, 1);
            Charts.Legend(panel, Alignment.UpperLeft); // failed runs sit at 10 %, where a lower legend would hide them
        }
        return SaveChart(context, result, figure, 1400, 550, "-accuracy");
    }

    static MarkdownReport Report(List<Outcome> outcomes, int width, TrainingOptions options, float learningRate, float momentum,
        int trainCount, int testCount, int probeCount, string[] charts)
    {
        var layers = Enumerable.Range(1, Depth).Select(l => $"layer {l}").ToArray();
        return new MarkdownReport()
            .Heading("Weight initialization")
            .Paragraph($"A perceptron with {Depth} hidden layers of {width} units and zero biases; the weights start from N(0, 1), N(0, 0.01²), " +
                "Xavier-normal (std √(2/(fan_in + fan_out)), for sigmoid) or He-normal (std √(2/fan_in), for ReLU), or all zeros. The histograms are the " +
                $"hidden layers' outputs for {probeCount:N0} test images at initialization. Each network is then trained with SGD (ε = {learningRate}, " +
                $"momentum {momentum}) on {trainCount:N0} training images, batch {options.BatchSize}, for {options.Steps} steps; accuracy is on {testCount:N0} test images.")
            .Image("sigmoid activations per layer", charts[0])
            .Image("ReLU activations per layer", charts[1])
            .Image("test accuracy per initialization", charts[2])
            .Heading("Sigmoid outputs at initialization", 2)
            .Table(["initialization", $"share within {Near} of 0 or 1", $"share within {Near} of 0.5", .. layers.Select(l => $"std, {l}")],
                outcomes.Where(o => o.Configuration.Activation == ActivationKind.Sigmoid).Select(o => (IReadOnlyList<string>)
                    [o.Configuration.Label, Format.Percent(o.MeanShare(Readback.Saturated)), Format.Percent(o.MeanShare(AtHalf)), .. Enumerable.Range(0, Depth).Select(l => Format.Number(o.Std(l)))]))
            .Heading("ReLU outputs at initialization", 2)
            .Table(["initialization", "share of zeros", .. layers.Select(l => $"std, {l}")],
                outcomes.Where(o => o.Configuration.Activation == ActivationKind.ReLU).Select(o => (IReadOnlyList<string>)
                    [o.Configuration.Label, Format.Percent(o.MeanShare(v => v == 0)), .. Enumerable.Range(0, Depth).Select(l => Format.Number(o.Std(l)))]))
            .Heading("After training", 2)
            .Table(["activation", "initialization", "test accuracy", "training loss", "largest difference between two units of a layer"],
                outcomes.Select(o => (IReadOnlyList<string>)
                    [o.Configuration.Activation.ToString(), o.Configuration.Label, Format.Percent(o.Curve.FinalTestAccuracy),
                     Format.Number(o.Curve.FinalTrainLoss), Format.Number(o.Spread.Max())]));
    }
}

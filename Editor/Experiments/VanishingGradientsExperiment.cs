using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Course §1: backpropagation multiplies the activations' derivatives layer by layer; sigmoid's is at most 0.25,
/// so the gradients reaching the lower layers of a deep sigmoid network shrink toward zero and those layers barely
/// learn, where ReLU (derivative 1 for x &gt; 0) passes them through. Trains the same deep perceptron (six hidden
/// layers, the same Xavier-normal initialization, the same SGD) once with sigmoid and once with ReLU, and reads the
/// per-layer weight-gradient norms <c>‖∂E/∂W_l‖</c> back every few steps.
/// </summary>
internal sealed class VanishingGradientsExperiment() : Experiment("vanishing-gradients",
    "a 6-hidden-layer perceptron with sigmoid vs ReLU: per-layer gradient norms over training, and accuracy")
{
    /// <summary>Thresholds of the conclusions: "much smaller" means at least this factor.</summary>
    const double MuchSmaller = 10;
    /// <summary>Test-accuracy lead (fraction) that counts as "learns faster".</summary>
    const double AccuracyLead = 0.05;

    static readonly ActivationKind[] Activations = [ActivationKind.Sigmoid, ActivationKind.ReLU];

    protected override MarkdownReport Measure(ExperimentContext context, ExperimentResult result)
    {
        int width = context.Size(64, 32), depth = 6;
        var options = new TrainingOptions(BatchSize: 64, Steps: context.Size(2000, 40), RecordEvery: context.Size(50, 10));
        const float learningRate = 0.1f;
        var (train, test, trainEvaluation) = context.Subsets(context.Size(30000, 640), context.Size(2000, 300), 2000);

        var hidden = Enumerable.Repeat(width, depth).ToArray();
        string[] layers = [.. new Perceptron(hidden, ActivationKind.ReLU).WeightNames()];
        var runs = new List<ActivationRun>();
        foreach (var activation in Activations)
        {
            var spec = new Perceptron(hidden, activation) { WeightInit = Initializer.XavierNormal(), BiasInit = Initializer.Zeros };
            using var network = spec.Create(context.Backend, context.Seed);
            using var optimizer = new Sgd(learningRate);
            var norms = layers.Select(_ => new List<double>()).ToArray();
            var curve = TrainingRun.Train(network, optimizer, train, test, options, context.Seed, (plan, _) =>
            {
                for (int l = 0; l < layers.Length; l++) norms[l].Add(Readback.GradientNorm(plan, layers[l]));
            }, trainEvaluation);
            var run = new ActivationRun(activation.ToString(), curve, norms);
            runs.Add(run);
            context.Log.WriteLine($"  {run.Label}: test accuracy {Format.Percent(curve.FinalTestAccuracy)}, ‖∂E/∂W‖ fc1 {Format.Number(run.MeanNorm(0))}, out {Format.Number(run.MeanNorm(layers.Length - 1))}");
            for (int l = 0; l < layers.Length; l++) result.Metrics[$"{run.Label.ToLowerInvariant()}.{layers[l]}.gradient_norm"] = run.MeanNorm(l);
            result.Metrics[$"{run.Label.ToLowerInvariant()}.test_accuracy"] = curve.FinalTestAccuracy;
        }

        var (sigmoid, relu) = (runs[0], runs[1]);
        // fc2 and fc6 have the same shape (width × width), so their ratio is the attenuation over four layers alone.
        double sigmoidAttenuation = sigmoid.MeanNorm(1) / sigmoid.MeanNorm(depth - 1);
        double reluAttenuation = relu.MeanNorm(1) / relu.MeanNorm(depth - 1);
        double firstLayerRatio = relu.MeanNorm(0) / sigmoid.MeanNorm(0);
        result.Conclusions.Add(new Conclusion(
            "with sigmoid, the gradients shrink on their way down to the lower layers; ReLU passes them through.",
            sigmoidAttenuation < 1 / MuchSmaller && reluAttenuation > MuchSmaller * sigmoidAttenuation,
            $"‖∂E/∂W‖ of fc2 over fc6 (same shape, four layers apart) is {Format.Number(sigmoidAttenuation)} with sigmoid and " +
            $"{Format.Number(reluAttenuation)} with ReLU (agreement needs sigmoid's < {Format.Number(1 / MuchSmaller)} and ReLU's ≥ {MuchSmaller:0}× sigmoid's)."));
        result.Conclusions.Add(new Conclusion(
            "the first layer of a deep sigmoid network receives a vanishing gradient compared with ReLU's.",
            firstLayerRatio >= MuchSmaller,
            $"fc1's mean gradient norm is {Format.Number(sigmoid.MeanNorm(0))} with sigmoid and {Format.Number(relu.MeanNorm(0))} with ReLU, " +
            $"ReLU's {Format.Times(firstLayerRatio)} larger (agreement needs ≥ {MuchSmaller:0}×)."));
        double lead = relu.Curve.FinalTestAccuracy - sigmoid.Curve.FinalTestAccuracy;
        result.Conclusions.Add(new Conclusion(
            "so the deep sigmoid network learns more slowly than the ReLU one.",
            lead >= AccuracyLead,
            $"after {options.Steps} steps the test accuracy is {Format.Percent(sigmoid.Curve.FinalTestAccuracy)} with sigmoid and " +
            $"{Format.Percent(relu.Curve.FinalTestAccuracy)} with ReLU (agreement needs ReLU ahead by ≥ {AccuracyLead * 100:0} points)."));

        string chart = DrawChart(context, result, runs, layers, options);
        return Report(runs, layers, width, options, learningRate, train.Count, test.Count, chart);
    }

    sealed record ActivationRun(string Label, TrainingCurve Curve, List<double>[] Norms)
    {
        /// <summary>Mean over the measurements of layer <paramref name="layer"/>'s gradient norm.</summary>
        public double MeanNorm(int layer) => Norms[layer].Average();
    }

    string DrawChart(ExperimentContext context, ExperimentResult result, List<ActivationRun> runs, string[] layers, TrainingOptions options)
    {
        var (figure, panels) = Charts.Grid(2, 2);
        var layerAxis = Enumerable.Range(1, layers.Length).Select(l => (double)l).ToArray();

        var byLayer = Charts.Label(panels[0], "Mean gradient norm per layer (input → output)", "layer", "‖∂E/∂W‖ (log scale)");
        for (int r = 0; r < runs.Count; r++)
            Charts.Line(byLayer, layerAxis, layerAxis.Select((_, l) => Charts.Log10(runs[r].MeanNorm(l))).ToArray(), runs[r].Label, r);
        byLayer.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            layers.Select((name, l) => new Tick(l + 1, name.Replace(".weight", ""))).ToArray());
        Charts.LogY(byLayer);
        Charts.Legend(byLayer, Alignment.LowerRight);

        // Both activations' per-layer curves on the same log axis, so the gap between them is visible.
        double low = runs.Min(r => r.Norms.SelectMany(n => n).Where(v => v > 0).Min()), high = runs.Max(r => r.Norms.SelectMany(n => n).Max());
        for (int r = 0; r < runs.Count; r++)
        {
            var panel = Charts.Label(panels[1 + r], $"{runs[r].Label}: gradient norm of each layer during training", "training step", "‖∂E/∂W‖ (log scale)");
            for (int l = 0; l < layers.Length; l++)
                Charts.Line(panel, runs[r].Curve.Steps.Skip(1).ToArray(), runs[r].Norms[l].Select(Charts.Log10).ToArray(), layers[l].Replace(".weight", ""), l + 2, width: 1.5f);
            Charts.LogY(panel);
            panel.Axes.SetLimitsY(Math.Floor(Math.Log10(low)), Math.Ceiling(Math.Log10(high)) + 0.5);
            Charts.Legend(panel, Alignment.UpperCenter, 10);
            panel.Legend.Orientation = Orientation.Horizontal; // one row in the empty decade above the curves
        }

        var accuracy = Charts.Label(panels[3], "Test accuracy (solid) and training accuracy (dashed)", "training step", "accuracy");
        for (int r = 0; r < runs.Count; r++)
        {
            Charts.Line(accuracy, runs[r].Curve.Steps, runs[r].Curve.TestAccuracy, $"{runs[r].Label} test", r);
            Charts.Line(accuracy, runs[r].Curve.Steps, runs[r].Curve.TrainAccuracy, $"{runs[r].Label} train", r, dashed: true);
        }
        accuracy.Axes.SetLimitsY(0, 1);
        Charts.Legend(accuracy, Alignment.MiddleRight); // between the curves: sigmoid's may stay at 10 %, ReLU's near the top
        return SaveChart(context, result, figure, 1500, 1100);
    }

    static MarkdownReport Report(List<ActivationRun> runs, string[] layers, int width, TrainingOptions options, float learningRate,
        int trainCount, int testCount, string chart) =>
        new MarkdownReport()
            .Heading("Vanishing gradients: sigmoid vs ReLU")
            .Paragraph($"A perceptron with six hidden layers of {width} units, Xavier-normal weights and zero biases (the same " +
                $"initialization for both activations, so only the activation differs), trained with plain SGD (ε = {learningRate}) on " +
                $"{trainCount:N0} Fashion-MNIST training images in batches of {options.BatchSize} for {options.Steps} steps; the gradient of every " +
                $"weight matrix is read back every {options.RecordEvery} steps. Accuracy is measured on {testCount:N0} test images.")
            .Image("gradient norms and accuracy", chart)
            .Heading("Mean gradient norm ‖∂E/∂W‖ per layer, over the measurements", 2)
            .Table(["layer", "sigmoid", "ReLU", "ReLU / sigmoid"], layers.Select((name, l) => (IReadOnlyList<string>)
                [name, Format.Number(runs[0].MeanNorm(l)), Format.Number(runs[1].MeanNorm(l)), Format.Times(runs[1].MeanNorm(l) / runs[0].MeanNorm(l))]))
            .Heading("Accuracy", 2)
            .Table(["activation", "test accuracy", "training accuracy", "training loss"], runs.Select(r => (IReadOnlyList<string>)
                [r.Label, Format.Percent(r.Curve.FinalTestAccuracy), Format.Percent(r.Curve.FinalTrainAccuracy), Format.Number(r.Curve.FinalTrainLoss)]));
}

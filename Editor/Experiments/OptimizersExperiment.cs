using ScottPlot;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// Course §2: SGD, Momentum, AdaGrad, RMSProp and Adam on the same network, data, initial weights and batch order.
/// The course's claims: momentum smooths SGD's oscillation and the adaptive rules (AdaGrad, RMSProp, Adam) adjust
/// the rate per parameter, so they lower the loss faster than plain SGD; AdaGrad's rate only shrinks, so its
/// progress slows, which RMSProp's moving average avoids.
/// </summary>
internal sealed class OptimizersExperiment() : Experiment("optimizers",
    "SGD, Momentum, AdaGrad, RMSProp and Adam on the same network and data: training-loss and accuracy curves")
{
    sealed record Rule(string Label, float LearningRate, Func<Optimizer> Create);

    /// <summary>The course's code's default rates (RMSProp's lowered to PyTorch's usual 0.001 for the deeper network).</summary>
    static readonly Rule[] Rules =
    [
        new("SGD", 0.01f, () => new Sgd(0.01f)),
        new("Momentum (μ = 0.9)", 0.01f, () => new Sgd(0.01f, momentum: 0.9f)),
        new("AdaGrad", 0.01f, () => new AdaGrad(0.01f)),
        new("RMSProp (α = 0.99)", 0.001f, () => new RmsProp(0.001f)),
        new("Adam (β₁ = 0.9, β₂ = 0.999)", 0.001f, () => new Adam(0.001f)),
    ];

    protected override MarkdownReport Measure(ExperimentContext context, ExperimentResult result)
    {
        int width = context.Size(100, 32), depth = 4;
        var options = new TrainingOptions(BatchSize: 64, Steps: context.Size(1500, 40), RecordEvery: context.Size(25, 10));
        var (train, test, trainEvaluation) = context.Subsets(context.Size(30000, 640), context.Size(2000, 300), 2000);
        var spec = new Perceptron(Enumerable.Repeat(width, depth).ToArray(), ActivationKind.ReLU)
        {
            WeightInit = Initializer.KaimingNormal(),
            BiasInit = Initializer.Zeros,
        };

        var curves = new List<(Rule Rule, TrainingCurve Curve)>();
        foreach (var rule in Rules)
        {
            using var network = spec.Create(context.Backend, context.Seed); // same seed: identical initial weights and batch order
            using var optimizer = rule.Create();
            var curve = TrainingRun.Train(network, optimizer, train, test, options, context.Seed, trainEvaluation: trainEvaluation);
            curves.Add((rule, curve));
            context.Log.WriteLine($"  {rule.Label}: training loss {Format.Number(curve.FinalTrainLoss)}, test accuracy {Format.Percent(curve.FinalTestAccuracy)}");
            string key = optimizer.Name;
            result.Metrics[$"{key}.train_loss"] = curve.FinalTrainLoss;
            result.Metrics[$"{key}.test_accuracy"] = curve.FinalTestAccuracy;
        }

        var sgd = curves[0].Curve;
        var faster = curves.Skip(1).ToList();
        result.Conclusions.Add(new Conclusion(
            "Momentum and the adaptive rules (AdaGrad, RMSProp, Adam) lower the training loss faster than plain SGD.",
            faster.All(c => c.Curve.FinalTrainLoss < sgd.FinalTrainLoss),
            $"training loss after {options.Steps} steps: {string.Join(", ", curves.Select(c => $"{ShortName(c.Rule)} {Format.Number(c.Curve.FinalTrainLoss)}"))} " +
            "(agreement needs every other rule below SGD)."));

        // AdaGrad's accumulated h only grows, so its steps shrink: compare how much of the loss each rule still removes in the second half.
        double SecondHalfGain(TrainingCurve c) => 1 - c.FinalTrainLoss / c.TrainLoss[c.TrainLoss.Count / 2];
        var adaGrad = curves[2].Curve;
        var rmsProp = curves[3].Curve;
        result.Conclusions.Add(new Conclusion(
            "AdaGrad's learning rate keeps shrinking, so its progress slows down where RMSProp's moving average keeps going.",
            SecondHalfGain(adaGrad) < SecondHalfGain(rmsProp),
            $"in the second half of training AdaGrad lowered its loss by {Format.Percent(SecondHalfGain(adaGrad))} and RMSProp by " +
            $"{Format.Percent(SecondHalfGain(rmsProp))} (relative; agreement needs AdaGrad's to be smaller)."));

        return new MarkdownReport()
            .Heading("Optimizers")
            .Paragraph($"A ReLU perceptron with {depth} hidden layers of {width} units (He-normal weights, zero biases), the same initial weights and the same " +
                $"batch order for every rule, trained on {train.Count:N0} training images, batch {options.BatchSize}, for {options.Steps} steps. The training " +
                $"loss is the mean cross-entropy on {trainEvaluation.Count:N0} training images, measured every {options.RecordEvery} steps; accuracy is on {test.Count:N0} test images.")
            .Image("loss and accuracy curves per optimizer", DrawChart(context, result, curves, options))
            .Table(["optimizer", "learning rate ε", $"training loss at step {options.Steps / 2}", $"training loss at step {options.Steps}", "test accuracy"],
                curves.Select(c => (IReadOnlyList<string>)
                    [c.Rule.Label, c.Rule.LearningRate.ToString(CultureInfo.InvariantCulture), Format.Number(c.Curve.TrainLoss[c.Curve.TrainLoss.Count / 2]),
                     Format.Number(c.Curve.FinalTrainLoss), Format.Percent(c.Curve.FinalTestAccuracy)]));
    }

    static string ShortName(Rule rule) => rule.Label.Split(' ')[0];

    string DrawChart(ExperimentContext context, ExperimentResult result, List<(Rule Rule, TrainingCurve Curve)> curves, TrainingOptions options)
    {
        var (figure, panels) = Charts.Grid(1, 2);
        var loss = Charts.Label(panels[0], "Training loss", "training step", "cross-entropy (log scale)");
        var accuracy = Charts.Label(panels[1], "Test accuracy", "training step", "test accuracy");
        for (int i = 0; i < curves.Count; i++)
        {
            Charts.Line(loss, curves[i].Curve.Steps, curves[i].Curve.TrainLoss.Select(Charts.Log10).ToArray(), $"{curves[i].Rule.Label}, ε = {curves[i].Rule.LearningRate.ToString(CultureInfo.InvariantCulture)}", i);
            Charts.Line(accuracy, curves[i].Curve.Steps, curves[i].Curve.TestAccuracy, curves[i].Rule.Label, i);
        }
        Charts.LogY(loss);
        loss.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            new[] { 0.1, 0.2, 0.3, 0.5, 1, 2, 3 }.Select(v => new Tick(Math.Log10(v), v.ToString(CultureInfo.InvariantCulture))).ToArray());
        Charts.Legend(loss, Alignment.UpperRight);
        accuracy.Axes.SetLimitsY(0, 1);
        Charts.Legend(accuracy, Alignment.LowerRight);
        return SaveChart(context, result, figure, 1500, 600);
    }
}

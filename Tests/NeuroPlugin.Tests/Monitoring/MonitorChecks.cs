using NeuroPlugin.Monitoring;

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>The training monitor on any backend (MonitorTests, on the CPU and GL on llvmpipe).</summary>
static class MonitorChecks
{
    const int Batch = 8, Bins = 16;

    /// <summary>What the host downloads after a sampled step: every tensor a sample summarizes.</summary>
    sealed record HostStep(Dictionary<string, float[]> Weights, Dictionary<string, float[]> Gradients, Dictionary<string, float[]> Updates,
        Dictionary<string, float[]> Outputs, Dictionary<string, float[]?> OutputGradients, float Loss, double Accuracy, float LearningRate);

    /// <summary>
    /// A <see cref="Trainer"/> runs two epochs with a monitor attached (one call) and a step-decay schedule; after every
    /// step the test downloads every tensor, and each delivered sample must equal the same statistics computed on the host
    /// from those downloads: per parameter the weights', gradient's and update's range, counts, mean, std, norm and
    /// histogram; per node the output's (with saturated counts for sigmoid and tanh and the dead channel of relu2) and its
    /// gradient's; loss, batch accuracy, learning rate. Steps 1, 4, 8, 12 (every 4, the first and the last) are sampled.
    /// </summary>
    public static void SamplesMatchHostStatistics(IBackend backend, ActivationKind saturating = ActivationKind.Sigmoid)
    {
        using var workload = new MonitorWorkload(backend, saturating: saturating);
        var train = MonitorWorkload.Dataset(48, seed: 1);
        using var trainer = new Trainer(workload.Network, new Sgd(0.5f, momentum: 0.9f), Batch,
            LearningRateSchedule.Step(4, 0.5f), totalSteps: 12);
        using var monitor = TrainingMonitor.Attach(trainer, new MonitorOptions { Every = 4, HistogramBins = Bins });
        var samples = new List<TrainingSample>();
        monitor.SampleReady += samples.Add;

        var plan = trainer.Plan;
        var expected = new Dictionary<long, HostStep>();
        var before = Download(plan.Parameters);
        trainer.StepCompleted = t =>
        {
            var weights = Download(plan.Parameters);
            if (monitor.IsScheduled(t.Step))
            {
                var updates = weights.ToDictionary(p => p.Key, p => p.Value.Select((w, i) => w - before[p.Key][i]).ToArray());
                var outputs = workload.Network.Graph.Nodes.ToDictionary(n => n.Name, n => plan.Tensor(n.Name).ToArray());
                var outputGradients = workload.Network.Graph.Nodes.ToDictionary(n => n.Name, n => plan.OutputGradient(n.Name)?.ToArray());
                expected[t.Step] = new HostStep(weights, Download(plan.ParameterGradients, stripGrad: true), updates, outputs, outputGradients,
                    plan.Loss!.ToArray()[0], Accuracy(plan.Output.ToArray(), plan.Target!.ToArray()), t.Optimizer.LearningRate);
            }
            before = weights;
        };
        var loader = new DataLoader(train, Batch, shuffle: true, seed: 2, dropLast: true);
        for (int epoch = 0; epoch < 2; epoch++) trainer.TrainEpoch(loader, epoch);
        monitor.Flush();

        Assert.That(samples.Select(s => s.Step), Is.EqualTo(new long[] { 1, 4, 8, 12 }));
        Assert.That(samples.Select(s => s.Epoch), Is.EqualTo(new[] { 0, 0, 1, 1 }));
        foreach (var sample in samples) AssertSample(sample, expected[sample.Step], workload);
    }

    static void AssertSample(TrainingSample sample, HostStep host, MonitorWorkload workload)
    {
        string at = $"step {sample.Step}";
        Assert.That(sample.Loss, Is.EqualTo(host.Loss), $"{at}: loss");
        Assert.That(sample.BatchAccuracy, Is.EqualTo(host.Accuracy), $"{at}: batch accuracy");
        Assert.That(sample.LearningRate, Is.EqualTo(host.LearningRate), $"{at}: learning rate");
        Assert.That(sample.BatchSize, Is.EqualTo(Batch));
        Assert.That(sample.ImagesPerSecond, Is.GreaterThan(0), $"{at}: images/s");
        Assert.That(sample.Parameters.Select(p => p.Name), Is.EqualTo(workload.Network.ParameterNames), $"{at}: parameters in state-dict order");
        foreach (var parameter in sample.Parameters)
        {
            AssertSummary(parameter.Weight, host.Weights[parameter.Name], $"{at} {parameter.Name}");
            AssertSummary(parameter.Gradient, host.Gradients[parameter.Name], $"{at} {parameter.Name} gradient");
            AssertSummary(parameter.Update!, host.Updates[parameter.Name], $"{at} {parameter.Name} update");
            Assert.That(parameter.UpdateRatio, Is.EqualTo(parameter.UpdateNorm / parameter.WeightNorm));
        }
        Assert.That(sample.Nodes.Select(n => n.Name), Is.EqualTo(workload.Network.Graph.Nodes.Select(n => n.Name)), $"{at}: nodes in graph order");
        foreach (var node in sample.Nodes)
        {
            var layer = workload.Network.Graph.Nodes.First(n => n.Name == node.Name).Layer;
            bool saturating = Saturation.TryGetBounds(layer, out float low, out float high);
            var output = host.Outputs[node.Name];
            AssertSummary(node.Output, output, $"{at} {node.Name} output", saturating ? low : double.NegativeInfinity, saturating ? high : double.PositiveInfinity);
            Assert.That(node.Saturating, Is.EqualTo(saturating), $"{at} {node.Name}: saturating");
            Assert.That(node.DeadChannels, Is.EqualTo(HostDeadChannels(output, node.Channels, Batch)), $"{at} {node.Name}: dead channels");
            if (host.OutputGradients[node.Name] is { } gradient) AssertSummary(node.Gradient!, gradient, $"{at} {node.Name} gradient");
            else Assert.That(node.Gradient, Is.Null, $"{at} {node.Name}: no gradient");
            Assert.That(node.ForwardMs, Is.Not.Null.And.GreaterThanOrEqualTo(0), $"{at} {node.Name}: forward time");
            Assert.That(node.BackwardMs, Is.Not.Null.And.GreaterThanOrEqualTo(0), $"{at} {node.Name}: backward time");
        }
        var relu2 = sample.Nodes.First(n => n.Name == "relu2");
        Assert.That(relu2.DeadChannels, Is.GreaterThanOrEqualTo(1), "relu2's channel 0 is dead by construction");
        Assert.That(sample.Nodes.First(n => n.Name == "sigmoid1").SaturatedFraction, Is.GreaterThan(0), "conv1's scaled weights saturate sigmoid1");
        Assert.That(relu2.SaturatedFraction, Is.Null, "ReLU does not saturate");
        Assert.That(sample.ForwardMs, Is.EqualTo(sample.Nodes.Sum(n => n.ForwardMs!.Value)).Within(1e-9));
    }

    /// <summary>A summary against <see cref="HostStatistics"/>: counts and range exactly, mean, std and norm to double
    /// rounding, the histogram's edges and counts (up to elements on an ambiguous bin edge).</summary>
    public static void AssertSummary(TensorSummary actual, float[] values, string what,
        double saturationLow = double.NegativeInfinity, double saturationHigh = double.PositiveInfinity)
    {
        var host = HostStatistics.Of(values, Bins, saturationLow, saturationHigh);
        Assert.Multiple(() =>
        {
            Assert.That(actual.Count, Is.EqualTo(values.Length), $"{what}: count");
            Assert.That(actual.Min, Is.EqualTo(host.Minimum), $"{what}: min");
            Assert.That(actual.Max, Is.EqualTo(host.Maximum), $"{what}: max");
            Assert.That(actual.Zeros, Is.EqualTo(host.Zeros), $"{what}: zeros");
            Assert.That(actual.NaNs, Is.EqualTo(host.NaNs), $"{what}: NaN");
            Assert.That(actual.Infinities, Is.EqualTo(host.Infinities), $"{what}: ±∞");
            Assert.That(actual.Saturated, Is.EqualTo(host.Saturated), $"{what}: saturated");
            Assert.That(actual.Mean, Is.EqualTo(host.Sum / host.Count).Within(1e-12 * host.SumOfMagnitudes / host.Count + 1e-300), $"{what}: mean");
            Assert.That(actual.Norm, Is.EqualTo(Math.Sqrt(host.SumOfSquares)).Within(1e-12 * Math.Sqrt(host.SumOfSquares) + 1e-300), $"{what}: norm");
            Assert.That(actual.Std, Is.EqualTo(Math.Sqrt(host.SquaredDeviations / host.Count)).Within(1e-9 * Math.Sqrt(host.SumOfSquares / host.Count) + 1e-300), $"{what}: std");
            Assert.That(actual.Histogram.Min, Is.EqualTo(host.HistogramLow), $"{what}: histogram low edge");
            Assert.That(actual.Histogram.Max, Is.EqualTo(host.HistogramHigh), $"{what}: histogram high edge");
        });
        long moved = 0;
        for (int b = 0; b < Bins; b++) moved += Math.Abs(actual.Histogram.Counts[b] - host.Histogram[b]);
        Assert.That(actual.Histogram.Counts.Sum(), Is.EqualTo(host.Count), $"{what}: histogram total");
        Assert.That(moved, Is.LessThanOrEqualTo(2 * host.AmbiguousBinElements), $"{what}: histogram (only {host.AmbiguousBinElements} element(s) on a bin edge)");
    }

    static long HostDeadChannels(float[] output, int channels, int batch)
    {
        int plane = output.Length / (batch * channels);
        long dead = 0;
        for (int c = 0; c < channels; c++)
        {
            bool alive = false;
            for (int n = 0; n < batch; n++)
                for (int p = 0; p < plane; p++) alive |= output[(n * channels + c) * plane + p] != 0f;
            if (!alive) dead++;
        }
        return dead;
    }

    static double Accuracy(float[] logits, float[] targets)
    {
        int classes = MonitorWorkload.Classes, rows = logits.Length / classes, correct = 0;
        for (int n = 0; n < rows; n++)
            if (Classification.ArgMax(logits.AsSpan(n * classes, classes)) == Classification.ArgMax(targets.AsSpan(n * classes, classes))) correct++;
        return (double)correct / rows;
    }

    static Dictionary<string, float[]> Download(IReadOnlyList<NeuroPlugin.Tensors.Tensor> tensors, bool stripGrad = false) =>
        tensors.ToDictionary(t => stripGrad ? t.Name[..^".grad".Length] : t.Name, t => t.ToArray());
}

using NeuroPlugin.Backends;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Tests.OpenGL;
using NeuroPlugin.Tests.TestSupport;

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>
/// The monitor's sample of one SGD step against PyTorch (Tests/Golden/gen_monitor.py, golden monitor_sgd_step): norms,
/// means, standard deviations, ranges, zero, saturated and dead counts and torch.histc histograms of every weight,
/// gradient, update, node output and output gradient, the loss and the batch accuracy. Values differ from PyTorch's by the
/// rounding of another summation order (1e-4 relative, as every golden test), so a count may differ only by the elements
/// the generator found within rounding of a bin edge or saturation threshold.
/// </summary>
static class MonitorGoldenChecks
{
    const double Tolerance = 1e-4;
    // the summary vector's layout (gen_monitor.py SUMMARY), then the histogram
    const int Count = 0, Min = 1, Max = 2, Mean = 3, Std = 4, Norm = 5, Zeros = 6, Saturated = 7, NearSaturation = 8,
        NearEdge = 9, Dead = 10, Histogram = 11;

    public static void SampleMatchesPyTorch(IBackend backend)
    {
        var golden = GoldenFile.Load("monitor_sgd_step");
        int bins = golden.Attributes.GetProperty("bins").GetInt32();
        using var network = Network.Create(MonitorWorkload.Graph(), backend, seed: 1);
        foreach (string name in network.ParameterNames) network.Parameter(name).Upload(golden.Data("init." + name));
        using var plan = ExecutionPlan.ForTraining(network, golden.Shape("input")[0]);
        plan.Input.Upload(golden.Data("input"));
        plan.Target!.Upload(golden.Data("target"));
        using var optimizer = new Sgd((float)golden.Attributes.GetProperty("lr").GetDouble());
        using var monitor = new TrainingMonitor(plan, optimizer, new MonitorOptions { Every = 1, HistogramBins = bins });
        plan.TrainStep(optimizer);
        monitor.StepCompleted();
        monitor.Flush();
        var sample = monitor.LastSample!;

        Assert.That(sample.Loss, Is.EqualTo(golden.Attributes.GetProperty("loss").GetDouble()).Within(Tolerance), "loss");
        Assert.That(sample.BatchAccuracy, Is.EqualTo(golden.Attributes.GetProperty("batch_accuracy").GetDouble()), "batch accuracy");
        foreach (var parameter in sample.Parameters)
        {
            AssertMatches(parameter.Weight, golden.Data("weight." + parameter.Name), bins, $"{parameter.Name} weights");
            AssertMatches(parameter.Gradient, golden.Data("grad." + parameter.Name), bins, $"{parameter.Name} gradient");
            AssertMatches(parameter.Update!, golden.Data("update." + parameter.Name), bins, $"{parameter.Name} update");
        }
        foreach (var node in sample.Nodes)
        {
            var expected = golden.Data("output." + node.Name);
            AssertMatches(node.Output, expected, bins, $"{node.Name} output");
            Assert.That(node.DeadChannels, Is.EqualTo(expected[Dead]), $"{node.Name}: dead channels");
            Assert.That(Math.Abs(node.Output.Saturated - expected[Saturated]), Is.LessThanOrEqualTo(expected[NearSaturation]), $"{node.Name}: saturated");
            AssertMatches(node.Gradient!, golden.Data("outgrad." + node.Name), bins, $"{node.Name} output gradient");
        }
        Assert.That(sample.Nodes.Single(n => n.Name == "relu2").DeadChannels, Is.EqualTo(1), "the fixture's dead channel");
        Assert.That(sample.Nodes.Single(n => n.Name == "sigmoid1").SaturatedFraction, Is.GreaterThan(0.02), "the fixture saturates sigmoid1 (71 of 2048 outputs in PyTorch)");
    }

    static void AssertMatches(TensorSummary actual, float[] expected, int bins, string what)
    {
        double scale = expected[Norm] / Math.Sqrt(expected[Count]); // the RMS: the scale of means and extremes
        Assert.Multiple(() =>
        {
            Assert.That(actual.Count, Is.EqualTo(expected[Count]), $"{what}: count");
            Assert.That(actual.Norm, Is.EqualTo(expected[Norm]).Within(Tolerance * expected[Norm] + 1e-30), $"{what}: norm");
            Assert.That(actual.Mean, Is.EqualTo(expected[Mean]).Within(Tolerance * scale + 1e-30), $"{what}: mean");
            Assert.That(actual.Std, Is.EqualTo(expected[Std]).Within(Tolerance * scale + 1e-30), $"{what}: std");
            Assert.That(actual.Min, Is.EqualTo(expected[Min]).Within(Tolerance * scale + 1e-30), $"{what}: min");
            Assert.That(actual.Max, Is.EqualTo(expected[Max]).Within(Tolerance * scale + 1e-30), $"{what}: max");
            Assert.That(actual.Zeros, Is.EqualTo(expected[Zeros]), $"{what}: zeros");
        });
        long moved = 0;
        for (int b = 0; b < bins; b++) moved += Math.Abs(actual.Histogram.Counts[b] - (long)expected[Histogram + b]);
        Assert.That(moved, Is.LessThanOrEqualTo(2 * expected[NearEdge]),
            $"{what}: histogram differs from torch.histc by {moved} counts; {expected[NearEdge]} element(s) lie within rounding of a bin edge");
    }
}

/// <summary>The monitor against PyTorch on the CPU backend.</summary>
public sealed class MonitorGoldenTests
{
    [Test]
    public void Sample_MatchesPyTorch()
    {
        using var backend = new CpuBackend();
        MonitorGoldenChecks.SampleMatchesPyTorch(backend);
    }
}

/// <summary>The monitor against PyTorch on the GL backend.</summary>
public sealed class MonitorGoldenGLTests : GLFixture
{
    [Test]
    public void Sample_MatchesPyTorch() => MonitorGoldenChecks.SampleMatchesPyTorch(Backend);
}

using System.Text.Json.Nodes;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Tests.Embedding;

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>
/// The monitor's sample of one SGD step against PyTorch (Tests/Golden/gen_monitor.py, goldens monitor_sgd_step*): norms,
/// means, standard deviations, ranges, zero, saturated and dead counts and torch.histc histograms of every weight,
/// gradient, update, node output and output gradient, the loss and the batch accuracy, on the monitor's own small
/// workload and on the golden networks of the course, LeNet-5 and ResNet-20 (batch norm in training mode). Values differ
/// from PyTorch's by the rounding of another summation order (1e-4 relative, as every golden test), so a count may differ
/// only by the elements the generator found within rounding of a bin edge or saturation threshold.
/// </summary>
static class MonitorGoldenChecks
{
    const double Tolerance = 1e-4;
    // the summary vector's layout (gen_monitor.py SUMMARY), then the histogram
    const int Count = 0, Min = 1, Max = 2, Mean = 3, Std = 4, Norm = 5, Zeros = 6, Saturated = 7, NearSaturation = 8,
        NearEdge = 9, Dead = 10, Histogram = 11;

    /// <summary>Golden file → the network it was generated for. gen_monitor.py reads each graph from
    /// Tests/Golden/monitor_graphs/&lt;golden&gt;.json, which <see cref="GraphsForTheGenerator"/> writes.</summary>
    public static readonly Dictionary<string, Func<NetworkGraph>> Networks = new(StringComparer.Ordinal)
    {
        ["monitor_sgd_step"] = () => MonitorWorkload.Graph(),
        ["monitor_sgd_step_lenet5"] = () => ModelZoo.Build("lenet5"),
        // Fashion-MNIST-sized, a quarter of the published width (4, 8, 16 channels) to keep the golden small
        ["monitor_sgd_step_resnet20"] = () => ModelZoo.Build("resnet_cifar", new ModelOptions(1, 28, 10, WidthDivisor: 4)),
    };

    public static TrainingSample SampleMatchesPyTorch(IBackend backend, string goldenName)
    {
        var golden = GoldenFile.Load(goldenName);
        int bins = golden.Attributes.GetProperty("bins").GetInt32();
        var graph = Networks[goldenName]();
        Assert.That(GraphJson.Write(GraphJson.Read(golden.Attributes.GetProperty("graph").GetRawText())).ToJsonString(),
            Is.EqualTo(GraphJson.Write(graph).ToJsonString()), $"{goldenName} was generated for another graph: regenerate it");
        using var network = Network.Create(graph, backend, seed: 1);
        string[] parameterNames = [.. golden.Attributes.GetProperty("parameters").EnumerateArray().Select(p => p.GetString()!)];
        Assert.That(network.ParameterNames, Is.EqualTo(parameterNames), "parameters");
        for (int i = 0; i < parameterNames.Length; i++)
        {
            var parameter = network.Parameter(parameterNames[i]);
            string init = "init." + parameterNames[i];
            parameter.Upload(golden.Contains(init) ? golden.Data(init) : GoldenInitializer(i, parameterNames[i], parameter.Shape.ToArray()));
        }
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
        // the parameters PyTorch optimizes, no more (batch norm's running statistics are buffers, not reported)
        Assert.That(sample.Parameters.Select(p => p.Name), Is.EqualTo(parameterNames), "the sample's parameters");
        Assert.That(sample.Nodes.Select(n => n.Name), Is.EqualTo(graph.Nodes.Select(n => n.Name)), "the sample's nodes");
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
        return sample;
    }

    /// <summary>
    /// The weights of a golden without <c>init.*</c> tensors (gen_monitor.py's golden_initializer, bit for bit): element
    /// i of parameter k (in <see cref="Network.ParameterNames"/> order) is r·b with r ∈ [−1, 1) from a 32-bit integer hash
    /// of (k, i), b = √(6/fan-in) for weights of rank ≥ 2 (Kaiming-uniform for ReLU), 0.1 for biases and batch norm's β,
    /// and γ = 1 + 0.25·r. Every step is exact or correctly rounded in IEEE double, then rounded once to float.
    /// </summary>
    static float[] GoldenInitializer(int k, string name, int[] shape)
    {
        var values = new float[shape.Aggregate(1, (a, b) => a * b)];
        double bound = shape.Length >= 2 ? Math.Sqrt(6.0 / (values.Length / shape[0])) : 0.1;
        bool gamma = shape.Length == 1 && name.EndsWith(".weight", StringComparison.Ordinal);
        for (int i = 0; i < values.Length; i++)
        {
            uint u = unchecked((uint)k * 0x9E3779B9u + (uint)i * 0x85EBCA6Bu + 0x27D4EB2Fu);
            u ^= u >> 15;
            u = unchecked(u * 0x2C1B3C6Du);
            u ^= u >> 12;
            u = unchecked(u * 0x297A2D39u);
            u ^= u >> 15;
            double r = (u >> 8) * (1.0 / (1 << 23)) - 1.0;
            values[i] = gamma ? (float)(1.0 + 0.25 * r) : (float)(r * bound);
        }
        return values;
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

    /// <summary>Writes each network's graph (<see cref="GraphJson"/>) to Tests/Golden/monitor_graphs/, the generator's input,
    /// when NEURO_UPDATE_GOLDEN_GRAPHS=1; otherwise checks that the committed files are current.</summary>
    public static void GraphsForTheGenerator()
    {
        string folder = Path.Combine(ModelMetadataTests.RepositoryRoot(), "Tests", "Golden", "monitor_graphs");
        foreach (var (name, build) in Networks)
        {
            string path = Path.Combine(folder, name + ".json"), json = GraphJson.Write(build()).ToJsonString() + "\n";
            if (Environment.GetEnvironmentVariable("NEURO_UPDATE_GOLDEN_GRAPHS") == "1")
            {
                Directory.CreateDirectory(folder);
                File.WriteAllText(path, json);
            }
            Assert.That(File.Exists(path) ? File.ReadAllText(path) : "(missing)", Is.EqualTo(json),
                $"{path} is out of date: run the tests with NEURO_UPDATE_GOLDEN_GRAPHS=1 to rewrite it, then Tests/Golden/generate.py");
        }
    }
}

/// <summary>The monitor against PyTorch on the CPU backend.</summary>
public sealed class MonitorGoldenTests
{
    static IEnumerable<string> Networks => MonitorGoldenChecks.Networks.Keys;

    [TestCaseSource(nameof(Networks))]
    public void Sample_MatchesPyTorch(string golden)
    {
        using var backend = new CpuBackend();
        MonitorGoldenChecks.SampleMatchesPyTorch(backend, golden);
    }

    [Test]
    public void Workload_HasADeadChannelAndSaturation()
    {
        using var backend = new CpuBackend();
        var sample = MonitorGoldenChecks.SampleMatchesPyTorch(backend, "monitor_sgd_step");
        Assert.That(sample.Nodes.Single(n => n.Name == "relu2").DeadChannels, Is.EqualTo(1), "the fixture's dead channel");
        Assert.That(sample.Nodes.Single(n => n.Name == "sigmoid1").SaturatedFraction, Is.GreaterThan(0.02), "the fixture saturates sigmoid1 (71 of 2048 outputs in PyTorch)");
    }

    [Test]
    public void GeneratorGraphs_AreCurrent() => MonitorGoldenChecks.GraphsForTheGenerator();
}

/// <summary>The monitor against PyTorch on the GL backend.</summary>
public sealed class MonitorGoldenGLTests : GLFixture
{
    static IEnumerable<string> Networks => MonitorGoldenChecks.Networks.Keys;

    [TestCaseSource(nameof(Networks))]
    public void Sample_MatchesPyTorch(string golden) => MonitorGoldenChecks.SampleMatchesPyTorch(Backend, golden);
}

using System.Text.RegularExpressions;
using NeuroPlugin.Editor;
using NeuroPlugin.Editor.Cli;
using NeuroPlugin.Editor.Experiments;

namespace NeuroPlugin.Tests.Experiments;

/// <summary>
/// <c>neuro experiment &lt;name&gt; --quick</c> on the CPU backend: each experiment writes real PNG charts and a markdown
/// report whose tables hold numbers and whose conclusion is stated, and the course's claims that are robust even in a
/// run of a few dozen steps hold on the measured numbers. Each experiment runs once (seeded, so deterministic) and its
/// result is shared by the tests below.
/// </summary>
[NonParallelizable] // the experiments share the 2 cores; the CLI test redirects the console
public partial class ExperimentTests
{
    static readonly Dictionary<string, (ExperimentResult Result, string Folder)> Runs = new(StringComparer.Ordinal);
    static readonly string Root = Path.Combine(Path.GetTempPath(), "neuro-experiments-" + Guid.NewGuid().ToString("N"));

    public static IEnumerable<string> Names => ExperimentCatalog.All.Select(e => e.Name);

    static ExperimentResult Run(string name)
    {
        if (!Runs.TryGetValue(name, out var run))
        {
            string folder = Path.Combine(Root, name);
            var results = ExperimentCommand.RunExperiments(name, folder, "cpu", seed: 1, quick: true, dataDir: null, TextWriter.Null);
            Runs[name] = run = (results.Single(), folder);
        }
        return run.Result;
    }

    [OneTimeTearDown]
    public void RemoveOutputs()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }

    static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [TestCaseSource(nameof(Names))]
    public void WritesChartsReportAndConclusion(string name)
    {
        var result = Run(name);
        var pngs = result.Files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)).ToArray();
        Assert.That(pngs, Is.Not.Empty, "at least one chart");
        foreach (string png in pngs)
        {
            var bytes = File.ReadAllBytes(png);
            Assert.That(bytes.Take(8), Is.EqualTo(PngSignature), $"{png} is a PNG");
            Assert.That(bytes, Has.Length.GreaterThan(30_000), $"{png} holds a real chart, not an empty canvas");
        }

        string markdown = File.ReadAllText(result.Files.Single(f => f.EndsWith(".md", StringComparison.Ordinal)));
        foreach (string png in pngs) Assert.That(markdown, Does.Contain($"]({Path.GetFileName(png)})"), "the report shows every chart");
        var lines = markdown.Split('\n');
        var tableRows = lines.Where(l => l.StartsWith("| ", StringComparison.Ordinal) && !l.Contains("---")).ToArray();
        var numericRows = tableRows.Where(l => Regex.IsMatch(l, @"\|\s*[−-]?\d+(\.\d+)?(e[+-]\d+)?( %)?\s*\|")).ToArray();
        Assert.That(numericRows, Has.Length.GreaterThanOrEqualTo(2), $"table rows with numbers in:\n{markdown}");
        Assert.That(markdown, Does.Contain("## Conclusion"));
        var verdicts = lines.Where(l => l.StartsWith("- **Agrees with the course**: ", StringComparison.Ordinal)
                                     || l.StartsWith("- **Does not agree with the course**: ", StringComparison.Ordinal)).ToArray();
        Assert.That(verdicts, Has.Length.EqualTo(result.Conclusions.Count).And.Length.GreaterThan(0));
        Assert.That(verdicts, Has.All.Contain("Measured: "), "every verdict states its numbers");
    }

    [Test]
    public void VanishingGradients_SigmoidFirstLayerGradientIsMuchSmallerThanReLUs()
    {
        var metrics = Run("vanishing-gradients").Metrics;
        double sigmoid = metrics["sigmoid.fc1.weight.gradient_norm"], relu = metrics["relu.fc1.weight.gradient_norm"];
        Assert.That(sigmoid, Is.GreaterThan(0));
        Assert.That(relu, Is.GreaterThan(100 * sigmoid), "sigmoid's derivative ≤ 1/4 shrinks the gradient on the way down six layers");
        // within the sigmoid network, the gradient grows from the input layer towards the output
        Assert.That(metrics["sigmoid.out.weight.gradient_norm"], Is.GreaterThan(100 * sigmoid));
    }

    [Test]
    public void Initialization_SigmoidOutputsPileUpAsTheCourseSays()
    {
        var metrics = Run("initialization").Metrics;
        Assert.That(metrics["sigmoid.std1.saturated_share"], Is.GreaterThan(0.5), "std 1: outputs at 0 and 1");
        Assert.That(metrics["sigmoid.std0.01.half_share"], Is.GreaterThan(0.5), "std 0.01: outputs at 0.5");
        Assert.That(metrics["sigmoid.xavier.saturated_share"], Is.LessThan(0.5));
        Assert.That(metrics["sigmoid.xavier.half_share"], Is.LessThan(0.5));
        // ReLU: He keeps the scale; std σ multiplies it by about σ·√(width/2) per layer (width 50 in quick mode:
        // ×5 for std 1, ×0.05 for std 0.01), so over the four layers from 1 to 5 it explodes or vanishes.
        Assert.That(metrics["relu.he.act5.std"] / metrics["relu.he.act1.std"], Is.InRange(1 / 3.0, 3.0));
        Assert.That(metrics["relu.std0.01.act5.std"] / metrics["relu.std0.01.act1.std"], Is.LessThan(1e-3));
        Assert.That(metrics["relu.std1.act5.std"] / metrics["relu.std1.act1.std"], Is.GreaterThan(1e2));
    }

    [Test]
    public void Initialization_ZerosLeaveEveryHiddenUnitOfALayerIdentical()
    {
        var metrics = Run("initialization").Metrics;
        Assert.That(metrics["sigmoid.zeros.max_unit_spread"], Is.LessThanOrEqualTo(1e-6), "after training, the units still compute the same thing");
        Assert.That(metrics["relu.zeros.max_unit_spread"], Is.LessThanOrEqualTo(1e-6));
        Assert.That(metrics["sigmoid.xavier.max_unit_spread"], Is.GreaterThan(1e-2), "random starts break the symmetry");
        Assert.That(metrics["relu.he.max_unit_spread"], Is.GreaterThan(1e-2));
    }

    [Test]
    public void BatchNorm_RescuesTheDeepSigmoidNetwork()
    {
        var metrics = Run("batch-norm").Metrics;
        Assert.That(metrics["sigmoid.bn.lr0.1.test_accuracy"], Is.GreaterThan(metrics["sigmoid.plain.lr0.1.test_accuracy"] + 0.2));
    }

    [Test]
    public void Optimizers_MomentumAndAdaptiveRulesBeatPlainSgd()
    {
        var metrics = Run("optimizers").Metrics;
        double sgd = metrics["sgd.train_loss"];
        foreach (string rule in new[] { "momentum", "adagrad", "rmsprop", "adam" })
            Assert.That(metrics[$"{rule}.train_loss"], Is.LessThan(sgd), rule);
    }

    [Test]
    public void Overfitting_L1MakesManyMoreWeightsNearZeroThanL2()
    {
        var metrics = Run("overfitting").Metrics;
        Assert.That(metrics["none.gap"], Is.GreaterThan(0.1), "a few hundred images: training accuracy far above test accuracy");
        Assert.That(metrics["l1.near_zero_share"], Is.GreaterThan(2 * metrics["l2.near_zero_share"]));
        Assert.That(metrics["l1.near_zero_share"], Is.GreaterThan(2 * metrics["none.near_zero_share"]));
    }

    [Test]
    public void UnknownExperiment_IsOneLineError()
    {
        var (code, _, error) = NeuroCli.Run("experiment", "dropout-magic", "--out", Root);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.TrimEnd(), Does.StartWith("neuro: unknown experiment 'dropout-magic'").And.Contain("vanishing-gradients").And.Not.Contain("\n"));
    }
}

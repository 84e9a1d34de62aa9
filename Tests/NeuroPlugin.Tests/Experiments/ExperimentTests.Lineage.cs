using NeuroPlugin.Editor.Experiments;
using NeuroPlugin.Search;

namespace NeuroPlugin.Tests.Experiments;

/// <summary>
/// The lineage experiments (fc-vs-cnn, depth, regularizers, efficient-blocks) in <c>--quick</c> form: the costs they
/// report are checked against counts worked out independently here, and every network learns beyond chance. Their
/// accuracy verdicts in a run of a few dozen steps are not asserted (the full runs in README are where those are read).
/// </summary>
public partial class ExperimentTests
{
    const double Chance = 0.1;

    [Test]
    public void FcVsCnn_SameParametersWithinFivePercent_CnnSpendsFarMoreFlops()
    {
        var metrics = Run("fc-vs-cnn").Metrics;
        Assert.That(metrics["fc.parameters"] / metrics["cnn.parameters"], Is.InRange(0.95, 1.05));
        // the perceptron does one multiply-add per weight; the CNN reuses each kernel weight at every position of its map
        Assert.That(metrics["fc.flops"], Is.InRange(2 * metrics["fc.parameters"] - 1000, 2 * metrics["fc.parameters"] + 1000));
        Assert.That(metrics["cnn.flops"], Is.GreaterThan(20 * metrics["fc.flops"]));
        foreach (string model in new[] { "fc", "cnn" })
        {
            Assert.That(metrics[$"{model}.latency_ms"], Is.GreaterThan(0), model);
            Assert.That(metrics[$"{model}.test_accuracy"], Is.GreaterThan(2 * Chance), model);
        }
    }

    [Test]
    public void FcVsCnn_MatchingWidthIsTheClosestParameterCount()
    {
        static long Count(int h) => 784L * h + h + (long)h * h + h + 10L * h + 10; // 784-h-h-10 with biases
        Assert.That(FcVsCnnExperiment.MatchingWidth(Count(29)), Is.EqualTo(29));
        Assert.That(FcVsCnnExperiment.MatchingWidth(Count(29) + 10), Is.EqualTo(29));
        Assert.That(FcVsCnnExperiment.MatchingWidth(Count(30) - 10), Is.EqualTo(30));
    }

    [Test]
    public void Depth_ShortcutsAddNoParameters_AndEveryNetworkLearns()
    {
        var metrics = Run("depth").Metrics;
        double previous = 0;
        foreach (int depth in new[] { 8, 14, 20 })
        {
            Assert.That(metrics[$"residual.{depth}.parameters"], Is.EqualTo(metrics[$"plain.{depth}.parameters"]), "option-A shortcuts are parameter-free");
            Assert.That(metrics[$"plain.{depth}.parameters"], Is.GreaterThan(previous), "deeper means more layers");
            previous = metrics[$"plain.{depth}.parameters"];
            foreach (string kind in new[] { "plain", "residual" })
            {
                Assert.That(double.IsFinite(metrics[$"{kind}.{depth}.train_loss"]), Is.True, $"{kind}-{depth} did not diverge");
                Assert.That(metrics[$"{kind}.{depth}.test_accuracy"], Is.GreaterThan(Chance), $"{kind}-{depth}");
            }
        }
    }

    [Test]
    public void Regularizers_ShakeShakeAddsExactlyASecondBranch_OthersKeepTheNetwork()
    {
        var metrics = Run("regularizers").Metrics;
        double none = metrics["none.parameters"];
        foreach (string key in new[] { "cutout", "erasing", "mixup", "stochastic_depth" })
            Assert.That(metrics[$"{key}.parameters"], Is.EqualTo(none), key);
        // a branch of a block (in → out): conv 3×3 (in·out·9) + BN (2·out) + conv 3×3 (out·out·9) + BN (2·out); blocks 8→8, 8→16, 16→32
        long branches = new[] { (8, 8), (8, 16), (16, 32) }.Sum(b => 9L * b.Item1 * b.Item2 + 9L * b.Item2 * b.Item2 + 4L * b.Item2);
        Assert.That(metrics["shake_shake.parameters"], Is.EqualTo(none + branches));
        foreach (string key in new[] { "none", "cutout", "erasing", "mixup", "stochastic_depth", "shake_shake" })
            Assert.That(metrics[$"{key}.test_accuracy"], Is.GreaterThan(Chance), key);
    }

    [Test]
    public void EfficientBlocks_SeparableCutsFlopsAndParameters_LatencyIsMeasured()
    {
        var metrics = Run("efficient-blocks").Metrics;
        Assert.That(metrics["flop_ratio"], Is.GreaterThan(3));
        Assert.That(metrics["parameter_ratio"], Is.GreaterThan(3));
        Assert.That(metrics["flop_ratio"], Is.EqualTo(metrics["standard.flops"] / metrics["separable.flops"]).Within(1e-9));
        Assert.That(metrics["standard.latency_ms"], Is.GreaterThan(0));
        Assert.That(metrics["separable.latency_ms"], Is.GreaterThan(0));
        Assert.That(metrics["separable.test_accuracy"], Is.GreaterThan(Chance));
    }

    [Test]
    public void ConvNet_SeparableUnitCostsWhatTheFormulaSays()
    {
        // one layer 16 → 32 at 14×14 after the stem (16) and pool: standard 9·16·32 MACs per pixel, separable 9·16 + 16·32
        var standard = ArchitectureCost.Count(ConvNet.Stack(16, [(32, 1)], separable: false));
        var separable = ArchitectureCost.Count(ConvNet.Stack(16, [(32, 1)], separable: true));
        Assert.That(standard.Parameters - separable.Parameters, Is.EqualTo(9 * 16 * 32 - (9 * 16 + 2 * 16 + 16 * 32)),
            "the conv weights, less the depthwise weights, its BN and the pointwise weights");
        long standardMacs = 14L * 14 * 9 * 16 * 32, separableMacs = 14L * 14 * (9 * 16 + 16 * 32);
        Assert.That(standard.Flops - separable.Flops, Is.EqualTo(2 * (standardMacs - separableMacs)), "batch norm and ReLU count no multiply-adds");
    }

    [Test]
    public void ConvNet_StochasticDepthFollowsTheLinearRule()
    {
        var graph = ConvNet.Staged(8, blocksPerStage: 2, BlockJoin.StochasticDepth, dropProbability: 0.5f);
        var probabilities = graph.Nodes.Where(n => n.Layer is StochasticDepth).Select(n => ((StochasticDepth)n.Layer).P).ToArray();
        Assert.That(probabilities, Is.EqualTo(Enumerable.Range(1, 6).Select(l => 0.5f * l / 6)).Within(1e-6f));
        Assert.That(graph.InferShapes(2)[graph.Output].ToArray(), Is.EqualTo(new[] { 2, 10 }));
    }
}

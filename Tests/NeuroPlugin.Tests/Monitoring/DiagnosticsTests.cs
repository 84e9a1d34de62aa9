using System.Buffers;
using NeuroPlugin.Monitoring;

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>
/// <see cref="TrainingDiagnostics"/> on samples made by hand: each rule fires past its threshold and not below it, on the
/// node concerned, with the value and threshold in its message and a remedy; per-sample findings need two samples in a
/// row (non-finite values one); the run-level ones (diverged, not learning, overfitting) follow losses and evaluations.
/// </summary>
public sealed class DiagnosticsTests
{
    // a three-layer network: fc1 → sigmoid1 → fc2 → relu2 → fc3
    static readonly RunDescription Run = new("cpu", "test", 32, 1, 4,
        [new("fc1.weight", [16, 8]), new("fc1.bias", [16]), new("fc2.weight", [16, 16]), new("fc3.weight", [10, 16])],
        [new("fc1", "Linear", ["x"], [32, 16]), new("sigmoid1", "Sigmoid", ["fc1"], [32, 16]), new("fc2", "Linear", ["sigmoid1"], [32, 16]),
         new("relu2", "ReLU", ["fc2"], [32, 16]), new("fc3", "Linear", ["relu2"], [32, 10])]);

    static TensorSummary Summary(double norm, long count = 100, long nonFinite = 0, long saturated = 0) =>
        new(count, -1, 1, 0, 0.5, norm, 0, nonFinite, 0, saturated, new Histogram(-1, 1, [count - nonFinite, 0, 0, 0]));

    /// <summary>A sample: per weight its gradient-to-weight ratio (‖w‖ = 1) and update ratio; sigmoid1's saturated
    /// count, relu2's dead channels, fc2's non-finite outputs.</summary>
    static TrainingSample Sample(long step, double loss = 1.0, double[]? relative = null, double updateRatio = 1e-3, long saturated = 0,
        long dead = 0, long nonFinite = 0, double rate = 0.1, int epoch = 0, double batchAccuracy = 0.5)
    {
        relative ??= [1, 1, 1];
        string[] weights = ["fc1.weight", "fc2.weight", "fc3.weight"];
        var parameters = weights.Select((name, i) => new ParameterStatistics(name, Summary(1), Summary(relative[i]), Summary(updateRatio)))
            .Append(new ParameterStatistics("fc1.bias", Summary(1), Summary(1), Summary(0.5))) // biases are not judged
            .ToArray();
        NodeStatistics Node(string name, string type, long sat = 0, long deadChannels = 0, long bad = 0, bool saturating = false) =>
            new(name, type, Summary(1, 512, bad, sat), deadChannels, 16, saturating, Summary(1), 0.1, 0.2);
        return new TrainingSample(step, epoch, loss, batchAccuracy, rate, 1000, step, 32, 1, 2, parameters,
            [Node("fc1", "Linear"), Node("sigmoid1", "Sigmoid", sat: saturated, saturating: true), Node("fc2", "Linear", bad: nonFinite),
             Node("relu2", "ReLU", deadChannels: dead), Node("fc3", "Linear")]);
    }

    static EvaluationSample Evaluation(long step, int epoch, double accuracy) =>
        new(step, epoch, 100, 1, accuracy, [], Enumerable.Range(0, 10).Select(c => $"class {c}").ToArray(), [], 1, 28, 28);

    static Diagnostic[] Of(TrainingDiagnostics diagnostics, DiagnosticKind kind) => diagnostics.Report.Items.Where(d => d.Kind == kind).ToArray();

    [Test]
    public void AHealthySample_HasNoFinding()
    {
        var diagnostics = new TrainingDiagnostics(Run);
        for (int step = 1; step <= 5; step++) diagnostics.Observe(Sample(step, relative: [0.3, 0.6, 1], saturated: 100, dead: 7));
        Assert.That(diagnostics.Report.Items, Is.Empty, string.Join("\n", diagnostics.Report.Items));
    }

    [Test]
    public void VanishingGradient_OnTheFirstLayers_AfterTwoSamples()
    {
        var diagnostics = new TrainingDiagnostics(Run);
        Assert.That(diagnostics.Observe(Sample(1, relative: [0.001, 0.019, 1])), Is.False, "one sample is not enough");
        Assert.That(diagnostics.Observe(Sample(2, relative: [0.001, 0.019, 1])), Is.True, "the set changed");
        var found = Of(diagnostics, DiagnosticKind.VanishingGradient);
        Assert.That(found.Select(d => d.Node), Is.EqualTo(new[] { "fc1", "fc2" }));
        Assert.That(found[0].Value, Is.EqualTo(0.001).Within(1e-12));
        Assert.That(found[0].Threshold, Is.EqualTo(0.02));
        Assert.That(found[0].Message, Does.Contain("0.1 %").And.Contain("threshold 2 %").And.Contain("fc3"));
        Assert.That(found[0].Remedy, Does.Contain("ReLU").And.Contain("He initialization").And.Contain("batch norm"));
        Assert.That(found[0].Parameter, Is.EqualTo("fc1.weight"));

        diagnostics.Observe(Sample(3, relative: [0.03, 0.5, 1]));
        Assert.That(Of(diagnostics, DiagnosticKind.VanishingGradient), Is.Empty, "gone once the ratio is above the threshold");
        diagnostics.Observe(Sample(4, relative: [30, 1, 1]));
        diagnostics.Observe(Sample(5, relative: [30, 1, 1]));
        Assert.That(Of(diagnostics, DiagnosticKind.ExplodingGradient).Select(d => d.Node), Is.EqualTo(new[] { "fc1" }));
    }

    [Test]
    public void DeadReLUs_SaturatedSigmoid_NonFinite()
    {
        var diagnostics = new TrainingDiagnostics(Run);
        diagnostics.Observe(Sample(1, dead: 8, saturated: 154, nonFinite: 3));
        Assert.That(Of(diagnostics, DiagnosticKind.NonFinite).Select(d => d.Node), Is.EqualTo(new[] { "fc2" }), "at once, on the first node showing it");
        Assert.That(Of(diagnostics, DiagnosticKind.NonFinite)[0].Severity, Is.EqualTo(DiagnosticSeverity.Error));
        Assert.That(Of(diagnostics, DiagnosticKind.DeadReLU), Is.Empty, "not yet: one sample");
        diagnostics.Observe(Sample(2, dead: 8, saturated: 154));
        var dead = Of(diagnostics, DiagnosticKind.DeadReLU).Single();
        Assert.That((dead.Node, dead.Value), Is.EqualTo(("relu2", 0.5)));
        Assert.That(dead.Message, Does.Contain("50 % of its 16 channels").And.Contain("threshold 50 %"));
        Assert.That(dead.Remedy, Does.Contain("Lower the learning rate").And.Contain("He initialization"));
        var saturated = Of(diagnostics, DiagnosticKind.Saturated).Single();
        Assert.That(saturated.Node, Is.EqualTo("sigmoid1"));
        Assert.That(saturated.Value, Is.EqualTo(154 / 512.0).Within(1e-12));
        Assert.That(saturated.Message, Does.Contain("30.1 %").And.Contain("threshold 30 %"));
        Assert.That(Of(diagnostics, DiagnosticKind.NonFinite), Is.Empty, "gone with the NaN");
        diagnostics.Observe(Sample(3, dead: 7, saturated: 153));
        Assert.That(diagnostics.Report.Items, Is.Empty, "below both thresholds");
    }

    [Test]
    public void UpdateRatio_TooLargeOrTooSmall_NotWhileTheRateIsAnnealedOrWarmingUp()
    {
        var diagnostics = new TrainingDiagnostics(Run);
        diagnostics.Observe(Sample(1, updateRatio: 0.2));
        diagnostics.Observe(Sample(2, updateRatio: 0.2));
        var large = Of(diagnostics, DiagnosticKind.UpdateTooLarge);
        Assert.That(large.Select(d => d.Node), Is.EqualTo(new[] { "fc1", "fc2", "fc3" }), "weights only: the bias is not judged");
        Assert.That(large[0].Message, Does.Contain("2.0e-1").And.Contain("above 1.0e-1").And.Contain("about 1.0e-3"));
        Assert.That(large[0].Remedy, Does.StartWith("Lower the learning rate"));

        diagnostics.Observe(Sample(3, updateRatio: 1e-6, rate: 0.1));
        diagnostics.Observe(Sample(4, updateRatio: 1e-6, rate: 0.1));
        Assert.That(Of(diagnostics, DiagnosticKind.UpdateTooSmall), Has.Length.EqualTo(3));
        Assert.That(Of(diagnostics, DiagnosticKind.UpdateTooSmall)[0].Remedy, Does.StartWith("Raise the learning rate"));
        diagnostics.Observe(Sample(5, updateRatio: 1e-6, rate: 0.005));
        diagnostics.Observe(Sample(6, updateRatio: 1e-6, rate: 0.001));
        Assert.That(Of(diagnostics, DiagnosticKind.UpdateTooSmall), Is.Empty, "a schedule annealed the rate below a tenth of its peak");

        var warmingUp = new TrainingDiagnostics(Run);
        for (int step = 1; step <= 4; step++) warmingUp.Observe(Sample(step, updateRatio: 1e-6, rate: 0.025 * step));
        Assert.That(Of(warmingUp, DiagnosticKind.UpdateTooSmall), Is.Empty, "the rate rises: a warm-up");
    }

    [Test]
    public void Diverged_WhenTheLossGoesNaNOrRisesThreeFold_FromSamplesOrReportedLosses()
    {
        var diagnostics = new TrainingDiagnostics(Run);
        diagnostics.Observe(Sample(1, loss: 2.3));
        diagnostics.Observe(Sample(2, loss: 1.9));
        diagnostics.Observe(Sample(3, loss: 2.1));
        diagnostics.Observe(Sample(4, loss: 5));
        Assert.That(diagnostics.Report.Diverged, Is.False, "5 ≤ 3 × 2.1, the mean of the first three");
        diagnostics.Observe(Sample(5, loss: 9));
        var diverged = Of(diagnostics, DiagnosticKind.Diverged).Single();
        Assert.That((diverged.Node, diverged.Severity), Is.EqualTo(((string?)null, DiagnosticSeverity.Error)));
        Assert.That(diverged.Message, Does.Contain("rose to 7 (mean of the last 2)").And.Contain("3× its starting level 2.1 (mean of the first 3, steps 1–3)"));

        // a run resumed from trained weights: its first batch happened to be easy, and a fresh optimizer's first steps
        // raise the loss before it falls again; the old rule (3× the first loss) called this diverged
        var resumed = new TrainingDiagnostics(Run);
        foreach (var (step, loss) in new[] { (1, 0.05), (2, 0.45), (3, 0.4), (4, 0.35), (5, 0.3), (6, 0.42), (7, 0.33) })
            resumed.Observe(Sample(step, loss: loss));
        Assert.That(resumed.Report.Diverged, Is.False, "0.35 against a starting level of 0.3");

        var unmonitored = new TrainingDiagnostics();
        unmonitored.ObserveLoss(50, 1.2);
        Assert.That(unmonitored.ObserveLoss(100, double.NaN), Is.True);
        unmonitored.ObserveLoss(150, 0.5);
        Assert.That(unmonitored.Report.Diverged, Is.True, "NaN once is enough: the weights keep it");
        Assert.That(unmonitored.Report.Items.Single().Message, Does.Contain("became NaN at step 100"));
        Assert.Throws<InvalidOperationException>(() => unmonitored.Observe(Sample(1)), "per-sample rules need the run's description");
    }

    [Test]
    public void NotLearning_AtChance_Overfitting_WhenTestFallsWhileTrainingRises()
    {
        var diagnostics = new TrainingDiagnostics(Run);
        diagnostics.ObserveAccuracy(10, 0, 0.12, 10);
        var chance = Of(diagnostics, DiagnosticKind.NotLearning).Single();
        Assert.That(chance.Message, Does.Contain("12 %").And.Contain("1.5 × 1/10 = 15 %"));

        diagnostics = new TrainingDiagnostics(Run);
        diagnostics.Observe(Sample(1, epoch: 0, batchAccuracy: 0.70));
        diagnostics.Observe(Evaluation(1, 0, 0.80));
        diagnostics.Observe(Sample(2, epoch: 1, batchAccuracy: 0.85));
        diagnostics.Observe(Evaluation(2, 1, 0.795));
        Assert.That(Of(diagnostics, DiagnosticKind.Overfitting), Is.Empty, "a fall of half a point is within the threshold");
        diagnostics.Observe(Sample(3, epoch: 2, batchAccuracy: 0.95));
        Assert.That(diagnostics.Observe(Evaluation(3, 2, 0.78)), Is.True);
        var overfitting = Of(diagnostics, DiagnosticKind.Overfitting).Single();
        Assert.That(overfitting.Value, Is.EqualTo(0.02).Within(1e-12));
        Assert.That(overfitting.Message, Does.Contain("from 80 % (epoch 1) to 78 % (epoch 3)").And.Contain("from 70 % to 95 %"));
        Assert.That(overfitting.Remedy, Does.Contain("weight decay").And.Contain("dropout").And.Contain("augmentation"));
        diagnostics.Observe(Sample(4, epoch: 3, batchAccuracy: 0.5));
        diagnostics.Observe(Evaluation(4, 3, 0.70));
        Assert.That(Of(diagnostics, DiagnosticKind.Overfitting), Is.Empty, "training accuracy fell too: not overfitting");
    }

    [Test]
    public void Report_AsJson()
    {
        var diagnostics = new TrainingDiagnostics(Run);
        diagnostics.Observe(Sample(1, relative: [0.001, 1, 1]));
        diagnostics.Observe(Sample(2, relative: [0.001, 1, 1]));
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer)) MonitorJson.Write(json, diagnostics.Report);
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        var root = document.RootElement;
        Assert.That((root.GetProperty("type").GetString(), root.GetProperty("step").GetInt64()), Is.EqualTo(("diagnostics", 2L)));
        var item = root.GetProperty("items").EnumerateArray().Single();
        Assert.That(item.GetProperty("kind").GetString(), Is.EqualTo("vanishingGradient"));
        Assert.That(item.GetProperty("title").GetString(), Is.EqualTo("vanishing gradient"));
        Assert.That(item.GetProperty("message").GetString(), Does.StartWith("relative gradient"), "the title is not repeated in the message");
        Assert.That(item.GetProperty("severity").GetString(), Is.EqualTo("warning"));
        Assert.That(item.GetProperty("node").GetString(), Is.EqualTo("fc1"));
        Assert.That(item.GetProperty("parameter").GetString(), Is.EqualTo("fc1.weight"));
        Assert.That(item.GetProperty("threshold").GetDouble(), Is.EqualTo(0.02));
        Assert.That(item.GetProperty("remedy").GetString(), Does.Contain("ReLU"));
    }

    /// <summary>Every kind has its own title, and no finding's message starts with it (a list shows "title — message").</summary>
    [Test]
    public void Titles_AreDistinct_AndMessagesDoNotRepeatThem()
    {
        var titles = Enum.GetValues<DiagnosticKind>().Select(Diagnostic.TitleOf).ToArray();
        Assert.That(titles, Is.Unique);
        var diagnostics = new TrainingDiagnostics(Run);
        diagnostics.Observe(Sample(1, relative: [0.001, 1, 1], dead: 8, saturated: 154, nonFinite: 3, updateRatio: 0.5, loss: 2));
        diagnostics.Observe(Sample(2, relative: [0.001, 1, 1], dead: 8, saturated: 154, nonFinite: 3, updateRatio: 0.5, loss: 9));
        diagnostics.Observe(Evaluation(2, 0, 0.1));
        var items = diagnostics.Report.Items;
        Assert.That(items.Select(d => d.Kind).Distinct().Count(), Is.GreaterThanOrEqualTo(6), string.Join("\n", items));
        foreach (var item in items)
        {
            Assert.That(item.Message, Does.Not.StartWith(item.Title).IgnoreCase, item.ToString());
            Assert.That(item.ToString(), Does.Contain($"{item.Title}: {item.Message}"));
        }
    }
}

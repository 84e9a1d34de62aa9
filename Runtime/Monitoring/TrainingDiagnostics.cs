using System.Globalization;

namespace NeuroPlugin.Monitoring;

/// <summary>
/// Judges a run from the monitor's numbers, as CS231n teaches to read them, and keeps the findings in force
/// (<see cref="Report"/>): per node, dead ReLUs, saturated sigmoid/tanh, update-to-weight ratios far from ~10⁻³, relative
/// gradients <c>‖∂L/∂W‖/‖W‖</c> that fall by orders of magnitude from the last layer to the first (vanishing) or grow
/// (exploding), NaN and ∞; for the run, a loss that went non-finite or rose far above its start (diverged), chance-level
/// test accuracy (not learning), and test accuracy falling while training accuracy rises (overfitting). Every message
/// states the value and the threshold (<see cref="DiagnosticThresholds"/>), every finding names the course's remedy.
/// <para>Fed with samples (<see cref="Observe(TrainingSample)"/>) and evaluations (<see cref="Observe(EvaluationSample)"/>)
/// by a monitored run; an unmonitored one feeds its reported losses and accuracies (<see cref="ObserveLoss"/>,
/// <see cref="ObserveAccuracy"/>), enough to tell that it diverged. Host-side and cheap: the CLI, the editor and a game's
/// live link run the same rules on the same records. Not thread-safe.</para>
/// </summary>
public sealed class TrainingDiagnostics
{
    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    readonly Dictionary<string, int> nodeOrder = new(StringComparer.Ordinal);
    readonly HashSet<string> weightMatrices = new(StringComparer.Ordinal);
    /// <summary>Losses averaged at the start and at the end of the loss rule: a mean of three against a mean of three, so
    /// that neither one lucky batch at the start nor one bad batch late makes a run "diverged".</summary>
    const int RecentLosses = 3;
    readonly double[] recentLosses = new double[RecentLosses]; // a ring of the latest losses after the starting ones: memory
    long lossesAfterStart;                                      // stays fixed however long a game trains
    (long FirstStep, long LastStep, double Sum, int Count) start; // the first RecentLosses losses
    readonly Dictionary<int, (double Sum, int Count)> trainAccuracy = [];
    readonly List<(int Epoch, long Step, double Accuracy, int Classes)> evaluations = [];
    Dictionary<string, int> streaks = new(StringComparer.Ordinal);
    List<Diagnostic> sampleFindings = [];
    (long Step, double Loss)? firstNonFiniteLoss;
    double peakRate, lastRate = double.NaN;

    /// <param name="run">The run's description (parameter shapes, node order); needed for <see cref="Observe(TrainingSample)"/>.</param>
    /// <param name="thresholds">The thresholds; the defaults when null.</param>
    public TrainingDiagnostics(RunDescription? run = null, DiagnosticThresholds? thresholds = null)
    {
        Run = run;
        Thresholds = thresholds ?? new DiagnosticThresholds();
        if (run is null) return;
        for (int k = 0; k < run.Nodes.Count; k++) nodeOrder[run.Nodes[k].Name] = k;
        foreach (var parameter in run.Parameters)
            if (parameter.Shape.Count >= 2) weightMatrices.Add(parameter.Name);
    }

    /// <summary>The run's description (parameter shapes, node order); null when only losses and evaluations are observed.</summary>
    public RunDescription? Run { get; }
    /// <summary>The thresholds the findings are judged by.</summary>
    public DiagnosticThresholds Thresholds { get; }

    /// <summary>The findings in force after the latest numbers.</summary>
    public DiagnosticReport Report { get; private set; } = new(0, []);

    /// <summary>Judges a training sample: its nodes and parameters, its loss and batch accuracy. Returns true when the set
    /// of findings changed (one appeared or went away).</summary>
    /// <exception cref="InvalidOperationException">Made without a <see cref="RunDescription"/>.</exception>
    public bool Observe(TrainingSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (Run is null) throw new InvalidOperationException("per-sample diagnostics need the run's description (TrainingMonitor.Run)");
        var raw = new List<Diagnostic>();
        ExamineNodes(sample, raw);
        ExamineParameters(sample, raw);
        ExamineGradientDepth(sample, raw);
        var next = new Dictionary<string, int>(StringComparer.Ordinal);
        sampleFindings = [];
        foreach (var finding in raw)
        {
            string key = Key(finding);
            int streak = streaks.GetValueOrDefault(key) + 1;
            next[key] = streak;
            if (streak >= (finding.Kind == DiagnosticKind.NonFinite ? 1 : Thresholds.Persistence)) sampleFindings.Add(finding);
        }
        streaks = next;
        if (double.IsFinite(sample.LearningRate))
        {
            lastRate = sample.LearningRate;
            peakRate = Math.Max(peakRate, sample.LearningRate);
        }
        var (sum, count) = trainAccuracy.GetValueOrDefault(sample.Epoch);
        trainAccuracy[sample.Epoch] = (sum + sample.BatchAccuracy, count + 1);
        return AddLoss(sample.Step, sample.Loss);
    }

    /// <summary>A loss reported without a sample (an unmonitored run's progress reports).</summary>
    public bool ObserveLoss(long step, double loss) => AddLoss(step, loss);

    /// <summary>Judges an evaluation at an epoch's end (or on request).</summary>
    public bool Observe(EvaluationSample evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        return ObserveAccuracy(evaluation.Step, evaluation.Epoch, evaluation.TestAccuracy, evaluation.ClassNames.Count);
    }

    /// <summary>A test accuracy measured without the monitor's evaluation (an unmonitored run's epoch ends).</summary>
    public bool ObserveAccuracy(long step, int epoch, double accuracy, int classes)
    {
        evaluations.Add((epoch, step, accuracy, classes));
        return Publish(step);
    }

    bool AddLoss(long step, double loss)
    {
        if (!double.IsFinite(loss) && firstNonFiniteLoss is null) firstNonFiniteLoss = (step, loss);
        if (start.Count < RecentLosses) start = (start.Count == 0 ? step : start.FirstStep, step, start.Sum + loss, start.Count + 1);
        else recentLosses[lossesAfterStart++ % RecentLosses] = loss;
        return Publish(step);
    }

    /// <summary>Makes the new report; true when its findings differ from the previous one's (values aside).</summary>
    bool Publish(long step)
    {
        var items = new List<Diagnostic>();
        JudgeLoss(items, step);
        JudgeEvaluations(items);
        items.AddRange(sampleFindings.OrderBy(d => d.Node is null ? -1 : nodeOrder.GetValueOrDefault(d.Node, int.MaxValue)).ThenBy(d => d.Kind));
        var before = Report.Items.Select(Key).ToHashSet(StringComparer.Ordinal);
        bool changed = before.Count != items.Count || !items.All(d => before.Contains(Key(d)));
        Report = new DiagnosticReport(step, items);
        return changed;
    }

    static string Key(Diagnostic d) => $"{d.KindName}|{d.Node}|{d.Parameter}";

    void ExamineNodes(TrainingSample sample, List<Diagnostic> found)
    {
        bool originFound = false;
        foreach (var node in sample.Nodes)
        {
            if (!originFound && node.Output.NonFinite > 0)
            {
                originFound = true; // the first node in graph order whose output holds NaN or ∞: where it starts
                found.Add(new Diagnostic(DiagnosticKind.NonFinite, DiagnosticSeverity.Error, node.Name, sample.Step,
                    $"{node.Output.NonFinite:N0} of its {node.Output.Count:N0} outputs are NaN or ∞ ({node.Output.NaNs:N0} NaN; threshold: any), the first node in graph order to show them",
                    NonFiniteRemedy, node.Output.NonFinite, 0));
            }
            if (node.Type is "ReLU" or "ReLU6" && node.DeadChannelFraction >= Thresholds.DeadFraction)
                found.Add(new Diagnostic(DiagnosticKind.DeadReLU, DiagnosticSeverity.Warning, node.Name, sample.Step,
                    $"{Percent(node.DeadChannelFraction)} of its {node.Channels:N0} channels output 0 for the whole batch (threshold {Percent(Thresholds.DeadFraction)}); they pass no gradient and no longer learn",
                    "Lower the learning rate (too large a step pushes units where they never fire again); use He initialization, batch norm before the ReLU, or LeakyReLU",
                    node.DeadChannelFraction, Thresholds.DeadFraction));
            if (node.SaturatedFraction is double saturated && saturated >= Thresholds.SaturatedFraction)
                found.Add(new Diagnostic(DiagnosticKind.Saturated, DiagnosticSeverity.Warning, node.Name, sample.Step,
                    $"{Percent(saturated)} of its {node.Type} outputs are within 2 % of a bound (threshold {Percent(Thresholds.SaturatedFraction)}), where its derivative is almost 0",
                    "Use ReLU instead; or keep pre-activations small: Xavier initialization, normalized inputs, batch norm before the activation",
                    saturated, Thresholds.SaturatedFraction));
        }
    }

    void ExamineParameters(TrainingSample sample, List<Diagnostic> found)
    {
        bool judgeTooSmall = peakRate > 0 && sample.LearningRate >= Thresholds.DecayedRateFraction * peakRate
            && !(sample.LearningRate > lastRate); // not while a warm-up raises it, nor once a schedule has annealed it
        var nonFiniteNodes = found.Where(d => d.Kind == DiagnosticKind.NonFinite).Select(d => d.Node).ToHashSet();
        foreach (var parameter in sample.Parameters)
        {
            string node = NodeOf(parameter.Name);
            long bad = parameter.Weight.NonFinite + parameter.Gradient.NonFinite;
            if (bad > 0 && nonFiniteNodes.Add(node))
                found.Add(new Diagnostic(DiagnosticKind.NonFinite, DiagnosticSeverity.Error, node, sample.Step,
                    $"{parameter.Name}: {parameter.Weight.NonFinite:N0} weights and {parameter.Gradient.NonFinite:N0} gradient values are NaN or ∞ (threshold: any)",
                    NonFiniteRemedy, bad, 0) { Parameter = parameter.Name });
            if (!weightMatrices.Contains(parameter.Name) || !double.IsFinite(parameter.UpdateRatio)) continue;
            double ratio = parameter.UpdateRatio;
            if (ratio > Thresholds.UpdateRatioHigh)
                found.Add(new Diagnostic(DiagnosticKind.UpdateTooLarge, DiagnosticSeverity.Warning, node, sample.Step,
                    $"update-to-weight ratio ‖Δw‖/‖w‖ of {parameter.Name} is {Scientific(ratio)}, above {Scientific(Thresholds.UpdateRatioHigh)} (healthy: about {Scientific(DiagnosticThresholds.HealthyUpdateRatio)}): each step changes the weights too much",
                    $"Lower the learning rate (now {Scientific(sample.LearningRate)}), or clip the gradients", ratio, Thresholds.UpdateRatioHigh) { Parameter = parameter.Name });
            else if (judgeTooSmall && ratio < Thresholds.UpdateRatioLow)
                found.Add(new Diagnostic(DiagnosticKind.UpdateTooSmall, DiagnosticSeverity.Warning, node, sample.Step,
                    $"update-to-weight ratio ‖Δw‖/‖w‖ of {parameter.Name} is {Scientific(ratio)}, below {Scientific(Thresholds.UpdateRatioLow)} (healthy: about {Scientific(DiagnosticThresholds.HealthyUpdateRatio)}): the weights hardly move",
                    $"Raise the learning rate (now {Scientific(sample.LearningRate)})", ratio, Thresholds.UpdateRatioLow) { Parameter = parameter.Name });
        }
    }

    /// <summary>
    /// The relative gradient <c>ρ = ‖∂L/∂W‖/‖W‖</c> of each weight matrix or kernel, in graph order, against the last one's
    /// (the layer nearest the loss): in a healthy network they stay within a factor of a few (ReLU with He initialization,
    /// batch norm); through saturated sigmoids each layer back shrinks the gradient, so the first layers' ρ fall by
    /// orders of magnitude and those layers barely learn. Scale-free, so layers of any size compare.
    /// </summary>
    void ExamineGradientDepth(TrainingSample sample, List<Diagnostic> found)
    {
        var layers = sample.Parameters
            .Where(p => weightMatrices.Contains(p.Name) && p.WeightNorm > 0 && double.IsFinite(p.GradNorm / p.WeightNorm))
            .Select(p => (p.Name, Node: NodeOf(p.Name), Relative: p.GradNorm / p.WeightNorm))
            .OrderBy(l => nodeOrder.GetValueOrDefault(l.Node, int.MaxValue))
            .ToArray();
        if (layers.Length < Thresholds.MinimumDepth || !(layers[^1].Relative > 0)) return;
        var last = layers[^1];
        foreach (var layer in layers[..^1])
        {
            double ratio = layer.Relative / last.Relative;
            if (ratio < Thresholds.VanishingRatio)
                found.Add(new Diagnostic(DiagnosticKind.VanishingGradient, DiagnosticSeverity.Warning, layer.Node, sample.Step,
                    $"relative gradient ‖∂L/∂W‖/‖W‖ {Scientific(layer.Relative)} is {Percent(ratio)} of {last.Node}'s {Scientific(last.Relative)} (threshold {Percent(Thresholds.VanishingRatio)}): the gradient fades on its way back and this layer barely learns",
                    "Use ReLU instead of sigmoid/tanh, with He initialization; add batch norm (or residual connections in deep networks)",
                    ratio, Thresholds.VanishingRatio) { Parameter = layer.Name });
            else if (ratio > Thresholds.ExplodingRatio)
                found.Add(new Diagnostic(DiagnosticKind.ExplodingGradient, DiagnosticSeverity.Warning, layer.Node, sample.Step,
                    $"relative gradient ‖∂L/∂W‖/‖W‖ {Scientific(layer.Relative)} is {ratio.ToString("0.#", Invariant)}× {last.Node}'s {Scientific(last.Relative)} (threshold {Thresholds.ExplodingRatio.ToString("0.#", Invariant)}×)",
                    "Lower the learning rate, clip the gradients, use He or Xavier initialization (not N(0, 1)) and batch norm",
                    ratio, Thresholds.ExplodingRatio) { Parameter = layer.Name });
        }
    }

    void JudgeLoss(List<Diagnostic> items, long step)
    {
        const string remedy = "Lower the learning rate (try a tenth), add gradient clipping or a warm-up; restart from the last good checkpoint";
        if (firstNonFiniteLoss is { } bad)
        {
            items.Add(new Diagnostic(DiagnosticKind.Diverged, DiagnosticSeverity.Error, null, step,
                $"the loss became {(double.IsNaN(bad.Loss) ? "NaN" : "∞")} at step {bad.Step:N0} (threshold: a finite loss)",
                remedy, bad.Loss, double.NaN));
            return;
        }
        // the starting level: the mean of the first losses, which for a run resumed from trained weights includes the
        // rise of the optimizer's first steps (a fresh Adam moves every weight by about the rate), not one lucky batch
        if (start.Count < RecentLosses || lossesAfterStart == 0) return;
        double first = start.Sum / start.Count;
        int recent = (int)Math.Min(lossesAfterStart, RecentLosses);
        double sum = 0; // oldest to newest, as the values came
        for (long i = lossesAfterStart - recent; i < lossesAfterStart; i++) sum += recentLosses[i % RecentLosses];
        double mean = sum / recent;
        if (first > 0 && mean > Thresholds.DivergedLossFactor * first)
            items.Add(new Diagnostic(DiagnosticKind.Diverged, DiagnosticSeverity.Error, null, step,
                $"the loss rose to {mean.ToString("G4", Invariant)} (mean of the last {recent}), more than {Thresholds.DivergedLossFactor.ToString("0.#", Invariant)}× its starting level {first.ToString("G4", Invariant)} (mean of the first {start.Count}, steps {start.FirstStep:N0}–{start.LastStep:N0})",
                remedy, mean, Thresholds.DivergedLossFactor * first));
    }

    void JudgeEvaluations(List<Diagnostic> items)
    {
        if (evaluations.Count == 0) return;
        var latest = evaluations[^1];
        double chance = latest.Classes > 0 ? 1.0 / latest.Classes : double.NaN;
        if (latest.Accuracy <= Thresholds.ChanceFactor * chance)
            items.Add(new Diagnostic(DiagnosticKind.NotLearning, DiagnosticSeverity.Error, null, latest.Step,
                $"test accuracy {Percent(latest.Accuracy)} after epoch {latest.Epoch + 1} is chance level for {latest.Classes} classes (threshold {Thresholds.ChanceFactor.ToString("0.##", Invariant)} × 1/{latest.Classes} = {Percent(Thresholds.ChanceFactor * chance)})",
                "If the loss jumped or went NaN, lower the learning rate; if it stayed flat, raise it (and use ReLU with He initialization); check that the labels match the images",
                latest.Accuracy, Thresholds.ChanceFactor * chance));
        if (evaluations.Count < 2) return;
        var best = evaluations[..^1].MaxBy(e => e.Accuracy);
        if (latest.Accuracy > best.Accuracy - Thresholds.OverfittingDrop) return;
        if (TrainAccuracy(best.Epoch) is not double before || TrainAccuracy(latest.Epoch) is not double now || !(now > before)) return;
        items.Add(new Diagnostic(DiagnosticKind.Overfitting, DiagnosticSeverity.Warning, null, latest.Step,
            $"test accuracy fell from {Percent(best.Accuracy)} (epoch {best.Epoch + 1}) to {Percent(latest.Accuracy)} (epoch {latest.Epoch + 1}) while training accuracy rose from {Percent(before)} to {Percent(now)} (threshold: a fall of {Percent(Thresholds.OverfittingDrop)})",
            $"Regularize: weight decay or an L2 penalty, dropout, data augmentation; or stop early and keep epoch {best.Epoch + 1}'s weights; more training data helps",
            best.Accuracy - latest.Accuracy, Thresholds.OverfittingDrop));
    }

    /// <summary>The mean batch accuracy of the samples of <paramref name="epoch"/>; null when none was sampled.</summary>
    double? TrainAccuracy(int epoch) => trainAccuracy.TryGetValue(epoch, out var a) && a.Count > 0 ? a.Sum / a.Count : null;

    const string NonFiniteRemedy = "Lower the learning rate and clip the gradients; check the inputs for NaN; once in the weights NaN stays: restart from a checkpoint";

    /// <summary>The node a state-dict name belongs to: <c>conv1.weight</c> → <c>conv1</c>.</summary>
    internal static string NodeOf(string parameter) => parameter[..Math.Max(0, parameter.LastIndexOf('.'))];

    /// <summary>0.623 → "62.3 %".</summary>
    static string Percent(double fraction) => (100 * fraction).ToString("0.#", Invariant) + " %";

    /// <summary>0.00123 → "1.2e-3".</summary>
    static string Scientific(double value) => value.ToString("0.0e0", Invariant);
}

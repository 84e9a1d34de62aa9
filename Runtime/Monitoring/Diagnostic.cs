namespace NeuroPlugin.Monitoring;

/// <summary>What a <see cref="Diagnostic"/> found (CS231n's checks of a network that learns badly).</summary>
public enum DiagnosticKind
{
    /// <summary>A ReLU whose channels output 0 for the whole batch: they pass no gradient and no longer learn.</summary>
    DeadReLU,
    /// <summary>A sigmoid, tanh or hard sigmoid whose outputs sit at its bounds, where the derivative vanishes.</summary>
    Saturated,
    /// <summary>An update-to-weight ratio far above ~10⁻³: the learning rate is too high.</summary>
    UpdateTooLarge,
    /// <summary>An update-to-weight ratio far below ~10⁻³: the learning rate is too low.</summary>
    UpdateTooSmall,
    /// <summary>The first layers' relative gradients are orders of magnitude below the last layer's.</summary>
    VanishingGradient,
    /// <summary>The first layers' relative gradients are far above the last layer's.</summary>
    ExplodingGradient,
    /// <summary>NaN or ±∞ in weights, gradients or activations.</summary>
    NonFinite,
    /// <summary>The loss became NaN or ∞, or rose far above where it started.</summary>
    Diverged,
    /// <summary>Test accuracy at chance level after an epoch.</summary>
    NotLearning,
    /// <summary>Test accuracy falling while training accuracy rises.</summary>
    Overfitting,
}

/// <summary>How bad a <see cref="Diagnostic"/> is: a warning (the run may still learn) or an error (it cannot).</summary>
public enum DiagnosticSeverity
{
    /// <summary>Something looks wrong but the run may still learn (e.g. dead channels, a plateau); worth a look.</summary>
    Warning,
    /// <summary>The run cannot learn as it is (e.g. the loss diverged to NaN); stop and change something.</summary>
    Error,
}

/// <summary>
/// One finding about a run, from the monitor's numbers: what (<see cref="Kind"/>), where (<see cref="Node"/>, null for the
/// whole run), a sentence that states the measured value and the threshold it crossed, and the course's remedy.
/// </summary>
/// <param name="Kind">What was found.</param>
/// <param name="Severity">Warning or error.</param>
/// <param name="Node">The graph node concerned (the one whose output or weights show it); null for the run as a whole.</param>
/// <param name="Step">The step of the numbers it was judged on.</param>
/// <param name="Message">What was measured against which threshold, e.g. "62 % of its 120 channels output 0 … (threshold 50 %)"
/// (without the <see cref="Title"/>, which is shown before it).</param>
/// <param name="Remedy">What the course prescribes (ReLU, He initialization, batch norm, a lower or higher rate, regularization).</param>
/// <param name="Value">The measured value (a fraction, a ratio, a loss, an accuracy).</param>
/// <param name="Threshold">The threshold it crossed.</param>
public sealed record Diagnostic(DiagnosticKind Kind, DiagnosticSeverity Severity, string? Node, long Step, string Message, string Remedy,
    double Value, double Threshold)
{
    /// <summary>The parameter concerned (<c>conv1.weight</c>) for the checks made on weights; null otherwise.</summary>
    public string? Parameter { get; init; }

    /// <summary>The kind's name in the JSON form and the protocol: <c>deadRelu</c>, <c>saturated</c>, <c>updateTooLarge</c>,
    /// <c>updateTooSmall</c>, <c>vanishingGradient</c>, <c>explodingGradient</c>, <c>nonFinite</c>, <c>diverged</c>,
    /// <c>notLearning</c>, <c>overfitting</c>.</summary>
    public string KindName => NameOf(Kind);

    /// <summary>The JSON name of <paramref name="kind"/> (see <see cref="KindName"/>).</summary>
    public static string NameOf(DiagnosticKind kind) => kind switch
    {
        DiagnosticKind.DeadReLU => "deadRelu",
        _ => char.ToLowerInvariant(kind.ToString()[0]) + kind.ToString()[1..],
    };

    /// <summary>What the finding is called where it is shown (a node's label, a list's heading, the console): "dead ReLUs",
    /// "saturated", "update too large", "update too small", "vanishing gradient", "exploding gradient", "NaN or ∞", "the
    /// run diverged", "not learning", "overfitting". <see cref="Message"/> follows it and does not repeat it.</summary>
    public string Title => TitleOf(Kind);

    /// <summary>The title of <paramref name="kind"/> (see <see cref="Title"/>).</summary>
    public static string TitleOf(DiagnosticKind kind) => kind switch
    {
        DiagnosticKind.DeadReLU => "dead ReLUs",
        DiagnosticKind.Saturated => "saturated",
        DiagnosticKind.UpdateTooLarge => "update too large",
        DiagnosticKind.UpdateTooSmall => "update too small",
        DiagnosticKind.VanishingGradient => "vanishing gradient",
        DiagnosticKind.ExplodingGradient => "exploding gradient",
        DiagnosticKind.NonFinite => "NaN or ∞",
        DiagnosticKind.Diverged => "the run diverged",
        DiagnosticKind.NotLearning => "not learning",
        DiagnosticKind.Overfitting => "overfitting",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a diagnostic kind"),
    };

    /// <summary>"warning" or "error".</summary>
    public string SeverityName => Severity == DiagnosticSeverity.Error ? "error" : "warning";

    /// <summary>"fc1: vanishing gradient: relative gradient … (threshold 2 %) …. Use ReLU …", one line for a console.</summary>
    public override string ToString() => $"{(Node is null ? "" : Node + ": ")}{Title}: {Message}. {Remedy}";
}

/// <summary>The diagnostics in force at a step: what <see cref="TrainingDiagnostics"/> holds after that step's numbers.</summary>
/// <param name="Step">The latest step judged.</param>
/// <param name="Items">Every finding in force, run-level ones first, then by node in graph order.</param>
public sealed record DiagnosticReport(long Step, IReadOnlyList<Diagnostic> Items)
{
    /// <summary>Whether the run diverged (<see cref="DiagnosticKind.Diverged"/> is in force).</summary>
    public bool Diverged => Items.Any(d => d.Kind == DiagnosticKind.Diverged);
}

/// <summary>
/// The thresholds of <see cref="TrainingDiagnostics"/>, each stated in the message of the finding it triggers. The defaults
/// follow CS231n's rules of thumb and were checked against healthy runs (LeNet-5 with SGD or Adam, deep ReLU networks with
/// He initialization) and sick ones (sigmoid with N(0, 1) weights, rates of 10³); see <c>Documentation~/Monitoring.md</c>.
/// </summary>
public sealed record DiagnosticThresholds
{
    /// <summary>The update-to-weight ratio CS231n calls healthy: about 10⁻³.</summary>
    public const double HealthyUpdateRatio = 1e-3;

    /// <summary>A ReLU is flagged when at least this fraction of its channels is dead for the whole batch. Default 0.5.</summary>
    public double DeadFraction { get; init; } = 0.5;
    /// <summary>A saturating activation is flagged when at least this fraction of its outputs is within 2 % of a bound. Default 0.3.</summary>
    public double SaturatedFraction { get; init; } = 0.3;
    /// <summary>‖Δw‖/‖w‖ above this: the rate is too high. Default 0.1, two orders of magnitude above 10⁻³.</summary>
    public double UpdateRatioHigh { get; init; } = 1e-1;
    /// <summary>‖Δw‖/‖w‖ below this: the rate is too low. Default 10⁻⁵, two orders of magnitude below 10⁻³.</summary>
    public double UpdateRatioLow { get; init; } = 1e-5;
    /// <summary>"Too low" is not judged while the rate is below this fraction of the highest rate of the run (a schedule
    /// annealing it on purpose) or rising (a warm-up). Default 0.1.</summary>
    public double DecayedRateFraction { get; init; } = 0.1;
    /// <summary>A layer's relative gradient <c>‖∂L/∂W‖/‖W‖</c> below this fraction of the last layer's: the gradient
    /// vanishes. Default 0.02, a factor of 50 (healthy networks stay above 0.05: LeNet-5 late in training, deep ReLU
    /// networks with He initialization above 0.1; ten sigmoid layers with N(0, 1) weights fall below 0.01).</summary>
    public double VanishingRatio { get; init; } = 0.02;
    /// <summary>A layer's relative gradient above this multiple of the last layer's: the gradient explodes. Default 20.</summary>
    public double ExplodingRatio { get; init; } = 20;
    /// <summary>Weight layers a network needs before vanishing or exploding gradients are judged. Default 3.</summary>
    public int MinimumDepth { get; init; } = 3;
    /// <summary>The run diverged when the mean of its last three losses exceeds this multiple of the mean of its first three.
    /// Default 3.</summary>
    public double DivergedLossFactor { get; init; } = 3;
    /// <summary>Test accuracy at or below this multiple of chance (1/K) after an epoch: the network is not learning. Default 1.5.</summary>
    public double ChanceFactor { get; init; } = 1.5;
    /// <summary>Overfitting: test accuracy this far below its best while training accuracy rose since. Default 0.01 (1 point).</summary>
    public double OverfittingDrop { get; init; } = 0.01;
    /// <summary>Consecutive samples a per-sample finding must hold before it is reported (non-finite values: at once). Default 2.</summary>
    public int Persistence { get; init; } = 2;
}

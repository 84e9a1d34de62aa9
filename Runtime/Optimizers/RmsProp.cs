using System.Text.Json.Nodes;

namespace NeuroPlugin.Optimizers;

/// <summary>
/// RMSProp as PyTorch's <c>RMSprop</c> (not centered): <c>g = ∇E + λ·w</c>, <c>h ← α·h + (1 − α)·g²</c>,
/// <c>w ← w − ε·g / (√h + θ)</c>; with momentum μ, <c>v ← μ·v + g / (√h + θ)</c>, <c>w ← w − ε·v</c>.
/// A moving average replaces AdaGrad's sum, so the rate does not stall. State: <c>square_avg</c> h, and
/// <c>momentum_buffer</c> v when μ &gt; 0.
/// </summary>
public sealed class RmsProp : Optimizer
{
    static readonly string[] Keys = ["square_avg"];
    static readonly string[] MomentumState = ["square_avg", "momentum_buffer"];

    /// <param name="learningRate">ε, positive (PyTorch's default 0.01).</param>
    /// <param name="alpha">The smoothing constant α in [0, 1) (PyTorch's 0.99).</param>
    /// <param name="epsilon">θ &gt; 0 added to √h (PyTorch's 1e-8).</param>
    /// <param name="weightDecay">λ ≥ 0, coupled.</param>
    /// <param name="momentum">μ in [0, 1).</param>
    public RmsProp(float learningRate, float alpha = 0.99f, float epsilon = 1e-8f, float weightDecay = 0f, float momentum = 0f) : base(learningRate, weightDecay)
    {
        Alpha = HyperParameter.Fraction(alpha, nameof(alpha));
        Epsilon = HyperParameter.Positive(epsilon, nameof(epsilon));
        Momentum = HyperParameter.Fraction(momentum, nameof(momentum));
    }

    /// <summary><c>rmsprop</c>.</summary>
    public override string Name => "rmsprop";

    /// <summary>α, the decay of the squared-gradient average.</summary>
    public float Alpha { get; }
    /// <summary>θ, added to the root of the average.</summary>
    public float Epsilon { get; }
    /// <summary>μ; 0 for none.</summary>
    public float Momentum { get; }

    /// <summary><c>square_avg</c> (h), and <c>momentum_buffer</c> (v) when μ &gt; 0; each the parameter's shape.</summary>
    protected override IReadOnlyList<string> StateNames => Momentum > 0f ? MomentumState : Keys;

    /// <inheritdoc/>
    protected override UpdateRule Rule => new(UpdateRuleKind.RmsProp, LearningRate, Momentum, Alpha: Alpha, Epsilon: Epsilon);

    /// <summary>Adds <c>alpha</c>, <c>epsilon</c> and <c>momentum</c>.</summary>
    protected override void DescribeRule(JsonObject description)
    {
        description["alpha"] = Alpha;
        description["epsilon"] = Epsilon;
        description["momentum"] = Momentum;
    }

    /// <summary><c>rmsprop</c>: base rate 0.001 (Keras's default; PyTorch's 0.01 is large for its 1/√h scaling), μ 0.</summary>
    internal static OptimizerKind Kind { get; } = new("rmsprop", "RMSProp: h ← α·h + (1 − α)·g², w ← w − ε·g / (√h + θ), with optional momentum μ", 0.001f,
        usesMomentum: true, 0f, 0f, (lr, mu, decay) => new RmsProp(lr, weightDecay: decay, momentum: mu),
        d => new RmsProp(d.LearningRate, d.Float("alpha"), d.Float("epsilon"), d.Float("weightDecay"), d.Float("momentum")));
}

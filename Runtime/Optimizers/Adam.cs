using System.Text.Json.Nodes;

namespace NeuroPlugin.Optimizers;

/// <summary>
/// Adam as PyTorch's <c>Adam</c> (not AMSGrad): Momentum's moving average of the gradients plus RMSProp's
/// moving average of their squares, both corrected for starting at zero. At step t:
/// <c>g = ∇E + λ·w</c>, <c>m ← β₁·m + (1 − β₁)·g</c>, <c>v ← β₂·v + (1 − β₂)·g²</c>,
/// <c>w ← w − ε·m̂ / (√v̂ + θ)</c> with <c>m̂ = m / (1 − β₁ᵗ)</c>, <c>v̂ = v / (1 − β₂ᵗ)</c>.
/// State: <c>exp_avg</c> m and <c>exp_avg_sq</c> v; t is <see cref="Optimizer.StepCount"/>, kept on the host.
/// </summary>
public class Adam : Optimizer
{
    static readonly string[] Keys = ["exp_avg", "exp_avg_sq"];
    readonly bool decoupled;

    /// <param name="learningRate">ε, positive (PyTorch's default 0.001).</param>
    /// <param name="beta1">β₁ in [0, 1) (0.9).</param>
    /// <param name="beta2">β₂ in [0, 1) (0.999).</param>
    /// <param name="epsilon">θ &gt; 0 (1e-8).</param>
    /// <param name="weightDecay">λ ≥ 0, coupled to the gradient (L2), as torch.optim.Adam.</param>
    public Adam(float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0f)
        : this(learningRate, beta1, beta2, epsilon, weightDecay, decoupled: false) { }

    private protected Adam(float learningRate, float beta1, float beta2, float epsilon, float weightDecay, bool decoupled) : base(learningRate, weightDecay)
    {
        Beta1 = HyperParameter.Fraction(beta1, nameof(beta1));
        Beta2 = HyperParameter.Fraction(beta2, nameof(beta2));
        Epsilon = HyperParameter.Positive(epsilon, nameof(epsilon));
        this.decoupled = decoupled;
    }

    /// <summary><c>adam</c>.</summary>
    public override string Name => "adam";

    /// <summary>β₁, the decay of the gradient average.</summary>
    public float Beta1 { get; }
    /// <summary>β₂, the decay of the squared-gradient average.</summary>
    public float Beta2 { get; }
    /// <summary>θ, added to √v̂.</summary>
    public float Epsilon { get; }

    /// <summary><c>exp_avg</c> (m) and <c>exp_avg_sq</c> (v), each the parameter's shape.</summary>
    protected override IReadOnlyList<string> StateNames => Keys;

    /// <inheritdoc/>
    protected override UpdateRule Rule =>
        new(UpdateRuleKind.Adam, LearningRate, Epsilon: Epsilon, Beta1: Beta1, Beta2: Beta2, DecoupledWeightDecay: decoupled, Step: StepCount);

    /// <summary>Adds <c>beta1</c>, <c>beta2</c> and <c>epsilon</c>; AdamW's decoupling is its type.</summary>
    protected override void DescribeRule(JsonObject description)
    {
        description["beta1"] = Beta1;
        description["beta2"] = Beta2;
        description["epsilon"] = Epsilon;
    }

    /// <summary><c>adam</c>, PyTorch's default rate 0.001.</summary>
    internal static OptimizerKind Kind { get; } = new("adam", "Adam: moving averages of g and g², bias-corrected; coupled weight decay", 0.001f,
        usesMomentum: false, 0.9f, 0f, (lr, _, decay) => new Adam(lr, weightDecay: decay),
        d => new Adam(d.LearningRate, d.Float("beta1"), d.Float("beta2"), d.Float("epsilon"), d.Float("weightDecay")));
}

/// <summary>
/// AdamW as PyTorch's <c>AdamW</c>: Adam with weight decay decoupled from the gradient, <c>w ← w·(1 − ε·λ)</c>
/// before the Adam step on <c>g = ∇E</c>, so the decay is not rescaled by Adam's per-parameter rate.
/// </summary>
public sealed class AdamW : Adam
{
    /// <param name="learningRate">ε, positive (PyTorch's default 0.001).</param>
    /// <param name="beta1">β₁ in [0, 1) (0.9).</param>
    /// <param name="beta2">β₂ in [0, 1) (0.999).</param>
    /// <param name="epsilon">θ &gt; 0 (1e-8).</param>
    /// <param name="weightDecay">λ ≥ 0 of the decoupled decay (PyTorch's default 0.01).</param>
    public AdamW(float learningRate, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0.01f)
        : base(learningRate, beta1, beta2, epsilon, weightDecay, decoupled: true) { }

    /// <summary><c>adamw</c>.</summary>
    public override string Name => "adamw";

    /// <summary><c>adamw</c>, PyTorch's defaults: rate 0.001, weight decay 0.01 (described as Adam is).</summary>
    internal static new OptimizerKind Kind { get; } = new("adamw", "AdamW: Adam with decoupled weight decay w ← w·(1 − ε·λ)", 0.001f,
        usesMomentum: false, 0.9f, 0.01f, (lr, _, decay) => new AdamW(lr, weightDecay: decay),
        d => new AdamW(d.LearningRate, d.Float("beta1"), d.Float("beta2"), d.Float("epsilon"), d.Float("weightDecay")));
}

/// <summary>
/// Adam's bias corrections for step t, computed on the host in double as PyTorch does and handed to the
/// kernels as two floats: <c>StepSize = ε / (1 − β₁ᵗ)</c>, <c>SecondMomentScale = √(1 − β₂ᵗ)</c>, so that
/// <c>w ← w − StepSize·m / (√v / SecondMomentScale + θ)</c>.
/// </summary>
internal readonly record struct AdamCorrection(float StepSize, float SecondMomentScale)
{
    public static AdamCorrection At(float learningRate, float beta1, float beta2, long step) =>
        new((float)(learningRate / (1 - Math.Pow(beta1, step))), (float)Math.Sqrt(1 - Math.Pow(beta2, step)));
}

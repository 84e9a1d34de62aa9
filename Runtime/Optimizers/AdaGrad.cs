using System.Text.Json.Nodes;

namespace NeuroPlugin.Optimizers;

/// <summary>
/// AdaGrad as PyTorch's <c>Adagrad</c> (no rate decay, initial accumulator 0): <c>g = ∇E + λ·w</c>,
/// <c>h ← h + g²</c>, <c>w ← w − ε·g / (√h + θ)</c>. Each parameter's rate shrinks with its own gradient
/// history: good on gentle slopes, but the rate only ever falls, so training can stall. State: <c>sum</c> h.
/// </summary>
public sealed class AdaGrad : Optimizer
{
    static readonly string[] Keys = ["sum"];

    /// <param name="learningRate">ε, positive (PyTorch's default 0.01).</param>
    /// <param name="epsilon">θ &gt; 0 added to √h (PyTorch's 1e-10).</param>
    /// <param name="weightDecay">λ ≥ 0, coupled.</param>
    public AdaGrad(float learningRate, float epsilon = 1e-10f, float weightDecay = 0f) : base(learningRate, weightDecay)
    {
        Epsilon = HyperParameter.Positive(epsilon, nameof(epsilon));
    }

    /// <summary><c>adagrad</c>.</summary>
    public override string Name => "adagrad";

    /// <summary>θ, added to the root of the accumulator.</summary>
    public float Epsilon { get; }

    /// <summary><c>sum</c>: the accumulator h of squared gradients, the parameter's shape.</summary>
    protected override IReadOnlyList<string> StateNames => Keys;

    /// <inheritdoc/>
    protected override UpdateRule Rule => new(UpdateRuleKind.AdaGrad, LearningRate, Epsilon: Epsilon);

    /// <summary>Adds <c>epsilon</c> (θ).</summary>
    protected override void DescribeRule(JsonObject description) => description["epsilon"] = Epsilon;

    /// <summary><c>adagrad</c>, PyTorch's default rate 0.01.</summary>
    internal static OptimizerKind Kind { get; } = new("adagrad", "AdaGrad: h ← h + g², w ← w − ε·g / (√h + θ)", 0.01f, usesMomentum: false, 0.9f, 0f,
        (lr, _, decay) => new AdaGrad(lr, weightDecay: decay), d => new AdaGrad(d.LearningRate, d.Float("epsilon"), d.Float("weightDecay")));
}

using System.Text.Json.Nodes;

namespace NeuroPlugin.Optimizers;

/// <summary>
/// Stochastic gradient descent as PyTorch's <c>SGD</c> (dampening 0): <c>g = ∇E + λ·w</c>; plain
/// <c>w ← w − ε·g</c>; with momentum μ <c>v ← μ·v + g</c>, <c>w ← w − ε·v</c> (the course's
/// <c>V ← μV − ε∇E</c>, <c>w ← w + V</c> with ε factored out of V: momentum smooths SGD's oscillation like a
/// moving average of the gradients); with Nesterov momentum <c>w ← w − ε·(g + μ·v)</c>, a look-ahead step.
/// State: <c>momentum_buffer</c> v when μ &gt; 0.
/// </summary>
public sealed class Sgd : Optimizer
{
    static readonly string[] NoState = [];
    static readonly string[] MomentumState = ["momentum_buffer"];

    /// <param name="learningRate">ε, positive.</param>
    /// <param name="momentum">μ in [0, 1); 0 is plain SGD.</param>
    /// <param name="weightDecay">λ ≥ 0, coupled: <c>g = ∇E + λ·w</c>.</param>
    /// <param name="nesterov">Nesterov momentum (needs μ &gt; 0, as in PyTorch).</param>
    public Sgd(float learningRate, float momentum = 0f, float weightDecay = 0f, bool nesterov = false) : base(learningRate, weightDecay)
    {
        Momentum = HyperParameter.Fraction(momentum, nameof(momentum));
        if (nesterov && momentum == 0f)
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Nesterov momentum needs momentum > 0");
        Nesterov = nesterov;
    }

    /// <summary>"sgd", "momentum" or "nesterov", as <c>neuro train --optimizer</c> names them.</summary>
    public override string Name => Nesterov ? "nesterov" : Momentum > 0f ? "momentum" : "sgd";

    /// <summary>The inertia μ.</summary>
    public float Momentum { get; }

    /// <summary>Whether the step uses Nesterov's look-ahead <c>g + μ·v</c> instead of v.</summary>
    public bool Nesterov { get; }

    /// <summary><c>momentum_buffer</c> (v, the parameter's shape) when μ &gt; 0; none for plain SGD.</summary>
    protected override IReadOnlyList<string> StateNames => Momentum > 0f ? MomentumState : NoState;

    /// <inheritdoc/>
    protected override UpdateRule Rule => new(UpdateRuleKind.Sgd, LearningRate, Momentum, Nesterov);

    /// <summary>Adds <c>momentum</c> and <c>nesterov</c>.</summary>
    protected override void DescribeRule(JsonObject description)
    {
        description["momentum"] = Momentum;
        description["nesterov"] = Nesterov;
    }

    static Sgd Read(OptimizerDescription d) => new(d.LearningRate, d.Float("momentum"), d.Float("weightDecay"), d.Bool("nesterov"));

    /// <summary>The SGD family: <c>sgd</c> (μ = 0), <c>momentum</c> and <c>nesterov</c>; base rate 0.02, μ 0.9 (in PyTorch,
    /// with the same network and data, this gave LeNet-5 88.8 % after 2 epochs with a cosine decay, where plain SGD at a
    /// constant rate gave 86.4–88.0 % over a grid of rates and batch sizes).</summary>
    internal static OptimizerKind[] Kinds { get; } =
    [
        new("sgd", "Plain SGD: w ← w − ε·g", 0.02f, usesMomentum: false, 0.9f, 0f, (lr, _, decay) => new Sgd(lr, 0f, decay), Read),
        new("momentum", "SGD with momentum μ: v ← μ·v + g, w ← w − ε·v", 0.02f, usesMomentum: true, 0.9f, 0f, (lr, mu, decay) => new Sgd(lr, mu, decay), Read),
        new("nesterov", "SGD with Nesterov momentum: w ← w − ε·(g + μ·v)", 0.02f, usesMomentum: true, 0.9f, 0f, (lr, mu, decay) => new Sgd(lr, mu, decay, nesterov: true), Read),
    ];
}

namespace NeuroPlugin.Optimizers;

/// <summary>
/// One update rule as training options name it (<c>neuro train --optimizer adam</c>, the editor's form, a checkpoint's
/// <c>type</c>): its default hyper-parameters, how to build it from options, and how to rebuild it from the description
/// it writes (<see cref="Optimizer.DescribeHyperParameters"/>). Each optimizer class declares its own kinds beside its
/// update rule; <see cref="OptimizerCatalog"/> lists them all.
/// </summary>
public sealed class OptimizerKind
{
    readonly Func<float, float, float, Optimizer> create;
    readonly Func<OptimizerDescription, Optimizer> read;

    /// <param name="name">The name, as <see cref="Optimizer.Name"/> reports it.</param>
    /// <param name="description">One line for help texts and the editor.</param>
    /// <param name="defaultLearningRate">ε when the options give none.</param>
    /// <param name="usesMomentum">Whether the rule has a momentum μ (else the momentum option is ignored).</param>
    /// <param name="defaultMomentum">μ when the options give none.</param>
    /// <param name="defaultWeightDecay">λ when the options give none.</param>
    /// <param name="create">Builds the rule from (ε, μ, λ).</param>
    /// <param name="read">Builds the rule from its description (its own hyper-parameters; the base class adds the rest).</param>
    internal OptimizerKind(string name, string description, float defaultLearningRate, bool usesMomentum, float defaultMomentum, float defaultWeightDecay,
        Func<float, float, float, Optimizer> create, Func<OptimizerDescription, Optimizer> read)
    {
        Name = name;
        Description = description;
        DefaultLearningRate = defaultLearningRate;
        UsesMomentum = usesMomentum;
        DefaultMomentum = defaultMomentum;
        DefaultWeightDecay = defaultWeightDecay;
        this.create = create;
        this.read = read;
    }

    /// <summary>The name (<c>sgd</c>, <c>momentum</c>, <c>nesterov</c>, <c>adagrad</c>, <c>rmsprop</c>, <c>adam</c>, <c>adamw</c>).</summary>
    public string Name { get; }
    /// <summary>One line for help texts and the editor.</summary>
    public string Description { get; }
    /// <summary>The base learning rate ε when the options give none.</summary>
    public float DefaultLearningRate { get; }
    /// <summary>Whether the rule has a momentum μ; when it has none, a momentum option is accepted and ignored.</summary>
    public bool UsesMomentum { get; }
    /// <summary>μ when the options give none (0.9, RMSProp's 0; the value reports show for rules without momentum).</summary>
    public float DefaultMomentum { get; }
    /// <summary>The weight decay λ when the options give none (0; AdamW's 0.01).</summary>
    public float DefaultWeightDecay { get; }

    /// <summary>A new optimizer of this kind with base rate <paramref name="learningRate"/>, momentum
    /// <paramref name="momentum"/> (ignored by rules without one) and weight decay <paramref name="weightDecay"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A hyper-parameter out of its range, named.</exception>
    public Optimizer Create(float learningRate, float momentum, float weightDecay) => create(learningRate, momentum, weightDecay);

    /// <summary>The rule's part of <see cref="Optimizer.FromDescription"/>.</summary>
    internal Optimizer Read(OptimizerDescription description) => read(description);

    /// <summary>The kind's <see cref="Name"/>, e.g. <c>adam</c>.</summary>
    public override string ToString() => Name;
}

/// <summary>
/// Every built-in optimizer by name, in the order help texts and the editor list them: the one list the CLI, the
/// editor, training options and checkpoints use.
/// </summary>
public static class OptimizerCatalog
{
    static readonly OptimizerKind[] kinds = [.. Sgd.Kinds, AdaGrad.Kind, RmsProp.Kind, Adam.Kind, AdamW.Kind];

    /// <summary>sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw.</summary>
    public static IReadOnlyList<OptimizerKind> All => kinds;

    /// <summary>The names of <see cref="All"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = kinds.Select(k => k.Name).ToArray();

    /// <summary>The kind named <paramref name="name"/> (ordinal, lower case), or null.</summary>
    public static OptimizerKind? Find(string name) => Array.Find(kinds, k => k.Name == name);
}

namespace NeuroPlugin.Optimizers;

/// <summary>
/// A set of parameters that a setting applies to (weight decay, an L1/L2 term), like a PyTorch parameter
/// group but chosen by a predicate on the parameter tensor (its state-dict name, e.g. <c>conv1.weight</c>,
/// and its shape). The predicate runs once per parameter, on the optimizer's first step.
/// </summary>
public sealed class ParameterGroup
{
    readonly Func<Tensor, bool> contains;

    /// <param name="name">For reports: "weights", "conv layers", ….</param>
    /// <param name="contains">True for the parameters in the group.</param>
    public ParameterGroup(string name, Func<Tensor, bool> contains)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(contains);
        Name = name;
        this.contains = contains;
    }

    /// <summary>For reports.</summary>
    public string Name { get; }

    /// <summary>Whether <paramref name="parameter"/> is in the group.</summary>
    public bool Contains(Tensor parameter) => contains(parameter);

    /// <summary>Every parameter (torch.optim's single default group).</summary>
    public static ParameterGroup All { get; } = new("all", _ => true);

    /// <summary>Weight matrices and convolution kernels: parameters of rank ≥ 2 (the usual PyTorch recipe
    /// <c>p.ndim &gt;= 2</c>). Leaves out biases and normalization scales and shifts, which a penalty
    /// should not pull to zero.</summary>
    public static ParameterGroup Weights { get; } = new("weights", p => p.Shape.Rank >= 2);

    /// <summary>Parameters of rank 1: biases, normalization scales and shifts.</summary>
    public static ParameterGroup Vectors { get; } = new("vectors", p => p.Shape.Rank < 2);

    /// <summary>Parameters whose name ends with <paramref name="suffix"/> (".bias", "fc3.weight").</summary>
    public static ParameterGroup NameEndsWith(string suffix)
    {
        ArgumentException.ThrowIfNullOrEmpty(suffix);
        return new($"*{suffix}", p => p.Name.EndsWith(suffix, StringComparison.Ordinal));
    }

    /// <summary>The built-in group of <see cref="Name"/> <paramref name="name"/>: <c>all</c>, <c>weights</c>, <c>vectors</c>, or
    /// <c>*suffix</c> (<see cref="NameEndsWith"/>); null for any other name (a group made with its own predicate).</summary>
    public static ParameterGroup? Parse(string name) => name switch
    {
        "all" => All,
        "weights" => Weights,
        "vectors" => Vectors,
        _ when name.Length > 1 && name[0] == '*' => NameEndsWith(name[1..]),
        _ => null,
    };

    /// <summary>The group's <see cref="Name"/>: <c>all</c>, <c>weights</c>, <c>vectors</c>, <c>*suffix</c> or a caller's own.</summary>
    public override string ToString() => Name;
}

using System.Text.Json.Nodes;

namespace NeuroPlugin.Optimizers;

/// <summary>
/// One L1/L2 term of a <see cref="Regularizer"/>: the course's penalty <c>(1/p)·λ·‖w‖ₚᵖ</c> for p = 1 and
/// p = 2 on every parameter of <see cref="Parameters"/>, i.e. <c>λ₁·Σ|w| + (λ₂/2)·Σw²</c>, whose gradient is
/// <c>λ₁·sign(w) + λ₂·w</c>. (With this convention λ₂ equals the coupled weight decay it is equivalent to
/// under SGD.)
/// </summary>
public sealed class RegularizationTerm
{
    /// <param name="parameters">The parameters penalized.</param>
    /// <param name="l1">λ₁ ≥ 0 (lasso: drives weights to exactly zero).</param>
    /// <param name="l2">λ₂ ≥ 0 (ridge: keeps weights small).</param>
    public RegularizationTerm(ParameterGroup parameters, float l1 = 0f, float l2 = 0f)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters;
        L1 = HyperParameter.NonNegative(l1, nameof(l1));
        L2 = HyperParameter.NonNegative(l2, nameof(l2));
    }

    /// <summary>The parameters this term penalizes (chosen on the optimizer's first step).</summary>
    public ParameterGroup Parameters { get; }
    /// <summary>λ₁.</summary>
    public float L1 { get; }
    /// <summary>λ₂.</summary>
    public float L2 { get; }
}

/// <summary>
/// L1/L2 regularization per parameter group, on the device. Each step (run by <see cref="Optimizer.Step"/>,
/// before clipping and the update) it adds <c>λ₁·sign(w) + λ₂·w</c> to every gradient of a penalized
/// parameter and computes the penalty <c>Σ_terms λ₁·Σ|w| + (λ₂/2)·Σw²</c> of the weights before the update
/// into <see cref="Penalty"/> (1), so the objective is <c>E + penalty</c>. Terms whose groups overlap add up.
/// Decoupled weight decay (AdamW) is the optimizer's, not a penalty.
/// </summary>
public sealed class Regularizer : IDisposable
{
    // The penalized parameters (those with λ₁ or λ₂ ≠ 0), resolved on the first step: their indices in Step's arrays,
    // their summed λ₁ and λ₂ over the terms that hold them, and arrays their tensors are gathered into each step.
    int[] penalized = [];
    float[] l1 = [], l2 = [];
    Tensor[] penalizedParameters = [], penalizedGradients = [];

    /// <summary>A regularizer applying every one of <paramref name="terms"/>; where groups overlap, a parameter's λ₁ and λ₂ are the sums over its terms.</summary>
    public Regularizer(params RegularizationTerm[] terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        Terms = [.. terms];
    }

    /// <summary>L1 with strength <paramref name="l1"/> and L2 with <paramref name="l2"/> on <paramref name="parameters"/>
    /// (the weight matrices and kernels when null).</summary>
    public static Regularizer Create(float l1, float l2, ParameterGroup? parameters = null) =>
        new(new RegularizationTerm(parameters ?? ParameterGroup.Weights, l1, l2));

    /// <summary>The L1/L2 terms, in the order given.</summary>
    public IReadOnlyList<RegularizationTerm> Terms { get; }

    /// <summary>The terms as JSON, <c>[{"parameters": group name, "l1", "l2"}]</c> (part of
    /// <see cref="Optimizer.DescribeHyperParameters"/>).</summary>
    public JsonArray Describe() => new(Terms.Select(t => (JsonNode)new JsonObject
    {
        ["parameters"] = t.Parameters.Name,
        ["l1"] = t.L1,
        ["l2"] = t.L2,
    }).ToArray());

    /// <summary>The penalty of the last step's weights, on the device (1); null before the first step.</summary>
    public Tensor? Penalty { get; private set; }

    /// <summary>Reads <see cref="Penalty"/> back (waits for the device); 0 before the first step.</summary>
    public float ReadPenalty()
    {
        if (Penalty is null) return 0f;
        Span<float> value = stackalloc float[1];
        Penalty.Download(value);
        return value[0];
    }

    /// <summary>Adds the penalty's gradient to <paramref name="gradients"/> and its value to <see cref="Penalty"/>.</summary>
    internal void Apply(IBackend backend, Tensor[] parameters, Tensor[] gradients)
    {
        if (Penalty is null) Prepare(backend, parameters);
        backend.Fill(Penalty!, 0f);
        if (penalized.Length == 0) return;
        for (int j = 0; j < penalized.Length; j++)
            (penalizedParameters[j], penalizedGradients[j]) = (parameters[penalized[j]], gradients[penalized[j]]);
        backend.AddNormPenalties(penalizedParameters, penalizedGradients, Penalty!, l1, l2);
    }

    void Prepare(IBackend backend, Tensor[] parameters)
    {
        var lasso = new float[parameters.Length];
        var ridge = new float[parameters.Length];
        for (int i = 0; i < parameters.Length; i++)
            foreach (var term in Terms)
                if (term.Parameters.Contains(parameters[i]))
                {
                    lasso[i] += term.L1;
                    ridge[i] += term.L2;
                }
        penalized = Enumerable.Range(0, parameters.Length).Where(i => lasso[i] != 0f || ridge[i] != 0f).ToArray();
        l1 = penalized.Select(i => lasso[i]).ToArray();
        l2 = penalized.Select(i => ridge[i]).ToArray();
        penalizedParameters = new Tensor[penalized.Length];
        penalizedGradients = new Tensor[penalized.Length];
        Penalty = backend.Allocate(new TensorShape(1), "penalty");
    }

    /// <summary>Releases the penalty tensor. Safe to call twice.</summary>
    public void Dispose()
    {
        Penalty?.Dispose();
        Penalty = null;
    }
}

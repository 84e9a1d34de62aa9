using System.Text.Json.Nodes;

namespace NeuroPlugin.Optimizers;

// What a checkpoint keeps of an optimizer, written and read by the optimizer itself: its type and hyper-parameters as
// JSON (the shared ones here, each rule's own in DescribeRule and its OptimizerKind's reader, side by side in the
// rule's file), and its state tensors by PyTorch's state-dict names.
public abstract partial class Optimizer
{
    /// <summary>
    /// The type and hyper-parameters, not the rate (a schedule changes it) nor the state:
    /// <c>{"type", "weightDecay", "weightDecayParameters", "clipGradientNorm", "regularizer": [{"parameters","l1","l2"}] | null,
    /// …the rule's own (DescribeRule)}</c>. <see cref="FromDescription"/> builds an equal optimizer from it, and two
    /// optimizers with equal descriptions update alike.
    /// </summary>
    public JsonObject DescribeHyperParameters()
    {
        var json = new JsonObject
        {
            ["type"] = Name,
            ["weightDecay"] = WeightDecay,
            ["weightDecayParameters"] = WeightDecayParameters.Name,
            ["clipGradientNorm"] = ClipGradientNorm,
            ["regularizer"] = Regularizer?.Describe(),
        };
        DescribeRule(json);
        return json;
    }

    /// <summary>Adds the rule's own hyper-parameters to <paramref name="description"/> (Adam: beta1, beta2, epsilon);
    /// its <see cref="OptimizerKind"/> reads them back.</summary>
    protected abstract void DescribeRule(JsonObject description);

    /// <summary>
    /// The built-in optimizer that <paramref name="description"/> (<see cref="DescribeHyperParameters"/>) describes,
    /// with base rate <paramref name="learningRate"/>; null when its type is not in <see cref="OptimizerCatalog"/>.
    /// </summary>
    /// <param name="description">The JSON written by <see cref="DescribeHyperParameters"/>.</param>
    /// <param name="learningRate">The base rate ε to start from (the description leaves the rate out).</param>
    /// <param name="fieldPrefix">Put in front of field names in messages (<c>training.optimizer.</c>).</param>
    /// <exception cref="FormatException">A field is missing or malformed, a hyper-parameter is out of range, or the
    /// hyper-parameters make another type (an SGD description with momentum 0 and type <c>momentum</c>); names the field.</exception>
    internal static Optimizer? FromDescription(JsonObject description, float learningRate, string fieldPrefix)
    {
        var fields = new OptimizerDescription(description, learningRate, fieldPrefix);
        string type = fields.Type;
        if (OptimizerCatalog.Find(type) is not { } kind) return null;
        var decayGroup = fields.Group("weightDecayParameters");
        Optimizer? optimizer = null;
        try
        {
            optimizer = kind.Read(fields);
            if (optimizer.Name != type)
                throw new FormatException($"{fieldPrefix}type is '{type}' but its hyper-parameters make a '{optimizer.Name}' optimizer");
            optimizer.weightDecayParameters = decayGroup;
            optimizer.ClipGradientNorm = fields.OptionalFloat("clipGradientNorm");
            optimizer.Regularizer = fields.Regularizer();
            return optimizer;
        }
        catch (ArgumentOutOfRangeException e)
        {
            optimizer?.Dispose();
            throw new FormatException($"{fieldPrefix.TrimEnd('.')} ('{type}'): {e.Message}");
        }
        catch
        {
            optimizer?.Dispose();
            throw;
        }
    }

    /// <summary>Every state tensor with its state-dict name <c>&lt;parameter&gt;.&lt;key&gt;</c> (<c>fc.weight.exp_avg</c>), in the
    /// steps' parameter order and <see cref="StateKeys"/> order; none before the state exists.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedState()
    {
        if (state is null) yield break;
        var keys = StateNames;
        for (int i = 0; i < state.Length; i++)
            for (int k = 0; k < keys.Count; k++) yield return ($"{stateParameterNames![i]}.{keys[k]}", state[i][k]);
    }

    /// <summary>
    /// Loads a saved run's state for <paramref name="parameters"/> (allocated as the first step would, on their backend):
    /// each tensor from <paramref name="values"/> by its state-dict name, or, when <paramref name="values"/> is empty
    /// (saved before the first step, as PyTorch keeps no state then), zeros, which that step would have started from.
    /// Sets <see cref="StepCount"/> to <paramref name="stepCount"/>.
    /// </summary>
    /// <exception cref="KeyNotFoundException">A state tensor is missing from a non-empty <paramref name="values"/>.</exception>
    public void LoadState(IReadOnlyList<Tensor> parameters, IReadOnlyDictionary<string, float[]> values, long stepCount)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count > 0)
        {
            AllocateState(parameters[0].Backend, parameters);
            foreach (var (name, tensor) in NamedState())
                tensor.Upload(values.TryGetValue(name, out var saved) ? saved : throw new KeyNotFoundException($"{Name}: no saved state '{name}'"));
        }
        else
        {
            foreach (var (_, tensor) in NamedState()) tensor.Backend.Fill(tensor, 0f);
        }
        StepCount = stepCount;
    }
}

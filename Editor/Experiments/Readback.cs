using NeuroPlugin.Execution;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// The readbacks experiments make at their measurement points (never inside the training loop's steps):
/// gradient norms by parameter name, activations by node name, weights by parameter name.
/// </summary>
internal static class Readback
{
    /// <summary>Sigmoid outputs within this distance of 0 or 1 count as saturated (the course's outputs "at the extremes").</summary>
    public const float SaturationMargin = 0.05f;

    /// <summary>Whether the sigmoid output <paramref name="y"/> is saturated: within <see cref="SaturationMargin"/> of 0 or 1.</summary>
    public static bool Saturated(float y) => y < SaturationMargin || y > 1 - SaturationMargin;

    /// <summary>The Frobenius norm <c>‖∂E/∂w‖ = √(Σ g²)</c> of the gradient of parameter <paramref name="parameter"/>
    /// (e.g. <c>fc1.weight</c>) from the plan's last step.</summary>
    public static double GradientNorm(ExecutionPlan plan, string parameter)
    {
        for (int i = 0; i < plan.Parameters.Count; i++)
            if (plan.Parameters[i].Name == parameter) return Norm(plan.ParameterGradients[i].ToArray());
        throw new ArgumentException($"the plan has no parameter named '{parameter}'", nameof(parameter));
    }

    /// <summary>√(Σ v²), accumulated in double.</summary>
    public static double Norm(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += (double)v * v;
        return Math.Sqrt(sum);
    }

    /// <summary>The values of a named tensor of the plan (a node's output after the last forward).</summary>
    public static float[] Activations(ExecutionPlan plan, string node) => plan.Tensor(node).ToArray();

    /// <summary>Mean and (population) standard deviation.</summary>
    public static (double Mean, double Std) MeanStd(ReadOnlySpan<float> values)
    {
        double sum = 0, sumSquares = 0;
        foreach (float v in values)
        {
            sum += v;
            sumSquares += (double)v * v;
        }
        double mean = sum / values.Length;
        return (mean, Math.Sqrt(Math.Max(0, sumSquares / values.Length - mean * mean)));
    }

    /// <summary>The fraction of <paramref name="values"/> for which <paramref name="predicate"/> holds.</summary>
    public static double Fraction(ReadOnlySpan<float> values, Func<float, bool> predicate)
    {
        int count = 0;
        foreach (float v in values) if (predicate(v)) count++;
        return (double)count / values.Length;
    }

    /// <summary>For activations (N, units) row-major: the largest difference between any unit's value and unit 0's,
    /// over every item. 0 when every unit of the layer computes the same thing (the symmetry of zero initialization).</summary>
    public static double UnitSpread(ReadOnlySpan<float> values, int units)
    {
        double spread = 0;
        for (int row = 0; row + units <= values.Length; row += units)
            for (int j = 1; j < units; j++) spread = Math.Max(spread, Math.Abs(values[row + j] - values[row]));
        return spread;
    }
}

/// <summary>The activations of named nodes for a batch of images, in eval mode (one inference plan, one forward).</summary>
internal static class ActivationSnapshot
{
    /// <summary>Runs <paramref name="images"/> (all of them, as one batch) through <paramref name="network"/> and returns
    /// each node's output, (N,features) flattened row-major, in node order.</summary>
    public static float[][] Take(Network network, ImageDataset images, IReadOnlyList<string> nodes)
    {
        using var plan = ExecutionPlan.ForInference(network, images.Count, fuseLayers: false); // reads layers a fused plan skips
        var loader = new DataLoader(images, images.Count, shuffle: false);
        loader.StartEpoch(0);
        loader.TryNextBatch();
        plan.Input.Upload(loader.Images);
        plan.Forward();
        return nodes.Select(n => Readback.Activations(plan, n)).ToArray();
    }
}

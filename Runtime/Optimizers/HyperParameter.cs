namespace NeuroPlugin.Optimizers;

/// <summary>
/// Checks of optimizer, schedule and regularization settings: each returns the value or throws
/// <see cref="ArgumentOutOfRangeException"/> naming the parameter, so a bad setting fails where it is made.
/// </summary>
internal static class HyperParameter
{
    /// <summary>A finite number &gt; 0 (learning rates, ε, clipping norms).</summary>
    public static float Positive(float value, string name) =>
        value > 0f && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be a positive finite number");

    /// <summary>A finite number ≥ 0 (weight decay, penalty strengths).</summary>
    public static float NonNegative(float value, string name) =>
        value >= 0f && float.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number ≥ 0");

    /// <summary>A decay rate in [0, 1) (momentum, β₁, β₂, RMSProp's α).</summary>
    public static float Fraction(float value, string name) =>
        value >= 0f && value < 1f ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1)");

    /// <summary>A decay factor in (0, 1] (a schedule's γ).</summary>
    public static float Factor(float value, string name) =>
        value > 0f && value <= 1f ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be in (0, 1]");

    /// <summary>A count ≥ <paramref name="minimum"/> (step sizes, warm-up steps).</summary>
    public static long AtLeast(long value, long minimum, string name) =>
        value >= minimum ? value : throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least {minimum}");
}

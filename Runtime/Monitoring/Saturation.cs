namespace NeuroPlugin.Monitoring;

/// <summary>
/// Saturating activations and where their outputs count as saturated: within <see cref="Margin"/> (2 %) of the output
/// range from a bound, where the derivative has all but vanished. Sigmoid and hard sigmoid (range [0, 1]): <c>y ≤ 0.02</c>
/// or <c>y ≥ 0.98</c>; tanh ([−1, 1]): <c>y ≤ −0.96</c> or <c>y ≥ 0.96</c>. Other layers do not saturate.
/// </summary>
public static class Saturation
{
    /// <summary>The fraction of the output range next to each bound that counts as saturated.</summary>
    public const float Margin = 0.02f;

    /// <summary>True for a saturating activation, with the thresholds <c>y ≤ low</c> and <c>y ≥ high</c>.</summary>
    public static bool TryGetBounds(Layer layer, out float low, out float high)
    {
        (float lower, float upper) = layer is Activation activation ? activation.Kind switch
        {
            ActivationKind.Sigmoid or ActivationKind.HardSigmoid => (0f, 1f),
            ActivationKind.Tanh => (-1f, 1f),
            _ => (float.NaN, float.NaN),
        } : (float.NaN, float.NaN);
        bool saturating = !float.IsNaN(lower);
        low = saturating ? lower + Margin * (upper - lower) : float.NegativeInfinity;
        high = saturating ? upper - Margin * (upper - lower) : float.PositiveInfinity;
        return saturating;
    }
}

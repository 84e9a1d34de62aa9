namespace NeuroPlugin.Tests.TestSupport;

/// <summary>Comparisons of float arrays with a stated tolerance.</summary>
public static class TensorAssert
{
    /// <summary>
    /// Asserts <c>|actual − expected| ≤ rtol·max(|expected|, floor)</c> element-wise, where
    /// <c>floor = 1e-2 · max|expected|</c>: a relative check for every element that is not tiny
    /// next to the tensor's scale (sums that cancel to near zero are judged against that scale
    /// instead of against their own tiny magnitude, where float32 rounding alone exceeds any relative bound).
    /// </summary>
    public static void AreClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double rtol, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        double scale = 0;
        foreach (float e in expected) scale = Math.Max(scale, Math.Abs((double)e));
        double floor = 1e-2 * scale;
        double worst = 0; int worstIndex = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(float.IsFinite(actual[i]), Is.True, $"{what}: element {i} is {actual[i]}");
            double error = Math.Abs((double)actual[i] - expected[i]) / Math.Max(Math.Abs((double)expected[i]), Math.Max(floor, 1e-30));
            if (error > worst) { worst = error; worstIndex = i; }
        }
        if (worst > rtol)
            Assert.Fail($"{what}: element {worstIndex} expected {expected[worstIndex]:G9}, got {actual[worstIndex]:G9} (relative error {worst:G3} > {rtol:G3})");
    }
}

namespace NeuroPlugin.Data;

/// <summary>
/// The host-side random draws of one augmentation transform at one step: the sequence
/// <c>u_k = CounterRandom.Uniform(seed, stream, step, k)</c>, k = 0, 1, 2, … (Philox4x32-10, see
/// <see cref="CounterRandom"/>), turned into integers, normals, gammas and betas. A pure function of
/// (seed, stream, step), so a run is reproducible on any backend and the draws of step t do not depend on the
/// steps before it. A struct on the stack: drawing allocates nothing.
/// </summary>
internal struct AugmentationRandom(uint seed, uint stream, uint step)
{
    int next;

    /// <summary>Uniform in [0, 1), 24 bits.</summary>
    public float NextUniform() => CounterRandom.Uniform(seed, stream, step, next++);

    /// <summary>Uniform integer in [0, <paramref name="count"/>), <c>⌊u·count⌋</c>.</summary>
    public int NextInt(int count) => Math.Min((int)(NextUniform() * count), count - 1);

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public double NextUniform(double low, double high) => low + (high - low) * NextUniform();

    /// <summary>A standard normal (Box–Muller; <c>1 − u</c> keeps the logarithm's argument in (0, 1]).</summary>
    public double NextNormal()
    {
        double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - NextUniform()));
        return radius * Math.Cos(2.0 * Math.PI * NextUniform());
    }

    /// <summary>Gamma(α, 1) by Marsaglia and Tsang (2000), boosted with <c>u^(1/α)</c> for α &lt; 1.</summary>
    public double NextGamma(double alpha)
    {
        if (alpha < 1.0) return NextGamma(alpha + 1.0) * Math.Pow(1.0 - NextUniform(), 1.0 / alpha);
        double d = alpha - 1.0 / 3.0, c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double z = NextNormal(), v = 1.0 + c * z;
            if (v <= 0.0) continue;
            v = v * v * v;
            double u = 1.0 - NextUniform();
            if (Math.Log(u) < 0.5 * z * z + d - d * v + d * Math.Log(v)) return d * v;
        }
    }

    /// <summary>Beta(α, β) as <c>G_α / (G_α + G_β)</c> of two gamma draws.</summary>
    public double NextBeta(double alpha, double beta)
    {
        double a = NextGamma(alpha), b = NextGamma(beta);
        return a / (a + b);
    }
}

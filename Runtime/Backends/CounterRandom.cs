namespace NeuroPlugin.Backends;

/// <summary>
/// Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as
/// easy as 1, 2, 3", SC 2011), a pure function of a 128-bit counter and a 64-bit key to four 32-bit words.
/// Any element's number is computed on its own, in any order, on any device, with no generator state to
/// carry between steps; <c>Shaders/random.glsl</c> is the same function in GLSL, and both give bit-identical
/// results (32-bit integer arithmetic only, and an exact conversion to float).
/// <para>Element <c>i</c> of a tensor draws lane <c>i mod 4</c> of
/// <c>Philox(counter = (⌊i/4⌋, step, 0, 0), key = (seed, stream))</c>: the GL kernels handle four elements
/// (one vec4) per invocation and so need one Philox call each. <c>step</c> counts training forwards, so every
/// step draws fresh numbers; <c>stream</c> separates the nodes of one network.</para>
/// </summary>
public static class CounterRandom
{
    const uint MultiplierA = 0xD2511F53, MultiplierB = 0xCD9E8D57; // the Philox S-box multipliers
    const uint WeylA = 0x9E3779B9, WeylB = 0xBB67AE85;               // key schedule: golden ratio, √3 − 1
    const int Rounds = 10;

    /// <summary>Philox4x32-10 of <paramref name="counter"/> under <paramref name="key"/>.</summary>
    public static (uint X, uint Y, uint Z, uint W) Philox4x32((uint X, uint Y, uint Z, uint W) counter, (uint X, uint Y) key)
    {
        var (c0, c1, c2, c3) = counter;
        var (k0, k1) = key;
        for (int round = 0; round < Rounds; round++)
        {
            if (round > 0) { k0 += WeylA; k1 += WeylB; }
            ulong productA = (ulong)MultiplierA * c0, productB = (ulong)MultiplierB * c2;
            uint highA = (uint)(productA >> 32), lowA = (uint)productA;
            uint highB = (uint)(productB >> 32), lowB = (uint)productB;
            (c0, c1, c2, c3) = (highB ^ c1 ^ k0, lowB, highA ^ c3 ^ k1, lowA);
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>A uniform float in [0, 1) from the top 24 bits of <paramref name="bits"/>: <c>(bits ≫ 8)·2⁻²⁴</c>,
    /// exact in float32 on every device.</summary>
    public static float ToUniform(uint bits) => (bits >> 8) * (1f / 16777216f);

    /// <summary>The uniform number element <paramref name="index"/> draws at <paramref name="step"/> of
    /// <paramref name="stream"/> under <paramref name="seed"/> (see the class summary).</summary>
    public static float Uniform(uint seed, uint stream, uint step, int index)
    {
        var bits = Philox4x32(((uint)(index >> 2), step, 0, 0), (seed, stream));
        return ToUniform((index & 3) switch { 0 => bits.X, 1 => bits.Y, 2 => bits.Z, _ => bits.W });
    }

    /// <summary>
    /// The row that batch row <paramref name="batchRow"/> draws from <paramref name="rowCount"/> rows at
    /// <paramref name="step"/> (replay sampling, <see cref="IBackend.GatherRandomRows"/>): lane <c>b mod 4</c> of
    /// <c>Philox((⌊b/4⌋, low32(step), high32(step), 0), (seed, stream))</c>, mapped to <c>[0, rowCount)</c> by the
    /// high word of a 32×32-bit product, <c>⌊bits·rowCount / 2³²⌋</c> (Lemire's multiply-shift: every row's
    /// probability is within <c>rowCount/2³²</c> of uniform, with no division and no loop, the same on a GPU).
    /// </summary>
    public static int RowIndex(uint seed, uint stream, long step, int batchRow, int rowCount)
    {
        var bits = Philox4x32(((uint)(batchRow >> 2), (uint)step, (uint)((ulong)step >> 32), 0), (seed, stream));
        uint lane = (batchRow & 3) switch { 0 => bits.X, 1 => bits.Y, 2 => bits.Z, _ => bits.W };
        return (int)(((ulong)lane * (uint)rowCount) >> 32);
    }
}

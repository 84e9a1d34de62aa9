namespace NeuroPlugin.Data;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, 2014; the generator Java's SplittableRandom and xoshiro's seeding use),
/// a small, fast pseudo-random generator whose output depends only on its 64-bit state, on every platform
/// and .NET version, so a shuffle seeded here is reproducible anywhere (and in a few lines of Python).
/// Each step: <c>state += 0x9E3779B97F4A7C15; z = state; z = (z ^ z≫30)·0xBF58476D1CE4E5B9;
/// z = (z ^ z≫27)·0x94D049BB133111EB; return z ^ z≫31</c> (all mod 2^64).
/// A mutable struct: keep it in a field or a local and call it in place.
/// </summary>
internal struct SplitMix64
{
    ulong state;

    /// <summary>Starts from <paramref name="state"/>; any value, 0 included, is a good seed.</summary>
    public SplitMix64(ulong state) => this.state = state;

    /// <summary>The next 64 random bits.</summary>
    public ulong Next()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>
    /// A uniform integer in <c>0..bound−1</c> (<paramref name="bound"/> &gt; 0), without modulo bias: Lemire's
    /// multiply-shift <c>(r·bound) ≫ 32</c> on the upper 32 bits <c>r</c> of <see cref="Next"/>, redrawing the
    /// rare <c>r</c> whose low product word falls below <c>2^32 mod bound</c>.
    /// </summary>
    public uint NextBelow(uint bound)
    {
        ulong product = (Next() >> 32) * bound;
        if ((uint)product < bound)
        {
            uint threshold = (0u - bound) % bound;
            while ((uint)product < threshold)
                product = (Next() >> 32) * bound;
        }
        return (uint)(product >> 32);
    }
}

// random.glsl: counter-based random numbers, the GLSL twin of Runtime/Backends/CounterRandom.cs.
// Philox4x32-10 (Salmon et al., SC 2011): a pure function of a 128-bit counter and a 64-bit key, 32-bit
// integer arithmetic only, so it gives the same bits as the C# code on every device. Element i of a
// tensor draws lane i mod 4 of philox4x32(uvec4(i / 4, step, 0, 0), uvec2(seed, stream)).

uvec4 philox4x32(uvec4 counter, uvec2 key)
{
    for (int round = 0; round < 10; round++)
    {
        if (round > 0) key += uvec2(0x9E3779B9u, 0xBB67AE85u); // key schedule: golden ratio, sqrt(3) - 1
        uint highA, lowA, highB, lowB;
        umulExtended(0xD2511F53u, counter.x, highA, lowA);
        umulExtended(0xCD9E8D57u, counter.z, highB, lowB);
        counter = uvec4(highB ^ counter.y ^ key.x, lowB, highA ^ counter.w ^ key.y, lowA);
    }
    return counter;
}

// Uniform floats in [0, 1) from the top 24 bits of each word: (bits >> 8) * 2^-24, exact in float32.
vec4 toUniform(uvec4 bits)
{
    return vec4(bits >> 8u) * (1.0 / 16777216.0);
}

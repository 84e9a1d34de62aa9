using System.Buffers.Binary;

namespace NeuroPlugin.Tests.Fuzz;

/// <summary>One way to change a file: returns the changed bytes, or null when it does not apply to this input (a
/// PNG mutation on bytes that no longer parse as chunks). Mutations never change their input array.</summary>
sealed record Mutation(string Name, Func<byte[], Random, byte[]?> Apply)
{
    /// <summary>This mutation <paramref name="times"/> times, for a format's list: drawn that many times as often as an
    /// entry listed once.</summary>
    public IEnumerable<Mutation> Weighted(int times) => Enumerable.Repeat(this, times);
}

/// <summary>
/// A seeded structure-aware mutator: an input is a seed file changed by one to four stacked mutations, each drawn from
/// the format's own mutations (headers, lengths, offsets, metadata fields, protobuf fields, shapes, dtype strings,
/// chunk and segment fields: <see cref="SafeTensorsMutations"/>, <see cref="ProtobufMutations"/>,
/// <see cref="ArrayFileMutations"/>, <see cref="ImageMutations"/>) seven times in ten and from the byte-level ones
/// (<see cref="ByteMutations"/>: bit flips, interesting integers, truncations, chunk copies and deletions) otherwise.
/// Input <c>i</c> of a campaign with seed <c>s</c> depends on <c>(s, i)</c> only, so any input is reproduced from its
/// number.
/// </summary>
sealed class Mutator(IReadOnlyList<byte[]> seeds, IReadOnlyList<Mutation> structural)
{
    /// <summary>The random generator of input <paramref name="index"/> of campaign <paramref name="seed"/>.</summary>
    public static Random RandomFor(int seed, long index)
    {
        var mix = new NeuroPlugin.Data.SplitMix64(((ulong)(uint)seed << 40) ^ (ulong)index);
        return new Random((int)(mix.Next() >> 33));
    }

    /// <summary>Input <paramref name="index"/>: its bytes and the seed and mutations it came from (for reports).</summary>
    public (byte[] Bytes, string Recipe) Create(int seed, long index)
    {
        var random = RandomFor(seed, index);
        int from = random.Next(seeds.Count);
        byte[] input = seeds[from];
        var steps = new List<string>();
        int count = 1 + Math.Min(random.Next(4), random.Next(4)); // 1 to 4, mostly 1 or 2
        for (int k = 0; k < count; k++)
        {
            // a structural mutation that does not apply (the bytes no longer parse) gives way to another, then to a byte-level one
            bool structured = structural.Count > 0 && random.Next(10) < 7;
            for (int attempt = 0; attempt < 4; attempt++)
            {
                var mutation = structured && attempt < 3 ? structural[random.Next(structural.Count)] : ByteMutations.All[random.Next(ByteMutations.All.Count)];
                if (Apply(mutation, input, random) is not { } next) continue;
                input = next;
                steps.Add(mutation.Name);
                break;
            }
        }
        return (input, $"seed file {from}, {string.Join(" + ", steps)}");
    }

    /// <summary>A mutation's output; null when it does not apply, including when the damaged structure it walks makes it
    /// throw (a JSON value of an unexpected kind).</summary>
    static byte[]? Apply(Mutation mutation, byte[] input, Random random)
    {
        try
        {
            return mutation.Apply(input, random);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or OverflowException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}

/// <summary>Values that break readers: boundaries of every integer width, sizes just past limits, and their negatives.</summary>
static class Interesting
{
    public static readonly long[] Integers =
    [
        0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 1000, 1024, 4095, 4096, 32767, 32768, 65535, 65536,
        1 << 20, 1 << 24, (1 << 28) + 1, int.MaxValue / 4 + 1, int.MaxValue - 1, int.MaxValue, (long)int.MaxValue + 1, uint.MaxValue,
        (long)uint.MaxValue + 1, 1L << 40, long.MaxValue / 4, long.MaxValue - 1, long.MaxValue,
        -1, -2, -128, -129, -32768, -65536, int.MinValue, (long)int.MinValue - 1, long.MinValue,
    ];

    /// <summary>One interesting integer, or a small random one.</summary>
    public static long Integer(Random random) => random.Next(4) == 0 ? random.Next(-3, 300) : Integers[random.Next(Integers.Length)];

    /// <summary>The same value nudged by −1, 0 or +1 (off-by-one sizes), or replaced by an interesting one.</summary>
    public static long Near(long value, Random random) => random.Next(3) switch
    {
        0 => Integer(random),
        1 => value + random.Next(-1, 2),
        _ => random.Next(2) == 0 ? value * 2 : value / 2,
    };
}

/// <summary>Mutations of any file, blind to its format.</summary>
static class ByteMutations
{
    public static readonly IReadOnlyList<Mutation> All =
    [
        new("flip bits", FlipBits),
        new("set byte", SetByte),
        new("interesting integer", InterestingInteger),
        new("truncate", Truncate),
        new("delete chunk", DeleteChunk),
        new("duplicate chunk", DuplicateChunk),
        new("insert random bytes", InsertRandom),
        new("append bytes", Append),
    ];

    static byte[]? FlipBits(byte[] input, Random random)
    {
        if (input.Length == 0) return null;
        var output = (byte[])input.Clone();
        int flips = 1 + random.Next(8);
        for (int i = 0; i < flips; i++) output[random.Next(output.Length)] ^= (byte)(1 << random.Next(8));
        return output;
    }

    static byte[]? SetByte(byte[] input, Random random)
    {
        if (input.Length == 0) return null;
        var output = (byte[])input.Clone();
        output[random.Next(output.Length)] = random.Next(3) switch { 0 => 0, 1 => 0xFF, _ => (byte)random.Next(256) };
        return output;
    }

    static byte[]? InterestingInteger(byte[] input, Random random)
    {
        int width = new[] { 1, 2, 4, 8 }[random.Next(4)];
        if (input.Length < width) return null;
        var output = (byte[])input.Clone();
        WriteInteger(output.AsSpan(random.Next(output.Length - width + 1), width), Interesting.Integer(random), bigEndian: random.Next(2) == 0);
        return output;
    }

    /// <summary>Writes the low bytes of <paramref name="value"/> over <paramref name="target"/> (1, 2, 4 or 8 bytes).</summary>
    public static void WriteInteger(Span<byte> target, long value, bool bigEndian)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, value);
        for (int i = 0; i < target.Length; i++) target[bigEndian ? target.Length - 1 - i : i] = bytes[i];
    }

    static byte[]? Truncate(byte[] input, Random random) =>
        input.Length == 0 ? null : input[..(random.Next(3) == 0 ? random.Next(Math.Min(input.Length, 64)) : random.Next(input.Length))];

    static byte[]? DeleteChunk(byte[] input, Random random)
    {
        if (input.Length < 2) return null;
        int start = random.Next(input.Length), length = 1 + random.Next(Math.Min(64, input.Length - start));
        return [.. input.AsSpan(0, start), .. input.AsSpan(start + length)];
    }

    static byte[]? DuplicateChunk(byte[] input, Random random)
    {
        if (input.Length == 0) return null;
        int start = random.Next(input.Length), length = 1 + random.Next(Math.Min(256, input.Length - start));
        int at = random.Next(input.Length + 1);
        return [.. input.AsSpan(0, at), .. input.AsSpan(start, length), .. input.AsSpan(at)];
    }

    static byte[]? InsertRandom(byte[] input, Random random)
    {
        var inserted = new byte[1 + random.Next(16)];
        random.NextBytes(inserted);
        int at = random.Next(input.Length + 1);
        return [.. input.AsSpan(0, at), .. inserted, .. input.AsSpan(at)];
    }

    static byte[]? Append(byte[] input, Random random)
    {
        var tail = new byte[1 + random.Next(random.Next(2) == 0 ? 8 : 4096)];
        if (random.Next(2) == 0) random.NextBytes(tail);
        return [.. input, .. tail];
    }
}

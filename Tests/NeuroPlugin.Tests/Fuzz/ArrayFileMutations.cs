using System.Buffers.Binary;
using System.IO.Compression;

namespace NeuroPlugin.Tests.Fuzz;

/// <summary>
/// Structure-aware mutations of the two array formats: NumPy's <c>.npy</c> (version bytes, header length, the header
/// dict's keys and values: dtype strings, Fortran order, shape tuples) and IDX, raw or gzip-compressed (magic type and
/// rank bytes, big-endian sizes, payload length; inside a gzip stream the IDX bytes are changed and recompressed, or
/// the stream itself is damaged: deflate bits, header flags, trailer, a second member).
/// </summary>
static class ArrayFileMutations
{
    public static readonly IReadOnlyList<Mutation> Npy =
    [
        new("npy version", NpyVersion),
        new("npy header length", NpyHeaderLength),
        .. new Mutation("npy header dict", NpyHeader).Weighted(3),
        new("npy data length", NpyDataLength),
    ];

    public static readonly IReadOnlyList<Mutation> Idx =
    [
        new("idx magic", (input, random) => InsideGzip(input, random, IdxMagic)),
        .. new Mutation("idx size", (input, random) => InsideGzip(input, random, IdxSize)).Weighted(2),
        new("idx payload length", (input, random) => InsideGzip(input, random, IdxPayloadLength)),
        new("gzip stream", GzipStream),
        new("gzip member appended", GzipMember),
    ];

    // ── .npy ──

    static int NpyHeaderStart(byte[] input) => input.Length >= 8 && input[6] == 1 ? 10 : 12;

    static byte[]? NpyVersion(byte[] input, Random random)
    {
        if (input.Length < 8) return null;
        var output = (byte[])input.Clone();
        (output[6], output[7]) = new (byte, byte)[] { (1, 0), (2, 0), (3, 0), (0, 0), (4, 0), (1, 1), (255, 0) }[random.Next(7)];
        return output;
    }

    static byte[]? NpyHeaderLength(byte[] input, Random random)
    {
        int start = NpyHeaderStart(input);
        if (input.Length < start) return null;
        var output = (byte[])input.Clone();
        long length = start == 10 ? BinaryPrimitives.ReadUInt16LittleEndian(input.AsSpan(8)) : BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(8));
        ByteMutations.WriteInteger(output.AsSpan(8, start - 8), Interesting.Near(length, random), bigEndian: false);
        return output;
    }

    static readonly string[] Dtypes = ["'<f4'", "'>f4'", "'<f8'", "'|u1'", "'<f2'", "'float32'", "'<i8'", "'|b1'", "'<c8'", "'O'", "'<U10'", "''", "'<f4 '", "'<f4", "<f4"];
    static readonly string[] Orders = ["False", "True", "1", "None", "false", "False "];

    /// <summary>Rewrites the header dict with one entry changed, removed, repeated or added, or its layout changed,
    /// and (usually) the header length made to match.</summary>
    static byte[]? NpyHeader(byte[] input, Random random)
    {
        int start = NpyHeaderStart(input);
        if (input.Length < start) return null;
        int length = start == 10 ? BinaryPrimitives.ReadUInt16LittleEndian(input.AsSpan(8)) : (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(input.AsSpan(8)), int.MaxValue);
        if (length > input.Length - start) return null;
        var entries = new List<(string Key, string Value)> { ("descr", "'<f4'"), ("fortran_order", "False"), ("shape", Shape(input, start, length)) };
        switch (random.Next(6))
        {
            case 0: entries[0] = ("descr", Dtypes[random.Next(Dtypes.Length)]); break;
            case 1: entries[1] = ("fortran_order", Orders[random.Next(Orders.Length)]); break;
            case 2: entries.RemoveAt(random.Next(entries.Count)); break;
            case 3: entries.Add(entries[random.Next(entries.Count)]); break;
            case 4: entries.Add((new[] { "foo", "descr ", "Shape", "" }[random.Next(4)], "1")); break;
            default: entries[2] = ("shape", RandomShape(random)); break;
        }
        if (random.Next(4) == 0) entries = [.. entries.OrderBy(_ => random.Next())];
        string dict = "{" + string.Join(random.Next(5) == 0 ? "," : ", ", entries.Select(e => $"'{e.Key}': {e.Value}")) + (random.Next(3) == 0 ? "}" : ", }");
        int pad = random.Next(3) == 0 ? random.Next(20) : (64 - (start + dict.Length + 1) % 64) % 64;
        string header = dict + new string(' ', pad) + (random.Next(6) == 0 ? "" : "\n");
        byte[] text = (input[6] == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(header);
        var output = new byte[start + text.Length + (input.Length - start - length)];
        input.AsSpan(0, start).CopyTo(output);
        long written = random.Next(10) == 0 ? length : text.Length;
        ByteMutations.WriteInteger(output.AsSpan(8, start - 8), written, bigEndian: false);
        text.CopyTo(output, start);
        input.AsSpan(start + length).CopyTo(output.AsSpan(start + text.Length));
        return output;
    }

    /// <summary>The shape tuple of the header as it stands (or a small one when it cannot be found).</summary>
    static string Shape(byte[] input, int start, int length)
    {
        string header = Encoding.Latin1.GetString(input, start, length);
        int at = header.IndexOf("'shape':", StringComparison.Ordinal), open = header.IndexOf('(', Math.Max(at, 0)), close = open < 0 ? -1 : header.IndexOf(')', open);
        return at >= 0 && open >= 0 && close > open ? header[open..(close + 1)] : "(2, 3)";
    }

    static string RandomShape(Random random)
    {
        int rank = random.Next(6);
        var dims = Enumerable.Range(0, rank).Select(_ => random.Next(3) == 0 ? Interesting.Integer(random).ToString() : random.Next(0, 5).ToString()).ToArray();
        return rank == 1 && random.Next(2) == 0 ? $"({dims[0]},)" : $"({string.Join(", ", dims)})";
    }

    static byte[]? NpyDataLength(byte[] input, Random random)
    {
        int change = new[] { -4, -1, 1, 4, 4096 }[random.Next(5)];
        if (change < 0 && input.Length < 128) return null;
        return change < 0 ? input[..^(-change)] : [.. input, .. new byte[change]];
    }

    // ── IDX ──

    static bool IsGzip(byte[] input) => input.Length >= 2 && input[0] == 0x1f && input[1] == 0x8b;

    /// <summary>Applies <paramref name="mutate"/> to the IDX bytes: directly, or decompressed and recompressed.</summary>
    static byte[]? InsideGzip(byte[] input, Random random, Func<byte[], Random, byte[]?> mutate)
    {
        if (!IsGzip(input)) return mutate(input, random);
        byte[]? raw = Gunzip(input);
        return raw is null || mutate(raw, random) is not { } changed ? null : Gzip(changed);
    }

    static byte[]? IdxMagic(byte[] input, Random random)
    {
        if (input.Length < 4) return null;
        var output = (byte[])input.Clone();
        if (random.Next(2) == 0) output[2] = new byte[] { 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF }[random.Next(8)];
        else output[3] = new byte[] { 0, 1, 2, 3, 4, 255 }[random.Next(6)];
        if (random.Next(8) == 0) output[random.Next(2)] = (byte)random.Next(1, 256);
        return output;
    }

    static byte[]? IdxSize(byte[] input, Random random)
    {
        int rank = input.Length >= 4 ? Math.Min((int)input[3], 3) : 0;
        if (rank == 0 || input.Length < 4 + 4 * rank) return null;
        var output = (byte[])input.Clone();
        int axis = random.Next(rank);
        uint size = BinaryPrimitives.ReadUInt32BigEndian(input.AsSpan(4 + 4 * axis));
        ByteMutations.WriteInteger(output.AsSpan(4 + 4 * axis, 4), Interesting.Near(size, random), bigEndian: true);
        return output;
    }

    static byte[]? IdxPayloadLength(byte[] input, Random random)
    {
        int change = new[] { -1, 1, -100, 4096 }[random.Next(4)];
        if (input.Length + change < 0) return null;
        return change < 0 ? input[..^(-change)] : [.. input, .. new byte[change]];
    }

    /// <summary>Damages the gzip stream itself: deflate bits, the header's flags, the CRC and size trailer.</summary>
    static byte[]? GzipStream(byte[] input, Random random)
    {
        if (!IsGzip(input) || input.Length < 18) return null;
        var output = (byte[])input.Clone();
        switch (random.Next(4))
        {
            case 0: output[10 + random.Next(output.Length - 18)] ^= (byte)(1 << random.Next(8)); break;   // deflate data
            case 1: output[3] = (byte)random.Next(256); break;                                             // FLG: extra, name, comment, CRC16
            case 2: ByteMutations.WriteInteger(output.AsSpan(output.Length - 4, 4), Interesting.Integer(random), bigEndian: false); break; // ISIZE
            default: output[output.Length - 8 + random.Next(4)] ^= 0xFF; break;                             // CRC32
        }
        return output;
    }

    /// <summary>Appends a second gzip member (more bytes after the declared payload), or plain garbage.</summary>
    static byte[]? GzipMember(byte[] input, Random random)
    {
        if (!IsGzip(input)) return null;
        var extra = new byte[random.Next(3) == 0 ? 1 : random.Next(1, 5000)];
        random.NextBytes(extra);
        return random.Next(2) == 0 ? [.. input, .. Gzip(extra)] : [.. input, .. extra];
    }

    /// <summary>The decompressed bytes (at most 4 MiB), or null when the stream is not valid gzip.</summary>
    static byte[]? Gunzip(byte[] input)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(input), CompressionMode.Decompress);
            var output = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = gzip.Read(buffer)) > 0)
            {
                output.Write(buffer, 0, read);
                if (output.Length > 4 << 20) return null;
            }
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    public static byte[] Gzip(byte[] raw)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(raw);
        return compressed.ToArray();
    }
}

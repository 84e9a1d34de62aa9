using System.Buffers.Binary;
using System.IO.Compression;

namespace NeuroPlugin.Tests.Fuzz;

/// <summary>
/// Structure-aware mutations of PNG and JPEG files. PNG: the file is split into chunks (length, type, data, CRC); a
/// mutation changes an IHDR field (width, height, bit depth, colour type, interlace), a chunk's length, the order or
/// number of chunks, adds a chunk (palette, transparency, compressed text, colour profile, animation control), or
/// changes the filtered scanlines inside the zlib stream of the IDAT chunks and recompresses them; CRCs are usually
/// recomputed so the change reaches the decoder. JPEG: the file is split into marker segments (the entropy-coded data
/// stays with its SOS); a mutation changes a frame header (precision, size, component count, sampling factors,
/// quantization table ids, the SOF type: progressive, lossless, arithmetic), a Huffman or quantization table, a scan
/// header (components, spectral selection, successive approximation), the restart interval, a segment length, adds
/// EXIF/ICC/Adobe segments, or damages the entropy-coded data (bits, restart markers, truncation), keeping the EOI
/// marker at the end most of the time so the reader's own truncation check does not stop it first.
/// </summary>
static class ImageMutations
{
    public static readonly IReadOnlyList<Mutation> Png =
    [
        .. new Mutation("png IHDR field", PngHeader).Weighted(2),
        new("png chunk length", PngChunkLength),
        new("png chunk order", PngChunkOrder),
        new("png chunk added", PngChunkAdded),
        .. new Mutation("png scanlines", PngScanlines).Weighted(2),
    ];

    public static readonly IReadOnlyList<Mutation> Jpeg =
    [
        .. new Mutation("jpeg frame header", JpegFrame).Weighted(2),
        new("jpeg table", JpegTable),
        new("jpeg scan header", JpegScan),
        new("jpeg segment order", JpegSegmentOrder),
        new("jpeg segment length", JpegSegmentLength),
        new("jpeg segment added", JpegSegmentAdded),
        new("jpeg entropy data", JpegEntropy),
    ];

    // ── PNG ──

    static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>A PNG chunk: its type, data, and for a mutation a wrong declared length or a wrong CRC.</summary>
    internal sealed record Chunk(string Type, byte[] Data, uint? Length = null, bool BadCrc = false);

    /// <summary>A PNG file's chunks; null when it is not a sequence of whole chunks after the signature.</summary>
    internal static List<Chunk>? PngChunks(byte[] input)
    {
        if (input.Length < 8 || !input.AsSpan(0, 8).SequenceEqual(PngSignature)) return null;
        var chunks = new List<Chunk>();
        int position = 8;
        while (position + 12 <= input.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(input.AsSpan(position));
            if (length > input.Length - position - 12) return null;
            chunks.Add(new Chunk(Encoding.Latin1.GetString(input, position + 4, 4), input[(position + 8)..(position + 8 + (int)length)]));
            position += 12 + (int)length;
        }
        return position == input.Length ? chunks : null;
    }

    /// <summary>A PNG file of <paramref name="chunks"/> with their CRCs (each also wrong one time in fifty with
    /// <paramref name="random"/>; never without).</summary>
    internal static byte[] PngFile(IEnumerable<Chunk> chunks, Random? random = null)
    {
        var output = new MemoryStream();
        output.Write(PngSignature);
        Span<byte> word = stackalloc byte[4];
        foreach (var chunk in chunks)
        {
            BinaryPrimitives.WriteUInt32BigEndian(word, chunk.Length ?? (uint)chunk.Data.Length);
            output.Write(word);
            byte[] typeAndData = [.. Encoding.Latin1.GetBytes(chunk.Type), .. chunk.Data];
            output.Write(typeAndData);
            uint crc = Crc32(typeAndData);
            BinaryPrimitives.WriteUInt32BigEndian(word, chunk.BadCrc || random?.Next(50) == 0 ? ~crc : crc);
            output.Write(word);
        }
        return output.ToArray();
    }

    /// <summary>The CRC-32 of PNG chunks (ISO 3309, reflected polynomial 0xEDB88320), bit by bit: inputs are small.</summary>
    static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    static byte[]? PngHeader(byte[] input, Random random)
    {
        if (PngChunks(input) is not { } chunks) return null;
        int i = chunks.FindIndex(c => c.Type == "IHDR" && c.Data.Length == 13);
        if (i < 0) return null;
        var data = (byte[])chunks[i].Data.Clone();
        switch (random.Next(6))
        {
            case 0 or 1:
                int at = random.Next(2) * 4;
                long value = random.Next(2) == 0 ? new long[] { 0, 1, 4096, 4097, 8192, 8193, 16385, 65536, 0x7FFFFFFF, 0x80000000 }[random.Next(10)]
                    : Interesting.Near(BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at)), random);
                ByteMutations.WriteInteger(data.AsSpan(at, 4), value, bigEndian: true);
                break;
            case 2: data[8] = new byte[] { 1, 2, 4, 8, 16, 0, 3, 32 }[random.Next(8)]; break;  // bit depth
            case 3: data[9] = new byte[] { 0, 2, 3, 4, 6, 1, 5, 7 }[random.Next(8)]; break;    // colour type
            case 4: data[10 + random.Next(2)] = (byte)random.Next(3); break;                   // compression, filter method
            default: data[12] = (byte)random.Next(3); break;                                   // interlace
        }
        chunks[i] = chunks[i] with { Data = data };
        return PngFile(chunks, random);
    }

    static byte[]? PngChunkLength(byte[] input, Random random)
    {
        if (PngChunks(input) is not { Count: > 0 } chunks) return null;
        int i = random.Next(chunks.Count);
        chunks[i] = chunks[i] with { Length = (uint)Interesting.Near(chunks[i].Data.Length, random) };
        return PngFile(chunks, random);
    }

    static byte[]? PngChunkOrder(byte[] input, Random random)
    {
        if (PngChunks(input) is not { Count: > 1 } chunks) return null;
        int i = random.Next(chunks.Count), j = random.Next(chunks.Count);
        switch (random.Next(3))
        {
            case 0: chunks.RemoveAt(i); break;
            case 1: chunks.Insert(j, chunks[i]); break;
            default: (chunks[i], chunks[j]) = (chunks[j], chunks[i]); break;
        }
        return PngFile(chunks, random);
    }

    static byte[]? PngChunkAdded(byte[] input, Random random)
    {
        if (PngChunks(input) is not { Count: > 0 } chunks) return null;
        byte[] Bytes(int n) => RandomBytes(random, n);
        var chunk = random.Next(8) switch
        {
            0 => new Chunk("PLTE", Bytes(new[] { 0, 3, 6, 767, 768, 771 }[random.Next(6)])),
            1 => new Chunk("tRNS", Bytes(new[] { 0, 1, 2, 6, 255, 300 }[random.Next(6)])),
            2 => new Chunk("zTXt", [.. "Comment"u8, 0, 0, .. Zlib(new byte[random.Next(2) == 0 ? 100 : 2 << 20])]),
            3 => new Chunk("iCCP", [.. "icc"u8, 0, 0, .. Zlib(Bytes(random.Next(1, 600)))]),
            4 => new Chunk("iTXt", [.. "XML:com.adobe.xmp"u8, 0, 1, 0, 0, 0, .. Zlib(Encoding.UTF8.GetBytes("<x:xmpmeta>" + new string('a', 5000)))]),
            5 => new Chunk("acTL", Bytes(8)),
            6 => new Chunk(random.Next(2) == 0 ? "abCD" : "ABCD", Bytes(random.Next(32))),
            _ => new Chunk("eXIf", [.. "MM"u8, 0, 42, .. Bytes(random.Next(4, 64))]),
        };
        chunks.Insert(random.Next(1, chunks.Count + 1), chunk);
        return PngFile(chunks, random);
    }

    /// <summary>Changes the decompressed IDAT data (filter bytes, length, values) and recompresses it into one or more IDATs.</summary>
    static byte[]? PngScanlines(byte[] input, Random random)
    {
        if (PngChunks(input) is not { } chunks) return null;
        int first = chunks.FindIndex(c => c.Type == "IDAT");
        if (first < 0) return null;
        byte[] compressed = [.. chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data)];
        byte[]? raw = Unzlib(compressed);
        if (raw is null || raw.Length == 0)
        {
            if (compressed.Length == 0) return null;
            compressed[random.Next(compressed.Length)] ^= (byte)(1 << random.Next(8));
            raw = null;
        }
        else
        {
            switch (random.Next(4))
            {
                case 0: raw[random.Next(raw.Length)] = (byte)random.Next(256); break; // often a filter byte out of 0..4
                case 1: raw = raw[..random.Next(raw.Length)]; break;
                case 2: raw = [.. raw, .. new byte[random.Next(1, 4096)]]; break;
                default: for (int k = 0; k < 8; k++) raw[random.Next(raw.Length)] = 4; break; // Paeth everywhere it lands
            }
        }
        byte[] data = raw is null ? compressed : Zlib(raw);
        int parts = random.Next(3) == 0 ? 3 : 1, size = (data.Length + parts - 1) / parts;
        var idat = Enumerable.Range(0, parts).Select(p => new Chunk("IDAT", data[Math.Min(data.Length, p * size)..Math.Min(data.Length, (p + 1) * size)]));
        chunks.RemoveAll(c => c.Type == "IDAT");
        chunks.InsertRange(Math.Min(first, chunks.Count), idat);
        return PngFile(chunks, random);
    }

    static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    static byte[] Zlib(byte[] raw)
    {
        var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true)) zlib.Write(raw);
        return output.ToArray();
    }

    static byte[]? Unzlib(byte[] compressed)
    {
        try
        {
            using var zlib = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress);
            var output = new MemoryStream();
            zlib.CopyTo(output);
            return output.Length > 8 << 20 ? null : output.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    // ── JPEG ──

    /// <summary>A marker segment: the marker byte, its payload (after the length), and for SOS the entropy-coded data
    /// that follows it. <paramref name="Length"/> overrides the written length.</summary>
    sealed record Segment(byte Marker, byte[] Payload, byte[] Entropy, int? Length = null);

    static bool Standalone(byte marker) => marker is 0xD8 or 0xD9 or 0x01 || marker is >= 0xD0 and <= 0xD7;

    static List<Segment>? JpegSegments(byte[] input)
    {
        if (input.Length < 4 || input[0] != 0xFF || input[1] != 0xD8) return null;
        var segments = new List<Segment>();
        int position = 2;
        while (position + 1 < input.Length)
        {
            if (input[position] != 0xFF) return null;
            byte marker = input[position + 1];
            position += 2;
            if (marker == 0xFF) { position--; continue; } // fill byte
            if (Standalone(marker))
            {
                segments.Add(new Segment(marker, [], []));
                if (marker == 0xD9) return position == input.Length ? segments : null;
                continue;
            }
            if (position + 2 > input.Length) return null;
            int length = BinaryPrimitives.ReadUInt16BigEndian(input.AsSpan(position));
            if (length < 2 || position + length > input.Length) return null;
            byte[] payload = input[(position + 2)..(position + length)];
            position += length;
            int entropyStart = position;
            if (marker == 0xDA)
                while (position + 1 < input.Length && !(input[position] == 0xFF && input[position + 1] != 0 && !(input[position + 1] is >= 0xD0 and <= 0xD7)))
                    position++;
            segments.Add(new Segment(marker, payload, input[entropyStart..position]));
        }
        return null;
    }

    /// <summary>Writes the segments back; ends with EOI nine times in ten if a mutation dropped it.</summary>
    static byte[] JpegFile(List<Segment> segments, Random random)
    {
        var output = new MemoryStream();
        output.Write([0xFF, 0xD8]);
        foreach (var segment in segments)
        {
            if (segment.Marker == 0xD8 && output.Length == 2) continue;
            output.Write([0xFF, segment.Marker]);
            if (Standalone(segment.Marker)) continue;
            int length = segment.Length ?? segment.Payload.Length + 2;
            output.Write([(byte)(length >> 8), (byte)length]);
            output.Write(segment.Payload);
            output.Write(segment.Entropy);
        }
        if (segments.Count == 0 || segments[^1].Marker != 0xD9)
            if (random.Next(10) != 0) output.Write([0xFF, 0xD9]);
        return output.ToArray();
    }

    static bool IsFrame(byte marker) => marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC);

    static byte[]? EditSegment(byte[] input, Random random, Func<byte, bool> which, Func<Segment, Random, Segment?> edit)
    {
        if (JpegSegments(input) is not { } segments) return null;
        var candidates = Enumerable.Range(0, segments.Count).Where(k => which(segments[k].Marker)).ToList();
        if (candidates.Count == 0) return null;
        int i = candidates[random.Next(candidates.Count)];
        if (edit(segments[i], random) is not { } edited) return null;
        segments[i] = edited;
        return JpegFile(segments, random);
    }

    static byte[]? JpegFrame(byte[] input, Random random) => EditSegment(input, random, IsFrame, (segment, r) =>
    {
        var p = (byte[])segment.Payload.Clone();
        if (p.Length < 6) return null;
        switch (r.Next(7))
        {
            case 0: p[0] = new byte[] { 8, 12, 16, 0, 255, 2 }[r.Next(6)]; break;
            case 1 or 2:
                int at = 1 + 2 * r.Next(2);
                ByteMutations.WriteInteger(p.AsSpan(at, 2), new long[] { 0, 1, 7, 9, 4096, 8192, 8193, 65535 }[r.Next(8)], bigEndian: true);
                break;
            case 3: p[5] = new byte[] { 0, 1, 2, 3, 4, 5, 255 }[r.Next(7)]; break;
            case 4 when p.Length >= 9: p[6 + 3 * r.Next((p.Length - 6) / 3) + 1] = new byte[] { 0x11, 0x22, 0x21, 0x12, 0x44, 0x00, 0xFF, 0x41, 0x14, 0x13 }[r.Next(10)]; break;
            case 5 when p.Length >= 9: p[6 + 3 * r.Next((p.Length - 6) / 3) + 2] = new byte[] { 0, 1, 2, 3, 4, 255 }[r.Next(6)]; break;
            default: return segment with { Marker = new byte[] { 0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC9, 0xCA, 0xCB, 0xCF }[r.Next(9)], Payload = p };
        }
        return segment with { Payload = p };
    });

    static byte[]? JpegTable(byte[] input, Random random) => EditSegment(input, random, m => m is 0xC4 or 0xDB, (segment, r) =>
    {
        var p = (byte[])segment.Payload.Clone();
        if (p.Length < 2) return null;
        if (r.Next(3) == 0) p[0] = new byte[] { 0x00, 0x10, 0x01, 0x11, 0x02, 0x20, 0x04, 0xFF }[r.Next(8)]; // class/precision and id
        else if (segment.Marker == 0xC4 && p.Length >= 17) p[1 + r.Next(16)] = (byte)(r.Next(2) == 0 ? 0 : r.Next(256)); // a code-length count
        else p[1 + r.Next(p.Length - 1)] = (byte)(r.Next(3) == 0 ? 0 : r.Next(256));
        return segment with { Payload = p };
    });

    static byte[]? JpegScan(byte[] input, Random random) => EditSegment(input, random, m => m == 0xDA, (segment, r) =>
    {
        var p = (byte[])segment.Payload.Clone();
        if (p.Length < 4) return null;
        switch (r.Next(5))
        {
            case 0: p[0] = (byte)r.Next(6); break;                                                     // Ns
            case 1: p[1 + 2 * r.Next(Math.Max(1, (p.Length - 4) / 2)) + r.Next(2)] = new byte[] { 0x00, 0x11, 0x44, 0xFF, 1, 2, 3, 9 }[r.Next(8)]; break;
            case 2: p[^3] = new byte[] { 0, 1, 5, 63, 64, 255 }[r.Next(6)]; break;                    // Ss
            case 3: p[^2] = new byte[] { 0, 1, 5, 63, 64, 255 }[r.Next(6)]; break;                    // Se
            default: p[^1] = new byte[] { 0x00, 0x10, 0x01, 0x11, 0xFF, 0xDD, 0x0D }[r.Next(7)]; break; // Ah, Al
        }
        return segment with { Payload = p };
    });

    static byte[]? JpegSegmentOrder(byte[] input, Random random)
    {
        if (JpegSegments(input) is not { Count: > 2 } segments) return null;
        int i = random.Next(segments.Count - 1), j = random.Next(segments.Count - 1); // EOI stays last
        switch (random.Next(3))
        {
            case 0: segments.RemoveAt(i); break;
            case 1: segments.Insert(j, segments[i]); break;
            default: (segments[i], segments[j]) = (segments[j], segments[i]); break;
        }
        return JpegFile(segments, random);
    }

    static byte[]? JpegSegmentLength(byte[] input, Random random) => EditSegment(input, random, m => !Standalone(m),
        (segment, r) => segment with { Length = (int)Math.Clamp(Interesting.Near(segment.Payload.Length + 2, r), 0, 65535) });

    static byte[]? JpegSegmentAdded(byte[] input, Random random)
    {
        if (JpegSegments(input) is not { Count: > 1 } segments) return null;
        byte[] Bytes(int n) => RandomBytes(random, n);
        var segment = random.Next(6) switch
        {
            0 => new Segment(0xE1, [.. "Exif"u8, 0, 0, .. (random.Next(2) == 0 ? "MM"u8 : "II"u8), 0, 42, .. Bytes(random.Next(4, 200))], []),
            1 => new Segment(0xE2, [.. "ICC_PROFILE"u8, 0, (byte)random.Next(3), (byte)random.Next(3), .. Bytes(random.Next(0, 300))], []),
            2 => new Segment(0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, (byte)random.Next(4)], []),
            3 => new Segment(0xDD, [(byte)random.Next(2), (byte)new[] { 0, 1, 2, 255 }[random.Next(4)]], []),
            4 => new Segment(0xFE, Bytes(random.Next(0, 2000)), []),
            _ => new Segment((byte)(0xE0 + random.Next(16)), Bytes(random.Next(0, 64)), []),
        };
        segments.Insert(random.Next(0, segments.Count - 1), segment);
        return JpegFile(segments, random);
    }

    static byte[]? JpegEntropy(byte[] input, Random random) => EditSegment(input, random, m => m == 0xDA, (segment, r) =>
    {
        var e = (byte[])segment.Entropy.Clone();
        if (e.Length < 2) return null;
        switch (r.Next(4))
        {
            case 0:
                for (int k = 1 + r.Next(8); k > 0; k--) e[r.Next(e.Length)] ^= (byte)(1 << r.Next(8));
                for (int k = 0; k + 1 < e.Length; k++) if (e[k] == 0xFF && e[k + 1] != 0) e[k] = 0xFE; // no accidental markers
                break;
            case 1: e = e[..r.Next(e.Length)]; break;
            case 2:
                int at = r.Next(e.Length);
                e = [.. e.AsSpan(0, at), 0xFF, (byte)(0xD0 + r.Next(8)), .. e.AsSpan(at)];
                break;
            default: e = [.. e, .. new byte[r.Next(1, 512)]]; break;
        }
        return segment with { Entropy = e };
    });
}

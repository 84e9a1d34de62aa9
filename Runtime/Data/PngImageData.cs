using System.Buffers.Binary;
using System.IO.Compression;

namespace NeuroPlugin.Data;

/// <summary>
/// Checks, before ImageSharp decodes a PNG, that its compressed image data (the IDAT chunks, one zlib stream) inflates
/// to every filtered scanline its header (IHDR) declares: ImageSharp 2.1.13 loops forever on a truncated interlaced PNG
/// (found by fuzzing: Tests/Fuzz/Regressions/image) and fills the missing rows of a truncated non-interlaced one. The
/// stream is inflated into a small scratch buffer and counted, stopping at the size needed, so the check allocates
/// no more than the file's compressed bytes.
/// <code>
/// bits per pixel   b = channels(colour type: grey 1, RGB 3, palette 1, grey+alpha 2, RGBA 4) · bit depth
/// scanline bytes   1 + ⌈w·b/8⌉ (a filter byte, then the pixels)
/// needed           h scanlines of w pixels, or, interlaced (Adam7), the scanlines of each of the seven passes' sub-images
/// </code>
/// </summary>
internal static class PngImageData
{
    /// <summary>Adam7's passes: first column, first row, column step, row step.</summary>
    static readonly (int X, int Y, int DX, int DY)[] Adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    /// <summary>What is wrong with <paramref name="png"/>'s image data, or null when it holds every scanline, or when the
    /// header is not one whose sizes this check knows (the decoder rejects those itself).</summary>
    public static string? Problem(ReadOnlySpan<byte> png)
    {
        const int signature = 8;
        if (png.Length < signature + 8 + 13 || BinaryPrimitives.ReadUInt32BigEndian(png[(signature + 4)..]) != 0x49484452) return null; // "IHDR"
        var header = png.Slice(signature + 8, 13);
        long width = BinaryPrimitives.ReadUInt32BigEndian(header), height = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        int bitDepth = header[8], channels = header[9] switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, 6 => 4, _ => 0 };
        bool interlaced = header[12] == 1;
        if (channels == 0 || bitDepth is not (1 or 2 or 4 or 8 or 16) || header[12] > 1 || width == 0 || height == 0) return null;
        long needed = interlaced
            ? Adam7.Sum(p => ScanlineBytes(Count(width, p.X, p.DX), channels * bitDepth) * Count(height, p.Y, p.DY))
            : height * ScanlineBytes(width, channels * bitDepth);

        // the image data is the one run of consecutive IDAT chunks (the PNG specification, 5.6): the decoder reads that run
        // and stops at the next chunk, so IDAT chunks after another chunk would be counted here but never decoded
        // (ImageSharp then loops forever on the interlaced image the first run leaves short: found by fuzzing)
        var compressed = new MemoryStream();
        bool seenData = false;
        string? after = null;                     // the chunk that ended the run of IDAT chunks
        for (int position = signature; position + 12 <= png.Length;)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(png[position..]);
            if (length > png.Length - position - 12) break; // the decoder reports a chunk that overruns the file
            bool data = BinaryPrimitives.ReadUInt32BigEndian(png[(position + 4)..]) == 0x49444154; // "IDAT"
            if (data && after is not null)
                return $"PNG image data split: an IDAT chunk follows the '{after}' chunk that ended the image data (IDAT chunks must be consecutive)";
            if (data) compressed.Write(png.Slice(position + 8, (int)length));
            else if (seenData && after is null) after = ChunkName(png.Slice(position + 4, 4));
            seenData |= data;
            position += 12 + (int)length;
        }
        compressed.Position = 0;
        long inflated = 0;
        try
        {
            using var zlib = new ZLibStream(compressed, CompressionMode.Decompress);
            Span<byte> scratch = stackalloc byte[4096];
            int read;
            while (inflated < needed && (read = zlib.Read(scratch)) > 0) inflated += read;
        }
        catch (InvalidDataException e)
        {
            return $"corrupt PNG image data (IDAT): {e.Message}";
        }
        return inflated < needed
            ? $"truncated PNG: {width}×{height}{(interlaced ? " interlaced" : "")} at {channels * bitDepth} bits per pixel needs {needed} bytes of image data, the IDAT chunks hold {inflated}"
            : null;
    }

    /// <summary>A chunk type as text, its bytes outside printable ASCII escaped (a hostile file's names go into messages).</summary>
    static string ChunkName(ReadOnlySpan<byte> type)
    {
        var name = new System.Text.StringBuilder(4);
        foreach (byte b in type) name.Append(b is >= 0x20 and < 0x7f ? (char)b : $"\\x{b:X2}");
        return name.ToString();
    }

    /// <summary>Pixels of a pass along one axis: those at <paramref name="first"/>, <paramref name="first"/> + step, … below <paramref name="size"/>.</summary>
    static long Count(long size, int first, int step) => size > first ? (size - first + step - 1) / step : 0;

    /// <summary>A scanline of <paramref name="pixels"/> pixels: a filter byte and ⌈pixels·bits/8⌉ bytes; none for an empty pass.</summary>
    static long ScanlineBytes(long pixels, int bitsPerPixel) => pixels == 0 ? 0 : 1 + (pixels * bitsPerPixel + 7) / 8;
}

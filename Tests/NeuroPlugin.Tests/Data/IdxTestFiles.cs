using System.Buffers.Binary;
using System.IO.Compression;

namespace NeuroPlugin.Tests.Data;

/// <summary>Builds IDX files, well-formed or deliberately broken, in a temporary folder that is deleted on dispose.</summary>
sealed class IdxTestFiles : IDisposable
{
    public IdxTestFiles()
    {
        Folder = Path.Combine(Path.GetTempPath(), "neuro-idx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    public void Dispose() => Directory.Delete(Folder, recursive: true);

    /// <summary>The big-endian header: magic, then one uint32 per size.</summary>
    public static byte[] Header(int magic, params uint[] sizes)
    {
        var header = new byte[4 + 4 * sizes.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int i = 0; i < sizes.Length; i++)
            BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4 + 4 * i), sizes[i]);
        return header;
    }

    /// <summary>A complete image file of <paramref name="count"/> images, pixel <c>p</c> of image <c>n</c> = <c>(7n + p) mod 256</c>.</summary>
    public static byte[] Images(int count, int height, int width)
    {
        byte[] header = Header(0x00000803, (uint)count, (uint)height, (uint)width);
        var file = new byte[header.Length + count * height * width];
        header.CopyTo(file, 0);
        for (int n = 0; n < count; n++)
            for (int p = 0; p < height * width; p++)
                file[header.Length + n * height * width + p] = PixelValue(n, p);
        return file;
    }

    public static byte PixelValue(int image, int pixel) => (byte)((7 * image + pixel) % 256);

    /// <summary>A complete label file holding <paramref name="labels"/>.</summary>
    public static byte[] Labels(params byte[] labels) => [.. Header(0x00000801, (uint)labels.Length), .. labels];

    public static byte[] Gzip(byte[] raw)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(raw);
        return compressed.ToArray();
    }

    /// <summary>Writes <paramref name="content"/> (gzip-compressed when asked) and returns the path.</summary>
    public string Write(string name, byte[] content, bool gzip = false)
    {
        string path = Path.Combine(Folder, name);
        File.WriteAllBytes(path, gzip ? Gzip(content) : content);
        return path;
    }
}

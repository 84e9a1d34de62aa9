using System.Buffers.Binary;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuroPlugin.Tests.Data;

/// <summary>The check before ImageSharp decodes a PNG (<see cref="PngImageData"/>): whole image data passes, image data
/// short of the scanlines the header declares or split by another chunk is named, and decoding such a file through the
/// image path ends in a typed error instead of ImageSharp's endless loop.</summary>
public class PngImageDataTests
{
    /// <summary>A 10×10 RGBA image encoded by ImageSharp (Adam7-interlaced when asked).</summary>
    static byte[] Png(bool interlaced)
    {
        using var image = new Image<Rgba32>(10, 10);
        for (int y = 0; y < 10; y++)
            for (int x = 0; x < 10; x++)
                image[x, y] = new Rgba32((byte)(25 * x), (byte)(25 * y), (byte)(x * y), 255);
        using var stream = new MemoryStream();
        image.Save(stream, new PngEncoder { InterlaceMethod = interlaced ? PngInterlaceMode.Adam7 : PngInterlaceMode.None, CompressionLevel = PngCompressionLevel.NoCompression });
        return stream.ToArray();
    }

    /// <summary>The file's chunks as (type, data).</summary>
    static List<(string Type, byte[] Data)> Chunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        for (int position = 8; position < png.Length;)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(position));
            chunks.Add((Encoding.ASCII.GetString(png, position + 4, 4), png.AsSpan(position + 8, length).ToArray()));
            position += 12 + length;
        }
        return chunks;
    }

    /// <summary>A PNG file of these chunks (with their CRCs).</summary>
    static byte[] Write(IEnumerable<(string Type, byte[] Data)> chunks)
    {
        var file = new MemoryStream();
        file.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        Span<byte> word = stackalloc byte[4];
        foreach (var (type, data) in chunks)
        {
            BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
            file.Write(word);
            byte[] typed = [.. Encoding.ASCII.GetBytes(type), .. data];
            file.Write(typed);
            BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
            file.Write(word);
        }
        return file.ToArray();
    }

    /// <summary>PNG's chunk CRC (ISO 3309, polynomial 0xEDB88320, bit by bit: a test needs no table).</summary>
    static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>The image data cut into two IDAT chunks (the second from <paramref name="cut"/>), with <paramref name="between"/> chunks between them.</summary>
    static byte[] SplitImageData(byte[] png, int cut, params (string Type, byte[] Data)[] between)
    {
        var chunks = Chunks(png);
        int index = chunks.FindIndex(c => c.Type == "IDAT");
        var data = chunks[index].Data;
        chunks.RemoveAt(index);
        chunks.InsertRange(index, [("IDAT", data[..cut]), .. between, ("IDAT", data[cut..])]);
        return Write(chunks);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void WholeImageData_Passes_EvenInSeveralChunks(bool interlaced)
    {
        var png = Png(interlaced);
        Assert.That(PngImageData.Problem(png), Is.Null);
        Assert.That(PngImageData.Problem(SplitImageData(png, 40)), Is.Null, "consecutive IDAT chunks are one stream");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ImageDataSplitByAnotherChunk_IsNamed(bool interlaced)
    {
        var split = SplitImageData(Png(interlaced), 40, ("tEXt", Encoding.ASCII.GetBytes("Comment\0between")));
        Assert.That(PngImageData.Problem(split), Is.EqualTo(
            "PNG image data split: an IDAT chunk follows the 'tEXt' chunk that ended the image data (IDAT chunks must be consecutive)"));
    }

    [Test]
    public void TruncatedInterlacedImageData_IsNamed()
    {
        var chunks = Chunks(Png(interlaced: true));
        int index = chunks.FindIndex(c => c.Type == "IDAT");
        // a complete zlib stream of fewer bytes than the seven passes need (10×10 RGBA: 420)
        var short_ = new MemoryStream();
        using (var zlib = new System.IO.Compression.ZLibStream(short_, System.IO.Compression.CompressionLevel.NoCompression, leaveOpen: true)) zlib.Write(new byte[156]);
        chunks[index] = ("IDAT", short_.ToArray());
        Assert.That(PngImageData.Problem(Write(chunks)), Is.EqualTo(
            "truncated PNG: 10×10 interlaced at 32 bits per pixel needs 420 bytes of image data, the IDAT chunks hold 156"));
    }

    [Test]
    public void SplitInterlacedFile_EndsInATypedErrorNamingTheSource()
    {
        var bytes = SplitImageData(Png(interlaced: true), 30, ("abCD", new byte[23]));
        var decode = Task.Run(() => ImageDecoder.DecodeRgba(bytes, "frames/split.png"));
        Assert.That(Task.WhenAny(decode, Task.Delay(TimeSpan.FromSeconds(20))).Result, Is.SameAs(decode), "the decoder returned");
        var error = Assert.Throws<AggregateException>(() => decode.Wait())!.InnerException;
        Assert.That(error, Is.InstanceOf<DatasetException>());
        Assert.That(error!.Message, Does.Contain("frames/split.png").And.Contain("IDAT chunks must be consecutive"));
    }
}

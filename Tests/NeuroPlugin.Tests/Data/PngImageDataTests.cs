using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using NeuroPlugin.Tests.Fuzz;
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

    /// <summary>The image data cut into two IDAT chunks (the second from <paramref name="cut"/>), with <paramref name="between"/> chunks between them.</summary>
    static byte[] SplitImageData(byte[] png, int cut, params ImageMutations.Chunk[] between)
    {
        var chunks = ImageMutations.PngChunks(png)!;
        int index = chunks.FindIndex(c => c.Type == "IDAT");
        var data = chunks[index].Data;
        chunks.RemoveAt(index);
        chunks.InsertRange(index, [new("IDAT", data[..cut]), .. between, new("IDAT", data[cut..])]);
        return ImageMutations.PngFile(chunks);
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
        var split = SplitImageData(Png(interlaced), 40, new ImageMutations.Chunk("tEXt", Encoding.ASCII.GetBytes("Comment\0between")));
        Assert.That(PngImageData.Problem(split), Is.EqualTo(
            "PNG image data split: an IDAT chunk follows the 'tEXt' chunk that ended the image data (IDAT chunks must be consecutive)"));
    }

    [Test]
    public void TruncatedInterlacedImageData_IsNamed()
    {
        var chunks = ImageMutations.PngChunks(Png(interlaced: true))!;
        int index = chunks.FindIndex(c => c.Type == "IDAT");
        // a complete zlib stream of fewer bytes than the seven passes need (10×10 RGBA: 420)
        var short_ = new MemoryStream();
        using (var zlib = new System.IO.Compression.ZLibStream(short_, System.IO.Compression.CompressionLevel.NoCompression, leaveOpen: true)) zlib.Write(new byte[156]);
        chunks[index] = new("IDAT", short_.ToArray());
        Assert.That(PngImageData.Problem(ImageMutations.PngFile(chunks)), Is.EqualTo(
            "truncated PNG: 10×10 interlaced at 32 bits per pixel needs 420 bytes of image data, the IDAT chunks hold 156"));
    }

    [Test]
    public void SplitInterlacedFile_EndsInATypedErrorNamingTheSource()
    {
        var bytes = SplitImageData(Png(interlaced: true), 30, new ImageMutations.Chunk("abCD", new byte[23]));
        var decode = Task.Run(() => ImageDecoder.DecodeRgba(bytes, "frames/split.png"));
        Assert.That(Task.WhenAny(decode, Task.Delay(TimeSpan.FromSeconds(20))).Result, Is.SameAs(decode), "the decoder returned");
        var error = Assert.Throws<AggregateException>(() => decode.Wait())!.InnerException;
        Assert.That(error, Is.InstanceOf<DatasetException>());
        Assert.That(error!.Message, Does.Contain("frames/split.png").And.Contain("IDAT chunks must be consecutive"));
    }
}

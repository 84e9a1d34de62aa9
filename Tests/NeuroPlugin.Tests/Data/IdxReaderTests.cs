namespace NeuroPlugin.Tests.Data;

/// <summary>IdxReader on small well-formed files and on every kind of broken or hostile file, raw and gzip.</summary>
public class IdxReaderTests
{
    IdxTestFiles files = null!;

    [SetUp] public void CreateFolder() => files = new IdxTestFiles();
    [TearDown] public void DeleteFolder() => files.Dispose();

    static DatasetException ReadImagesFails(string path, string problem)
    {
        var error = Assert.Throws<DatasetException>(() => IdxReader.ReadImages(path))!;
        Assert.That(error.Message, Does.Contain(path), "the message names the file");
        Assert.That(error.Message, Does.Contain(problem));
        Assert.That(error.FilePath, Is.EqualTo(path));
        return error;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReadsImagesAndLabels(bool gzip)
    {
        string imagesPath = files.Write("images.idx", IdxTestFiles.Images(5, 4, 3), gzip);
        string labelsPath = files.Write("labels.idx", IdxTestFiles.Labels(3, 1, 4, 1, 5), gzip);

        IdxImages images = IdxReader.ReadImages(imagesPath);
        byte[] labels = IdxReader.ReadLabels(labelsPath);

        Assert.That((images.Count, images.Height, images.Width), Is.EqualTo((5, 4, 3)));
        Assert.That(images.Pixels, Has.Length.EqualTo(60));
        for (int n = 0; n < 5; n++)
            for (int p = 0; p < 12; p++)
                Assert.That(images.Pixels[n * 12 + p], Is.EqualTo(IdxTestFiles.PixelValue(n, p)), $"image {n} pixel {p}");
        Assert.That(labels, Is.EqualTo(new byte[] { 3, 1, 4, 1, 5 }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void WrongMagicIsRejected(bool gzip)
    {
        byte[] content = IdxTestFiles.Images(2, 2, 2);
        content[0] = 0x12; content[1] = 0x34;
        string path = files.Write("not-idx", content, gzip);
        ReadImagesFails(path, "not an IDX file: magic 0x12340803, expected 0x00000803");
    }

    [Test]
    public void LabelFileReadAsImagesIsRejectedByRank()
    {
        string path = files.Write("labels.idx", IdxTestFiles.Labels(1, 2, 3));
        ReadImagesFails(path, "wrong IDX rank 1 (magic 0x00000801)");
        var error = Assert.Throws<DatasetException>(() => IdxReader.ReadLabels(files.Write("images.idx", IdxTestFiles.Images(1, 2, 2))))!;
        Assert.That(error.Message, Does.Contain("images.idx").And.Contain("wrong IDX rank 3"));
    }

    [Test]
    public void NonByteElementTypeIsRejected()
    {
        byte[] content = IdxTestFiles.Images(1, 2, 2);
        content[2] = 0x0D; // float32
        ReadImagesFails(files.Write("float.idx", content), "unsupported IDX element type 0x0D");
    }

    [TestCase(false, 0)]
    [TestCase(false, 3)]
    [TestCase(false, 10)]
    [TestCase(true, 10)]
    public void TruncatedHeaderIsRejected(bool gzip, int length)
    {
        byte[] content = IdxTestFiles.Images(1, 2, 2)[..length];
        ReadImagesFails(files.Write("short-header.idx", content, gzip), $"truncated header");
        Assert.That(Assert.Throws<DatasetException>(() => IdxReader.ReadImages(Path.Combine(files.Folder, "short-header.idx")))!.Message,
            Does.Contain($"ends after {length} bytes"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TruncatedPayloadIsRejected(bool gzip)
    {
        byte[] content = IdxTestFiles.Images(5, 4, 3)[..(16 + 50)];
        ReadImagesFails(files.Write("short.idx", content, gzip),
            "truncated: header declares 5 images of 4×3 (60 bytes) but the ");
        Assert.That(Assert.Throws<DatasetException>(() => IdxReader.ReadImages(Path.Combine(files.Folder, "short.idx")))!.Message,
            Does.Contain("after 50 bytes"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TrailingDataIsRejected(bool gzip)
    {
        byte[] content = [.. IdxTestFiles.Labels(1, 2, 3), 9];
        var error = Assert.Throws<DatasetException>(() => IdxReader.ReadLabels(files.Write("long.idx", content, gzip)))!;
        Assert.That(error.Message, Does.Contain("long.idx").And.Contain("trailing data: header declares 3 labels (3 bytes)"));
    }

    [Test]
    public void ZeroSizeIsRejected()
    {
        byte[] content = IdxTestFiles.Header(0x00000803, 3, 0, 28);
        ReadImagesFails(files.Write("zero.idx", content), "size 0 on axis 1");
    }

    [TestCase(false, 0xFFFFFFFFu, 28u, 28u)]
    [TestCase(true, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu)]
    [TestCase(false, 65536u, 65536u, 65536u)]
    [TestCase(true, 200_000u, 28u, 28u)]
    public void HugeDeclaredSizesFailWithoutAllocating(bool gzip, uint count, uint height, uint width)
    {
        // A hostile header followed by a little data: the reader must refuse before allocating.
        byte[] content = [.. IdxTestFiles.Header(0x00000803, count, height, width), .. new byte[1000]];
        string path = files.Write("huge.idx", content, gzip);
        IdxReader.ReadImages(files.Write("warm-up.idx", IdxTestFiles.Images(1, 1, 1), gzip)); // JIT and GZip set-up outside the measurement

        DatasetException error = null!;
        long allocated = AllocationAssert.AllocatedBy(() => error = Assert.Throws<DatasetException>(() => IdxReader.ReadImages(path))!);

        Assert.That(error.Message, Does.Contain(path).And.Contain($"sizes {count} × {height} × {width}").And.Contain("more than the limit of 100000000 elements"));
        Assert.That(allocated, Is.LessThan(1 << 20), "bytes allocated while rejecting the file");
    }

    [Test]
    public void ElementCapIsConfigurable()
    {
        string path = files.Write("images.idx", IdxTestFiles.Images(5, 4, 3));
        Assert.That(IdxReader.ReadImages(path, maxElements: 60).Count, Is.EqualTo(5));
        var error = Assert.Throws<DatasetException>(() => IdxReader.ReadImages(path, maxElements: 59))!;
        Assert.That(error.Message, Does.Contain("more than the limit of 59 elements"));
    }

    [Test]
    public void LargeRawFileIsCheckedAgainstItsLengthBeforeAllocating()
    {
        // Declares 50 million bytes (under the cap) but holds 1000: the raw file's length betrays it.
        byte[] content = [.. IdxTestFiles.Header(0x00000803, 50_000, 1000, 1), .. new byte[1000]];
        string path = files.Write("liar.idx", content);
        IdxReader.ReadImages(files.Write("warm-up.idx", IdxTestFiles.Images(1, 1, 1)));

        DatasetException error = null!;
        long allocated = AllocationAssert.AllocatedBy(() => error = Assert.Throws<DatasetException>(() => IdxReader.ReadImages(path))!);

        Assert.That(error.Message, Does.Contain("truncated: header declares 50000 images of 1000×1 (50000000 bytes) but the file ends after 1000 bytes"));
        Assert.That(allocated, Is.LessThan(1 << 20));
    }

    [Test]
    public void CorruptGzipIsRejected()
    {
        // Damage the second half of the deflate data: the header decodes, then inflating (or the CRC) fails.
        byte[] compressed = IdxTestFiles.Gzip(IdxTestFiles.Images(50, 8, 8));
        for (int i = compressed.Length / 2; i < compressed.Length - 8; i += 3)
            compressed[i] ^= 0x5A;
        string path = files.Write("corrupt.idx.gz", compressed);
        var error = ReadImagesFails(path, "corrupt gzip data");
        Assert.That(error.InnerException, Is.InstanceOf<InvalidDataException>());
    }

    [Test]
    public void GzipWithBadChecksumIsRejected()
    {
        // Intact deflate data, wrong CRC-32 in the trailer: only the checksum betrays the damage.
        byte[] compressed = IdxTestFiles.Gzip(IdxTestFiles.Labels(1, 2, 3));
        compressed[^8] ^= 0xFF;
        var error = Assert.Throws<DatasetException>(() => IdxReader.ReadLabels(files.Write("crc.idx.gz", compressed)))!;
        Assert.That(error.Message, Does.Contain("crc.idx.gz").And.Contain("corrupt gzip data"));
    }

    [Test]
    public void MissingFileIsReported()
    {
        string path = Path.Combine(files.Folder, "nowhere", "train-images-idx3-ubyte.gz");
        ReadImagesFails(path, "file not found");
    }
}

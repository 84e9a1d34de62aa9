using System.Buffers.Binary;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuroPlugin.Tests.Data;

/// <summary>
/// <see cref="ImageFolder"/> on small PNG/JPEG files written here with ImageSharp: three classes of patterns whose
/// pixels are known (so a loaded byte is compared with the value the test drew), the split, the limits, and hostile
/// or broken files, each of which must be a <see cref="DatasetException"/> naming the file.
/// </summary>
[NonParallelizable] // the end-to-end test redirects the process-wide Console (NeuroCli)
public partial class ImageFolderTests
{
    string root = null!;

    [SetUp]
    public void CreateFolder() => root = Directory.CreateTempSubdirectory("neuro-imagefolder-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(root, recursive: true);

    /// <summary>The test pattern of class <paramref name="k"/>, item <paramref name="i"/> at (x, y): class 0 solid
    /// <c>20+10i</c>, class 1 vertical stripes 0/255 of width 1, class 2 horizontal stripes <c>40+i</c>/<c>200</c>.</summary>
    static byte Pattern(int k, int i, int x, int y) => k switch
    {
        0 => (byte)(20 + 10 * i),
        1 => (byte)(x % 2 == 0 ? 0 : 255),
        _ => (byte)(y % 2 == 0 ? 40 + i : 200),
    };

    static void WriteGray(string path, int size, Func<int, int, byte> pixel)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = new Image<L8>(size, size);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                image[x, y] = new L8(pixel(x, y));
        if (path.EndsWith(".png")) image.SaveAsPng(path);
        else image.SaveAsJpeg(path, new JpegEncoder { Quality = 95 });
    }

    static void WriteRgb(string path, int size, Func<int, int, Rgb24> pixel)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = new Image<Rgb24>(size, size);
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                image[x, y] = pixel(x, y);
        if (path.EndsWith(".png")) image.SaveAsPng(path);
        else image.SaveAsJpeg(path, new JpegEncoder { Quality = 95, ColorType = JpegColorType.YCbCrRatio444 });
    }

    /// <summary>Class folders named so that ordinal order differs from case-insensitive order: "Zebra" &lt; "apple" &lt; "mango".</summary>
    static readonly string[] ClassNames = ["Zebra", "apple", "mango"];

    /// <summary><c>folder/&lt;class&gt;/img{i}.png</c>, <paramref name="perClass"/> 8×8 images per class of <see cref="Pattern"/>.</summary>
    static void WritePatterns(string folder, int perClass, int first = 0)
    {
        for (int k = 0; k < 3; k++)
            for (int i = first; i < first + perClass; i++)
                WriteGray(Path.Combine(folder, ClassNames[k], $"img{i}.png"), 8, (x, y) => Pattern(k, i, x, y));
    }

    [Test]
    public void TrainTestFoldersLoadExactPngPixelsLabelsAndShapes()
    {
        WritePatterns(Path.Combine(root, "train"), perClass: 3);
        WritePatterns(Path.Combine(root, "test"), perClass: 2, first: 3);

        var (train, test) = ImageFolder.Load(root, new ImageFolderOptions { ImageSize = 8 });

        Assert.That(train.ClassNames, Is.EqualTo(ClassNames));
        Assert.That((train.Count, train.Channels, train.Height, train.Width), Is.EqualTo((9, 1, 8, 8)));
        Assert.That((test.Count, test.Channels, test.Height, test.Width), Is.EqualTo((6, 1, 8, 8)));
        Assert.That(train.Labels, Is.EqualTo(new byte[] { 0, 0, 0, 1, 1, 1, 2, 2, 2 }));
        Assert.That(test.Labels, Is.EqualTo(new byte[] { 0, 0, 1, 1, 2, 2 }));
        for (int n = 0; n < train.Count; n++)
            AssertPattern(train.GetImage(n), train.Labels[n], n % 3);
        for (int n = 0; n < test.Count; n++)
            AssertPattern(test.GetImage(n), test.Labels[n], 3 + n % 2);

        // normalization: mean and std of x/255 over the training bytes, computed independently here
        double mean = train.Images.Average(b => b / 255.0);
        double std = Math.Sqrt(train.Images.Average(b => (b / 255.0 - mean) * (b / 255.0 - mean)));
        Assert.That(train.Normalization.Mean, Is.EqualTo(mean).Within(1e-6));
        Assert.That(train.Normalization.Std, Is.EqualTo(std).Within(1e-6));
        Assert.That(test.Normalization, Is.EqualTo(train.Normalization));
    }

    static void AssertPattern(ReadOnlySpan<byte> image, int k, int i)
    {
        var expected = new byte[64];
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                expected[y * 8 + x] = Pattern(k, i, x, y);
        Assert.That(image.ToArray(), Is.EqualTo(expected), $"class {k} item {i}");
    }

    [Test]
    public void RgbPngGivesThreeExactPlanes()
    {
        for (int k = 0; k < 2; k++)
            WriteRgb(Path.Combine(root, $"c{k}", "a.png"), 4, (x, y) => new Rgb24((byte)(10 * x + k), (byte)(10 * y + 100), (byte)(x * y + 200)));

        var (train, test) = ImageFolder.Load(root, new ImageFolderOptions { ImageSize = 4, Channels = 3, TestFraction = 0 });

        Assert.That((train.Count, train.Channels, train.Height, train.Width, test.Count), Is.EqualTo((2, 3, 4, 4, 0)));
        for (int k = 0; k < 2; k++)
        {
            byte[] image = train.GetImage(k).ToArray();
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                {
                    Assert.That(image[0 * 16 + y * 4 + x], Is.EqualTo(10 * x + k));
                    Assert.That(image[1 * 16 + y * 4 + x], Is.EqualTo(10 * y + 100));
                    Assert.That(image[2 * 16 + y * 4 + x], Is.EqualTo(x * y + 200));
                }
        }
    }

    /// <summary>Grayscale conversion of colour is BT.601 luma, Y = 0.299R + 0.587G + 0.114B rounded to the nearest
    /// level (torchvision's rgb_to_grayscale and PIL's convert("L"); the in-game input uses the same weights).</summary>
    [Test]
    public void ColourPngToGrayscaleIsBt601Luma()
    {
        WriteRgb(Path.Combine(root, "only", "a.png"), 2, (x, y) => new Rgb24((byte)(200 * x + 1), (byte)(150 * y + 3), 90));

        var (train, _) = ImageFolder.Load(root, new ImageFolderOptions { ImageSize = 2, TestFraction = 0 });

        byte[] image = train.GetImage(0).ToArray();
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++)
                Assert.That(image[y * 2 + x], Is.EqualTo(Math.Floor(0.299 * (200 * x + 1) + 0.587 * (150 * y + 3) + 0.114 * 90 + 0.5)), $"({x},{y})");
    }

    /// <summary>JPEG is lossy. A solid 8×8 block holds only a DC coefficient: quality 95 quantizes it with step
    /// ⌈16·0.1⌉ = 2 on 8·(v−128), i.e. ≤ 1/8 grey level, plus ≤ 1 level of YCbCr rounding either way; 2 levels covers both.</summary>
    [Test]
    public void SolidJpegIsWithinTwoLevels()
    {
        WriteGray(Path.Combine(root, "dark", "a.jpg"), 8, (_, _) => 37);
        WriteGray(Path.Combine(root, "light", "b.JPEG"), 8, (_, _) => 211);
        WriteRgb(Path.Combine(root, "red", "c.jpeg"), 8, (_, _) => new Rgb24(180, 30, 60));

        var (train, _) = ImageFolder.Load(root, new ImageFolderOptions { ImageSize = 8, Channels = 3, TestFraction = 0 });

        Assert.That(train.ClassNames, Is.EqualTo(new[] { "dark", "light", "red" }));
        int[][] expected = [[37, 37, 37], [211, 211, 211], [180, 30, 60]];
        for (int k = 0; k < 3; k++)
        {
            byte[] image = train.GetImage(k).ToArray();
            for (int c = 0; c < 3; c++)
                Assert.That(image.AsSpan(c * 64, 64).ToArray(), Has.All.InRange(expected[k][c] - 2, expected[k][c] + 2), $"class {k} channel {c}");
        }
    }

    /// <summary>Resizing (bilinear, ImageSharp's triangle resampler) keeps a constant image constant; 0/255 stripes of width 1
    /// halved in size average to 127.5 (127 or 128) away from the left and right edges, where the clamped kernel weighs
    /// the border pixel more; every row stays the same.</summary>
    [Test]
    public void ResizeToImageSize()
    {
        WriteGray(Path.Combine(root, "solid", "a.png"), 16, (_, _) => 123);
        WriteGray(Path.Combine(root, "stripes", "a.png"), 16, (x, _) => (byte)(x % 2 == 0 ? 0 : 255));

        var (train, _) = ImageFolder.Load(root, new ImageFolderOptions { ImageSize = 8, TestFraction = 0 });

        Assert.That((train.Height, train.Width), Is.EqualTo((8, 8)));
        Assert.That(train.GetImage(0).ToArray(), Has.All.EqualTo(123));
        byte[] stripes = train.GetImage(1).ToArray();
        for (int y = 0; y < 8; y++)
        {
            Assert.That(stripes.AsSpan(y * 8, 8).ToArray(), Is.EqualTo(stripes.AsSpan(0, 8).ToArray()), $"row {y}");
            Assert.That(stripes.AsSpan(y * 8 + 1, 6).ToArray(), Has.All.InRange(127, 128), $"row {y}");
        }
    }

    [Test]
    public void SeededSplitIsStratifiedDisjointAndReproducible()
    {
        WritePatterns(root, perClass: 10);
        var options = new ImageFolderOptions { ImageSize = 8, TestFraction = 0.3, Seed = 5 };

        var (train, test) = ImageFolder.Load(root, options);
        var (train2, test2) = ImageFolder.Load(root, options);
        var (_, otherTest) = ImageFolder.Load(root, options with { Seed = 6 });

        Assert.That(train.CountPerClass(), Is.EqualTo(new[] { 7, 7, 7 }));
        Assert.That(test.CountPerClass(), Is.EqualTo(new[] { 3, 3, 3 }));
        Assert.That(train2.Images, Is.EqualTo(train.Images));
        Assert.That(test2.Images, Is.EqualTo(test.Images));
        Assert.That(otherTest.Images, Is.Not.EqualTo(test.Images));
        // class 0 items are solid 20+10i: the split's items together are exactly i = 0..9, once each
        var solids = Enumerable.Range(0, train.Count).Where(n => train.Labels[n] == 0).Select(n => (int)train.GetImage(n)[0])
            .Concat(Enumerable.Range(0, test.Count).Where(n => test.Labels[n] == 0).Select(n => (int)test.GetImage(n)[0]));
        Assert.That(solids.Order(), Is.EqualTo(Enumerable.Range(0, 10).Select(i => 20 + 10 * i)));
    }

    // ---- errors: each a DatasetException naming the file and the problem or limit ----

    static DatasetException LoadFails(string root, string path, string problem, ImageFolderOptions? options = null)
    {
        var e = Assert.Throws<DatasetException>(() => ImageFolder.Load(root, options ?? new ImageFolderOptions { ImageSize = 8 }))!;
        Assert.That(e.FilePath, Is.EqualTo(path));
        Assert.That(e.Message, Does.StartWith(path + ": ").And.Contain(problem));
        return e;
    }

    string WriteValidClass()
    {
        WritePatterns(root, perClass: 2);
        return Path.Combine(root, "mango");
    }

    [Test]
    public void CorruptPngIsRefused()
    {
        string bad = Path.Combine(WriteValidClass(), "corrupt.png");
        byte[] png = File.ReadAllBytes(Path.Combine(root, "mango", "img0.png"));
        png.AsSpan(16).Fill(0x5A); // keep the signature and IHDR's length and type, wreck the rest
        File.WriteAllBytes(bad, png);
        LoadFails(root, bad, "PNG");
    }

    /// <summary>Cut inside the headers, ImageSharp's own check fails; cut inside the scan (which ImageSharp would fill
    /// with grey), the missing end-of-image marker does.</summary>
    [Test]
    public void TruncatedJpegIsRefused()
    {
        string bad = Path.Combine(WriteValidClass(), "cut.jpg");
        WriteGray(bad, 8, (x, y) => (byte)(x * 30 + y));
        byte[] jpeg = File.ReadAllBytes(bad);
        File.WriteAllBytes(bad, jpeg[..(jpeg.Length * 2 / 3)]);
        LoadFails(root, bad, "not a PNG or JPEG image this reader can decode");
        File.WriteAllBytes(bad, jpeg[..^4]);
        LoadFails(root, bad, "truncated JPEG: the end-of-image marker (FF D9) is missing");
    }

    /// <summary>A file the system sizes as 0 is refused before it is opened: a link to /dev/zero would never end and a
    /// pipe would block the open.</summary>
    [Test]
    public void DevicesAndPipesNamedPngAreRefusedWithoutReading()
    {
        string folder = WriteValidClass();
        string device = Path.Combine(folder, "zero.png");
        File.CreateSymbolicLink(device, "/dev/zero");
        LoadFails(root, device, "is empty, missing or not a regular file");
        File.Delete(device);

        string pipe = Path.Combine(folder, "pipe.png");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", pipe)) mkfifo.WaitForExit();
        Assert.That(File.Exists(pipe), "test setup: mkfifo");
        LoadFails(root, pipe, "is empty, missing or not a regular file");
    }

    [Test]
    public void TextFileNamedPngIsRefused()
    {
        string bad = Path.Combine(WriteValidClass(), "notes.png");
        File.WriteAllText(bad, "this is not an image\n");
        LoadFails(root, bad, "not a PNG or JPEG image");
    }

    [Test]
    public void GifContentNamedPngIsRefused()
    {
        string bad = Path.Combine(WriteValidClass(), "animated.png");
        using (var image = new Image<Rgba32>(8, 8)) image.SaveAsGif(bad);
        LoadFails(root, bad, "not a PNG or JPEG image");
    }

    [TestCase(".gif")]
    [TestCase(".bmp")]
    public void OtherFormatsAreRefusedByName(string extension)
    {
        string bad = Path.Combine(WriteValidClass(), "picture" + extension);
        using (var image = new Image<Rgba32>(8, 8))
        {
            if (extension == ".gif") image.SaveAsGif(bad);
            else image.SaveAsBmp(bad);
        }
        LoadFails(root, bad, $"unsupported file type '{extension}'");
    }

    /// <summary>A 77-byte PNG whose header declares 100000×100000 pixels: refused from the header, before any decoding.</summary>
    [Test]
    public void DecompressionBombIsRefusedFromItsHeader()
    {
        string bad = Path.Combine(WriteValidClass(), "bomb.png");
        File.WriteAllBytes(bad, PngHeaderOnly(100_000, 100_000));
        LoadFails(root, bad, "declares 100000×100000 pixels, over the limit of 8192 per side (MaxSide)");

        File.WriteAllBytes(bad, PngHeaderOnly(5000, 5000));
        LoadFails(root, bad, "declares 5000×5000 = 25000000 pixels, over the limit of 16777216 (MaxPixels)");
    }

    /// <summary>PNG signature, an IHDR chunk (8-bit greyscale of the given size), an empty IDAT and IEND, with correct CRCs.</summary>
    static byte[] PngHeaderOnly(int width, int height)
    {
        var bytes = new List<byte> { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth; colour type 0, compression 0, filter 0, interlace 0
        AddChunk(bytes, "IHDR", ihdr);
        AddChunk(bytes, "IDAT", []);
        AddChunk(bytes, "IEND", []);
        return bytes.ToArray();
    }

    static void AddChunk(List<byte> png, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.AddRange(length);
        byte[] typed = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
        png.AddRange(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        png.AddRange(crc);
    }

    /// <summary>CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320), as PNG chunks use.</summary>
    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    [Test]
    public void EmptyClassFolderIsRefused()
    {
        WriteValidClass();
        string empty = Path.Combine(root, "nothing");
        Directory.CreateDirectory(empty);
        LoadFails(root, empty, "class folder holds no images");
    }

    [Test]
    public void NoClassFoldersIsRefused()
    {
        File.WriteAllText(Path.Combine(root, "stray.png"), "x");
        LoadFails(root, root, "no class folders");
    }

    [Test]
    public void FileSizeFileCountAndDecodedSizeLimitsAreNamed()
    {
        WritePatterns(root, perClass: 2);
        string first = Path.Combine(root, "Zebra", "img0.png");
        long size = new FileInfo(first).Length;
        LoadFails(root, first, $"{size} bytes, over the limit of 10 bytes (MaxFileBytes)", new ImageFolderOptions { MaxFileBytes = 10 });
        LoadFails(root, root, "more than 5 image files, the limit (MaxFiles)", new ImageFolderOptions { MaxFiles = 5 });
        LoadFails(root, root, "6 images of 3×8×8 decode to 1152 bytes, over the limit of 1000 bytes (MaxDecodedBytes)",
            new ImageFolderOptions { ImageSize = 8, Channels = 3, MaxDecodedBytes = 1000 });
    }

    [Test]
    public void TestClassesMustMatchTrainClasses()
    {
        WritePatterns(Path.Combine(root, "train"), perClass: 1);
        WriteGray(Path.Combine(root, "test", "apple", "a.png"), 8, (_, _) => 1);
        LoadFails(root, Path.Combine(root, "test"), "class folders [apple] differ from");
    }
}

namespace NeuroPlugin.Tests.InGame;

/// <summary>
/// The CPU path of textures in (<see cref="ImageInputTransform"/>), the reference of the GL path: hand-computed values
/// for patterns whose answer is known (same size, 2×2 area means, a bilinear ramp, luma), PyTorch's
/// <c>F.interpolate</c> through golden files, and errors that name the field.
/// </summary>
public sealed class TextureInputCpuTests
{
    /// <summary>A W×H RGBA8 image whose texel (x, y) (y counted from the top) has R = 20x + y, G = 200 − 7y, B = 3x·y, A = 255.</summary>
    internal static byte[] Pattern(int width, int height, RowOrder rows)
    {
        var pixels = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int row = rows == RowOrder.BottomUp ? height - 1 - y : y;
                int at = (row * width + x) * 4;
                pixels[at] = (byte)(20 * x + y);
                pixels[at + 1] = (byte)(200 - 7 * y);
                pixels[at + 2] = (byte)(3 * x * y);
                pixels[at + 3] = 255;
            }
        return pixels;
    }

    static (double R, double G, double B) PatternTexel(int x, int y) => ((20 * x + y) / 255.0, (200 - 7 * y) / 255.0, 3 * x * y / 255.0);

    [TestCase(RowOrder.TopDown)]
    [TestCase(RowOrder.BottomUp)]
    public void SameSizeIsPerPixelNormalizationWithRowsReadTopDown(RowOrder rows)
    {
        const int width = 5, height = 4;
        float[] mean = [0.4f, 0.5f, 0.1f], std = [0.2f, 0.25f, 0.5f];
        var transform = new ImageInputTransform(ChannelOrder.Rgb, ResizeMode.Bilinear, 1f, mean, std);
        var sample = new float[3 * height * width];
        transform.CopyToTensor(Pattern(width, height, rows), width, height, rows, sample, height, width);
        var expected = new float[sample.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var (r, g, b) = PatternTexel(x, y);
                int at = y * width + x, plane = width * height;
                expected[at] = (float)((r - mean[0]) / std[0]);
                expected[plane + at] = (float)((g - mean[1]) / std[1]);
                expected[2 * plane + at] = (float)((b - mean[2]) / std[2]);
            }
        AssertImagesClose(expected, sample, transform, 1f, $"same size, {rows}");

        // Area resize at the same size is the same copy.
        var area = new ImageInputTransform(ChannelOrder.Rgb, ResizeMode.Area, 1f, mean, std);
        var areaSample = new float[sample.Length];
        area.CopyToTensor(Pattern(width, height, rows), width, height, rows, areaSample, height, width);
        Assert.That(areaSample, Is.EqualTo(sample));
    }

    [Test]
    public void AreaHalvingAveragesTwoByTwoBlocksInBgrOrder()
    {
        const int width = 6, height = 4;
        var transform = new ImageInputTransform(ChannelOrder.Bgr, ResizeMode.Area, scale: 255f);
        var sample = new float[3 * 2 * 3];
        transform.CopyToTensor(Pattern(width, height, RowOrder.TopDown), width, height, RowOrder.TopDown, sample, 2, 3);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
            {
                double r = 0, g = 0, b = 0;
                for (int y = 2 * i; y < 2 * i + 2; y++)
                    for (int x = 2 * j; x < 2 * j + 2; x++)
                    {
                        var t = PatternTexel(x, y);
                        r += t.R / 4; g += t.G / 4; b += t.B / 4;
                    }
                int at = i * 3 + j;
                Assert.That(sample[at], Is.EqualTo(255 * b).Within(1e-4), $"B at ({i},{j})");
                Assert.That(sample[6 + at], Is.EqualTo(255 * g).Within(1e-4), $"G at ({i},{j})");
                Assert.That(sample[12 + at], Is.EqualTo(255 * r).Within(1e-4), $"R at ({i},{j})");
            }
    }

    [Test]
    public void BilinearDoublingOfTwoTexelsFollowsHalfPixelCenters()
    {
        // 2×1 source (a, b) to width 4: source x = (j + ½)/2 − ½ = −¼ (clamped to 0), ¼, ¾, 1¼ (x₀ = x₁ = 1).
        byte[] pixels = [40, 0, 0, 255, 200, 0, 0, 255];
        var transform = new ImageInputTransform(ChannelOrder.Rgb, ResizeMode.Bilinear);
        var sample = new float[3 * 1 * 4];
        transform.CopyToTensor(pixels, 2, 1, RowOrder.TopDown, sample, 1, 4);
        double a = 40 / 255.0, b = 200 / 255.0;
        double[] expected = [a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b];
        for (int j = 0; j < 4; j++) Assert.That(sample[j], Is.EqualTo(expected[j]).Within(1e-6), $"column {j}");
        Assert.That(sample.AsSpan(4).ToArray(), Is.All.EqualTo(0f), "G and B are zero");
    }

    [Test]
    public void GrayscaleIsBt601Luma()
    {
        byte[] pixels = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 51, 102, 204, 0];
        var transform = new ImageInputTransform(ChannelOrder.Grayscale, ResizeMode.Area, 1f, [0.5f], [0.5f]);
        Assert.That(transform.ChannelCount, Is.EqualTo(1));
        var sample = new float[4];
        transform.CopyToTensor(pixels, 4, 1, RowOrder.TopDown, sample, 1, 4);
        double[] luma = [0.299, 0.587, 0.114, (0.299 * 51 + 0.587 * 102 + 0.114 * 204) / 255];
        for (int j = 0; j < 4; j++) Assert.That(sample[j], Is.EqualTo((luma[j] - 0.5) / 0.5).Within(1e-6), $"pixel {j}");
    }

    /// <summary>
    /// Compares transformed images with float32's rounding in mind: the normalization <c>(Scale·v − Mean[c]) / Std[c]</c>
    /// can cancel to near zero, so an element is judged against the size of the terms it was computed from,
    /// <c>|y − expected| ≤ 1e-6·(Scale·max|v| + |Mean[c]|) / Std[c]</c> (about 8 float32 roundings of those terms),
    /// not against its own, possibly tiny, magnitude.
    /// </summary>
    internal static void AssertImagesClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, ImageInputTransform transform, float maxTexel, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        int plane = expected.Length / transform.ChannelCount;
        for (int i = 0; i < expected.Length; i++)
        {
            int c = i / plane;
            double bound = 1e-6 * (transform.Scale * maxTexel + Math.Abs(transform.Mean[c])) / transform.Std[c];
            if (!(Math.Abs((double)actual[i] - expected[i]) <= bound))
                Assert.Fail($"{what}: element {i} (channel {c}) expected {expected[i]:G9}, got {actual[i]:G9}, beyond {bound:G3}");
        }
    }

    internal static readonly string[] GoldenCases =
        ["image_input_bilinear_up_rgb", "image_input_bilinear_down_bgr", "image_input_area_down_gray", "image_input_area_up_rgb"];

    /// <summary>The transform a golden file's attributes describe, and its source.</summary>
    internal static (ImageInputTransform Transform, byte[] Pixels, RowOrder Rows, int Width, int Height, int OutputHeight, int OutputWidth) FromGolden(GoldenFile golden)
    {
        var attributes = golden.Attributes;
        var channels = attributes.GetProperty("channels").GetString() switch { "rgb" => ChannelOrder.Rgb, "bgr" => ChannelOrder.Bgr, _ => ChannelOrder.Grayscale };
        var resize = attributes.GetProperty("mode").GetString() == "bilinear" ? ResizeMode.Bilinear : ResizeMode.Area;
        var rows = attributes.GetProperty("rows").GetString() == "bottom_up" ? RowOrder.BottomUp : RowOrder.TopDown;
        float[] mean = attributes.GetProperty("mean").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        float[] std = attributes.GetProperty("std").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        var transform = new ImageInputTransform(channels, resize, (float)attributes.GetProperty("scale").GetDouble(), mean, std);
        byte[] pixels = golden.Data("pixels").Select(v => (byte)v).ToArray();
        return (transform, pixels, rows, attributes.GetProperty("width").GetInt32(), attributes.GetProperty("height").GetInt32(),
            attributes.GetProperty("output_height").GetInt32(), attributes.GetProperty("output_width").GetInt32());
    }

    [TestCaseSource(nameof(GoldenCases))]
    public void EqualsPyTorchInterpolate(string name)
    {
        var golden = GoldenFile.Load(name);
        var (transform, pixels, rows, width, height, outputHeight, outputWidth) = FromGolden(golden);
        var sample = new float[transform.ChannelCount * outputHeight * outputWidth];
        transform.CopyToTensor(pixels, width, height, rows, sample, outputHeight, outputWidth);
        AssertImagesClose(golden.Data("y"), sample, transform, 1f, name);
    }

    [Test]
    public void FloatTexelsGiveTheSameValuesAsBytes()
    {
        const int width = 7, height = 5;
        byte[] pixels = Pattern(width, height, RowOrder.BottomUp);
        float[] texels = pixels.Select(p => p / 255f).ToArray();
        var transform = new ImageInputTransform(ChannelOrder.Rgb, ResizeMode.Bilinear, 2f, [0.1f, 0.2f, 0.3f], [1f, 2f, 3f]);
        float[] fromBytes = new float[3 * 3 * 4], fromFloats = new float[3 * 3 * 4];
        transform.CopyToTensor(pixels, width, height, RowOrder.BottomUp, fromBytes, 3, 4);
        transform.CopyToTensor(texels, width, height, RowOrder.BottomUp, fromFloats, 3, 4);
        Assert.That(fromFloats, Is.EqualTo(fromBytes));
    }

    [Test]
    public void WritesOneSampleOfACpuTensor()
    {
        using var backend = new CpuBackend();
        using var batch = backend.Allocate(new TensorShape(3, 1, 2, 2), "frames");
        var transform = new ImageInputTransform(ChannelOrder.Grayscale);
        transform.CopyToTensor(Pattern(4, 4, RowOrder.TopDown), 4, 4, RowOrder.TopDown, batch, 1);
        var expected = new float[4];
        transform.CopyToTensor(Pattern(4, 4, RowOrder.TopDown), 4, 4, RowOrder.TopDown, expected, 2, 2);
        var values = batch.ToArray();
        Assert.That(values.AsSpan(4, 4).ToArray(), Is.EqualTo(expected));
        Assert.That(values.AsSpan(0, 4).ToArray().Concat(values.AsSpan(8, 4).ToArray()), Is.All.EqualTo(0f), "other samples untouched");
    }

    [Test]
    public void BadArgumentsNameTheField()
    {
        Assert.That(() => new ImageInputTransform(ChannelOrder.Rgb, mean: [0.1f, 0.2f]),
            Throws.ArgumentException.With.Message.Contains("mean needs 3 values"));
        Assert.That(() => new ImageInputTransform(ChannelOrder.Rgb, std: [1f, 0f, 1f]),
            Throws.ArgumentException.With.Message.Contains("std[1]"));
        Assert.That(() => new ImageInputTransform(scale: float.NaN), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("scale"));

        var transform = new ImageInputTransform();
        var sample = new float[3 * 2 * 2];
        Assert.That(() => transform.CopyToTensor(new byte[4 * 4 * 4 - 1], 4, 4, RowOrder.TopDown, sample, 2, 2),
            Throws.ArgumentException.With.Message.Contains("pixels: a 4×4 RGBA image needs 64 bytes (RGBA8), got 63"));
        Assert.That(() => transform.CopyToTensor(new byte[64], 4, 4, RowOrder.TopDown, new float[11], 2, 2),
            Throws.ArgumentException.With.Message.Contains("sample: (3,2,2) needs 12 floats, got 11"));
        Assert.That(() => transform.CopyToTensor(new byte[64], 0, 4, RowOrder.TopDown, sample, 2, 2),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("width"));

        using var backend = new CpuBackend();
        using var gray = backend.Allocate(new TensorShape(2, 1, 2, 2), "gray");
        Assert.That(() => transform.CopyToTensor(new byte[64], 4, 4, RowOrder.TopDown, gray, 0),
            Throws.InstanceOf<ShapeException>().With.Message.Contains("destination 'gray' (2,1,2,2) must be (N,3,H,W)"));
        using var rgb = backend.Allocate(new TensorShape(2, 3, 2, 2), "rgb");
        Assert.That(() => transform.CopyToTensor(new byte[64], 4, 4, RowOrder.TopDown, rgb, 2),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("batchIndex 2"));
    }
}

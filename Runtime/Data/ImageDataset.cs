namespace NeuroPlugin.Data;

/// <summary>
/// A labelled set of 8-bit images held in host memory: <see cref="Images"/> is
/// <c>(N,C,H,W)</c> row-major bytes (C = 1 grayscale, the usual case, or 3 for RGB planes), <see cref="Labels"/> is <c>(N)</c> class indices in <c>0..ClassCount−1</c>.
/// Immutable by contract: the arrays are shared with every <see cref="DataLoader"/> built on the set,
/// so callers must not write into them.
/// </summary>
public sealed class ImageDataset
{
    /// <summary>Wraps the arrays (no copy) after checking that their lengths and the labels agree with the sizes.</summary>
    /// <param name="name">For messages, e.g. "Fashion-MNIST train".</param>
    /// <param name="images">Pixels, <c>(N,C,H,W)</c>: exactly <c>count·channels·height·width</c> bytes.</param>
    /// <param name="labels">Class indices, <c>(N)</c>: exactly <c>count</c> bytes, each &lt; <paramref name="classNames"/>.Length.</param>
    /// <param name="count">N, the number of items (may be 0).</param>
    /// <param name="height">H, pixels per column.</param>
    /// <param name="width">W, pixels per row.</param>
    /// <param name="classNames">One name per class; its length is <see cref="ClassCount"/> (1..256).</param>
    /// <param name="normalization">How a <see cref="DataLoader"/> turns pixels into inputs by default; <see cref="PixelNormalization.Identity"/> when null.</param>
    /// <param name="channels">C, planes per image: 1 (grayscale) or more (e.g. 3 for R, G, B planes, one after the other).</param>
    /// <exception cref="ArgumentException">A length, size or label does not fit.</exception>
    public ImageDataset(string name, byte[] images, byte[] labels, int count, int height, int width,
        IReadOnlyList<string> classNames, PixelNormalization? normalization = null, int channels = 1)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (count < 0 || channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"{name}: sizes must be count ≥ 0, channels > 0, height > 0, width > 0; got ({count},{channels},{height},{width})");
        if (classNames.Count is < 1 or > 256)
            throw new ArgumentException($"{name}: a byte label allows 1 to 256 classes, got {classNames.Count}", nameof(classNames));
        long pixels = (long)count * channels * height * width;
        if (pixels > Array.MaxLength)
            throw new ArgumentException($"{name}: {count} images of {channels}×{height}×{width} need {pixels} bytes, more than an array holds", nameof(images));
        if (images.LongLength != pixels)
            throw new ArgumentException($"{name}: {count} images of {channels}×{height}×{width} need {pixels} bytes, got {images.LongLength}", nameof(images));
        if (labels.Length != count)
            throw new ArgumentException($"{name}: {count} images need {count} labels, got {labels.Length}", nameof(labels));
        int bad = FindLabelOutOfRange(labels, classNames.Count);
        if (bad >= 0)
            throw new ArgumentException($"{name}: label {labels[bad]} at index {bad} is not < {classNames.Count} classes", nameof(labels));

        Name = name;
        Images = images;
        Labels = labels;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames;
        Normalization = normalization ?? PixelNormalization.Identity;
    }

    /// <summary>For messages, e.g. "Fashion-MNIST train".</summary>
    public string Name { get; }
    /// <summary>Pixels, <c>(N,C,H,W)</c> row-major, one byte each (0 = black … 255 = white, or as the source defines).</summary>
    public byte[] Images { get; }
    /// <summary>Class index of each item, <c>(N)</c>.</summary>
    public byte[] Labels { get; }
    /// <summary>N, the number of items.</summary>
    public int Count { get; }
    /// <summary>C, planes per image: 1 for grayscale (Fashion-MNIST), 3 for RGB.</summary>
    public int Channels { get; }
    /// <summary>H, image height in pixels.</summary>
    public int Height { get; }
    /// <summary>W, image width in pixels.</summary>
    public int Width { get; }
    /// <summary>Bytes per image, <c>C·H·W</c> (<c>H·W</c> for grayscale).</summary>
    public int PixelsPerImage => Channels * Height * Width;
    /// <summary>Number of classes K; every label is in <c>0..K−1</c>.</summary>
    public int ClassCount => ClassNames.Count;
    /// <summary>Human-readable name of each class, indexed by label.</summary>
    public IReadOnlyList<string> ClassNames { get; }
    /// <summary>The input normalization a <see cref="DataLoader"/> uses unless told otherwise (the dataset's pixel statistics).</summary>
    public PixelNormalization Normalization { get; }

    /// <summary>The pixels of item <paramref name="index"/>, <c>(C,H,W)</c> row-major.</summary>
    public ReadOnlySpan<byte> GetImage(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"{Name}: item {index} is outside 0..{Count - 1}");
        return Images.AsSpan(index * PixelsPerImage, PixelsPerImage);
    }

    /// <summary>A copy of items <c>start .. start+count−1</c>, for quick tests and small experiments.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside <c>0..Count</c>.</exception>
    public ImageDataset Subset(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
            throw new ArgumentOutOfRangeException(nameof(count), $"{Name}: items {start}..{start + count - 1} are not inside 0..{Count - 1}");
        int pixels = PixelsPerImage;
        return new ImageDataset($"{Name} [{start}..{start + count})",
            Images.AsSpan(start * pixels, count * pixels).ToArray(),
            Labels.AsSpan(start, count).ToArray(),
            count, Height, Width, ClassNames, Normalization, Channels);
    }

    /// <summary>A copy of the first <paramref name="count"/> items: <c>Subset(0, count)</c>.</summary>
    public ImageDataset Take(int count) => Subset(0, count);

    /// <summary>Items per class, indexed by label: a histogram of <see cref="Labels"/> (length <see cref="ClassCount"/>).</summary>
    public int[] CountPerClass()
    {
        var histogram = new int[ClassCount];
        foreach (byte label in Labels)
            histogram[label]++;
        return histogram;
    }

    /// <summary>The index of the first label ≥ <paramref name="classCount"/>, or −1 when all are in range.</summary>
    internal static int FindLabelOutOfRange(ReadOnlySpan<byte> labels, int classCount) =>
        classCount > byte.MaxValue ? -1 : labels.IndexOfAnyInRange((byte)classCount, byte.MaxValue);
}

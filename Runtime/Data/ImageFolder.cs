using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace NeuroPlugin.Data;

/// <summary>
/// How <see cref="ImageFolder.Load"/> decodes a folder and the limits it enforces. Every limit is checked before the
/// memory it guards is spent: file size and count before reading, width/height/pixels from the header
/// (<c>Image.Identify</c>) before decoding, and the dataset's decoded size <c>N·C·S·S</c> before any image is decoded.
/// </summary>
public sealed record ImageFolderOptions
{
    /// <summary>S: every image is resized to S×S (stretched, not cropped) with the bilinear (triangle) resampler. Default 28.</summary>
    public int ImageSize { get; init; } = 28;
    /// <summary>C: 1 for grayscale (BT.601 luma <c>Y = 0.299R + 0.587G + 0.114B</c>, rounded: torchvision's and PIL's, and
    /// the in-game <see cref="ImageInputTransform"/>'s), or 3 for R, G, B planes. Default 1.</summary>
    public int Channels { get; init; } = 1;
    /// <summary>Fraction of each class held out for testing when the root has no <c>train</c>/<c>test</c> folders (0 ≤ f &lt; 1). Default 0.2.</summary>
    public double TestFraction { get; init; } = 0.2;
    /// <summary>Seed of that split. Default 1.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Largest image file accepted, in bytes. Default 16 MiB.</summary>
    public long MaxFileBytes { get; init; } = 16L << 20;
    /// <summary>Largest width and height an image header may declare. Default 8192.</summary>
    public int MaxSide { get; init; } = 8192;
    /// <summary>Largest width·height an image header may declare (a decompression bomb is refused before decoding). Default 2²⁴ (16.7 M).</summary>
    public long MaxPixels { get; init; } = 1L << 24;
    /// <summary>Most image files in the whole dataset (train and test). Default 200 000.</summary>
    public int MaxFiles { get; init; } = 200_000;
    /// <summary>Largest decoded dataset, <c>N·C·S·S</c> bytes over train and test. Default 1 GiB.</summary>
    public long MaxDecodedBytes { get; init; } = 1L << 30;
}

/// <summary>The two halves of an image folder.</summary>
public sealed record ImageFolderSplit(ImageDataset Train, ImageDataset Test);

/// <summary>
/// A dataset of your own images laid out as torchvision's <c>ImageFolder</c>: <c>ROOT/&lt;class&gt;/*.png|jpg|jpeg</c>.
/// Class <c>k</c> is the k-th class folder in ordinal (byte-wise) name order. With both <c>ROOT/train/&lt;class&gt;</c>
/// and <c>ROOT/test/&lt;class&gt;</c> those are the split (the same class folders in each); otherwise each class is split
/// by <see cref="ImageFolderOptions.TestFraction"/> with a seeded shuffle. Every file in a class folder (except hidden
/// dot-files) must be a PNG or JPEG (<see cref="ImageDecoder"/>: ImageSharp with only those two formats). Images become
/// <see cref="ImageDataset"/>s of <c>(N,C,S,S)</c> bytes, the shape <see cref="DataLoader"/> batches, whose
/// normalization is the training pixels' mean and standard deviation of <c>x/255</c>.
/// Every problem is a <see cref="DatasetException"/> naming the file or folder and, for a limit, the limit.
/// </summary>
public static class ImageFolder
{
    /// <summary>File extensions read (case-insensitive).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg"];

    /// <summary>Reads the folder <paramref name="root"/> (layout above) into train and test sets.</summary>
    /// <exception cref="DatasetException">The layout, a file, or a limit of <paramref name="options"/> is violated.</exception>
    public static ImageFolderSplit Load(string root, ImageFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        var o = options ?? new ImageFolderOptions();
        CheckOptions(o);
        if (!Directory.Exists(root)) throw new DatasetException(root, "image folder not found");

        string trainFolder = Path.Combine(root, "train"), testFolder = Path.Combine(root, "test");
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)));
        List<string> classes;
        List<(string Path, byte Label)> train, test;
        if (Directory.Exists(trainFolder) && Directory.Exists(testFolder))
        {
            classes = ClassFolders(trainFolder);
            var testClasses = ClassFolders(testFolder);
            if (!testClasses.SequenceEqual(classes, StringComparer.Ordinal))
                throw new DatasetException(testFolder, $"class folders [{string.Join(", ", testClasses)}] differ from {trainFolder}'s [{string.Join(", ", classes)}]");
            train = ListFiles(trainFolder, classes, o);
            test = ListFiles(testFolder, classes, o);
        }
        else
        {
            classes = ClassFolders(root);
            (train, test) = Split(ListFiles(root, classes, o), classes.Count, o);
        }

        long files = train.Count + test.Count;
        if (files > o.MaxFiles) throw new DatasetException(root, $"holds {files} image files, over the limit of {o.MaxFiles} (MaxFiles)");
        long decoded = files * o.Channels * o.ImageSize * o.ImageSize;
        if (decoded > o.MaxDecodedBytes)
            throw new DatasetException(root, $"{files} images of {o.Channels}×{o.ImageSize}×{o.ImageSize} decode to {decoded} bytes, over the limit of {o.MaxDecodedBytes} bytes (MaxDecodedBytes)");

        byte[] trainPixels = Decode(train, o), testPixels = Decode(test, o);
        var normalization = Statistics(trainPixels);
        return new ImageFolderSplit(
            Build($"{name} train", trainPixels, train, classes, normalization, o),
            Build($"{name} test", testPixels, test, classes, normalization, o));
    }

    static void CheckOptions(ImageFolderOptions o)
    {
        if (o.ImageSize < 1) throw new ArgumentOutOfRangeException(nameof(o.ImageSize), o.ImageSize, "image size must be at least 1");
        if (o.Channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(o.Channels), o.Channels, "channels must be 1 (grayscale) or 3 (RGB)");
        if (!(o.TestFraction >= 0 && o.TestFraction < 1)) throw new ArgumentOutOfRangeException(nameof(o.TestFraction), o.TestFraction, "test fraction must be in [0, 1)");
    }

    /// <summary>The class folder names under <paramref name="folder"/>, ordinal-sorted; 1..256 of them (byte labels).</summary>
    static List<string> ClassFolders(string folder)
    {
        var names = new DirectoryInfo(folder).GetDirectories()
            .Where(d => !d.Name.StartsWith('.'))
            .Select(d => d.Name).OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (names.Count == 0)
            throw new DatasetException(folder, "no class folders: expected one folder per class holding its .png/.jpg/.jpeg images, e.g. cat/1.png");
        if (names.Count > 256) throw new DatasetException(folder, $"{names.Count} class folders, more than the 256 a byte label allows");
        return names;
    }

    /// <summary>Every image file of every class, in class then ordinal file-name order; checks extension, size and count.</summary>
    static List<(string Path, byte Label)> ListFiles(string folder, List<string> classes, ImageFolderOptions o)
    {
        var items = new List<(string, byte)>();
        for (int k = 0; k < classes.Count; k++)
        {
            string classFolder = Path.Combine(folder, classes[k]);
            var files = new DirectoryInfo(classFolder).GetFiles()
                .Where(f => !f.Name.StartsWith('.'))
                .OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new DatasetException(classFolder, "class folder holds no images");
            foreach (var file in files)
            {
                if (!Extensions.Contains(file.Extension.ToLowerInvariant()))
                    throw new DatasetException(file.FullName, $"unsupported file type '{file.Extension}': only PNG and JPEG images ({string.Join(", ", Extensions)}) are read");
                if (file.Length > o.MaxFileBytes)
                    throw new DatasetException(file.FullName, $"{file.Length} bytes, over the limit of {o.MaxFileBytes} bytes (MaxFileBytes)");
                if (items.Count >= o.MaxFiles)
                    throw new DatasetException(folder, $"more than {o.MaxFiles} image files, the limit (MaxFiles)");
                items.Add((file.FullName, (byte)k));
            }
        }
        return items;
    }

    /// <summary>Per class: a Fisher–Yates shuffle of its items with <see cref="SplitMix64"/> seeded by
    /// <c>(uint)seed ≪ 32 | class</c>, the first <c>round(n·f)</c> to test (keeping at least one for training), in file order.</summary>
    static (List<(string, byte)> Train, List<(string, byte)> Test) Split(List<(string Path, byte Label)> items, int classCount, ImageFolderOptions o)
    {
        var train = new List<(string, byte)>();
        var test = new List<(string, byte)>();
        for (int k = 0; k < classCount; k++)
        {
            var members = items.Where(i => i.Label == k).ToList();
            int testCount = Math.Min((int)Math.Round(members.Count * o.TestFraction, MidpointRounding.AwayFromZero), members.Count - 1);
            int[] order = Enumerable.Range(0, members.Count).ToArray();
            var random = new SplitMix64(((ulong)(uint)o.Seed << 32) | (uint)k);
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = (int)random.NextBelow((uint)i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            var toTest = new bool[members.Count];
            for (int i = 0; i < testCount; i++) toTest[order[i]] = true;
            for (int i = 0; i < members.Count; i++) (toTest[i] ? test : train).Add(members[i]);
        }
        return (train, test);
    }

    static byte[] Decode(List<(string Path, byte Label)> items, ImageFolderOptions o)
    {
        int size = o.ImageSize, plane = size * size, perImage = o.Channels * plane;
        var pixels = new byte[(long)items.Count * perImage];
        for (int n = 0; n < items.Count; n++)
            DecodeInto(items[n].Path, pixels.AsSpan(n * perImage, perImage), o);
        return pixels;
    }

    /// <summary>Decodes one file into <paramref name="destination"/>, <c>(C,S,S)</c>: read (a regular file, at most
    /// MaxFileBytes), identify (format and declared size against the limits), decode as RGB, resize to S×S if needed,
    /// then write the R, G, B planes or the BT.601 luma plane.</summary>
    static void DecodeInto(string path, Span<byte> destination, ImageFolderOptions o)
    {
        byte[] bytes = ReadBounded(path, o.MaxFileBytes);
        try
        {
            int size = o.ImageSize, plane = size * size;
            using var image = ImageDecoder.Load<Rgb24>(bytes, path, o.MaxSide, o.MaxPixels);
            Resize(image, size);
            var interleaved = new Rgb24[plane];
            image.CopyPixelDataTo(interleaved);
            for (int i = 0; i < plane; i++)
            {
                var p = interleaved[i];
                if (o.Channels == 1)
                    destination[i] = Luma(p);
                else
                {
                    destination[i] = p.R;
                    destination[plane + i] = p.G;
                    destination[2 * plane + i] = p.B;
                }
            }
        }
        catch (Exception e) when (ImageDecoder.IsDecodeFailure(e)) // resizing may fail to allocate too
        {
            throw ImageDecoder.Failure(path, e);
        }
    }

    /// <summary>BT.601 luma, <c>Y = 0.299R + 0.587G + 0.114B</c> rounded to the nearest byte: torchvision's
    /// <c>rgb_to_grayscale</c> and PIL's <c>convert("L")</c>, and the formula <see cref="ImageInputTransform"/> uses for
    /// in-game frames, so a model sees the same grey in training and in the game.</summary>
    internal static byte Luma(Rgb24 p) => (byte)((299 * p.R + 587 * p.G + 114 * p.B + 500) / 1000);

    /// <summary>Reads a file of 1 to <paramref name="limit"/> bytes. A file whose size the system gives as 0 is refused
    /// before it is opened: an empty file is no image, and devices, pipes and <c>/proc</c> files report 0 (a <c>*.png</c>
    /// link to <c>/dev/zero</c> would otherwise never end, and opening a pipe blocks). The read stops one byte past the
    /// limit, so a file that grew after it was listed cannot make it allocate more.</summary>
    static byte[] ReadBounded(string path, long limit)
    {
        try
        {
            var listed = new FileInfo(path);
            var target = listed.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? listed;
            if (!target.Exists || target.Length == 0)
                throw new DatasetException(path, "is empty, missing or not a regular file (a device, pipe or socket)");
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            // it may have grown since it was listed
            return Serialization.BoundedRead.ToMemory(stream, limit)?.ToArray() ?? throw new DatasetException(path, $"more than {limit} bytes, over the limit (MaxFileBytes)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException(path, $"cannot be read: {e.Message}", e);
        }
    }

    static void Resize<TPixel>(Image<TPixel> image, int size) where TPixel : unmanaged, IPixel<TPixel>
    {
        if (image.Width != size || image.Height != size)
            image.Mutate(x => x.Resize(size, size, KnownResamplers.Triangle));
    }

    /// <summary>Mean and standard deviation of <c>x/255</c> over <paramref name="pixels"/> (std 1 when they are all equal or there are none).</summary>
    static PixelNormalization Statistics(byte[] pixels)
    {
        if (pixels.Length == 0) return PixelNormalization.Identity;
        var histogram = new long[256];
        foreach (byte p in pixels) histogram[p]++;
        double sum = 0, squares = 0;
        for (int v = 0; v < 256; v++)
        {
            double x = v / 255.0;
            sum += histogram[v] * x;
            squares += histogram[v] * x * x;
        }
        double mean = sum / pixels.Length;
        double std = Math.Sqrt(Math.Max(0, squares / pixels.Length - mean * mean));
        return new PixelNormalization((float)mean, std > 1e-6 ? (float)std : 1f);
    }

    static ImageDataset Build(string name, byte[] pixels, List<(string Path, byte Label)> items, List<string> classes,
        PixelNormalization normalization, ImageFolderOptions o) =>
        new(name, pixels, items.Select(i => i.Label).ToArray(), items.Count, o.ImageSize, o.ImageSize, classes, normalization, o.Channels);
}

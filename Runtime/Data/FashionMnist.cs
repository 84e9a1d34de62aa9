namespace NeuroPlugin.Data;

/// <summary>
/// Fashion-MNIST (Zalando): 28×28 grayscale images of clothing in 10 classes, 60000 for training and
/// 10000 for testing, 6000/1000 per class. Read from the four IDX files
/// <c>{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz</c> (the uncompressed names without <c>.gz</c> are
/// accepted too) in a folder chosen, first match wins, by: the <c>folder</c> argument, the environment
/// variable <see cref="FolderEnvironmentVariable"/>, then <see cref="DefaultFolder"/> (where the Debian
/// package <c>dataset-fashion-mnist</c> installs them).
/// </summary>
public static class FashionMnist
{
    /// <summary>Where <c>apt-get install dataset-fashion-mnist</c> puts the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";
    /// <summary>Environment variable that overrides <see cref="DefaultFolder"/>.</summary>
    public const string FolderEnvironmentVariable = "NEURO_FASHION_MNIST";
    /// <summary>Number of classes, K = 10.</summary>
    public const int ClassCount = 10;
    /// <summary>Image height and width, 28.</summary>
    public const int ImageSize = 28;
    /// <summary>Mean of <c>x/255</c> over the training images (0.2860).</summary>
    public const float PixelMean = 0.2860f;
    /// <summary>Standard deviation of <c>x/255</c> over the training images (0.3530).</summary>
    public const float PixelStd = 0.3530f;

    /// <summary>The class names, indexed by label: 0 "T-shirt/top" … 9 "Ankle boot".</summary>
    public static IReadOnlyList<string> ClassNames { get; } = Array.AsReadOnly(new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    });

    /// <summary>The usual input normalization, <c>(x/255 − 0.2860) / 0.3530</c>; datasets loaded here carry it.</summary>
    public static PixelNormalization Normalization { get; } = new(PixelMean, PixelStd);

    /// <summary>The folder that will be read: <paramref name="folder"/> if given, else the environment variable
    /// <see cref="FolderEnvironmentVariable"/> if set and not empty, else <see cref="DefaultFolder"/>.</summary>
    public static string ResolveFolder(string? folder = null)
    {
        if (!string.IsNullOrEmpty(folder))
            return folder;
        string? fromEnvironment = Environment.GetEnvironmentVariable(FolderEnvironmentVariable);
        return string.IsNullOrEmpty(fromEnvironment) ? DefaultFolder : fromEnvironment;
    }

    /// <summary>The 60000 training items, images <c>(60000,28,28)</c>, labels <c>(60000)</c>.</summary>
    /// <param name="folder">Overrides the folder (see <see cref="ResolveFolder"/>).</param>
    /// <exception cref="DatasetException">A file is missing or malformed, the counts differ, or a label is ≥ 10.</exception>
    public static ImageDataset LoadTrain(string? folder = null) => Load(folder, "train", "Fashion-MNIST train");

    /// <summary>The 10000 test items, images <c>(10000,28,28)</c>, labels <c>(10000)</c>.</summary>
    /// <param name="folder">Overrides the folder (see <see cref="ResolveFolder"/>).</param>
    /// <exception cref="DatasetException">A file is missing or malformed, the counts differ, or a label is ≥ 10.</exception>
    public static ImageDataset LoadTest(string? folder = null) => Load(folder, "t10k", "Fashion-MNIST test");

    static ImageDataset Load(string? folder, string prefix, string name)
    {
        string directory = ResolveFolder(folder);
        string imagesPath = FindFile(directory, $"{prefix}-images-idx3-ubyte");
        string labelsPath = FindFile(directory, $"{prefix}-labels-idx1-ubyte");

        IdxImages images = IdxReader.ReadImages(imagesPath);
        byte[] labels = IdxReader.ReadLabels(labelsPath);
        if (images.Count != labels.Length)
            throw new DatasetException(imagesPath, $"holds {images.Count} images but {labelsPath} holds {labels.Length} labels; the two files must describe the same items");
        int bad = ImageDataset.FindLabelOutOfRange(labels, ClassCount);
        if (bad >= 0)
            throw new DatasetException(labelsPath, $"label {labels[bad]} at index {bad} is out of range: Fashion-MNIST labels are 0..{ClassCount - 1}");

        return new ImageDataset(name, images.Pixels, labels, images.Count, images.Height, images.Width, ClassNames, Normalization);
    }

    /// <summary>The gzip file if present, else the uncompressed one; if neither exists, an error that says how to get them.</summary>
    static string FindFile(string directory, string baseName)
    {
        string gzipPath = Path.Combine(directory, baseName + ".gz");
        if (File.Exists(gzipPath))
            return gzipPath;
        string rawPath = Path.Combine(directory, baseName);
        if (File.Exists(rawPath))
            return rawPath;
        throw new DatasetException(gzipPath,
            $"file not found (nor {baseName} uncompressed). Install the dataset with `apt-get install dataset-fashion-mnist` " +
            $"(into {DefaultFolder}), or point the environment variable {FolderEnvironmentVariable} or the folder argument at a folder holding the Fashion-MNIST IDX files");
    }
}

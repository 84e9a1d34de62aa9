namespace NeuroPlugin.Tests.Data;

/// <summary>
/// Fashion-MNIST from the installed Debian package (<c>dataset-fashion-mnist</c>), and from broken copies
/// written to a temporary folder. Expected values were read from the files with Python's gzip module and od.
/// </summary>
public class FashionMnistTests
{
    static readonly Lazy<ImageDataset> train = new(() => FashionMnist.LoadTrain());
    static readonly Lazy<ImageDataset> test = new(() => FashionMnist.LoadTest());

    /// <summary>The real training set, loaded once for every test that needs it.</summary>
    internal static ImageDataset Train => train.Value;

    [Test]
    public void TrainSetHasSixtyThousandBalancedItems()
    {
        ImageDataset data = train.Value;
        Assert.That((data.Count, data.Height, data.Width), Is.EqualTo((60000, 28, 28)));
        Assert.That(data.Images, Has.Length.EqualTo(60000 * 28 * 28));
        Assert.That(data.Labels, Has.Length.EqualTo(60000));
        Assert.That(data.ClassCount, Is.EqualTo(10));
        Assert.That(data.CountPerClass(), Is.EqualTo(Enumerable.Repeat(6000, 10)));
        Assert.That(data.Labels[..10], Is.EqualTo(new byte[] { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 }));
        Assert.That(data.ClassNames[data.Labels[0]], Is.EqualTo("Ankle boot"));

        ReadOnlySpan<byte> first = data.GetImage(0);
        long sum = 0;
        foreach (byte pixel in first) sum += pixel;
        Assert.That(sum, Is.EqualTo(76247), "pixel sum of the first training image");
        Assert.That(first[300..310].ToArray(), Is.EqualTo(new byte[] { 210, 211, 213, 223, 220, 243, 202, 0, 0, 0 }));
        Assert.That(data.Normalization, Is.EqualTo(FashionMnist.Normalization));
    }

    [Test]
    public void TrainPixelMeanMatchesTheNormalizationConstant()
    {
        double sum = 0;
        foreach (byte pixel in train.Value.Images) sum += pixel;
        Assert.That(sum / train.Value.Images.Length / 255, Is.EqualTo(FashionMnist.PixelMean).Within(1e-4));
    }

    [Test]
    public void TestSetHasTenThousandBalancedItems()
    {
        ImageDataset data = test.Value;
        Assert.That((data.Count, data.Height, data.Width), Is.EqualTo((10000, 28, 28)));
        Assert.That(data.CountPerClass(), Is.EqualTo(Enumerable.Repeat(1000, 10)));
        Assert.That(data.Labels[..10], Is.EqualTo(new byte[] { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 }));
    }

    [Test]
    public void ClassNamesAreTheOfficialOnes()
    {
        Assert.That(FashionMnist.ClassNames, Is.EqualTo(new[]
            { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }));
    }

    [Test]
    public void TakeAndSubsetCopyTheRightItems()
    {
        ImageDataset data = train.Value;
        ImageDataset first = data.Take(100);
        Assert.That(first.Count, Is.EqualTo(100));
        Assert.That(first.Labels, Is.EqualTo(data.Labels[..100]));
        Assert.That(first.Images, Is.EqualTo(data.Images[..(100 * 784)]));

        ImageDataset middle = data.Subset(1000, 3);
        Assert.That(middle.Labels, Is.EqualTo(data.Labels[1000..1003]));
        Assert.That(middle.GetImage(2).ToArray(), Is.EqualTo(data.GetImage(1002).ToArray()));
        Assert.That(middle.ClassNames, Is.SameAs(data.ClassNames));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Subset(59999, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Take(-1));
    }

    // ---- folders, overrides and broken copies ----

    IdxTestFiles files = null!;

    [SetUp] public void CreateFolder() => files = new IdxTestFiles();
    [TearDown] public void DeleteFolder() => files.Dispose();

    void WriteSet(string prefix, byte[] images, byte[] labels, bool gzip = true)
    {
        string suffix = gzip ? ".gz" : "";
        files.Write($"{prefix}-images-idx3-ubyte{suffix}", images, gzip);
        files.Write($"{prefix}-labels-idx1-ubyte{suffix}", labels, gzip);
    }

    [Test]
    public void FolderArgumentIsRead()
    {
        WriteSet("train", IdxTestFiles.Images(3, 28, 28), IdxTestFiles.Labels(0, 9, 4));
        ImageDataset data = FashionMnist.LoadTrain(files.Folder);
        Assert.That(data.Count, Is.EqualTo(3));
        Assert.That(data.Labels, Is.EqualTo(new byte[] { 0, 9, 4 }));
    }

    [Test]
    public void UncompressedFilesAreAccepted()
    {
        WriteSet("t10k", IdxTestFiles.Images(2, 28, 28), IdxTestFiles.Labels(1, 2), gzip: false);
        Assert.That(FashionMnist.LoadTest(files.Folder).Labels, Is.EqualTo(new byte[] { 1, 2 }));
    }

    [Test]
    public void EnvironmentVariableOverridesTheDefaultButNotTheArgument()
    {
        string? saved = Environment.GetEnvironmentVariable(FashionMnist.FolderEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable(FashionMnist.FolderEnvironmentVariable, files.Folder);
            Assert.That(FashionMnist.ResolveFolder(), Is.EqualTo(files.Folder));
            Assert.That(FashionMnist.ResolveFolder("/elsewhere"), Is.EqualTo("/elsewhere"));
            WriteSet("train", IdxTestFiles.Images(1, 28, 28), IdxTestFiles.Labels(7));
            Assert.That(FashionMnist.LoadTrain().Labels, Is.EqualTo(new byte[] { 7 }));

            Environment.SetEnvironmentVariable(FashionMnist.FolderEnvironmentVariable, null);
            Assert.That(FashionMnist.ResolveFolder(), Is.EqualTo(FashionMnist.DefaultFolder));
        }
        finally
        {
            Environment.SetEnvironmentVariable(FashionMnist.FolderEnvironmentVariable, saved);
        }
    }

    [Test]
    public void MissingFileSuggestsHowToInstall()
    {
        var error = Assert.Throws<DatasetException>(() => FashionMnist.LoadTrain(files.Folder))!;
        Assert.That(error.Message, Does.Contain(Path.Combine(files.Folder, "train-images-idx3-ubyte.gz")));
        Assert.That(error.Message, Does.Contain("file not found"));
        Assert.That(error.Message, Does.Contain("apt-get install dataset-fashion-mnist"));
        Assert.That(error.Message, Does.Contain("NEURO_FASHION_MNIST"));
    }

    [Test]
    public void MissingLabelFileIsNamed()
    {
        files.Write("train-images-idx3-ubyte.gz", IdxTestFiles.Images(1, 28, 28), gzip: true);
        var error = Assert.Throws<DatasetException>(() => FashionMnist.LoadTrain(files.Folder))!;
        Assert.That(error.Message, Does.Contain("train-labels-idx1-ubyte.gz").And.Contain("file not found"));
    }

    [Test]
    public void ImageAndLabelCountsMustAgree()
    {
        WriteSet("train", IdxTestFiles.Images(3, 28, 28), IdxTestFiles.Labels(1, 2));
        var error = Assert.Throws<DatasetException>(() => FashionMnist.LoadTrain(files.Folder))!;
        Assert.That(error.Message, Does.Contain("train-images-idx3-ubyte.gz: holds 3 images"));
        Assert.That(error.Message, Does.Contain(Path.Combine(files.Folder, "train-labels-idx1-ubyte.gz") + " holds 2 labels"));
    }

    [Test]
    public void LabelsMustBeBelowTen()
    {
        WriteSet("t10k", IdxTestFiles.Images(3, 28, 28), IdxTestFiles.Labels(1, 10, 2));
        var error = Assert.Throws<DatasetException>(() => FashionMnist.LoadTest(files.Folder))!;
        Assert.That(error.Message, Does.StartWith(Path.Combine(files.Folder, "t10k-labels-idx1-ubyte.gz") + ": "));
        Assert.That(error.Message, Does.Contain("label 10 at index 1 is out of range"));
    }

    [Test]
    public void BrokenFileInTheFolderNamesThatFile()
    {
        WriteSet("train", IdxTestFiles.Images(3, 28, 28)[..500], IdxTestFiles.Labels(1, 2, 3));
        var error = Assert.Throws<DatasetException>(() => FashionMnist.LoadTrain(files.Folder))!;
        Assert.That(error.Message, Does.Contain("train-images-idx3-ubyte.gz: truncated: header declares 3 images of 28×28 (2352 bytes)"));
    }
}

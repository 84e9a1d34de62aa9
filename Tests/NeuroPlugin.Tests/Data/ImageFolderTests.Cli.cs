namespace NeuroPlugin.Tests.Data;

/// <summary>The <c>neuro train --data folder:ROOT</c> end to end on the folders <see cref="ImageFolderTests"/> writes
/// (apart, as they need the neuro tool, which the net8.0 Runtime tests do not build).</summary>
public partial class ImageFolderTests
{
    /// <summary><c>neuro train --data folder:ROOT</c> trains LeNet-5 (built for C×28×28 and 3 classes) on the CPU for one
    /// epoch and reports an accuracy: 12 images per class, 20 % held out, so 10 per class train.</summary>
    [TestCase(1)]
    [TestCase(3)]
    public void NeuroTrainOnAFolder(int channels)
    {
        WritePatterns(root, perClass: 12);
        var (code, output, error) = NeuroCli.Run("train", "--data", $"folder:{root}", "--model", "lenet5", "--epochs", "1",
            "--backend", "cpu", "--batch", "4", "--image-size", "28", "--channels", channels.ToString());
        Assert.That(code, Is.EqualTo(0), output + error);
        Assert.That(output, Does.Contain("test accuracy").And.Contain("on 30"));
    }

    /// <summary>--test-fraction sets the hold-out: 12 images per class, half held out, so 6 per class (18) are tested;
    /// out-of-range values, Fashion-MNIST and a folder with its own train/test split are usage errors naming the flag.</summary>
    [Test]
    public void NeuroTrainTestFraction()
    {
        WritePatterns(root, perClass: 12);
        string[] common = ["train", "--model", "lenet5", "--epochs", "1", "--backend", "cpu", "--batch", "4"];
        var (code, output, error) = NeuroCli.Run([.. common, "--data", $"folder:{root}", "--test-fraction", "0.5"]);
        Assert.That(code, Is.EqualTo(0), output + error);
        Assert.That(output, Does.Contain("(18 images)").And.Contain("on 18"));

        foreach (var (arguments, message) in new (string[], string)[]
        {
            (["--data", $"folder:{root}", "--test-fraction", "1"], "--test-fraction must be between 0 and 1 (exclusive), got 1"),
            (["--data", "fashion-mnist", "--test-fraction", "0.5"], "--test-fraction applies to --data folder:PATH only"),
        })
        {
            (code, output, error) = NeuroCli.Run([.. common, .. arguments]);
            Assert.That(code, Is.Not.EqualTo(0), message);
            Assert.That(output + error, Does.Contain(message));
        }
        WritePatterns(Path.Combine(root, "split", "train"), perClass: 1);
        WritePatterns(Path.Combine(root, "split", "test"), perClass: 1);
        (code, output, error) = NeuroCli.Run([.. common, "--data", $"folder:{Path.Combine(root, "split")}", "--test-fraction", "0.5"]);
        Assert.That(output + error, Does.Contain("has train/ and test/ folders, whose split is used as it is"));
        Assert.That(code, Is.Not.EqualTo(0));
    }
}

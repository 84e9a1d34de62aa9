namespace NeuroPlugin.Tests.Cli;

/// <summary>
/// <c>neuro train --image-size S</c>: the zoo models that need more than 28×28 train on Fashion-MNIST through a bilinear
/// resize node in front of the model; too small a size names the model's smallest one.
/// </summary>
[NonParallelizable] // redirects the process-wide Console
public class ImageSizeCliTests
{
    /// <summary>The models <c>neuro train</c> cannot train at 28×28, at their smallest size (Inception v3's auxiliary
    /// head needs 299; the others' poolings and strides).</summary>
    static readonly (string Model, int Size)[] Larger =
        [("alexnet", 63), ("zfnet", 53), ("vgg11", 32), ("vgg16", 32), ("inception_v3", 299), ("fractalnet", 32), ("densenet121", 29)];

    /// <summary>The command (plus --test-limit, as the full test set at 63×63 takes minutes on the CPU).</summary>
    [Test]
    public void AlexNetAt63_TrainsAndReports()
    {
        using var files = new TempFolder("neuro-image-size");
        string report = files.Combine("report.json");
        var (code, output, error) = NeuroCli.Run("train", "--model", "alexnet", "--image-size", "63", "--train-limit", "64", "--test-limit", "100",
            "--epochs", "1", "--batch", "32", "--backend", "cpu", "--report", report);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("training alexnet").And.Contain("test accuracy").And.Contain("(100 images)"));
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
        Assert.That(json.RootElement.GetProperty("model").GetString(), Is.EqualTo("alexnet"));
        Assert.That(json.RootElement.GetProperty("trainImages").GetInt32(), Is.EqualTo(64));
        Assert.That(json.RootElement.GetProperty("testAccuracy").GetDouble(), Is.InRange(0.0, 1.0));
        Assert.That(float.IsFinite(json.RootElement.GetProperty("finalLoss").GetSingle()), Is.True, "two steps gave a finite loss");
    }

    /// <summary>The saved model keeps the resize: it takes Fashion-MNIST's 1×28×28 and resizes to the model's size first
    /// (LeNet-5 built for 36×36 here, a small model to save).</summary>
    [Test]
    public void SavedModelKeepsTheResize()
    {
        using var files = new TempFolder("neuro-image-size");
        var (code, _, error) = NeuroCli.Run("train", "--model", "lenet5", "--image-size", "36", "--train-limit", "64", "--test-limit", "100",
            "--epochs", "1", "--batch", "32", "--backend", "cpu", "--out", files.Path);
        Assert.That(code, Is.EqualTo(0), error);
        using var cpu = new CpuBackend();
        using var network = ModelFile.Load(files.Combine("model.neuro"), cpu);
        Assert.That(network.Graph.Inputs.Single().ItemShape, Is.EqualTo(new TensorShape(1, 28, 28)));
        var resize = network.Graph.Nodes[0];
        Assert.That(resize.Name, Is.EqualTo(InputResize.NodeName));
        Assert.That(resize.Layer, Is.TypeOf<Upsample>().With.Property(nameof(Upsample.Size)).EqualTo((36, 36)));
        Assert.That(network.Graph.InferShapes(1)[InputResize.NodeName], Is.EqualTo(new TensorShape(1, 1, 36, 36)));
    }

    [TestCase("alexnet", "40", "alexnet needs images of at least 63×63, got 40×40")]
    [TestCase("vgg11", "31", "vgg11 needs images of at least 32×32, got 31×31")]
    public void TooSmallASizeNamesTheSmallest(string model, string size, string expected)
    {
        var (code, _, error) = NeuroCli.Run("train", "--model", model, "--image-size", size, "--backend", "cpu");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.StartWith("neuro: ").And.Contain(expected).And.Contain("--image-size"));
    }

    [Test]
    public void WithoutImageSize_TheErrorSuggestsIt()
    {
        var (code, _, error) = NeuroCli.Run("train", "--model", "densenet121", "--backend", "cpu");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error, Does.Contain("densenet121 needs images of at least 29×29, got 28×28").And.Contain("--image-size"));
    }

    [Test]
    public void ZeroImageSizeIsAUsageError()
    {
        var (code, _, error) = NeuroCli.Run("train", "--image-size", "0", "--backend", "cpu");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error, Does.Contain("--image-size must be at least 1, got 0"));
    }

    /// <summary>Every model that needs more than 28×28 builds at its smallest size behind the resize, with 28×28 inputs and
    /// 10 logits; one size smaller fails (so the listed sizes are the smallest, as the README states).</summary>
    [Test]
    public void EveryLargerModelBuildsBehindTheResizeAtItsSmallestSize()
    {
        foreach (var (model, size) in Larger)
        {
            var graph = InputResize.Prepend(ModelZoo.Build(model, new ModelOptions(1, size, 10)), new TensorShape(1, 28, 28));
            var shapes = graph.InferShapes(2);
            Assert.That(shapes[InputResize.NodeName], Is.EqualTo(new TensorShape(2, 1, size, size)), model);
            Assert.That(shapes[graph.Output], Is.EqualTo(new TensorShape(2, 10)), model);
            Assert.That(() => ModelZoo.Build(model, new ModelOptions(1, size - 1, 10)), Throws.InstanceOf<ModelInputException>(), $"{model} at {size - 1}");
        }
    }

    [Test]
    public void PrependRejectsAModelOfOtherChannels()
    {
        var model = ModelZoo.Build("resnet_cifar", new ModelOptions(3, 32, 10));
        Assert.That(() => InputResize.Prepend(model, new TensorShape(1, 28, 28)),
            Throws.InstanceOf<GraphException>().With.Message.Contains("(1,28,28)").And.Message.Contains("(3,32,32)"));
    }
}

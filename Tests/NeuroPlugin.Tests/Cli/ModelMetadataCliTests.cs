using NeuroPlugin.Tests.Onnx;
using NeuroPlugin.Tests.Training;

namespace NeuroPlugin.Tests.Cli;

/// <summary>
/// What the command line writes and shows of a model's description: <c>neuro train</c> writes all of it, <c>inspect</c>
/// shows it, <c>import</c> adds labels, normalization and colours to a model that lacks them (an ONNX file from PyTorch,
/// a format-2 model file) and refuses options that do not fit, naming the option; <c>export</c> and <c>import</c> carry it
/// through ONNX.
/// </summary>
[NonParallelizable] // redirects the process-wide Console
public sealed class ModelMetadataCliTests : TempFolderFixture
{
    static string Succeeds((int ExitCode, string Out, string Error) result)
    {
        Assert.That(result.ExitCode, Is.Zero, result.Error);
        return result.Out;
    }

    [Test]
    public void Train_WritesTheWholeDescription_AndInspectShowsIt()
    {
        string trained = Succeeds(NeuroCli.Run("train", "--backend", "cpu", "--epochs", "1", "--train-limit", "640", "--test-limit", "200", "--seed", "4", "--out", Folder.Path));
        string model = Folder.Combine("model.neuro");
        var metadata = ModelFile.ReadMetadata(model);
        Assert.That(metadata.Input.ToString(), Is.EqualTo("NCHW (1,28,28) luma"));
        Assert.That(metadata.Normalization, Is.EqualTo(new InputNormalization([FashionMnist.PixelMean], [FashionMnist.PixelStd])));
        Assert.That(metadata.Labels, Is.EqualTo(FashionMnist.ClassNames));
        var provenance = metadata.Provenance!;
        Assert.That((provenance.ModelName, provenance.Dataset, provenance.Seed, provenance.PluginVersion),
            Is.EqualTo(("lenet5", "fashion-mnist", (int?)4, ModelProvenance.CurrentPluginVersion)));
        Assert.That(trained, Does.Contain($"test accuracy {provenance.TestAccuracy:P2} (200 images)"), "the accuracy neuro train reported");
        Assert.That(DateTimeOffset.UtcNow - provenance.Date!.Value, Is.LessThan(TimeSpan.FromMinutes(10)));

        string shown = Succeeds(NeuroCli.Run("inspect", model));
        Assert.That(shown, Does.Contain("input: NCHW (1,28,28) luma"));
        Assert.That(shown, Does.Contain("normalization: (1·v − [0.286]) / [0.353]"));
        Assert.That(shown, Does.Contain("labels (10): T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot"));
        Assert.That(shown, Does.Contain($"provenance: lenet5 on fashion-mnist, test accuracy {provenance.TestAccuracy * 100:F2} %, seed 4"));

        using var json = JsonDocument.Parse(Succeeds(NeuroCli.Run("inspect", model, "--json")));
        var described = json.RootElement.GetProperty("metadata");
        Assert.That(described.GetProperty("labels").EnumerateArray().Select(l => l.GetString()), Is.EqualTo(FashionMnist.ClassNames));
        Assert.That(described.GetProperty("input").GetProperty("colors").GetString(), Is.EqualTo("luma"));
    }

    [Test]
    public void Import_AddsLabelsNormalizationAndColours_ToAPyTorchExport()
    {
        string neuro = Folder.Combine("lenet.neuro"), labels = Folder.Combine("labels.txt");
        File.WriteAllLines(labels, FashionMnist.ClassNames);
        Assert.That(ModelFile.ReadMetadata(ImportPlain(neuro)).Labels, Is.Null, "PyTorch's export says nothing");
        string output = Succeeds(NeuroCli.Run("import", OnnxRun.FixturePath("lenet5.onnx"), "-o", neuro, "--labels-file", labels, "--mean", "0.5", "--std", "0.25", "--scale", "1"));
        Assert.That(output, Does.Contain("10 labels").And.Contain("normalization (1·v − [0.5]) / [0.25]"));
        var metadata = ModelFile.ReadMetadata(neuro);
        Assert.That(metadata.Labels, Is.EqualTo(FashionMnist.ClassNames));
        Assert.That(metadata.Normalization, Is.EqualTo(new InputNormalization([0.5f], [0.25f])));

        // rewriting a model file in place keeps what it says and replaces only what is given
        Succeeds(NeuroCli.Run("import", neuro, "-o", neuro, "--labels", "a,b,c,d,e,f,g,h,i,j"));
        var again = ModelFile.ReadMetadata(neuro);
        Assert.That(again.Labels, Is.EqualTo("abcdefghij".Select(c => c.ToString())));
        Assert.That(again.Normalization, Is.EqualTo(metadata.Normalization));
    }

    string ImportPlain(string neuro)
    {
        Succeeds(NeuroCli.Run("import", OnnxRun.FixturePath("lenet5.onnx"), "-o", neuro));
        return neuro;
    }

    [Test]
    public void Import_DescribesAVersion2ModelFile()
    {
        string old = Path.Combine(AppContext.BaseDirectory, "Fixtures", "ModelFile", "v2_rgb.neuro"), described = Folder.Combine("rgb.neuro");
        Succeeds(NeuroCli.Run("import", old, "-o", described, "--colors", "bgr", "--labels", "red,green,blue",
            "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"));
        var metadata = ModelFile.ReadMetadata(described);
        Assert.That(metadata.Input.ToString(), Is.EqualTo("NCHW (3,6,6) bgr"));
        Assert.That(metadata.Labels, Is.EqualTo(new[] { "red", "green", "blue" }));
        Assert.That(metadata.Normalization!.Mean, Is.EqualTo(new[] { 0.485f, 0.456f, 0.406f }));
        Assert.That((string?)SafetensorsBytes.Read(described).Header["__metadata__"]!["version"], Is.EqualTo(ModelFile.FormatVersion.ToString()));
    }

    [TestCase("--labels", "a,b", "--labels: 2 labels for the 10 classes of output")]
    [TestCase("--mean", "0.5,0.5", "--mean and --std go together")]
    [TestCase("--colors", "rgb", "--colors: colors rgb need a (C,H,W) input of 3 channels, got (1,28,28)")]
    [TestCase("--colors", "hsv", "--colors: colors must be luma, rgb or bgr, got 'hsv'")]
    public void Import_OptionsThatDoNotFit_AreOneLineErrorsNamingTheOption(string option, string value, string expected)
    {
        string neuro = Folder.Combine("lenet.neuro");
        var result = NeuroCli.Run("import", OnnxRun.FixturePath("lenet5.onnx"), "-o", neuro, option, value);
        Assert.That(result.ExitCode, Is.Not.Zero);
        Assert.That(result.Error.Trim(), Does.StartWith("neuro: ").And.Contain(expected));
        Assert.That(File.Exists(neuro), Is.False, "nothing written");
    }

    [Test]
    public void Import_NormalizationOfTheWrongCount_NamesTheOptions()
    {
        var result = NeuroCli.Run("import", OnnxRun.FixturePath("lenet5.onnx"), "-o", Folder.Combine("x.neuro"), "--mean", "0.5,0.5,0.5", "--std", "0.2,0.2,0.2");
        Assert.That(result.Error, Does.Contain("--mean/--std: 3 values for the 1 channels of input NCHW (1,28,28) luma"));
        result = NeuroCli.Run("import", OnnxRun.FixturePath("lenet5.onnx"), "-o", Folder.Combine("x.neuro"), "--mean", "0.5", "--std", "zero");
        Assert.That(result.Error, Does.Contain("--std: 'zero' is not a number"));
        result = NeuroCli.Run("import", OnnxRun.FixturePath("lenet5.onnx"), "-o", Folder.Combine("x.neuro"), "--mean", "0.5", "--std", "0");
        Assert.That(result.Error, Does.Contain("--mean/--std/--scale: std[0] must be finite and > 0, got 0"));
    }

    [Test]
    public void ExportAndImport_CarryTheDescriptionThroughOnnx()
    {
        string neuro = Folder.Combine("lenet.neuro"), onnx = Folder.Combine("lenet.onnx"), back = Folder.Combine("back.neuro");
        Succeeds(NeuroCli.Run("import", OnnxRun.FixturePath("lenet5.onnx"), "-o", neuro, "--labels", string.Join(",", FashionMnist.ClassNames), "--mean", "0.286", "--std", "0.353"));
        Succeeds(NeuroCli.Run("export", neuro, "-o", onnx));
        Succeeds(NeuroCli.Run("import", onnx, "-o", back));
        Assert.That(ModelFile.ReadMetadata(back), Is.EqualTo(ModelFile.ReadMetadata(neuro)));
        Assert.That(Succeeds(NeuroCli.Run("inspect", onnx)), Does.Contain("labels (10): T-shirt/top"));
    }
}

using System.Text.Json.Nodes;
using NeuroPlugin.Serialization.Onnx;
using NeuroPlugin.Tests.Training;
using static NeuroPlugin.Tests.Embedding.EmbeddingModels;

namespace NeuroPlugin.Tests.Embedding;

/// <summary>
/// Self-describing models: input, normalization, labels and provenance are written, read back field for field, checked
/// against the graph on both sides (errors name the file and the field), carried through ONNX <c>metadata_props</c>, and
/// described from the graph for files of format 1 and 2 (committed fixtures written by that code).
/// </summary>
public sealed class ModelMetadataTests : TempFolderFixture
{
    /// <summary>The repository's root: the folder above this source file's that holds package.json.</summary>
    internal static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string source = "")
    {
        string? dir = Path.GetDirectoryName(source);
        while (dir is not null && !File.Exists(Path.Combine(dir, "package.json"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException($"no package.json above {source}");
    }

    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "ModelFile", name);

    static readonly ModelProvenance Provenance = new()
    {
        ModelName = "lenet5", Dataset = "fashion-mnist", TestAccuracy = 0.8897, Seed = 1,
        Date = new DateTimeOffset(2026, 11, 28, 10, 15, 0, TimeSpan.Zero), PluginVersion = "0.1.0",
    };

    [Test]
    public void EveryPart_IsWrittenAndReadBackFieldForField()
    {
        string path = SaveLeNet(Folder.Path, metadata: LeNetMetadata(ModelZoo.Build("lenet5")) with { Provenance = Provenance });
        var read = ModelFile.ReadMetadata(path);
        Assert.That(read.Input.ItemShape, Is.EqualTo(new TensorShape(1, 28, 28)));
        Assert.That((read.Input.Layout, read.Input.Colors, read.Input.IsImage), Is.EqualTo(("NCHW", (ChannelOrder?)ChannelOrder.Grayscale, true)));
        Assert.That(read.Normalization, Is.EqualTo(FashionNormalization));
        Assert.That((read.Normalization!.Scale, read.Normalization.Mean[0], read.Normalization.Std[0]), Is.EqualTo((1f, 0.2860f, 0.3530f)));
        Assert.That(read.Labels, Is.EqualTo(FashionMnist.ClassNames));
        Assert.That(read.Provenance, Is.EqualTo(Provenance));

        // the file form: JSON strings in __metadata__, readable without NeuroPlugin
        var metadata = SafetensorsBytes.Read(path).Header["__metadata__"]!.AsObject();
        Assert.That(JsonNode.Parse((string)metadata["input"]!)!.ToJsonString(), Is.EqualTo("""{"layout":"NCHW","channels":1,"height":28,"width":28,"colors":"luma"}"""));
        Assert.That(JsonNode.Parse((string)metadata["normalization"]!)!.ToJsonString(), Is.EqualTo("""{"scale":1,"mean":[0.286],"std":[0.353]}"""));
        Assert.That(JsonNode.Parse((string)metadata["labels"]!)!.AsArray().Select(l => (string)l!), Is.EqualTo(FashionMnist.ClassNames));
        Assert.That(JsonNode.Parse((string)metadata["provenance"]!)!.ToJsonString(), Is.EqualTo(
            """{"model":"lenet5","dataset":"fashion-mnist","testAccuracy":0.8897,"seed":1,"date":"2026-11-28T10:15:00Z","pluginVersion":"0.1.0"}"""));
    }

    [Test]
    public void PlainSave_IsDescribedByItsGraph()
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(ModelZoo.Build("lenet5"), cpu, seed: 1);
        string path = Path.Combine(Folder.Path, "plain.neuro");
        ModelFile.Save(network, path);
        var read = ModelFile.ReadMetadata(path);
        Assert.That(read.Input.ToString(), Is.EqualTo("NCHW (1,28,28) luma"));
        Assert.That((read.Normalization, read.Labels, read.Provenance), Is.EqualTo(((InputNormalization?)null, (IReadOnlyList<string>?)null, (ModelProvenance?)null)));
        Assert.That(SafetensorsBytes.Read(path).Header["__metadata__"]!.AsObject().Select(m => m.Key),
            Is.EqualTo(new[] { "format", "version", "kind", "graph", "input" }));
    }

    static IEnumerable<TestCaseData> Inputs()
    {
        yield return new TestCaseData(new TensorShape(784), "NC (784)", """{"layout":"NC","channels":784}""").SetName("Features");
        yield return new TestCaseData(new TensorShape(4, 16), "NCL (4,16)", """{"layout":"NCL","channels":4,"length":16}""").SetName("Sequence");
        yield return new TestCaseData(new TensorShape(3, 8, 6), "NCHW (3,8,6) rgb", """{"layout":"NCHW","channels":3,"height":8,"width":6,"colors":"rgb"}""").SetName("RGB image");
        yield return new TestCaseData(new TensorShape(2, 8, 6), "NCHW (2,8,6)", """{"layout":"NCHW","channels":2,"height":8,"width":6}""").SetName("Two planes");
    }

    [TestCaseSource(nameof(Inputs))]
    public void EveryInputLayout_IsDescribedAndReadBack(TensorShape item, string described, string json)
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("x", item);
        graph.Add("flatten", new Flatten(), x);
        var metadata = ModelMetadata.Describe(graph);
        Assert.That(metadata.Input.ToString(), Is.EqualTo(described));
        Assert.That(metadata.Entries().Single().Value, Is.EqualTo(json));
        using var cpu = new CpuBackend();
        using var network = Network.Create(graph, cpu, seed: 1);
        string path = Path.Combine(Folder.Path, "layout.neuro");
        ModelFile.Save(network, path, metadata);
        Assert.That(ModelFile.ReadMetadata(path).Input, Is.EqualTo(metadata.Input));
    }

    static IEnumerable<TestCaseData> Misfits()
    {
        var lenet = ModelZoo.Build("lenet5");
        var good = LeNetMetadata(lenet);
        yield return new TestCaseData(good with { Labels = [.. FashionMnist.ClassNames.Take(9)] }, "labels: 9 labels for the 10 classes of output 'fc3'").SetName("Nine labels");
        yield return new TestCaseData(good with { Normalization = new InputNormalization([0.5f, 0.5f], [0.2f, 0.2f]) }, "normalization: 2 means and 2 standard deviations for 1 channels").SetName("Two means for one channel");
        yield return new TestCaseData(good with { Input = new InputSpecification(new TensorShape(3, 28, 28), ChannelOrder.Rgb) }, "input: NCHW (3,28,28) rgb does not match the graph's input 'input' (1,28,28)").SetName("Another input");
    }

    [TestCaseSource(nameof(Misfits))]
    public void MetadataThatDoesNotFitTheGraph_IsRefusedBeforeAnythingIsWritten(ModelMetadata metadata, string problem)
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(ModelZoo.Build("lenet5"), cpu, seed: 1);
        string path = Path.Combine(Folder.Path, "misfit.neuro");
        var error = Assert.Throws<ArgumentException>(() => ModelFile.Save(network, path, metadata));
        Assert.That(error!.Message, Does.Contain(problem));
        Assert.That(File.Exists(path), Is.False);
        Assert.Throws<ArgumentException>(() => OnnxExporter.ToModel(network, metadata));
    }

    static IEnumerable<TestCaseData> CorruptMetadata()
    {
        TestCaseData Case(string name, Action<JsonObject> edit, string problem) => new TestCaseData(edit, problem).SetName(name);
        yield return Case("Input missing", m => m.Remove("input"), "__metadata__.input is missing");
        yield return Case("Input not a string", m => m["input"] = 7, "__metadata__.input must be a string holding JSON");
        yield return Case("Input not JSON", m => m["input"] = "{layout", "__metadata__.input is not valid JSON");
        yield return Case("Unknown layout", m => m["input"] = """{"layout":"NHWC","channels":1,"height":28,"width":28}""", "__metadata__.input.layout must be NCHW, NCL or NC, got 'NHWC'");
        yield return Case("Height of another graph", m => m["input"] = """{"layout":"NCHW","channels":1,"height":32,"width":28}""", "__metadata__.input: NCHW (1,32,28) does not match the graph's input 'input' (1,28,28)");
        yield return Case("Zero width", m => m["input"] = """{"layout":"NCHW","channels":1,"height":28,"width":0}""", "__metadata__.input.width must be at least 1, got 0");
        yield return Case("Unknown colors", m => m["input"] = """{"layout":"NCHW","channels":1,"height":28,"width":28,"colors":"cmyk"}""", "__metadata__.input.colors must be luma, rgb or bgr, got 'cmyk'");
        yield return Case("RGB for one channel", m => m["input"] = """{"layout":"NCHW","channels":1,"height":28,"width":28,"colors":"rgb"}""", "__metadata__.input: colors rgb need a (C,H,W) input of 3 channels, got (1,28,28)");
        yield return Case("Unknown input field", m => m["input"] = """{"layout":"NC","channels":784,"depth":2}""", "__metadata__.input.depth is not a known field");
        yield return Case("Zero std", m => m["normalization"] = """{"mean":[0.5],"std":[0]}""", "__metadata__.normalization: std[0] must be finite and > 0, got 0");
        yield return Case("Mean not numbers", m => m["normalization"] = """{"mean":["a"],"std":[1]}""", "__metadata__.normalization.mean[0] must be a number");
        yield return Case("Repeated mean", m => m["normalization"] = """{"mean":[0.5],"mean":[0.5],"std":[1]}""", "__metadata__.normalization is not valid JSON");
        yield return Case("Nine labels", m => m["labels"] = """["a","b","c","d","e","f","g","h","i"]""", "__metadata__.labels: 9 labels for the 10 classes of output 'fc3'");
        yield return Case("Labels not an array", m => m["labels"] = """{"0":"a"}""", "__metadata__.labels must be a JSON array of strings");
        yield return Case("Label not a string", m => m["labels"] = """["a",1,"c","d","e","f","g","h","i","j"]""", "__metadata__.labels[1] must be a string");
        yield return Case("Accuracy above one", m => m["provenance"] = """{"testAccuracy":1.5}""", "__metadata__.provenance.testAccuracy must be a number in [0, 1]");
        yield return Case("Not a date", m => m["provenance"] = """{"date":"yesterday"}""", "__metadata__.provenance.date must be an ISO 8601 date and time, got 'yesterday'");
        yield return Case("Unknown provenance field", m => m["provenance"] = """{"author":"x"}""", "__metadata__.provenance.author is not a known field");
    }

    [TestCaseSource(nameof(CorruptMetadata))]
    public void CorruptMetadata_RaisesModelFileExceptionNamingFileAndField(Action<JsonObject> edit, string problem)
    {
        string path = SaveLeNet(Folder.Path);
        SafetensorsBytes.EditHeader(path, header => edit(header["__metadata__"]!.AsObject()));
        var error = Assert.Throws<ModelFileException>(() => ModelFile.Load(path, new CpuBackend()));
        Assert.That(error!.Message, Does.StartWith(path + ": ").And.Contain(problem));
        Assert.Throws<ModelFileException>(() => ModelFile.ReadMetadata(path));
        Assert.Throws<ModelFileException>(() => NeuroModel.Load(path, NeuroDevice.Cpu));
    }

    [TestCase("v2_tiny", 1, 8, 8, ChannelOrder.Grayscale)]
    [TestCase("v2_rgb", 3, 6, 6, ChannelOrder.Rgb)]
    public void Version2File_LoadsThroughTheMigration_DescribedFromItsGraph(string name, int channels, int height, int width, ChannelOrder colors)
    {
        Assert.That((string?)SafetensorsBytes.Read(Fixture(name + ".neuro")).Header["__metadata__"]!["version"], Is.EqualTo("2"), "the fixture is a v2 file");
        using var network = ModelFile.Load(Fixture(name + ".neuro"), new CpuBackend(), out var metadata);
        Assert.That(metadata.Input, Is.EqualTo(new InputSpecification(new TensorShape(channels, height, width), colors)));
        Assert.That((metadata.Normalization, metadata.Labels, metadata.Provenance), Is.EqualTo(((InputNormalization?)null, (IReadOnlyList<string>?)null, (ModelProvenance?)null)));

        using var document = JsonDocument.Parse(File.ReadAllBytes(Fixture(name + ".json")));
        var expected = document.RootElement.GetProperty("tensors");
        var names = network.ParameterNames.Concat(network.BufferNames).ToList();
        Assert.That(names, Is.EquivalentTo(expected.EnumerateObject().Select(p => p.Name)));
        foreach (string tensorName in names)
        {
            var tensor = network.BufferNames.Contains(tensorName) ? network.Buffer(tensorName) : network.Parameter(tensorName);
            Assert.That(CheckpointRuns.Bits(tensor.ToArray()), Is.EqualTo(expected.GetProperty(tensorName).GetProperty("bits").EnumerateArray().Select(b => b.GetInt32())), tensorName);
        }
    }

    [Test]
    public void Version1File_IsDescribedToo()
    {
        var metadata = ModelFile.ReadMetadata(Fixture("v1_tiny.neuro"));
        Assert.That(metadata.Input.ToString(), Is.EqualTo("NCHW (1,8,8) luma"));
    }

    [Test]
    public void Version2Metadata_GainsTheInputOfItsGraph()
    {
        var graph = ModelZoo.Build("lenet5");
        var metadata = new JsonObject { ["format"] = "neuro", ["version"] = "2", ["kind"] = "model", ["graph"] = GraphJson.Write(graph).ToJsonString() };
        Assert.That(ModelFileMigrations.Upgrade("x.neuro", metadata), Is.EqualTo(2));
        Assert.That((string?)metadata["version"], Is.EqualTo("3"));
        Assert.That((string?)metadata["input"], Is.EqualTo("""{"layout":"NCHW","channels":1,"height":28,"width":28,"colors":"luma"}"""));
        Assert.That(metadata.Select(m => m.Key), Is.EqualTo(new[] { "format", "version", "kind", "graph", "input" }), "nothing else is invented");
    }

    [Test]
    public void ImageClassifierDescription_ComesFromItsDataset()
    {
        var rgb = new ImageDataset("pics", new byte[2 * 3 * 4 * 4], [0, 1], 2, 4, 4, ["cat", "dog"], new PixelNormalization(0.4f, 0.2f), channels: 3);
        var graph = ModelZoo.Build("lenet5", new ModelOptions(3, 32, 2));
        var described = ModelMetadata.ForImageClassifier(graph, rgb, Provenance);
        Assert.That(described.Input.ToString(), Is.EqualTo("NCHW (3,32,32) rgb"));
        Assert.That(described.Normalization, Is.EqualTo(new InputNormalization([0.4f], [0.2f])));
        Assert.That(described.Labels, Is.EqualTo(new[] { "cat", "dog" }));
        Assert.That(described.Mismatch(graph), Is.Null);
        Assert.That(ModelMetadata.ForImageClassifier(ModelZoo.Build("lenet5"), FashionMnist.LoadTest().Take(1), null).Input.Colors, Is.EqualTo(ChannelOrder.Grayscale));
    }

    [Test]
    public void FitTo_KeepsWhatStillFitsAnEditedGraph()
    {
        var lenet = ModelZoo.Build("lenet5");
        var described = LeNetMetadata(lenet) with { Provenance = Provenance };
        Assert.That(described.FitTo(lenet), Is.EqualTo(described));
        var fewerClasses = ModelZoo.Build("lenet5", new ModelOptions(1, 28, 4));
        var fitted = described.FitTo(fewerClasses);
        Assert.That((fitted.Labels, fitted.Normalization, fitted.Provenance), Is.EqualTo(((IReadOnlyList<string>?)null, described.Normalization, Provenance)));
        var rgb = ModelZoo.Build("lenet5", new ModelOptions(3, 28, 10));
        var perChannel = described with { Normalization = new InputNormalization([0.1f], [0.2f]) };
        Assert.That(perChannel.FitTo(rgb).Input.ToString(), Is.EqualTo("NCHW (3,28,28) rgb"));
        Assert.That(perChannel.FitTo(rgb).Normalization, Is.EqualTo(perChannel.Normalization), "one value for every channel still fits");
    }

    [Test]
    public void Onnx_CarriesTheDescriptionInMetadataProps()
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(ModelZoo.Build("lenet5"), cpu, seed: 2);
        var described = LeNetMetadata(network.Graph) with { Provenance = Provenance };
        var model = OnnxExporter.ToModel(network, described);
        Assert.That(model.MetadataProps.Select(p => p.Key), Is.EqualTo(new[] { "neuroplugin.input", "neuroplugin.normalization", "neuroplugin.labels", "neuroplugin.provenance" }));
        Assert.That(OnnxImporter.Convert(Reparse(model), null, "m.onnx").Metadata, Is.EqualTo(described));

        // another producer's entries are not ours; ours, malformed, are an error naming the entry
        var foreign = OnnxExporter.ToModel(network, ModelMetadata.Describe(network.Graph));
        foreign.MetadataProps.Add(new StringStringEntryProto { Key = "labels", Value = "not JSON" });
        foreign.MetadataProps.RemoveAll(p => p.Key == "neuroplugin.input");
        Assert.That(OnnxImporter.Convert(Reparse(foreign), null, "m.onnx").Metadata, Is.EqualTo(ModelMetadata.Describe(network.Graph)));
        foreign.MetadataProps.Add(new StringStringEntryProto { Key = "neuroplugin.labels", Value = """["a"]""" });
        var error = Assert.Throws<OnnxFormatException>(() => OnnxImporter.Convert(Reparse(foreign), null, "m.onnx"));
        Assert.That(error!.Message, Does.StartWith("m.onnx").And.Contain("metadata_props neuroplugin.labels: 1 labels for the 10 classes of output 'fc3'"));
    }

    static ModelProto Reparse(ModelProto model)
    {
        using var stream = new MemoryStream();
        var output = new Google.Protobuf.CodedOutputStream(stream);
        model.WriteTo(output);
        output.Flush();
        return OnnxImporter.Parse(stream.ToArray(), "m.onnx");
    }

    [Test]
    public void PluginVersion_IsPackageJsons()
    {
        string version = JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "package.json")))!["version"]!.GetValue<string>();
        Assert.That(ModelProvenance.CurrentPluginVersion.Split('+')[0], Is.EqualTo(version), "the assembly's version (+ the commit) is package.json's");
        var now = ModelProvenance.Now("m", "d", 0.5, 3);
        Assert.That(now.PluginVersion, Is.EqualTo(ModelProvenance.CurrentPluginVersion));
        Assert.That(DateTimeOffset.UtcNow - now.Date!.Value, Is.LessThan(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public void StrictJson_RefusesRepeatedNamesAtEveryDepth()
    {
        // the .NET 8 build checks names itself (System.Text.Json 8 has no AllowDuplicateProperties): both builds run this
        Assert.Throws<JsonException>(() => StrictJson.Parse("""{"a":1,"a":2}"""));
        Assert.Throws<JsonException>(() => StrictJson.Parse("""{"a":{"b":[{"c":1,"c":1}]}}"""));
        Assert.That(() => StrictJson.Parse("""{"a":1"""), Throws.InstanceOf<JsonException>());
        Assert.That(StrictJson.Parse("""[{"a":1},{"a":2},{"b":{"a":3}}]""")!.ToJsonString(), Is.EqualTo("""[{"a":1},{"a":2},{"b":{"a":3}}]"""));
    }
}

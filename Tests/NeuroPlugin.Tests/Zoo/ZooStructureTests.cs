using System.Security.Cryptography;

namespace NeuroPlugin.Tests.Zoo;

/// <summary>
/// The zoo's structure: the networks torchvision also has equal torchvision's at ImageNet size (parameter count,
/// parameter tensors, every parameter's name and shape via a hash, logits shape), from Golden/zoo_torchvision.json
/// written by Tests/Golden/gen_zoo.py; every model's shapes infer at its reference size; and small images either
/// build or fail naming the model and its smallest size.
/// </summary>
public class ZooStructureTests
{
    static readonly JsonElement Torchvision = LoadTorchvision();

    static JsonElement LoadTorchvision()
    {
        string path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", "zoo_torchvision.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("models").Clone();
    }

    public static IEnumerable<string> TorchvisionModels() => LoadTorchvision().EnumerateObject().Select(p => p.Name);

    public static IEnumerable<string> AllModels() => ModelZoo.Names.Order(StringComparer.Ordinal);

    static long ParameterCount(NetworkGraph graph) => graph.Nodes.Sum(n => n.Layer.Parameters.Sum(p => (long)p.Shape.Length));

    /// <summary>gen_zoo.py's "structure": SHA-256 of the sorted lines "name d0,d1,…" joined by "\n".</summary>
    static string StructureHash(NetworkGraph graph)
    {
        var lines = graph.Nodes
            .SelectMany(n => n.Layer.Parameters.Select(p => $"{n.Name}.{p.Name} {string.Join(",", p.Shape.ToArray())}"))
            .Order(StringComparer.Ordinal);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", lines)))).ToLowerInvariant();
    }

    [TestCaseSource(nameof(TorchvisionModels))]
    public void MatchesTorchvision(string name)
    {
        var expected = Torchvision.GetProperty(name);
        int size = expected.GetProperty("imageSize").GetInt32();
        Assert.That(ModelZoo.ReferenceOptions(name), Is.EqualTo(ModelOptions.ImageNet(size)), "the reference configuration is torchvision's");
        var graph = ModelZoo.Build(name, ModelOptions.ImageNet(size));
        Assert.Multiple(() =>
        {
            Assert.That(ParameterCount(graph), Is.EqualTo(expected.GetProperty("parameters").GetInt64()), "parameter count");
            Assert.That(graph.Nodes.Sum(n => n.Layer.Parameters.Count), Is.EqualTo(expected.GetProperty("parameterTensors").GetInt32()), "parameter tensors");
            Assert.That(StructureHash(graph), Is.EqualTo(expected.GetProperty("structure").GetString()), "parameter names and shapes (torchvision state-dict keys)");
            var logits = expected.GetProperty("logits").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.That(graph.InferShapes(1)[graph.Output].ToArray(), Is.EqualTo(logits), "logits shape");
        });
    }

    [Test]
    public void NetworkParameterCount_CountsParametersNotBuffers()
    {
        // resnet18 has batch norm: its running statistics are buffers, which torchvision's count leaves out too
        using var cpu = new Backends.Cpu.CpuBackend();
        using var network = Network.Create(ModelZoo.Build("resnet18"), cpu, seed: 1);
        Assert.That(network.ParameterCount, Is.EqualTo(Torchvision.GetProperty("resnet18").GetProperty("parameters").GetInt64()));
        Assert.That(network.BufferNames, Is.Not.Empty);
    }

    [TestCaseSource(nameof(AllModels))]
    public void InfersShapesAtReferenceSize(string name)
    {
        var options = ModelZoo.ReferenceOptions(name);
        var graph = ModelZoo.Build(name);
        var shapes = graph.InferShapes(2);
        Assert.That(shapes[graph.Output], Is.EqualTo(new TensorShape(2, options.Classes)), "logits");
        Assert.That(shapes[graph.Inputs[0].Name], Is.EqualTo(new TensorShape(2, options.InputChannels, options.ImageSize, options.ImageSize)));
    }

    [Test]
    public void AuxiliaryHeads_AreOutputsOffTheMainPath()
    {
        foreach (var (name, auxiliary) in new[] { ("googlenet", GoogLeNet.AuxiliaryOutputs), ("inception_v3", InceptionV3.AuxiliaryOutputs) })
        {
            var graph = ModelZoo.Build(name);
            var shapes = graph.InferShapes(3);
            var consumed = graph.Nodes.SelectMany(n => n.Inputs).ToHashSet();
            Assert.That(graph.Output, Is.EqualTo("fc"));
            foreach (string aux in auxiliary)
            {
                Assert.That(shapes[aux], Is.EqualTo(new TensorShape(3, 1000)), $"{name}: {aux}");
                Assert.That(consumed, Does.Not.Contain(aux), $"{name}: {aux} feeds nothing");
            }
        }
    }

    /// <summary>Fashion-MNIST (1×28×28, 10 classes), what <c>neuro train</c> feeds: a model builds, or says which size it needs.</summary>
    [TestCaseSource(nameof(AllModels))]
    public void FashionMnistSize_BuildsOrNamesTheSmallestSize(string name)
    {
        var options = new ModelOptions(1, 28, 10);
        NetworkGraph graph;
        try
        {
            graph = ModelZoo.Build(name, options);
        }
        catch (ModelInputException e)
        {
            Assert.That(e.Message, Does.Match($"^{name} needs images of at least (\\d+)×\\1, got 28×28"));
            int smallest = int.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, "least (\\d+)").Groups[1].Value);
            var smallestGraph = ModelZoo.Build(name, options with { ImageSize = smallest });
            Assert.That(smallestGraph.InferShapes(1)[smallestGraph.Output], Is.EqualTo(new TensorShape(1, 10)), $"{name} at {smallest}×{smallest}");
            Assert.Throws<ModelInputException>(() => ModelZoo.Build(name, options with { ImageSize = smallest - 1 }));
            return;
        }
        Assert.That(graph.InferShapes(1)[graph.Output], Is.EqualTo(new TensorShape(1, 10)));
    }

    [Test]
    public void InvalidOptions_NameTheField()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ModelZoo.Build("resnet18", new ModelOptions(0, 32, 10)));
        Assert.That(error!.ParamName, Is.EqualTo("InputChannels"));
        error = Assert.Throws<ArgumentOutOfRangeException>(() => ModelZoo.Build("resnet18", new ModelOptions(3, 32, 10, WidthDivisor: 0)));
        Assert.That(error!.ParamName, Is.EqualTo("WidthDivisor"));
    }
}

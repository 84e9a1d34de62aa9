using NeuroPlugin.Data;
using NeuroPlugin.Models;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Training;

namespace NeuroPlugin.Editor.Tests.Document;

/// <summary>Templates come from the zoo's own builders; documents save to files the runtime loads and trains.</summary>
public sealed class TemplateTests : TempFolderFixture
{
    [Test]
    public void ResNet18TemplateHasTheZooNetworksParameterCount()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run("""{"op":"insertTemplate","template":"resnet18"}""");
        var document = session.Json();
        using var cpu = new CpuBackend();
        using var network = Network.Create(ModelZoo.Build("resnet18"), cpu, seed: 1);
        Assert.That((long)document["totals"]!["parameters"]!, Is.EqualTo(network.ParameterCount));
        Assert.That(network.ParameterCount, Is.EqualTo(11_689_512), "torchvision's resnet18");
        Assert.That((bool)document["valid"]!, Is.True);
        Assert.That(document.Node("fc").Shape(), Is.EqualTo(new[] { 1, 1000 }));
        var group = document["groups"]!.AsArray().Single(g => (string)g!["id"]! == "group:layer1.0")!;
        Assert.That((bool)group["collapsed"]!, Is.True);
        Assert.That(group["nodes"]!.AsArray().Select(n => (string)n!), Does.Contain("layer1.0.conv1"));
    }

    /// <summary>The templates whose blocks the editor shares with the zoo (dense block, separable and inverted residual
    /// blocks) still give the published parameter counts (torchvision; MobileNet v1 from the paper's Keras model).</summary>
    [TestCase("densenet121", 7_978_856)]
    [TestCase("mobilenet_v2", 3_504_872)]
    [TestCase("mobilenet_v1", 4_231_976)]
    [TestCase("resnet50", 25_557_032)]
    [TestCase("googlenet", 13_004_888)] // torchvision googlenet(aux_logits=True)
    public void SharedBlockTemplatesKeepThePublishedCounts(string model, long parameters)
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run($$"""{"op":"insertTemplate","template":"{{model}}"}""");
        Assert.That(session.Analysis.TotalParameters, Is.EqualTo(parameters));
    }

    /// <summary>A model's groups are its blocks: a branch (ResNet's downsample, an Inception module's towers, MobileNet v2's
    /// expansion stage) is in the group of the block it feeds, so an expanded block's frame holds all of it.</summary>
    [TestCase("resnet18", "group:layer2.0", 9, 9)]
    [TestCase("mobilenet_v2", "group:features.3", 9, 21)]
    [TestCase("googlenet", "group:inception3a", 20, 15)]
    [TestCase("se_resnet50", "group:layer1.0", 19, 17)]
    [TestCase("densenet121", "group:features.denseblock1", 42, 8)]
    public void TemplateGroupsAreWholeBlocks(string model, string block, int members, int groups)
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run($$"""{"op":"insertTemplate","template":"{{model}}"}""");
        var document = session.Json();
        TestContext.Out.WriteLine($"{model}: {string.Join(", ", document["groups"]!.AsArray().Select(g => $"{g!["id"]} ({g["nodes"]!.AsArray().Count})"))}");
        var group = document["groups"]!.AsArray().Single(g => (string)g!["id"]! == block)!;
        var ids = group["nodes"]!.AsArray().Select(n => (string)n!).ToList();
        Assert.That(ids, Has.Count.EqualTo(members), string.Join(", ", ids));
        Assert.That(document["groups"]!.AsArray(), Has.Count.EqualTo(groups));
        // every node of the block reads only the block's own nodes or a single node before it, and only one leaves it
        var inside = ids.ToHashSet();
        var entries = ids.SelectMany(id => document.Node(id)["inputs"]!.AsArray().Select(i => (string)i!)).Where(i => !inside.Contains(i)).Distinct();
        Assert.That(entries.Count(), Is.EqualTo(1), "one way in");
        var exits = document["nodes"]!.AsArray().Where(n => !inside.Contains((string)n!["id"]!))
            .SelectMany(n => n!["inputs"]!.AsArray().Select(i => (string?)i)).Where(i => i is not null && inside.Contains(i)).Distinct();
        Assert.That(exits.Count(), Is.EqualTo(1), "one way out");
    }

    [Test]
    public void EveryZooModelTemplateCountsWhatItsGraphDeclares()
    {
        foreach (string name in ModelZoo.Names)
        {
            var session = new DocumentSession(new FolderGuard(Folder.Path));
            session.Run($$"""{"op":"insertTemplate","template":"{{name}}"}""");
            var graph = ModelZoo.Build(name);
            long expected = graph.Nodes.Sum(n => n.Layer.Parameters.Sum(p => (long)p.Shape.Length));
            var analysis = session.Analysis;
            Assert.That(analysis.IsValid, Is.True, $"{name}: {string.Join("; ", analysis.Errors.Select(e => e.Message))}");
            Assert.That(analysis.TotalParameters, Is.EqualTo(expected), name);
            Assert.That(analysis.Graph.Nodes.Count, Is.EqualTo(graph.Nodes.Count), name);
            Assert.That(analysis.Graph.AuxiliaryOutputs.Select(a => a.Name), Is.EqualTo(graph.AuxiliaryOutputs.Select(a => a.Name)), name);
        }
    }

    [Test]
    public void ResidualBlockInsertsAfterANodeAsACollapsedGroup()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run("""{"op":"addNode","type":"Conv2d","id":"stem","inputs":["input"],"attributes":{"outChannels":16}}""");
        session.Run("""{"op":"addNode","type":"GlobalAvgPool2d","id":"pool","inputs":["stem"]}""");
        long before = session.Analysis.TotalParameters;
        session.Run("""{"op":"insertTemplate","template":"residual","after":"stem"}""");
        var document = session.Json();
        var group = document["groups"]!.AsArray().Single()!.AsObject();
        Assert.That((string)group["template"]!, Is.EqualTo("residual"));
        Assert.That((bool)group["collapsed"]!, Is.True);
        // two 3×3 convolutions 16→16 without bias and two batch norms (weight and bias): 2·16·16·9 + 2·2·16
        Assert.That(session.Analysis.TotalParameters - before, Is.EqualTo(2 * 16 * 16 * 9 + 2 * 2 * 16));
        string output = (string)document.Node("pool")["inputs"]![0]!;
        Assert.That(output, Is.EqualTo("residual.relu"), "the node that read 'stem' now reads the block");
        Assert.That(document.Node(output)["group"]!.GetValue<string>(), Is.EqualTo((string)group["id"]!));
        Assert.That(document.Node(output).Shape(), Is.EqualTo(new[] { 1, 16, 28, 28 }));
        Assert.That((bool)document["valid"]!, Is.True);

        session.Run($$"""{"op":"setGroupCollapsed","group":"{{group["id"]}}","collapsed":false}""");
        Assert.That((bool)session.Json()["groups"]![0]!["collapsed"]!, Is.False);
        session.Run($$"""{"op":"ungroup","group":"{{group["id"]}}"}""");
        Assert.That(session.Json()["groups"]!.AsArray(), Is.Empty);
        Assert.That(session.Json().Node("residual.conv1")["group"], Is.Null, "ungrouped nodes stay, editable");
    }

    [TestCase("bottleneck", 16, 16)]
    [TestCase("inception", 16, 256)]
    [TestCase("squeeze-excitation", 32, 32)]
    [TestCase("dense-block", 16, 16 + 6 * 32)]
    [TestCase("depthwise-separable", 16, 16)]
    [TestCase("inverted-residual", 16, 16)]
    public void EveryBlockTemplateBuildsOnAFeatureMap(string block, int channels, int outChannels)
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run($$$"""{"op":"addNode","type":"Conv2d","id":"stem","inputs":["input"],"attributes":{"outChannels":{{{channels}}}}}""");
        session.Run($$"""{"op":"insertTemplate","template":"{{block}}","after":"stem"}""");
        var analysis = session.Analysis;
        Assert.That(analysis.IsValid, Is.True, string.Join("; ", analysis.Errors.Select(e => e.Message)));
        Assert.That(analysis[analysis.Output!].OutputShape!.Value.ToArray(), Is.EqualTo(new[] { 1, outChannels, 28, 28 }));
    }

    [Test]
    public void BlockTemplatesNeedAnAnchor()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        var e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"insertTemplate","template":"residual"}"""));
        Assert.That(e!.Message, Does.Contain("needs 'after'"));
    }

    [Test]
    public void SavedDocumentLoadsInTheRuntimeAndTrains()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Run("""{"op":"setOutput","id":"fc"}""");
        session.Save("models/small.neuro");
        string path = Path.Combine(Folder.Path, "models", "small.neuro");
        Assert.That((string)session.Json()["path"]!, Is.EqualTo("models/small.neuro"));
        Assert.That((bool)session.Json()["dirty"]!, Is.False);

        using var cpu = new CpuBackend();
        using var network = ModelFile.Load(path, cpu);
        Assert.That(network.Graph.Nodes.Select(n => n.Name), Is.EqualTo(new[] { "conv1", "relu1", "pool1", "flatten", "fc" }));
        Assert.That(network.ParameterCount, Is.EqualTo(156 + 8650));

        // it trains: a few epochs over 64 images lower the loss
        var data = FashionMnistOrIgnore().Take(64);
        var loader = new DataLoader(data, 32, shuffle: true, seed: 1, dropLast: true);
        using var trainer = new Trainer(network, new Sgd(0.05f, 0.9f, 0f), 32) { ReportEvery = 2 };
        var losses = new List<float>();
        for (int epoch = 0; epoch < 8; epoch++) trainer.TrainEpoch(loader, epoch, p => losses.Add(p.Loss));
        Assert.That(losses[^1], Is.LessThan(losses[0] * 0.7f), string.Join(", ", losses));

        // and opens again as the same document
        var reopened = new DocumentSession(new FolderGuard(Folder.Path));
        reopened.Open("models/small.neuro");
        var document = reopened.Json();
        Assert.That(document.Node("conv1").Shape(), Is.EqualTo(new[] { 1, 6, 24, 24 }));
        Assert.That((long)document["totals"]!["parameters"]!, Is.EqualTo(156 + 8650));
        Assert.That((string)document["name"]!, Is.EqualTo("small"));
    }

    [Test]
    public void TheSameBlockInsertedTwiceGetsItsOwnGroupAndIds()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run("""{"op":"addNode","type":"Conv2d","id":"stem","inputs":["input"],"attributes":{"outChannels":16}}""");
        session.Run("""{"op":"insertTemplate","template":"residual","after":"stem"}""");
        session.Run("""{"op":"insertTemplate","template":"residual","after":"residual.relu","position":{"x":500,"y":700}}""");
        var document = session.Json();
        var groups = document["groups"]!.AsArray().Select(g => (string)g!["id"]!).ToList();
        Assert.That(groups, Is.EqualTo(new[] { "group:residual", "group:residual_2" }), "one React Flow id per group");
        var ids = document["nodes"]!.AsArray().Select(n => (string)n!["id"]!).ToList();
        Assert.That(ids, Is.Unique);
        var second = document["nodes"]!.AsArray().Select(n => n!.AsObject()).Where(n => (string?)n["group"] == "group:residual_2").ToList();
        Assert.That(second.Select(n => (string)n["id"]!), Has.All.StartWith("residual_2."));
        Assert.That((string)second[0]["inputs"]![0]!, Is.EqualTo("residual.relu"), "the second block reads the first");
        // the block is laid out from the position the client dropped it at
        Assert.That(second.Min(n => (double)n["position"]!["x"]!), Is.EqualTo(500));
        Assert.That(second.Min(n => (double)n["position"]!["y"]!), Is.EqualTo(700));
        Assert.That((bool)document["valid"]!, Is.True);
    }

    [Test]
    public void SavingKeepsTheLoadedWeights()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Save("a.neuro");
        using var cpu = new CpuBackend();
        float[] first;
        using (var a = ModelFile.Load(Folder.Combine("a.neuro"), cpu)) first = a.Parameter("fc.weight").ToArray();
        var reopened = new DocumentSession(new FolderGuard(Folder.Path));
        reopened.Open("a.neuro");
        reopened.Run("""{"op":"moveNodes","positions":{"fc":{"x":5,"y":5}}}""");
        reopened.Save("b.neuro");
        using var b = ModelFile.Load(Folder.Combine("b.neuro"), cpu);
        Assert.That(b.Parameter("fc.weight").ToArray(), Is.EqualTo(first));
    }

    [Test]
    public void OnnxExportOpensAgainWithTheSameNetworkAndWeights()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Save("small.neuro");
        Assert.That(session.Export("exports/small.onnx"), Is.EqualTo("exports/small.onnx"));
        var reopened = new DocumentSession(new FolderGuard(Folder.Path));
        reopened.Open("exports/small.onnx");
        Assert.That(reopened.Analysis.IsValid, Is.True, string.Join("; ", reopened.Analysis.Errors.Select(e => e.Message)));
        Assert.That(reopened.Analysis.TotalParameters, Is.EqualTo(156 + 8650));
        Assert.That(reopened.Analysis[reopened.Analysis.Output!].OutputShape!.Value.ToArray(), Is.EqualTo(new[] { 1, 10 }));
        reopened.Save("from-onnx.neuro");
        using var cpu = new CpuBackend();
        using var original = ModelFile.Load(Folder.Combine("small.neuro"), cpu);
        using var roundTrip = ModelFile.Load(Folder.Combine("from-onnx.neuro"), cpu);
        // the importer names parameters after the ONNX initializers, which the exporter named after the state dict
        float[] expected = original.Parameter("conv1.weight").ToArray();
        string name = roundTrip.ParameterNames.Single(n => roundTrip.Parameter(n).Length == expected.Length);
        Assert.That(roundTrip.Parameter(name).ToArray(), Is.EqualTo(expected), "the imported weights were kept through save");
    }

    [Test]
    public void TemplatesHaveTheirPublishedNames()
    {
        Assert.That(Templates.All.Single(t => t.Id == "resnet18").Label, Is.EqualTo("ResNet-18"));
        Assert.That(Templates.All.Count(t => t.Kind == "model"), Is.EqualTo(ModelZoo.Names.Count));
        Assert.That(Templates.All.Where(t => t.Kind == "block").Select(t => t.Id), Is.EquivalentTo(new[]
            { "residual", "bottleneck", "inception", "squeeze-excitation", "dense-block", "depthwise-separable", "inverted-residual" }));
    }

    [Test]
    public void DenseNet121AnalysisAndSerializationTimes()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run("""{"op":"insertTemplate","template":"densenet121"}""");
        var document = session.Snapshot();
        // warm once (JIT), then measure the median of five
        var analysis = new DocumentAnalysis(document);
        _ = DocumentJson.Write(document, analysis, 1, "densenet121", null, false, false, false);
        var analyse = new List<double>();
        var serialize = new List<double>();
        int bytes = 0;
        for (int i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            analysis = new DocumentAnalysis(document);
            analyse.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();
            bytes = DocumentJson.Write(document, analysis, 1, "densenet121", null, false, false, false).Length; // not the session's per-revision cache
            serialize.Add(clock.Elapsed.TotalMilliseconds);
        }
        analyse.Sort();
        serialize.Sort();
        TestContext.Out.WriteLine($"densenet121: {document.Nodes.Count} nodes, analysis {analyse[2]:F1} ms, serialization {serialize[2]:F1} ms, {bytes / 1024} KiB");
        Assert.That(document.Nodes.Count, Is.GreaterThan(400));
        Assert.That(analyse[2] + serialize[2], Is.LessThan(1000), "an edit of a DenseNet-121 must stay interactive");
    }

    internal static ImageDataset FashionMnistOrIgnore()
    {
        try
        {
            return FashionMnist.LoadTrain();
        }
        catch (DatasetException e)
        {
            Assert.Ignore($"Fashion-MNIST is not installed: {e.Message}");
            throw;
        }
    }
}

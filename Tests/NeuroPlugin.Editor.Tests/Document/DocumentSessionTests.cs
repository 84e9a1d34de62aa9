using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Tests.Document;

/// <summary>The session around the document: which file (path, name, weights) it belongs to through new, open, model
/// templates and undo; refused commands; the undo history's limits.</summary>
public sealed class DocumentSessionTests : TempFolderFixture
{
    /// <summary>A session that opened <c>a.neuro</c> (the small network, saved with its initial weights).</summary>
    DocumentSession OpenedSmallNetwork()
    {
        Commands.SmallNetwork(Folder.Path).Save("a.neuro");
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Open("a.neuro");
        return session;
    }

    [TestCase("""{"op":"new"}""")]
    [TestCase("""{"op":"insertTemplate","template":"lenet5"}""")]
    public void NewAndModelTemplatesStartAnUntitledDocumentWithoutWeights(string replace)
    {
        var session = OpenedSmallNetwork();
        Assert.That((string?)session.Json()["path"], Is.EqualTo("a.neuro"));
        Assert.That(session.File.Weights, Is.Not.Empty);

        session.Run(replace);
        var document = session.Json();
        Assert.That(document["path"], Is.Null, "Save must ask for a path instead of overwriting a.neuro");
        Assert.That((string)document["name"]!, Is.EqualTo("untitled"));
        Assert.That(session.File.Weights, Is.Empty);
        Assert.That(Assert.Throws<DocumentCommandException>(() => session.Save(null))!.Message, Does.Contain("give a path"));

        // undo returns to the opened file: its graph, path, name and weights
        session.Undo();
        document = session.Json();
        Assert.That((string?)document["path"], Is.EqualTo("a.neuro"));
        Assert.That((string)document["name"]!, Is.EqualTo("a"));
        Assert.That(session.File.Weights.Keys, Does.Contain("fc.weight"));
        Assert.That(document.Node("fc").Shape(), Is.EqualTo(new[] { 1, 10 }));
    }

    [Test]
    public void UndoingAnOpenReturnsToThePreviousFileAndItsWeights()
    {
        var first = Commands.SmallNetwork(Folder.Path);
        first.Save("a.neuro");
        first.Run("""{"op":"insertTemplate","template":"lenet5"}""");
        first.Save("b.neuro");
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Open("a.neuro");
        session.Open("b.neuro");
        Assert.That((string?)session.Json()["path"], Is.EqualTo("b.neuro"));
        session.Undo();
        var document = session.Json();
        Assert.That((string?)document["path"], Is.EqualTo("a.neuro"), "undoing an open restores the path too");
        Assert.That(document.Node("fc"), Is.Not.Null);
        using var cpu = new CpuBackend();
        using (var a = ModelFile.Load(Folder.Combine("a.neuro"), cpu))
            Assert.That(session.File.Weights["fc.weight"].Values, Is.EqualTo(a.Parameter("fc.weight").ToArray()), "and a.neuro's weights, not b.neuro's");
        session.Redo();
        Assert.That((string?)session.Json()["path"], Is.EqualTo("b.neuro"));
        // a save-as changes the file's path; an undo of an edit afterwards keeps it
        session.Run("""{"op":"layout"}""");
        session.Save("c.neuro");
        session.Undo();
        Assert.That((string?)session.Json()["path"], Is.EqualTo("c.neuro"));
    }

    [Test]
    public void TrainedWeightsGoOnlyToTheFileTheRunStartedFrom()
    {
        var session = OpenedSmallNetwork();
        var (_, _, from) = session.TrainingSnapshot();
        var trained = new Dictionary<string, Weight> { ["fc.bias"] = new(new TensorShape(10), Enumerable.Repeat(0.5f, 10).ToArray()) };

        session.Run("""{"op":"moveNodes","positions":{"fc":{"x":1,"y":1}}}""");
        Assert.That(session.KeepWeights(trained, from), Is.True, "an edited document is still the same file");
        Assert.That(session.File.Weights["fc.bias"].Values, Is.EqualTo(Enumerable.Repeat(0.5f, 10)));

        session.Run("""{"op":"new"}""");
        long revision = session.Revision;
        Assert.That(session.KeepWeights(trained, from), Is.False, "the document was replaced during the run");
        Assert.That(session.File.Weights, Is.Empty);
        Assert.That(session.Revision, Is.EqualTo(revision));
    }

    [Test]
    public void WeightsAreReusedOnlyWhereTheShapeMatches()
    {
        // conv1 6×1×5×5 (150 values) becomes 150×1×1×1: as many values, another shape
        var graph = new NetworkGraph();
        graph.AddInput("input", new TensorShape(1, 28, 28));
        graph.Add("conv1", new NeuroPlugin.Layers.Conv2d(1, 150, 1), "input");
        using var cpu = new CpuBackend();
        using var network = Network.Create(graph, cpu, seed: 1);
        float[] initial = network.Parameter("conv1.weight").ToArray();
        var weights = new Dictionary<string, Weight>
        {
            ["conv1.weight"] = new(new TensorShape(6, 1, 5, 5), Enumerable.Repeat(7f, 150).ToArray()),
            ["conv1.bias"] = new(new TensorShape(150), Enumerable.Repeat(3f, 150).ToArray()),
        };
        DocumentSession.LoadWeights(network, weights);
        Assert.That(network.Parameter("conv1.weight").ToArray(), Is.EqualTo(initial), "same length, different shape: not loaded");
        Assert.That(network.Parameter("conv1.bias").ToArray(), Is.EqualTo(Enumerable.Repeat(3f, 150)), "same shape: loaded");
    }

    [Test]
    public void AnAnalysisThatFailsChangesNothing()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path),
            d => d.Contains("boom") ? throw new InvalidOperationException("analysis fault") : new DocumentAnalysis(d));
        session.Run("""{"op":"addNode","type":"ReLU","id":"relu","inputs":["input"]}""");
        string before = session.Json().ToJsonString();
        long revision = session.Revision;
        var e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"addNode","type":"ReLU","id":"boom","inputs":["relu"]}"""));
        Assert.That(e!.Message, Does.StartWith("addNode: the document could not be analysed").And.Contain("analysis fault"));
        Assert.That(session.Revision, Is.EqualTo(revision));
        Assert.That(session.Json().ToJsonString(), Is.EqualTo(before));
        session.Undo();
        Assert.That(session.Json()["nodes"]!.AsArray().Select(n => (string)n!["id"]!), Is.EqualTo(new[] { "input" }), "the undo history is intact");
    }

    [Test]
    public void TensorsOverTheRuntimesSizeAreANodeErrorNotAFault()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        // fc.weight would be 4 194 304 × 864 = 3.6·10⁹ values, over int.MaxValue
        session.Run("""{"op":"setAttributes","id":"fc","attributes":{"outFeatures":4194304}}""");
        var document = session.Json();
        Assert.That((string)document.Node("fc")["error"]!, Does.StartWith("fc:").And.Contain("elements"));
        Assert.That((bool)document["valid"]!, Is.False);
        Assert.That((int)document.Node("fc")["attributes"]!["outFeatures"]!, Is.EqualTo(4194304));
        session.Undo();
        Assert.That((bool)session.Json()["valid"]!, Is.True);
    }

    [Test]
    public void ConnectRefusesNegativePortsAndFullNodesNamingThem()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Run("""{"op":"addNode","type":"Add","id":"sum","inputs":["relu1","relu1"]}""");
        long revision = session.Revision;
        var e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"connect","source":"conv1","target":"sum","targetPort":-1}"""));
        Assert.That(e!.Message, Does.Contain("'targetPort'").And.Contain("-1"));
        e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"connect","source":"conv1","target":"relu1","targetPort":-2}"""));
        Assert.That(e!.Message, Does.Contain("'targetPort'"));
        // relu1's one port is connected: without targetPort there is no free port, so nothing is overwritten
        e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"connect","source":"input","target":"relu1"}"""));
        Assert.That(e!.Message, Does.Contain("'relu1'").And.Contain("every input port"));
        Assert.That(session.Revision, Is.EqualTo(revision));
        Assert.That(session.Json().Node("relu1")["inputs"]!.AsArray().Select(i => (string?)i), Is.EqualTo(new[] { "conv1" }));
        // an explicit port still replaces
        session.Run("""{"op":"connect","source":"input","target":"relu1","targetPort":0}""");
        Assert.That(session.Json().Node("relu1")["inputs"]!.AsArray().Select(i => (string?)i), Is.EqualTo(new[] { "input" }));
    }

    [Test]
    public void UndoHistoryIsCappedBySize()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path)) { UndoBytesLimit = 200_000 };
        for (int i = 0; i < 60; i++)
            session.Run($$$"""{"op":"addNode","type":"Conv2d","id":"conv{{{i}}}","inputs":["input"],"attributes":{"outChannels":{{{i + 1}}}}}""");
        Assert.That(session.UndoBytes, Is.LessThanOrEqualTo(200_000));
        Assert.That(session.UndoCount, Is.InRange(2, 59), "the oldest steps were dropped, the newest kept");
        int kept = session.UndoCount;
        for (int i = 0; i < kept; i++) session.Undo();
        Assert.That(session.CanUndo, Is.False);
        Assert.That(session.Json()["nodes"]!.AsArray().Count, Is.EqualTo(1 + 60 - kept), "each kept step undoes one addNode");
        Assert.That(session.UndoBytes, Is.EqualTo(0));
    }

    [Test]
    public void GeneratedIdsCountUpAndPasteRefusesInputsWithInputs()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run("""{"op":"addNode","type":"Conv2d"}""");
        session.Run("""{"op":"addNode","type":"Conv2d"}""");
        session.Run("""{"op":"addNode","type":"Conv2d"}""");
        Assert.That(session.Json()["nodes"]!.AsArray().Select(n => (string)n!["id"]!), Is.EqualTo(new[] { "input", "conv2d_1", "conv2d_2", "conv2d_3" }));

        var e = Assert.Throws<DocumentCommandException>(() => session.Execute(Commands.Parse(
            """{"op":"paste","nodes":[{"id":"in2","type":"Input","inputs":["conv2d_1"]}]}""")));
        Assert.That(e!.Message, Does.Contain("'in2' is an Input and takes no inputs"));
        session.Execute(Commands.Parse("""{"op":"paste","nodes":[{"id":"in2","type":"Input","inputs":[]}]}"""));
        Assert.That(session.Json().Node("in2")["inputs"]!.AsArray(), Is.Empty);
    }

    /// <summary>A moveNodes of conv1 to (x, y) that amends revision <paramref name="amends"/>.</summary>
    static string Move(long amends, int x, int y) =>
        "{\"op\":\"moveNodes\",\"amends\":" + amends + ",\"positions\":{\"conv1\":{\"x\":" + x + ",\"y\":" + y + "}}}";

    [Test]
    public void ALayoutThatAmendsTheChangeBeforeItIsNotAnUndoStepOfItsOwn()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run("""{"op":"insertTemplate","template":"lenet5"}""");
        long template = session.Revision;
        int steps = session.UndoCount;
        session.Execute(Commands.Parse(Move(template, 500, 40)));
        Assert.That(session.UndoCount, Is.EqualTo(steps), "the layout belongs to the template");
        Assert.That(session.Revision, Is.EqualTo(template + 1), "clients still see a new revision");
        Assert.That((double)session.Json().Node("conv1")["position"]!["x"]!, Is.EqualTo(500));
        Assert.That((bool)session.Json()["dirty"]!, Is.False, "a template is not unsaved work, laid out or not");
        session.Undo();
        Assert.That(session.Json()["nodes"]!.AsArray().Select(n => (string)n!["id"]!), Is.EqualTo(new[] { "input" }), "one undo removes the template and its layout");

        // amending a revision that is no longer the current one (or one made by undo) is an ordinary step
        session.Redo();
        session.Execute(Commands.Parse(Move(template, 7, 7)));
        Assert.That(session.UndoCount, Is.EqualTo(steps + 1));
        Assert.That(Assert.Throws<DocumentCommandException>(() => session.Execute(Commands.Parse(
            $$"""{"op":"addNode","type":"ReLU","amends":{{session.Revision}}}""")))!.Message, Does.Contain("'amends'"));
    }

    [Test]
    public void WhileLockedOnlyTheDrawingMayChange()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Run("""{"op":"insertTemplate","template":"residual","after":"conv1"}""");
        session.Save("a.neuro");
        string? reason = "a run is training this network";
        session.StructureLock = () => reason;
        string before = session.Snapshot().Nodes.Select(n => n.Id + string.Join(",", n.Inputs)).Aggregate((a, b) => a + ";" + b);
        long revision = session.Revision;

        foreach (string command in new[]
        {
            """{"op":"addNode","type":"ReLU","after":"fc"}""",
            """{"op":"setAttributes","id":"fc","attributes":{"outFeatures":3}}""",
            """{"op":"removeNodes","ids":["relu1"]}""",
            """{"op":"rename","id":"fc","newId":"head"}""",
            """{"op":"setOutput","id":"flatten"}""",
            """{"op":"new"}""",
            """{"op":"insertTemplate","template":"lenet5"}""",
        })
        {
            var e = Assert.Throws<EditorConflictException>(() => session.Run(command), command);
            Assert.That(e!.Message, Does.EndWith(": a run is training this network"), command);
        }
        Assert.Throws<EditorConflictException>(() => session.Open("a.neuro"));
        Assert.That(session.Revision, Is.EqualTo(revision), "nothing changed");

        // moving, collapsing and ungrouping change only the drawing; undoing a move is fine, undoing an edit is not
        session.Run("""{"op":"moveNodes","positions":{"fc":{"x":900,"y":900}}}""");
        session.Run("""{"op":"setGroupCollapsed","group":"group:residual","collapsed":false}""");
        session.Run("""{"op":"ungroup","group":"group:residual"}""");
        session.Run("""{"op":"layout"}""");
        session.Undo();
        session.Undo();
        session.Undo();
        session.Undo();
        Assert.That(Assert.Throws<EditorConflictException>(session.Undo)!.Message, Does.StartWith("undo:"));
        Assert.That(session.Snapshot().Nodes.Select(n => n.Id + string.Join(",", n.Inputs)).Aggregate((a, b) => a + ";" + b), Is.EqualTo(before));

        reason = null;
        session.Undo();
        Assert.That(session.Json()["groups"]!.AsArray(), Is.Empty, "unlocked, undo reaches the edits again");
    }

    [Test]
    public void NewAndTemplatesAreCleanAndEachFileHasItsOwnId()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        long first = (long)session.Json()["file"]!;
        Assert.That((bool)session.Json()["dirty"]!, Is.True);
        session.Run("""{"op":"new"}""");
        Assert.That((bool)session.Json()["dirty"]!, Is.False, "nothing to lose in a new document");
        long second = (long)session.Json()["file"]!;
        Assert.That(second, Is.Not.EqualTo(first));
        session.Run("""{"op":"addNode","type":"ReLU","inputs":["input"]}""");
        Assert.That((bool)session.Json()["dirty"]!, Is.True);
        Assert.That((long)session.Json()["file"]!, Is.EqualTo(second), "edits keep the file");
        session.Undo();
        session.Undo();
        Assert.That((long)session.Json()["file"]!, Is.EqualTo(first), "undo returns to the first file");
    }

    [TestCase(".neuro", "has no file name before .neuro")]
    [TestCase("models/.neuro", "has no file name before .neuro")]
    [TestCase("model.onnx", "must end in .neuro")]
    public void SaveRefusesPathsWithoutAFileName(string path, string message)
    {
        var session = Commands.SmallNetwork(Folder.Path);
        var e = Assert.Throws<DocumentCommandException>(() => session.Save(path));
        Assert.That(e!.Message, Does.Contain(message));
        Assert.That(e.Field, Is.EqualTo("path"));
        Assert.That(Directory.EnumerateFileSystemEntries(Folder.Path, "*", SearchOption.AllDirectories), Is.Empty, "no file written");
        Assert.That(Assert.Throws<DocumentCommandException>(() => session.Export(".onnx"))!.Message, Does.Contain("has no file name before .onnx"));
    }
}

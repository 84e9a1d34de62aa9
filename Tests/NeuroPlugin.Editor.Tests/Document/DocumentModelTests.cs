namespace NeuroPlugin.Editor.Tests.Document;

/// <summary>The server-side document: shapes, counts and errors from the runtime's layers; undo/redo; copy/paste.</summary>
public sealed class DocumentModelTests : TempFolderFixture
{
    [Test]
    public void ShapesParametersAndFlopsFollowTheLayersFormulas()
    {
        var document = Commands.SmallNetwork(Folder.Path).Json();
        // conv 5×5 without padding: 28 − 5 + 1 = 24; pooling 2×2/2: 12; flatten 6·12·12 = 864
        Assert.That(document.Node("input").Shape(), Is.EqualTo(new[] { 1, 1, 28, 28 }));
        Assert.That(document.Node("conv1").Shape(), Is.EqualTo(new[] { 1, 6, 24, 24 }));
        Assert.That(document.Node("pool1").Shape(), Is.EqualTo(new[] { 1, 6, 12, 12 }));
        Assert.That(document.Node("flatten").Shape(), Is.EqualTo(new[] { 1, 864 }));
        Assert.That(document.Node("fc").Shape(), Is.EqualTo(new[] { 1, 10 }));
        // parameters: conv 6·1·5·5 + 6 = 156, fc 864·10 + 10 = 8650; FLOPs = 2 × MACs: conv 6·24·24·25, fc 864·10
        Assert.That((long)document.Node("conv1")["parameters"]!, Is.EqualTo(156));
        Assert.That((long)document.Node("fc")["parameters"]!, Is.EqualTo(8650));
        Assert.That((long)document.Node("conv1")["flops"]!, Is.EqualTo(2L * 6 * 24 * 24 * 25));
        Assert.That((long)document.Node("fc")["flops"]!, Is.EqualTo(2L * 864 * 10));
        Assert.That((long)document["totals"]!["parameters"]!, Is.EqualTo(156 + 8650));
        Assert.That((bool)document["valid"]!, Is.True);
        Assert.That((string)document["output"]!, Is.EqualTo("fc"));
        // the inferred attribute is not part of the stored attributes
        Assert.That(document.Node("conv1")["attributes"]!.AsObject().ContainsKey("inChannels"), Is.False);
        var edge = document["edges"]!.AsArray().Single(e => (string)e!["id"]! == "conv1->relu1:0");
        Assert.That(edge!["shape"]!.AsArray().Select(d => (int)d!), Is.EqualTo(new[] { 1, 6, 24, 24 }));
    }

    [Test]
    public void ErrorsNameTheNodeAndLeaveTheRestAnalysed()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Run("""{"op":"setAttributes","id":"conv1","attributes":{"kernelSize":[40,40]}}""");
        var document = session.Json();
        string error = (string)document.Node("conv1")["error"]!;
        Assert.That(error, Does.StartWith("conv1:"));
        Assert.That(document.Node("conv1").Shape(), Is.Null);
        Assert.That((string)document.Node("relu1")["error"]!, Does.StartWith("relu1: input 'conv1' has no shape"));
        Assert.That((bool)document["valid"]!, Is.False);
        Assert.That(document["errors"]!.AsArray().Select(e => (string?)e!["node"]), Does.Contain("conv1"));

        session.Run("""{"op":"setAttributes","id":"conv1","attributes":{"kernelSize":"big"}}""");
        Assert.That((string)session.Json().Node("conv1")["error"]!, Is.EqualTo("conv1: attribute 'kernelSize' must be an array of 2 integers"));

        session.Run("""{"op":"setAttributes","id":"conv1","attributes":{"kernelSize":[5,5]}}""");
        session.Run("""{"op":"disconnect","source":"pool1","target":"flatten"}""");
        document = session.Json();
        Assert.That((string)document.Node("flatten")["error"]!, Is.EqualTo("flatten: input port 0 is not connected"));
        Assert.That(document.Node("conv1").Shape(), Is.EqualTo(new[] { 1, 6, 24, 24 }), "nodes before the problem keep their shapes");

        // Linear straight on a 4-D tensor: the runtime's Linear says what it wants
        session.Run("""{"op":"connect","source":"pool1","target":"fc","targetPort":0}""");
        Assert.That((string)session.Json().Node("fc")["error"]!, Does.StartWith("fc:").And.Contain("(1,6,12,12)"));
    }

    [Test]
    public void RefusedCommandsChangeNothingAndNameTheProblem()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        long revision = session.Revision;
        var e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"connect","source":"fc","target":"conv1","targetPort":0}"""));
        Assert.That(e!.Message, Does.Contain("cycle"));
        e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"addNode","type":"Conv2d","id":"conv1"}"""));
        Assert.That(e!.Message, Does.Contain("'conv1' is already used"));
        e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"setAttributes","id":"nope","attributes":{}}"""));
        Assert.That(e!.Message, Does.Contain("'nope'"));
        Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"addNode","type":"Conv3d"}"""));
        Assert.That(session.Revision, Is.EqualTo(revision));
    }

    [Test]
    public void UndoAndRedoRestoreEveryStep()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        var states = new List<string> { Strip(session) };
        session.Run("""{"op":"addNode","type":"Conv2d","id":"conv1","inputs":["input"]}""");
        states.Add(Strip(session));
        session.Run("""{"op":"setAttributes","id":"conv1","attributes":{"outChannels":8}}""");
        states.Add(Strip(session));
        session.Run("""{"op":"rename","id":"conv1","newId":"stem"}""");
        states.Add(Strip(session));
        session.Run("""{"op":"moveNodes","positions":{"stem":{"x":10,"y":20}}}""");
        states.Add(Strip(session));

        for (int i = states.Count - 2; i >= 0; i--)
        {
            session.Undo();
            Assert.That(Strip(session), Is.EqualTo(states[i]), $"after undoing to step {i}");
        }
        Assert.That(session.CanUndo, Is.False);
        Assert.That(Assert.Throws<EditorConflictException>(session.Undo)!.Message, Is.EqualTo("nothing to undo"));
        for (int i = 1; i < states.Count; i++)
        {
            session.Redo();
            Assert.That(Strip(session), Is.EqualTo(states[i]), $"after redoing step {i}");
        }
        Assert.That(session.CanRedo, Is.False);
        session.Undo();
        session.Run("""{"op":"removeNodes","ids":["stem"]}""");
        Assert.That(session.CanRedo, Is.False, "a new command drops the redo stack");
    }

    /// <summary>The document JSON without the fields that count changes (revision, undo flags).</summary>
    static string Strip(DocumentSession session)
    {
        var json = session.Json();
        json.Remove("revision");
        json.Remove("canUndo");
        json.Remove("canRedo");
        json.Remove("dirty");
        return json.ToJsonString();
    }

    [Test]
    public void PasteRemapsIdsAndInternalConnections()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        var clipboard = session.Copy(["conv1", "relu1"]);
        session.Execute(new JsonObject { ["op"] = "paste", ["nodes"] = clipboard["nodes"]!.DeepClone() });
        var document = session.Json();
        Assert.That(document.Node("conv1_2")["inputs"]!.AsArray().Select(i => (string?)i), Is.EqualTo(new[] { "input" }), "inputs outside the paste are kept");
        Assert.That(document.Node("relu1_2")["inputs"]!.AsArray().Select(i => (string?)i), Is.EqualTo(new[] { "conv1_2" }), "inputs inside the paste follow the new ids");
        Assert.That((int)document.Node("conv1_2")["attributes"]!["outChannels"]!, Is.EqualTo(6));
        Assert.That(document.Node("relu1_2").Shape(), Is.EqualTo(new[] { 1, 6, 24, 24 }));
        Assert.That(document.Node("relu1")["inputs"]!.AsArray().Select(i => (string?)i), Is.EqualTo(new[] { "conv1" }), "the originals are untouched");

        // pasting into a document without the external input leaves the port unconnected
        session.Run("""{"op":"new"}""");
        session.Execute(new JsonObject { ["op"] = "paste", ["nodes"] = new JsonArray(clipboard["nodes"]![1]!.DeepClone()) });
        Assert.That(session.Json().Node("relu1")["inputs"]!.AsArray()[0], Is.Null);
    }

    [Test]
    public void UpsampleTakesEitherAScaleFactorOrASize()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Run("""{"op":"addNode","type":"Upsample","id":"up","inputs":["pool1"]}""");
        Assert.That(session.Json().Node("up").Shape(), Is.EqualTo(new[] { 1, 6, 24, 24 }), "default scale factor 2");
        session.Run("""{"op":"setAttributes","id":"up","attributes":{"size":[10,15],"scaleFactor":null}}""");
        Assert.That(session.Json().Node("up").Shape(), Is.EqualTo(new[] { 1, 6, 10, 15 }));
        var schema = LayerPalette.ToJson().Single(l => (string)l!["type"]! == "Upsample")!["attributes"]!.AsArray();
        Assert.That((string)schema.Single(a => (string)a!["name"]! == "scaleFactor")!["kind"]!, Is.EqualTo("floats"));
    }
}

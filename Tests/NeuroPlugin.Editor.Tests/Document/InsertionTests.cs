namespace NeuroPlugin.Editor.Tests.Document;

/// <summary>Adding a layer into the network rather than beside it: after a node (the palette's double-click), onto an
/// edge (a drop), and the one-click Flatten a Linear after a global pool offers.</summary>
public sealed class InsertionTests : TempFolderFixture
{
    static string?[] Inputs(JsonObject document, string id) => document.Node(id)["inputs"]!.AsArray().Select(i => (string?)i).ToArray();

    static (double X, double Y) Position(JsonObject document, string id) =>
        ((double)document.Node(id)["position"]!["x"]!, (double)document.Node(id)["position"]!["y"]!);

    [Test]
    public void AfterANodeGoesIntoTheChainAndMakesRoomBelow()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Run("""{"op":"layout"}""");
        var before = session.Json();
        session.Run("""{"op":"addNode","type":"BatchNorm2d","after":"conv1"}""");
        var document = session.Json();
        Assert.That(Inputs(document, "batchnorm2d_1"), Is.EqualTo(new[] { "conv1" }));
        Assert.That(Inputs(document, "relu1"), Is.EqualTo(new[] { "batchnorm2d_1" }), "the node that read conv1 reads the new one");
        Assert.That(document.Node("batchnorm2d_1").Shape(), Is.EqualTo(new[] { 1, 6, 24, 24 }));
        Assert.That((bool)document["valid"]!, Is.True);
        // one row below conv1; relu1 and everything after it one row further down, conv1 and the input stay
        var (x, y) = Position(before, "conv1");
        Assert.That(Position(document, "batchnorm2d_1"), Is.EqualTo((x, y + Layout.RowHeight)));
        foreach (string id in new[] { "relu1", "pool1", "flatten", "fc" })
            Assert.That(Position(document, id), Is.EqualTo((Position(before, id).X, Position(before, id).Y + Layout.RowHeight)), id);
        Assert.That(Position(document, "input"), Is.EqualTo(Position(before, "input")));

        // after the last layer: it becomes the output (one undo step for all of it)
        session.Run("""{"op":"addNode","type":"Softmax","after":"fc"}""");
        Assert.That((string)session.Json()["output"]!, Is.EqualTo("softmax_1"));
        session.Undo();
        session.Undo();
        Assert.That(Inputs(session.Json(), "relu1"), Is.EqualTo(new[] { "conv1" }));
        Assert.That(Position(session.Json(), "relu1"), Is.EqualTo(Position(before, "relu1")));
    }

    [Test]
    public void OntoAnEdgeGoesBetweenItsEnds()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Run("""{"op":"addNode","type":"Add","id":"sum","inputs":["relu1","conv1"]}""");
        // the edge conv1 → sum:1 only; relu1 still reads conv1
        session.Run("""{"op":"addNode","type":"ReLU","id":"side","insertInto":{"source":"conv1","target":"sum","targetPort":1}}""");
        var document = session.Json();
        Assert.That(Inputs(document, "sum"), Is.EqualTo(new[] { "relu1", "side" }));
        Assert.That(Inputs(document, "side"), Is.EqualTo(new[] { "conv1" }));
        Assert.That(Inputs(document, "relu1"), Is.EqualTo(new[] { "conv1" }));

        var e = Assert.Throws<DocumentCommandException>(() =>
            session.Run("""{"op":"addNode","type":"ReLU","insertInto":{"source":"pool1","target":"fc","targetPort":0}}"""));
        Assert.That(e!.Message, Does.Contain("no edge from 'pool1' into port 0 of 'fc'"));
        e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"addNode","type":"ReLU","after":"fc","inputs":["fc"]}"""));
        Assert.That(e!.Message, Does.Contain("one of 'inputs', 'after' and 'insertInto'"));
        e = Assert.Throws<DocumentCommandException>(() => session.Run("""{"op":"addNode","type":"Input","after":"fc"}"""));
        Assert.That(e!.Message, Does.Contain("takes no inputs"));
    }

    [Test]
    public void ALayerInsertedInsideABlockJoinsItsGroup()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run("""{"op":"addNode","type":"Conv2d","id":"stem","inputs":["input"],"attributes":{"outChannels":16}}""");
        session.Run("""{"op":"insertTemplate","template":"residual","after":"stem"}""");
        session.Run("""{"op":"addNode","type":"Dropout","id":"inside","after":"residual.conv1"}""");
        session.Run("""{"op":"addNode","type":"ReLU","id":"between","insertInto":{"source":"residual.bn1","target":"residual.relu1","targetPort":0}}""");
        session.Run("""{"op":"addNode","type":"ReLU","id":"outside","after":"stem"}""");
        var document = session.Json();
        Assert.That((string?)document.Node("inside")["group"], Is.EqualTo("group:residual"));
        Assert.That((string?)document.Node("between")["group"], Is.EqualTo("group:residual"));
        Assert.That(document.Node("outside")["group"], Is.Null, "between the stem and the block: in neither");
        Assert.That((bool)document["valid"]!, Is.True, document["errors"]!.ToJsonString());
    }

    [Test]
    public void ALinearAfterAGlobalPoolOffersAFlattenThatFixesIt()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run("""{"op":"addNode","type":"Conv2d","id":"conv","inputs":["input"],"attributes":{"outChannels":8}}""");
        session.Run("""{"op":"addNode","type":"GlobalAvgPool2d","id":"pool","inputs":["conv"]}""");
        session.Run("""{"op":"addNode","type":"Linear","id":"fc","inputs":["pool"],"attributes":{"outFeatures":10}}""");
        var fc = session.Json().Node("fc");
        Assert.That((string)fc["error"]!, Does.Contain("(1,8,1,1)").And.Contain("add a Flatten before it"));
        var fix = fc["fix"]!.AsObject();
        Assert.That((string)fix["label"]!, Is.EqualTo("Insert a Flatten before fc"));
        Assert.That(session.Json().Node("pool")["fix"], Is.Null, "a node without an error has no fix");

        long revision = session.Revision;
        session.Execute(fix["command"]!.AsObject().DeepClone().AsObject());
        var document = session.Json();
        Assert.That(session.Revision, Is.EqualTo(revision + 1), "one command, one undo step");
        Assert.That((bool)document["valid"]!, Is.True, document["errors"]!.ToJsonString());
        Assert.That(Inputs(document, "fc"), Is.EqualTo(new[] { "flatten_1" }));
        Assert.That(document.Node("flatten_1").Shape(), Is.EqualTo(new[] { 1, 8 }));
        Assert.That(document.Node("fc").Shape(), Is.EqualTo(new[] { 1, 10 }));
        Assert.That((long)document.Node("fc")["parameters"]!, Is.EqualTo(8 * 10 + 10));
    }

    [Test]
    public void ABlockMakesRoomForTheNodesAfterIt()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run("""{"op":"addNode","type":"Conv2d","id":"stem","inputs":["input"],"position":{"x":0,"y":100},"attributes":{"outChannels":16}}""");
        session.Run("""{"op":"addNode","type":"GlobalAvgPool2d","id":"pool","inputs":["stem"],"position":{"x":0,"y":200}}""");
        session.Run("""{"op":"insertTemplate","template":"residual","after":"stem"}""");
        var document = session.Json();
        double blockTop = document["nodes"]!.AsArray().Where(n => (string?)n!["group"] == "group:residual").Min(n => (double)n!["position"]!["y"]!);
        Assert.That(blockTop, Is.EqualTo(200), "the block starts one row below its anchor");
        Assert.That(Position(document, "pool").Y, Is.EqualTo(300), "the reader moved one row below the collapsed block");
    }
}

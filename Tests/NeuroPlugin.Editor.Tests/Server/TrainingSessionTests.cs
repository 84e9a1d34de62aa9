using System.Text.Json.Nodes;
using NeuroPlugin.Editor.Document;
using NeuroPlugin.Editor.Server;
using NeuroPlugin.Editor.Tests.TestSupport;
using NeuroPlugin.Training;

namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>Training runs of the editor without HTTP: the GL backend on the run's own thread, refused settings, weights kept.</summary>
public sealed class TrainingSessionTests
{
    TempFolder folder = null!;

    [SetUp] public void CreateFolder() => folder = new TempFolder();
    [TearDown] public void DeleteFolder() => folder.Dispose();

    [Test]
    public void GLRunTrainsOnItsOwnThreadAndLeavesItsWeightsWithTheDocument()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var session = Commands.SmallNetwork(folder.Path);
        var training = new TrainingSession(session);
        long revision = session.Revision;
        training.Start(TrainingRequest.Parse(Commands.Parse("""{"backend":"gl","batchSize":32,"epochs":1,"trainLimit":320,"testLimit":100}""")));
        Assert.That(training.Wait(TimeSpan.FromSeconds(120)), Is.True);
        var status = JsonNode.Parse(training.StatusJson())!;
        if ((string)status["state"]! == "failed" && ((string?)status["error"] ?? "").Contains("GL", StringComparison.Ordinal))
            Assert.Ignore($"no headless GL here: {status["error"]}");
        Assert.That((string)status["state"]!, Is.EqualTo("finished"), status.ToJsonString());
        var points = status["points"]!.AsArray();
        Assert.That(points.Select(p => (long)p!["step"]!), Is.EqualTo(new long[] { 10, 10 }), "10 batches: one report, then the epoch end");
        Assert.That(points[^1]!["accuracy"]!.GetValue<double>(), Is.InRange(0.0, 1.0));
        Assert.That(session.Revision, Is.GreaterThan(revision), "the trained weights went back to the document");
        Assert.That((bool)session.Json()["dirty"]!, Is.True);
    }

    [Test]
    public void RefusesSettingsAndNetworksThatDoNotFit()
    {
        var session = Commands.SmallNetwork(folder.Path);
        var training = new TrainingSession(session);
        var e = Assert.Throws<DocumentCommandException>(() => training.Start(TrainingRequest.Parse(Commands.Parse("""{"backend":"tpu"}"""))));
        Assert.That(e!.Message, Does.Contain("unknown backend 'tpu'"));
        Assert.That(Assert.Throws<TrainingOptionsException>(() => training.Start(TrainingRequest.Parse(Commands.Parse("""{"optimizer":"lbfgs"}"""))))!.Message,
            Does.Contain("unknown optimizer 'lbfgs'"));
        Assert.That(Assert.Throws<DocumentCommandException>(() => TrainingRequest.Parse(Commands.Parse("""{"dataset":{"path":"images"}}""")))!.Message,
            Does.Contain("an image-folder dataset is { \"folder\""));
        session.Run("""{"op":"setAttributes","id":"fc","attributes":{"outFeatures":7}}""");
        Assert.That(Assert.Throws<DocumentCommandException>(() => training.Start(TrainingRequest.Parse(new JsonObject())))!.Message,
            Does.Contain("output 'fc' must be (N,10)"));
        session.Run("""{"op":"setAttributes","id":"conv1","attributes":{"kernelSize":[40,40]}}""");
        Assert.That(Assert.Throws<DocumentCommandException>(() => training.Start(TrainingRequest.Parse(new JsonObject())))!.Message,
            Does.StartWith("cannot train: the network is not valid: conv1:"));
    }

    [TestCase("""{"learningRate":-1}""", "learningRate must be a positive number")]
    [TestCase("""{"momentum":1.5}""", "momentum must be in [0, 1)")]
    [TestCase("""{"weightDecay":-0.1}""", "weightDecay must be a number")]
    public void SettingsErrorsNameTheRequestFields(string request, string message)
    {
        var training = new TrainingSession(Commands.SmallNetwork(folder.Path));
        var e = Assert.Throws<TrainingOptionsException>(() => training.Start(TrainingRequest.Parse(Commands.Parse(request))));
        Assert.That(e!.Message, Does.StartWith(message));
        Assert.That(e.Message, Does.Not.Contain("--"), "no CLI flags in the editor's messages");
    }
}

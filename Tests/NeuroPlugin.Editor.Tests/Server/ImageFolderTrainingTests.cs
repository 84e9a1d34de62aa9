using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>Editor training runs on an image folder (<c>"dataset": { "folder": "rel/path" }</c>) inside the served folder.</summary>
public sealed class ImageFolderTrainingTests : TempFolderFixture
{
    /// <summary><c>pics/&lt;class&gt;/i.png</c>: 3 classes × 5 grey 28×28 images (solid, vertical stripes, horizontal stripes).</summary>
    void WriteImages()
    {
        string[] classes = ["solid", "vertical", "horizontal"];
        for (int k = 0; k < 3; k++)
        {
            Directory.CreateDirectory(Folder.Combine("pics", classes[k]));
            for (int i = 0; i < 5; i++)
            {
                using var image = new Image<L8>(28, 28);
                for (int y = 0; y < 28; y++)
                    for (int x = 0; x < 28; x++)
                        image[x, y] = new L8((byte)(k switch { 0 => 60 + 30 * i, 1 => x % 4 < 2 ? 0 : 255, _ => y % 4 < 2 ? 20 * i : 255 }));
                image.SaveAsPng(Folder.Combine("pics", classes[k], $"{i}.png"));
            }
        }
    }

    [Test]
    public void CpuRunTrainsOnAFolderOfPngs()
    {
        WriteImages();
        var session = Commands.SmallNetwork(Folder.Path);
        session.Run("""{"op":"setAttributes","id":"fc","attributes":{"outFeatures":3}}""");
        var training = new TrainingSession(session);
        long revision = session.Revision;

        training.Start(TrainingRequest.Parse(Commands.Parse("""{"dataset":{"folder":"pics"},"backend":"cpu","batchSize":4,"epochs":2,"optimizer":"adam"}""")));
        Assert.That(training.Wait(TimeSpan.FromSeconds(60)), Is.True);

        var status = JsonNode.Parse(training.StatusJson())!;
        Assert.That((string)status["state"]!, Is.EqualTo("finished"), status.ToJsonString());
        // 5 per class, 20 % held out: 4 train + 1 test per class, 12 training images, batches of 4 → 3 steps per epoch;
        // each epoch reports its last batch (no accuracy), then its end with the test accuracy
        var points = status["points"]!.AsArray();
        Assert.That(points.Select(p => (long)p!["step"]!), Is.EqualTo(new long[] { 3, 3, 6, 6 }), status.ToJsonString());
        Assert.That(points.Select(p => p!["accuracy"] is null), Is.EqualTo(new[] { true, false, true, false }));
        Assert.That(points[3]!["accuracy"]!.GetValue<double>(), Is.InRange(0.0, 1.0));
        Assert.That(points.Select(p => p!["loss"]!.GetValue<float>()), Has.All.Matches<float>(float.IsFinite));
        Assert.That(session.Revision, Is.GreaterThan(revision), "the trained weights went back to the document");
    }

    [Test]
    public void RefusesFoldersOutsideTheServedFolderAndMismatchedNetworks()
    {
        WriteImages();
        var session = Commands.SmallNetwork(Folder.Path);
        var training = new TrainingSession(session);

        Assert.Throws<PathOutsideFolderException>(() => training.Start(TrainingRequest.Parse(Commands.Parse("""{"dataset":{"folder":"../elsewhere"}}"""))));
        Assert.That(Assert.Throws<DocumentCommandException>(() => training.Start(TrainingRequest.Parse(Commands.Parse("""{"dataset":{"folder":"missing"}}"""))))!.Message,
            Does.Contain("'missing' is not a folder"));

        // the network still has 10 outputs: the run fails, naming the folder's 3 classes
        training.Start(TrainingRequest.Parse(Commands.Parse("""{"dataset":{"folder":"pics"},"backend":"cpu","batchSize":4}""")));
        Assert.That(training.Wait(TimeSpan.FromSeconds(60)), Is.True);
        var status = JsonNode.Parse(training.StatusJson())!;
        Assert.That((string)status["state"]!, Is.EqualTo("failed"));
        Assert.That((string)status["error"]!, Does.Contain("must be (N,3) logits for the 3 classes of pics"));
    }
    /// <summary>The small network with 3 outputs, for <see cref="WriteImages"/>'s classes.</summary>
    DocumentSession ThreeClassNetwork()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        session.Run("""{"op":"setAttributes","id":"fc","attributes":{"outFeatures":3}}""");
        return session;
    }

    const string ShortRun = """{"dataset":{"folder":"pics"},"backend":"cpu","batchSize":4,"epochs":1}""";

    [Test]
    public void WeightsOfARunWhoseDocumentWasReplacedAreDroppedAndReported()
    {
        WriteImages();
        var session = ThreeClassNetwork();
        var training = new TrainingSession(session);
        var messages = new List<JsonObject>();
        bool replace = true;
        training.Message += (kind, bytes) =>
        {
            if (kind != HubMessageKind.Training) return;
            var message = JsonNode.Parse(bytes)!.AsObject();
            lock (messages) messages.Add(message);
            // the user starts a new document while the run goes on (on the training thread: before the next step)
            if ((string)message["state"]! == "running" && replace)
            {
                replace = false;
                session.Run("""{"op":"new"}""");
            }
        };
        training.Start(TrainingRequest.Parse(Commands.Parse(ShortRun)));
        Assert.That(training.Wait(TimeSpan.FromSeconds(60)), Is.True);

        var final = messages[^1];
        Assert.That((string)final["state"]!, Is.EqualTo("finished"), final.ToJsonString());
        Assert.That((string)final["weights"]!, Is.EqualTo(TrainingSession.WeightsDropped));
        Assert.That((string)JsonNode.Parse(training.StatusJson())!["weights"]!, Is.EqualTo(TrainingSession.WeightsDropped));
        Assert.That(session.File.Weights, Is.Empty, "nothing merged into the new document");
        Assert.That(session.Json()["nodes"]!.AsArray().Count, Is.EqualTo(1));

        // an undisturbed run keeps them
        session.Undo();
        messages.Clear();
        training.Start(TrainingRequest.Parse(Commands.Parse(ShortRun.Replace("\"epochs\":1", "\"epochs\":1,\"seed\":2"))));
        Assert.That(training.Wait(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That((string)JsonNode.Parse(training.StatusJson())!["weights"]!, Is.EqualTo(TrainingSession.WeightsKept));
        Assert.That(session.File.Weights["fc.weight"].Shape, Is.EqualTo(new NeuroPlugin.Tensors.TensorShape(3, 864)));
    }

    [Test]
    public void AFailureAfterTrainingFailsTheRunInsteadOfTheServer()
    {
        WriteImages();
        var session = ThreeClassNetwork();
        var training = new TrainingSession(session);
        byte[]? last = null;
        training.Message += (kind, bytes) => { if (kind == HubMessageKind.Training) last = bytes; };
        session.Changed += () => throw new InvalidOperationException("listener fault");
        training.Start(TrainingRequest.Parse(Commands.Parse(ShortRun)));
        Assert.That(training.Wait(TimeSpan.FromSeconds(60)), Is.True);

        var status = JsonNode.Parse(training.StatusJson())!;
        Assert.That((string)status["state"]!, Is.EqualTo("failed"));
        Assert.That((string)status["error"]!, Does.Contain("keeping the trained weights failed").And.Contain("listener fault"));
        var final = JsonNode.Parse(last!)!;
        Assert.That((string)final["state"]!, Is.EqualTo("failed"), "the final message is sent all the same");
        Assert.That((string)final["error"]!, Does.Contain("listener fault"));
    }

    [Test]
    public void ClassFoldersAndFilesLinkingOutsideTheServedFolderAreRefused()
    {
        WriteImages();
        using var outside = new TempFolder();
        Directory.CreateDirectory(Path.Combine(outside.Path, "secret"));
        File.Copy(Folder.Combine("pics", "solid", "0.png"), Path.Combine(outside.Path, "secret", "0.png"));
        File.Copy(Folder.Combine("pics", "solid", "0.png"), Path.Combine(outside.Path, "leak.png"));
        var session = ThreeClassNetwork();
        var training = new TrainingSession(session);

        File.CreateSymbolicLink(Folder.Combine("pics", "solid", "9.png"), Path.Combine(outside.Path, "leak.png"));
        var e = Assert.Throws<PathOutsideFolderException>(() => training.Start(TrainingRequest.Parse(Commands.Parse(ShortRun))));
        Assert.That(e!.Message, Does.Contain("'pics/solid/9.png' resolves outside the served folder"));
        File.Delete(Folder.Combine("pics", "solid", "9.png"));

        Directory.CreateSymbolicLink(Folder.Combine("pics", "secret"), Path.Combine(outside.Path, "secret"));
        e = Assert.Throws<PathOutsideFolderException>(() => training.Start(TrainingRequest.Parse(Commands.Parse(ShortRun))));
        Assert.That(e!.Message, Does.Contain("'pics/secret'"));
        Assert.That(JsonNode.Parse(training.StatusJson())!["state"]!.GetValue<string>(), Is.EqualTo("idle"), "no run started");

        // links that stay inside are followed as before
        Directory.Delete(Folder.Combine("pics", "secret"));
        File.CreateSymbolicLink(Folder.Combine("pics", "solid", "9.png"), Folder.Combine("pics", "solid", "0.png"));
        training.Start(TrainingRequest.Parse(Commands.Parse(ShortRun)));
        Assert.That(training.Wait(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That((string)JsonNode.Parse(training.StatusJson())!["state"]!, Is.EqualTo("finished"));
    }
}

using NeuroPlugin.Training;

namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>Training runs of the editor without HTTP: the GL backend on the run's own thread, refused settings, weights kept.</summary>
public sealed class TrainingSessionTests : TempFolderFixture
{
    /// <summary>The small test network's document in the test's folder, and a training session of it.</summary>
    (DocumentSession Session, TrainingSession Training) SmallNetwork()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        return (session, new TrainingSession(session));
    }

    /// <summary>Starts <paramref name="training"/> with the JSON training request <paramref name="request"/>.</summary>
    static void Start(TrainingSession training, string request) => training.Start(TrainingRequest.Parse(Commands.Parse(request)));

    [Test]
    public void GLRunTrainsOnItsOwnThreadAndLeavesItsWeightsWithTheDocument()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var (session, training) = SmallNetwork();
        long revision = session.Revision;
        Start(training, """{"backend":"gl","batchSize":32,"epochs":1,"trainLimit":320,"testLimit":100}""");
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
    public void ADivergedRun_DoesNotOverwriteTheDocumentsWeights_AndSaysSo()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var (session, training) = SmallNetwork();
        long revision = session.Revision;
        Start(training, """{"backend":"cpu","learningRate":1000,"batchSize":32,"epochs":1,"trainLimit":640,"testLimit":100,"monitorEvery":2}""");
        Assert.That(training.Wait(TimeSpan.FromSeconds(120)), Is.True);
        var status = JsonNode.Parse(training.StatusJson())!;
        Assert.That(((string)status["state"]!, (bool)status["diverged"]!, (string)status["weights"]!), Is.EqualTo(("finished", true, TrainingSession.WeightsDiverged)),
            status.ToJsonString());
        Assert.That(session.TrainingSnapshot().Weights, Is.Empty, "the document keeps the weights it had (none): not the diverged run's");
        Assert.That(session.Revision, Is.EqualTo(revision), "the document did not change");

        // the same network at a sane rate: its weights are kept
        Start(training, """{"backend":"cpu","batchSize":32,"epochs":1,"trainLimit":320,"testLimit":100}""");
        Assert.That(training.Wait(TimeSpan.FromSeconds(120)), Is.True);
        Assert.That((string)JsonNode.Parse(training.StatusJson())!["weights"]!, Is.EqualTo(TrainingSession.WeightsKept));
        Assert.That(session.TrainingSnapshot().Weights.Values.All(w => w.Values.All(float.IsFinite)), Is.True);
        Assert.That(session.TrainingSnapshot().Weights.Keys, Does.Contain("conv1.weight"));
    }

    [Test]
    public void RefusesSettingsAndNetworksThatDoNotFit()
    {
        var (session, training) = SmallNetwork();
        var e = Assert.Throws<DocumentCommandException>(() => Start(training, """{"backend":"tpu"}"""));
        Assert.That(e!.Message, Does.Contain("unknown backend 'tpu'"));
        Assert.That(Assert.Throws<TrainingOptionsException>(() => Start(training, """{"optimizer":"lbfgs"}"""))!.Message,
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
        var training = SmallNetwork().Training;
        var e = Assert.Throws<TrainingOptionsException>(() => Start(training, request));
        Assert.That(e!.Message, Does.StartWith(message));
        Assert.That(e.Message, Does.Not.Contain("--"), "no CLI flags in the editor's messages");
    }

    [TestCase("""{"gamma":2}""", "gamma must be in (0, 1], got 2")]
    [TestCase("""{"clipNorm":0}""", "clipNorm must be a positive number, got 0")]
    [TestCase("""{"augment":["flip","rotate"]}""", "augment: unknown augmentation 'rotate'; known: crop, flip, cutout, erasing, mixup")]
    [TestCase("""{"checkpointEvery":5}""", "checkpointEvery needs a checkpoint file (checkpoint)")]
    [TestCase("""{"warmupSteps":"ten"}""", "warmupSteps must be an integer, got \"ten\"")]
    [TestCase("""{"lr":0.1}""", "unknown field 'lr'; training options: epochs, batchSize")]
    public void EveryOptionOfNeuroTrain_IsTaken_AndItsErrorsNameTheRequestField(string request, string message)
    {
        var training = SmallNetwork().Training;
        var e = Assert.Throws<TrainingOptionsException>(() => Start(training, request));
        Assert.That(e!.Message, Does.StartWith(message));
    }

    [Test]
    public void OptionsTheEditorDoesNotOffer_AreRefused()
    {
        Assert.That(Assert.Throws<DocumentCommandException>(() => TrainingRequest.Parse(Commands.Parse("""{"imageSize":63}""")))!.Message,
            Is.EqualTo("imageSize is not an editor training option (the network's input decides the image size)"));
        Assert.That(TrainingRequest.FormFields.Select(f => f.Name), Does.Not.Contain("resume").And.Contain("checkpoint"));
        var training = SmallNetwork().Training;
        Assert.That(() => Start(training, """{"checkpoint":"../outside.ckpt.neuro"}"""),
            Throws.TypeOf<PathOutsideFolderException>());
    }

    [Test]
    public void AdamRun_UsesAdamsDefaultRate_ReportsItAndItsStepsAndWritesItsCheckpointInTheFolder()
    {
        _ = Document.TemplateTests.FashionMnistOrIgnore();
        var training = SmallNetwork().Training;
        Start(training, """
            {"backend":"cpu","optimizer":"adam","schedule":"step","gamma":0.5,"augment":["cutout"],"batchSize":32,"epochs":2,
             "trainLimit":64,"testLimit":50,"checkpoint":"runs/adam.ckpt.neuro","checkpointEvery":1}
            """);
        var started = JsonNode.Parse(training.StatusJson())!;
        Assert.That((float)started["options"]!["learningRate"]!, Is.EqualTo(0.001f), "the optimizer's default, reported as the run starts");
        Assert.That(training.Wait(TimeSpan.FromSeconds(60)), Is.True);
        var status = JsonNode.Parse(training.StatusJson())!;
        Assert.That((string)status["state"]!, Is.EqualTo("finished"), status.ToJsonString());
        Assert.That((long)status["totalSteps"]!, Is.EqualTo(4));
        var points = status["points"]!.AsArray();
        Assert.That(points.Select(p => ((long)p!["step"]!, (float)p["learningRate"]!)),
            Is.EqualTo(new[] { (2L, 0.001f), (2L, 0.001f), (4L, 0.0005f), (4L, 0.0005f) }), "the step schedule halves Adam's rate after epoch 1");
        Assert.That(points.Select(p => (double)p!["secondsLeft"]!), Is.All.GreaterThanOrEqualTo(0));
        var checkpoint = NeuroPlugin.Serialization.TrainingCheckpoint.Read(Folder.Combine("runs", "adam.ckpt.neuro"));
        Assert.That((checkpoint.OptimizerType, checkpoint.Counters.Step), Is.EqualTo(("adam", 4L)));
    }

    [Test]
    public void FormValues_StayWithTheirFile_ThroughUndoSaveAndOpen()
    {
        var session = Commands.SmallNetwork(Folder.Path);
        var (file, values) = session.TrainingForm();
        Assert.That(values, Is.Null);
        session.SetTrainingForm(file, Commands.Parse("""{"optimizer":"adamw","learningRate":"0.003"}"""));
        session.Save("designed.neuro");
        Assert.That(NeuroPlugin.Serialization.ModelFile.ReadTrainingOptions(Folder.Combine("designed.neuro"))!.ToJsonString(),
            Is.EqualTo("""{"optimizer":"adamw","learningRate":"0.003"}"""));

        session.Run("""{"op":"new"}""");
        Assert.That(session.TrainingForm().Values, Is.Null, "a new document starts from the defaults");
        Assert.That(() => session.SetTrainingForm(file, new JsonObject()), Throws.TypeOf<EditorConflictException>());
        session.Undo();
        Assert.That(session.TrainingForm().File, Is.EqualTo(file));
        Assert.That((string)session.TrainingForm().Values!["optimizer"]!, Is.EqualTo("adamw"), "undo returns to the file and its form");

        session.Run("""{"op":"new"}""");
        session.Open("designed.neuro");
        Assert.That(session.TrainingForm().Values!.ToJsonString(), Is.EqualTo("""{"optimizer":"adamw","learningRate":"0.003"}"""), "read back from the file");
    }
}

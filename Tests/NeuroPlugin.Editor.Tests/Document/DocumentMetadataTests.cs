using NeuroPlugin.Data;
using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Editor.Tests.Document;

/// <summary>What the editor's save and export write of a model's description (<see cref="ModelMetadata"/>): what the opened
/// file said, or what the last training run knows, as far as it still fits the edited graph.</summary>
public sealed class DocumentMetadataTests : TempFolderFixture
{
    [Test]
    public void TheOpenedFilesDescription_IsSavedAndExported_AsFarAsItFits()
    {
        Commands.SmallNetwork(Folder.Path).Save("a.neuro");
        ModelMetadata described;
        using (var cpu = new CpuBackend())
        using (var network = ModelFile.Load(Folder.Combine("a.neuro"), cpu))
        {
            described = ModelMetadata.Describe(network.Graph) with
            {
                Normalization = new InputNormalization([0.5f], [0.25f]),
                Labels = [.. Enumerable.Range(0, 10).Select(k => $"kind {k}")],
                Provenance = new ModelProvenance { ModelName = "small", Dataset = "drawings" },
            };
            ModelFile.Save(network, Folder.Combine("a.neuro"), described);
        }
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Open("a.neuro");
        session.Save("b.neuro");
        Assert.That(ModelFile.ReadMetadata(Folder.Combine("b.neuro")), Is.EqualTo(described));
        session.Export("b.onnx");
        Assert.That(OnnxImporter.Convert(Folder.Combine("b.onnx")).Metadata, Is.EqualTo(described));

        session.Run("""{"op":"setAttributes","id":"fc","attributes":{"outFeatures":7}}""");
        session.Save("c.neuro");
        var edited = ModelFile.ReadMetadata(Folder.Combine("c.neuro"));
        Assert.That(edited.Labels, Is.Null, "ten labels no longer fit seven classes");
        Assert.That((edited.Normalization, edited.Provenance, edited.Input), Is.EqualTo((described.Normalization, described.Provenance, described.Input)));
    }

    [Test]
    public void ATrainingRunsDescription_GoesWithItsWeightsToTheNextSave()
    {
        _ = TemplateTests.FashionMnistOrIgnore();
        var session = Commands.SmallNetwork(Folder.Path);
        var training = new TrainingSession(session);
        training.Start(TrainingRequest.Parse(Commands.Parse("""{"backend":"cpu","batchSize":32,"epochs":1,"trainLimit":320,"testLimit":100,"seed":3}""")));
        Assert.That(training.Wait(TimeSpan.FromSeconds(120)), Is.True);
        var status = JsonNode.Parse(training.StatusJson())!;
        Assert.That((string)status["state"]!, Is.EqualTo("finished"), status.ToJsonString());
        session.Save("trained.neuro");
        var metadata = ModelFile.ReadMetadata(Folder.Combine("trained.neuro"));
        Assert.That(metadata.Labels, Is.EqualTo(FashionMnist.ClassNames));
        Assert.That(metadata.Normalization, Is.EqualTo(new InputNormalization([FashionMnist.PixelMean], [FashionMnist.PixelStd])));
        var provenance = metadata.Provenance!;
        Assert.That((provenance.ModelName, provenance.Dataset, provenance.Seed), Is.EqualTo(("untitled", "fashion-mnist", (int?)3)));
        Assert.That(provenance.TestAccuracy, Is.EqualTo(status["points"]!.AsArray()[^1]!["accuracy"]!.GetValue<double>()));
    }
}

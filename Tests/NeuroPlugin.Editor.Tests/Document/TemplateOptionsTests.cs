using NeuroPlugin.Layers;
using NeuroPlugin.Models;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Tests.Document;

/// <summary>Model templates sized for the data (channels, image size, classes), with the CLI's resize node in front
/// when the model needs larger images; errors name the field.</summary>
public sealed class TemplateOptionsTests : TempFolderFixture
{
    [TestCase("resnet18")]
    [TestCase("mobilenet_v2")]
    public void AZooModelSizedForFashionMnistIsValidWithoutAResize(string model)
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Run($$$"""{"op":"insertTemplate","template":"{{{model}}}","options":{"inputChannels":1,"inputSize":28,"classes":10}}""");
        var analysis = session.Analysis;
        Assert.That(analysis.IsValid, Is.True, string.Join("; ", analysis.Errors.Select(e => e.Message)));
        Assert.That(analysis.Graph.Inputs.Single().ItemShape, Is.EqualTo(new TensorShape(1, 28, 28)));
        Assert.That(analysis[analysis.Output!].OutputShape, Is.EqualTo(new TensorShape(1, 10)));
        Assert.That(analysis.Graph.Nodes.Any(n => n.Name == InputResize.NodeName), Is.False, "28×28 is large enough: no resize");
        Assert.That(analysis.TotalParameters, Is.EqualTo(GraphCounts.Parameters(ModelZoo.Build(model, new ModelOptions(1, 28, 10)))));
    }

    [Test]
    public void AModelThatNeedsLargerImagesNamesImageSizeAndTakesAResize()
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        var e = Assert.Throws<DocumentCommandException>(() =>
            session.Run("""{"op":"insertTemplate","template":"alexnet","options":{"inputChannels":1,"inputSize":28,"classes":10}}"""));
        Assert.That(e!.Field, Is.EqualTo("imageSize"));
        Assert.That(e.Message, Does.StartWith("imageSize: alexnet needs images of at least 63×63, got 28×28").And.Contain("set imageSize to 63 or more"));

        // built for 63×63 behind the bilinear resize from the Input's 28×28, exactly as neuro train --image-size 63 builds it
        session.Run("""{"op":"insertTemplate","template":"alexnet","options":{"inputChannels":1,"inputSize":28,"imageSize":63,"classes":10}}""");
        var analysis = session.Analysis;
        Assert.That(analysis.IsValid, Is.True, string.Join("; ", analysis.Errors.Select(x => x.Message)));
        var expected = InputResize.Prepend(ModelZoo.Build("alexnet", new ModelOptions(1, 63, 10)), new TensorShape(1, 28, 28));
        Assert.That(analysis.Graph.Nodes.Select(n => n.Name), Is.EqualTo(expected.Nodes.Select(n => n.Name)));
        var resize = analysis.Graph.Nodes.First();
        Assert.That(resize.Name, Is.EqualTo(InputResize.NodeName));
        Assert.That(resize.Layer, Is.InstanceOf<Upsample>());
        Assert.That(analysis[InputResize.NodeName].OutputShape, Is.EqualTo(new TensorShape(1, 1, 63, 63)));
        Assert.That(analysis.Graph.Inputs.Single().ItemShape, Is.EqualTo(new TensorShape(1, 28, 28)));
        Assert.That(analysis.TotalParameters, Is.EqualTo(GraphCounts.Parameters(expected)));
    }

    [TestCase("""{"classes":0}""", "classes", "classes must be 1 to 1000000, got 0")]
    [TestCase("""{"inputChannels":"3"}""", "inputChannels", "inputChannels must be an integer")]
    [TestCase("""{"imagesize":32}""", "imagesize", "unknown field 'imagesize'")]
    [TestCase("""{"inputSize":5000}""", "inputSize", "inputSize must be 1 to 4096")]
    public void BadOptionsNameTheirField(string options, string field, string message)
    {
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        long revision = session.Revision;
        var e = Assert.Throws<DocumentCommandException>(() => session.Run($$"""{"op":"insertTemplate","template":"resnet18","options":{{options}}}"""));
        Assert.That(e!.Field, Is.EqualTo(field));
        Assert.That(e.Message, Does.Contain(message));
        Assert.That(session.Revision, Is.EqualTo(revision), "nothing changed");
    }

    [Test]
    public void APreviewForADatasetProposesTheImageSizeTheModelNeeds()
    {
        var preview = JsonNode.Parse(Encoding.UTF8.GetString(TemplatePreview.Describe(Commands.Parse("""{"template":"alexnet","dataset":"fashion-mnist"}"""))))!;
        var options = preview["options"]!;
        Assert.That((int)options["inputChannels"]!, Is.EqualTo(1));
        Assert.That((int)options["inputSize"]!, Is.EqualTo(28));
        Assert.That((int)options["imageSize"]!, Is.EqualTo(63), "the smallest size AlexNet takes");
        Assert.That((int)options["classes"]!, Is.EqualTo(10));
        Assert.That((bool)preview["resize"]!, Is.True);
        Assert.That((int)preview["smallestImageSize"]!, Is.EqualTo(63));
        var graph = InputResize.Prepend(ModelZoo.Build("alexnet", new ModelOptions(1, 63, 10)), new TensorShape(1, 28, 28));
        Assert.That((long)preview["parameters"]!, Is.EqualTo(GraphCounts.Parameters(graph)));
        Assert.That(preview["outputShape"]!.AsArray().Select(d => (int)d!), Is.EqualTo(new[] { 1, 10 }));
        Assert.That(preview["datasets"]!.AsArray().Select(d => (string)d!["id"]!), Is.EqualTo(new[] { "reference", "fashion-mnist" }));

        // what the dialog then sends is accepted as it stands
        var session = new DocumentSession(new FolderGuard(Folder.Path));
        session.Execute(new JsonObject { ["op"] = "insertTemplate", ["template"] = "alexnet", ["options"] = options.DeepClone() });
        Assert.That(session.Analysis.IsValid, Is.True);
        Assert.That(session.Analysis.TotalParameters, Is.EqualTo((long)preview["parameters"]!));

        // the published configuration without a dataset; a field typed over a preset wins
        preview = JsonNode.Parse(Encoding.UTF8.GetString(TemplatePreview.Describe(Commands.Parse("""{"template":"resnet18","options":{"classes":7}}"""))))!;
        Assert.That(preview["options"]!.ToJsonString(), Is.EqualTo("""{"inputChannels":3,"inputSize":224,"imageSize":224,"classes":7,"widthDivisor":1}"""));
        Assert.That((bool)preview["resize"]!, Is.False);
        var bad = Assert.Throws<DocumentCommandException>(() => TemplatePreview.Describe(Commands.Parse("""{"template":"alexnet","options":{"inputSize":28,"imageSize":40}}""")));
        Assert.That(bad!.Field, Is.EqualTo("imageSize"));
        Assert.That(Assert.Throws<DocumentCommandException>(() => TemplatePreview.Describe(Commands.Parse("""{"template":"residual"}""")))!.Field, Is.EqualTo("template"));
    }
}

namespace NeuroPlugin.Tests.Samples;

/// <summary>Runs Samples/EmbedModel as a user would: a model trained and saved on the CPU with its labels and
/// normalization, loaded by the game-style host into the GL context it hands over, classifying test images from textures
/// (non-blocking, top 3 with labels) and as one batch of floats.</summary>
public class EmbedModelSampleTests
{
    [Test]
    public void SampleClassifiesWithAModelTrainedElsewhere()
    {
        if (GLTestContext.SkipRequested) Assert.Ignore("NEURO_SKIP_GL=1");
        using var folder = new TempFolder("neuro-sample");
        string model = folder.Combine("model.neuro");
        var train = FashionMnist.LoadTrain().Take(6000);
        using (var cpu = new CpuBackend())
        using (var network = Network.Create(ModelZoo.Build("lenet5"), cpu, seed: 2))
        using (var trainer = new Trainer(network, new Sgd(0.02f, 0.9f), 32))
        {
            trainer.TrainEpoch(new DataLoader(train, 32, seed: 2, dropLast: true), 0);
            ModelFile.Save(network, model, ModelMetadata.ForImageClassifier(network.Graph, train, provenance: null));
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "EmbedModel.dll"));
        start.ArgumentList.Add(model);
        start.ArgumentList.Add("40");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.That(process.WaitForExit(120_000), Is.True, "the sample finished");
        Assert.That(process.ExitCode, Is.EqualTo(0), error.Result);
        string[] lines = output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Does.StartWith("GL: "));
        Assert.That(lines[0], Does.Contain("input NCHW (1,28,28) luma, normalization (1·v − [0.286]) / [0.353]"));
        var images = lines.Where(l => l.StartsWith("image ")).ToArray();
        Assert.That(images.Select(l => int.Parse(l[6..9])), Is.EquivalentTo(Enumerable.Range(0, 40)), "every image reported once");
        Assert.That(images, Has.All.Match(@"^image +\d+: \S.* \d+\.\d % +then .+ \d+\.\d %, .+ \d+\.\d % +actual \S"), "top 3 with labels");
        int Correct(string prefix)
        {
            var summary = lines.Single(l => l.StartsWith(prefix))[prefix.Length..].Split(' ')[0].Split('/');
            Assert.That(int.Parse(summary[1]), Is.EqualTo(40));
            return int.Parse(summary[0]);
        }
        int textures = Correct("textures: "), batch = Correct("batch: ");
        Assert.That(textures, Is.GreaterThanOrEqualTo(24), "a model at ~74 % gets most of 40 images right");
        Assert.That(textures, Is.EqualTo(images.Count(l => l.EndsWith("✓"))));
        Assert.That(Math.Abs(textures - batch), Is.LessThanOrEqualTo(1), "the texture path (luma and normalization on the GPU) agrees with the floats normalized on the CPU");
    }
}

using System.Diagnostics;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Serialization;
using NeuroPlugin.Training;

namespace NeuroPlugin.Tests.Samples;

/// <summary>Runs Samples/EmbedModel as a user would: a model trained and saved on the CPU, loaded by the
/// game-style host into the GL context it hands over, classifying test images.</summary>
public class EmbedModelSampleTests
{
    [Test]
    public void SampleClassifiesWithAModelTrainedElsewhere()
    {
        if (Environment.GetEnvironmentVariable("NEURO_SKIP_GL") == "1") Assert.Ignore("NEURO_SKIP_GL=1");
        string folder = Path.Combine(Path.GetTempPath(), "neuro-sample-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            string model = Path.Combine(folder, "model.neuro");
            using (var cpu = new CpuBackend())
            using (var network = Network.Create(ModelZoo.Build("lenet5"), cpu, seed: 2))
            using (var trainer = new Trainer(network, new Sgd(0.02f, 0.9f), 32))
            {
                trainer.TrainEpoch(new DataLoader(FashionMnist.LoadTrain().Take(6000), 32, seed: 2, dropLast: true), 0);
                ModelFile.Save(network, model);
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
            Assert.That(lines.Count(l => l.StartsWith("image ")), Is.EqualTo(40));
            var summary = lines[^1].Split(' ')[0].Split('/');
            Assert.That(int.Parse(summary[1]), Is.EqualTo(40));
            Assert.That(int.Parse(summary[0]), Is.GreaterThanOrEqualTo(24), "a model at ~74 % gets most of 40 images right");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

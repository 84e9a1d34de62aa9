using NeuroPlugin.Tests.Training;

namespace NeuroPlugin.Tests.Cli;

/// <summary>
/// <c>neuro train --checkpoint/--checkpoint-every/--resume</c>, and issue 7's acceptance: a run killed mid-training
/// and resumed from its last checkpoint in another process ends with the same bits as an uninterrupted run.
/// </summary>
[NonParallelizable]
public class CheckpointCliTests : TempFolderFixture
{
    // 100 steps of LeNet-5 with Adam, a cosine schedule, flips and Cutout on the CPU (evaluated on 200 test images)
    static readonly string[] Options =
        ["train", "--model", "lenet5", "--backend", "cpu", "--train-limit", "1600", "--test-limit", "200", "--batch", "32", "--epochs", "2",
         "--seed", "3", "--optimizer", "adam", "--augment", "flip,cutout"];
    const int TotalSteps = 100;

    [Test]
    public void KilledRun_ResumedInAnotherProcess_EndsWithTheUninterruptedWeights()
    {
        string reference = Folder.Combine("reference");
        var straight = NeuroCli.RunChild([.. Options, "--out", reference]);
        Assert.That(straight.ExitCode, Is.EqualTo(0), straight.Error);

        string checkpoint = Folder.Combine("run.ckpt.neuro");
        using (var killed = NeuroCli.Start([.. Options, "--checkpoint", checkpoint, "--checkpoint-every", "10", "--out", Folder.Combine("killed")]))
        {
            _ = killed.StandardOutput.ReadToEndAsync(); // keep the pipes drained
            _ = killed.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (!File.Exists(checkpoint) && !killed.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(5);
            Assert.That(killed.HasExited, Is.False, "test setup: the run was still training when the first checkpoint appeared");
            killed.Kill(entireProcessTree: true);
            Assert.That(killed.WaitForExit(30_000), Is.True);
        }
        Assert.That(File.Exists(Folder.Combine("killed", "model.neuro")), Is.False, "the killed run never finished");
        long savedStep = TrainingCheckpoint.Read(checkpoint).Counters.Step;
        Assert.That(savedStep, Is.GreaterThan(0).And.LessThan(TotalSteps), "killed mid-run");
        Assert.That(savedStep % 10, Is.Zero, "saved every 10 steps");

        string resumedFolder = Folder.Combine("resumed"), report = Folder.Combine("resumed.json");
        var resumed = NeuroCli.RunChild([.. Options, "--resume", checkpoint, "--checkpoint", checkpoint, "--checkpoint-every", "10", "--out", resumedFolder, "--report", report]);
        Assert.That(resumed.ExitCode, Is.EqualTo(0), resumed.Error);
        Assert.That(resumed.Out, Does.Contain($"neuro: resumed from {checkpoint} at step {savedStep}"));
        using (var json = JsonDocument.Parse(File.ReadAllText(report)))
        {
            Assert.That(json.RootElement.GetProperty("resumedFrom").GetString(), Is.EqualTo(checkpoint));
            Assert.That(json.RootElement.GetProperty("resumedAtStep").GetInt64(), Is.EqualTo(savedStep));
        }
        Assert.That(TrainingCheckpoint.Read(checkpoint).Counters.Step, Is.EqualTo(TotalSteps), "the last step is saved");

        var cpu = new CpuBackend();
        using var expected = ModelFile.Load(Path.Combine(reference, "model.neuro"), cpu);
        using var actual = ModelFile.Load(Path.Combine(resumedFolder, "model.neuro"), cpu);
        foreach (string name in expected.ParameterNames)
            Assert.That(CheckpointRuns.Bits(actual.Parameter(name).ToArray()), Is.EqualTo(CheckpointRuns.Bits(expected.Parameter(name).ToArray())), $"{name}: bit-identical");
    }

    [Test]
    public void Resume_WithOtherOptions_IsAOneLineErrorNamingTheField()
    {
        string checkpoint = Folder.Combine("run.ckpt.neuro");
        string[] shortRun = ["train", "--model", "lenet5", "--backend", "cpu", "--train-limit", "320", "--test-limit", "100", "--batch", "32", "--epochs", "1", "--seed", "3"];
        var first = NeuroCli.RunChild([.. shortRun, "--checkpoint", checkpoint]);
        Assert.That(first.ExitCode, Is.EqualTo(0), first.Error);
        var other = NeuroCli.Run([.. shortRun, "--optimizer", "adam", "--lr", "0.02", "--resume", checkpoint]);
        Assert.That(other.ExitCode, Is.Not.EqualTo(0));
        Assert.That(other.Error, Does.Contain(checkpoint).And.Contain("training.optimizer.type is \"momentum\" in the checkpoint but \"adam\""));
        var model = NeuroCli.Run([.. shortRun.Select(a => a == "lenet5" ? "resnet_cifar" : a), "--resume", checkpoint]);
        Assert.That(model.ExitCode, Is.Not.EqualTo(0));
        Assert.That(model.Error, Does.Contain("the checkpoint's network is not --model resnet_cifar's"));
        var every = NeuroCli.Run([.. shortRun, "--checkpoint-every", "5"]);
        Assert.That(every.Error, Does.Contain("--checkpoint-every needs --checkpoint FILE"));
    }
}

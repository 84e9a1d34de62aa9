using System.Collections.Concurrent;

namespace NeuroPlugin.Tests.Soak;

/// <summary>
/// Issue 16, "kill anywhere, lose nothing", for <c>neuro train --checkpoint</c> (driven as an external process): runs are
/// killed (SIGKILL) at <see cref="Kills"/> moments — at random times, as a checkpoint save starts, just after a
/// checkpoint, during the evaluation that follows the last step, after the model is saved — and each is resumed with
/// <c>--resume</c> (or restarted, when it died before its first checkpoint). After every kill the checkpoint on disk is
/// a complete, valid one; every resume exits 0 with a valid <c>--report</c>, ends with the weights of the uninterrupted
/// run bit for bit (and so its test accuracy), and leaves no temporary file behind: the next save removed those of the
/// killed save. Children run two or more at a time. <c>NEURO_KILL_RUNS</c> sets the number of kills (default 36, of which
/// at least 30 must land before the run ends — more are run, up to twice as many, until they do; set it higher for a
/// longer run).
/// </summary>
[NonParallelizable]
public sealed class KillTrainingTests : TempFolderFixture
{
    // LeNet-5 with Adam on the CPU: 256 images in batches of 32 for 2 epochs (16 steps, a checkpoint after each),
    // evaluated on 1000 test images, long enough to be killed in
    static readonly string[] Options =
        ["train", "--model", "lenet5", "--backend", "cpu", "--train-limit", "256", "--test-limit", "1000", "--batch", "32", "--epochs", "2",
         "--seed", "3", "--optimizer", "adam", "--checkpoint-every", "1"];
    const int TotalSteps = 16;
    static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(5);

    static int Kills => int.TryParse(Environment.GetEnvironmentVariable("NEURO_KILL_RUNS"), out int n) && n > 0 ? n : 36;

    /// <summary>How a run's kill is triggered (see the class summary).</summary>
    enum Trigger { RandomTime, SaveStarts, CheckpointWritten, LastCheckpointWritten, ModelSaved }

    [Test]
    public void KilledAnywhere_EveryResumeEndsWithTheUninterruptedWeights()
    {
        var clock = Stopwatch.StartNew();
        var reference = Run("reference", null, 0, TimeSpan.Zero);
        Assert.That(reference.Problem, Is.Null, reference.Problem);
        var referenceWeights = Weights(Folder.Combine("reference", "out", "model.neuro"));
        double referenceAccuracy = Accuracy(Folder.Combine("reference", "report.json"));
        var duration = reference.Duration;

        var moments = new ConcurrentBag<string>();
        var problems = new ConcurrentBag<string>();
        var triggers = Enum.GetValues<Trigger>();
        int started = 0;
        void KillRuns(int count)
        {
            Parallel.For(started, started + count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(2, Environment.ProcessorCount) }, i =>
            {
                var random = new Random(1000 + i);
                var killed = Run($"kill-{i}", triggers[i % triggers.Length], random.Next(1, TotalSteps + 1), duration * random.NextDouble() * 1.2);
                moments.Add(killed.Moment);
                string? problem = killed.Problem ?? Resume($"kill-{i}", referenceWeights, referenceAccuracy);
                if (problem is not null) problems.Add($"kill-{i} ({killed.Moment}): {problem}");
            });
            started += count;
        }
        int Landed() => moments.Count(m => m != "finished before the kill");
        KillRuns(Kills);
        // a kill timed or triggered near the end finds the run finished more often on a loaded machine (the reference run
        // that timed it was quicker): more kills, up to twice as many, until enough landed
        int wanted = Math.Min(30, Kills);
        while (Landed() < wanted && started < 2 * Kills) KillRuns(Math.Min(wanted - Landed(), 2 * Kills - started));

        var counts = moments.GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
        string table = string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}: {c.Value}"));
        TestContext.Progress.WriteLine($"{started} kills in {clock.Elapsed.TotalSeconds:F0} s (an uninterrupted run {duration.TotalSeconds:F1} s): {table}");
        Assert.That(problems, Is.Empty, table);
        foreach (string moment in new[] { "during a step", "during a checkpoint save", "during evaluation", "after the last step" })
            Assert.That(counts.GetValueOrDefault(moment), Is.GreaterThan(0), $"some kills landed {moment}: {table}");
        Assert.That(Landed(), Is.GreaterThanOrEqualTo(wanted), table);
    }

    [Test]
    public void ASave_RemovesTemporaryFilesOfSavesWhoseProcessIsGone()
    {
        string target = Folder.Combine("model.neuro");
        using var gone = Process.Start(new ProcessStartInfo("true"))!;
        gone.WaitForExit();
        string abandoned = $"{target}.{gone.Id}.{Guid.NewGuid():N}.tmp", live = $"{target}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        string other = Folder.Combine($"other.neuro.{gone.Id}.{Guid.NewGuid():N}.tmp"), unrelated = $"{target}.backup.tmp";
        foreach (string file in new[] { abandoned, live, other, unrelated }) File.WriteAllBytes(file, [1, 2, 3]);

        using var cpu = new CpuBackend();
        using var network = Network.Create(Training.CheckpointRuns.Graph(), cpu, seed: 1);
        ModelFile.Save(network, target);

        Assert.That(File.Exists(abandoned), Is.False, "a killed process's temporary file of this target is removed");
        Assert.That(File.Exists(live), Is.True, "a save in progress in a running process keeps its file");
        Assert.That(File.Exists(other), Is.True, "another target's files are not this save's business");
        Assert.That(File.Exists(unrelated), Is.True, "files not named as a save's temporary are left alone");
        using var loaded = ModelFile.Load(target, cpu);
        Assert.That(loaded.ParameterNames, Is.EqualTo(network.ParameterNames));
    }

    sealed record Outcome(string Moment, TimeSpan Duration, string? Problem);

    /// <summary>Runs one training in <c>folder/name</c> and kills it as <paramref name="trigger"/> says (never when null);
    /// then names the moment it died from what it left, and checks that its checkpoint, if any, is a valid one.</summary>
    Outcome Run(string name, Trigger? trigger, int step, TimeSpan delay)
    {
        string slot = Folder.Combine(name), checkpoint = Path.Combine(slot, "run.ckpt.neuro"), output = Path.Combine(slot, "out");
        Directory.CreateDirectory(slot);
        using var watcher = new FileSystemWatcher(slot) { IncludeSubdirectories = true, NotifyFilter = NotifyFilters.FileName };
        int saves = 0, written = 0;
        NeuroProcess? child = null;
        void KillAfter(TimeSpan wait)
        {
            if (wait > TimeSpan.Zero) Thread.Sleep(wait);
            child?.Kill();
        }
        var random = new Random(step);
        watcher.Created += (_, e) =>
        {
            if (trigger == Trigger.SaveStarts && e.Name!.StartsWith("run.ckpt.neuro.", StringComparison.Ordinal) && Interlocked.Increment(ref saves) == step) KillAfter(TimeSpan.Zero);
        };
        watcher.Renamed += (_, e) =>
        {
            if (e.Name == "run.ckpt.neuro")
            {
                int count = Interlocked.Increment(ref written);
                if (trigger == Trigger.CheckpointWritten && count == step) KillAfter(TimeSpan.FromMilliseconds(random.Next(20)));
                if (trigger == Trigger.LastCheckpointWritten && count == TotalSteps) KillAfter(TimeSpan.FromMilliseconds(random.Next(300)));
            }
            else if (trigger == Trigger.ModelSaved && e.Name == Path.Combine("out", "model.neuro")) KillAfter(TimeSpan.Zero);
        };
        watcher.EnableRaisingEvents = true;

        var clock = Stopwatch.StartNew();
        child = new NeuroProcess([.. Options, "--checkpoint", checkpoint, "--out", output, "--report", Path.Combine(slot, "report.json")]);
        using var timer = trigger == Trigger.RandomTime ? new Timer(_ => child.Kill(), null, delay, Timeout.InfiniteTimeSpan) : null;
        using (child)
        {
            if (!child.WaitForExit(RunLimit)) return new Outcome("hung", clock.Elapsed, $"did not end within {RunLimit}");
            watcher.EnableRaisingEvents = false;
            if (trigger is null)
                return new Outcome("uninterrupted", clock.Elapsed, child.ExitCode == 0 ? null : $"exit code {child.ExitCode}: {child.Error}");
            if (child.ExitCode == 0) return new Outcome("finished before the kill", clock.Elapsed, null);
        }

        string[] temporaries = Directory.GetFiles(slot, "*.tmp", SearchOption.AllDirectories);
        long? saved = null;
        if (File.Exists(checkpoint))
        {
            try
            {
                saved = TrainingCheckpoint.Read(checkpoint).Counters.Step;
            }
            catch (ModelFileException e)
            {
                return new Outcome("?", clock.Elapsed, $"the checkpoint left by the kill is not valid: {e.Message}");
            }
        }
        string moment = temporaries.Any(t => Path.GetDirectoryName(t) == slot) ? "during a checkpoint save"
            : temporaries.Length > 0 ? "during the model save"
            : saved is null ? "before the first checkpoint"
            : File.Exists(Path.Combine(output, "model.neuro")) ? "after the last step"
            : saved == TotalSteps ? "during evaluation"
            : "during a step";
        return new Outcome(moment, clock.Elapsed, null);
    }

    /// <summary>Resumes the killed run in <c>folder/name</c> (restarts it when it left no checkpoint) with the same
    /// options and files; the problem with the result, or null.</summary>
    string? Resume(string name, Dictionary<string, int[]> expected, double expectedAccuracy)
    {
        string slot = Folder.Combine(name), checkpoint = Path.Combine(slot, "run.ckpt.neuro"), report = Path.Combine(slot, "report.json");
        long? step = File.Exists(checkpoint) ? TrainingCheckpoint.Read(checkpoint).Counters.Step : null;
        File.Delete(report);
        var (exitCode, output, error) = NeuroProcess.Run(
            [.. Options, .. step is null ? Array.Empty<string>() : ["--resume", checkpoint], "--checkpoint", checkpoint, "--out", Path.Combine(slot, "out"), "--report", report],
            RunLimit);
        if (exitCode != 0) return $"resume exited {exitCode}: {error}{output}";
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(report));
            var root = json.RootElement;
            if (step is not null && (root.GetProperty("resumedFrom").GetString() != checkpoint || root.GetProperty("resumedAtStep").GetInt64() != step))
                return $"the report names {root.GetProperty("resumedFrom")} at step {root.GetProperty("resumedAtStep")}, not {checkpoint} at {step}";
            if (root.GetProperty("testAccuracy").GetDouble() != expectedAccuracy)
                return $"test accuracy {root.GetProperty("testAccuracy").GetDouble()}, the uninterrupted run's {expectedAccuracy}";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or IOException or InvalidOperationException)
        {
            return $"the report is not valid: {e.Message}";
        }
        var weights = Weights(Path.Combine(slot, "out", "model.neuro"));
        foreach (var (tensor, bits) in expected)
            if (!weights.TryGetValue(tensor, out var actual) || !actual.SequenceEqual(bits)) return $"{tensor} differs from the uninterrupted run's";
        if (TrainingCheckpoint.Read(checkpoint).Counters.Step != TotalSteps) return "the checkpoint does not hold the last step";
        string[] left = Directory.GetFiles(slot, "*.tmp", SearchOption.AllDirectories);
        return left.Length == 0 ? null : $"temporary files left after the resumed run's saves: {string.Join(", ", left.Select(Path.GetFileName))}";
    }

    static Dictionary<string, int[]> Weights(string modelFile)
    {
        using var cpu = new CpuBackend();
        using var network = ModelFile.Load(modelFile, cpu);
        return ModelFile.StateTensors(network).ToDictionary(t => t.Name, t => t.Tensor.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray());
    }

    static double Accuracy(string report)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        return json.RootElement.GetProperty("testAccuracy").GetDouble();
    }
}

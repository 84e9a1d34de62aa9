namespace NeuroPlugin.Tests.Cli;

/// <summary><c>neuro train --monitor FILE.jsonl --monitor-every K</c>: the run as a file, checked against the model it
/// saved; a killed run's file; and the diagnostics the command prints (a run at a rate of 1000 is said to diverge).</summary>
[NonParallelizable] // redirects the process-wide Console
public class MonitorCliTests : TempFolderFixture
{
    static JsonElement[] Records(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement).ToArray();

    [Test]
    public void MonitorFile_LastSampleWeightNormsEqualTheSavedModel_EvaluationsAtEpochEnds()
    {
        string file = Folder.Combine("runs", "lenet.jsonl");
        var (code, output, error) = NeuroCli.Run("train", "--model", "lenet5", "--backend", "cpu", "--epochs", "2", "--train-limit", "320",
            "--test-limit", "100", "--monitor", file, "--monitor-every", "4", "--out", Folder.Path);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain($"neuro: monitor file {file} (6 samples)"));

        var records = Records(file);
        Assert.That(records[0].GetProperty("type").GetString(), Is.EqualTo("run"));
        Assert.That(records[0].GetProperty("name").GetString(), Is.EqualTo("lenet5"));
        Assert.That(records[0].GetProperty("totalSteps").GetInt64(), Is.EqualTo(20));
        Assert.That(records[0].GetProperty("options").GetProperty("monitorEvery").GetInt32(), Is.EqualTo(4));
        var train = records.Where(r => r.GetProperty("type").GetString() == "train").ToArray();
        Assert.That(train.Select(r => r.GetProperty("step").GetInt64()), Is.EqualTo(new long[] { 1, 4, 8, 12, 16, 20 }),
            "the first step, every 4th and the last");
        var evaluations = records.Where(r => r.GetProperty("type").GetString() == "evaluation").ToArray();
        Assert.That(evaluations.Select(e => (e.GetProperty("epoch").GetInt32(), e.GetProperty("count").GetInt32())), Is.EqualTo(new[] { (0, 100), (1, 100) }));
        foreach (var evaluation in evaluations)
            Assert.That(evaluation.GetProperty("confusion").EnumerateArray().Sum(row => row.EnumerateArray().Sum(c => c.GetInt64())), Is.EqualTo(100));
        Assert.That(records[^1].GetProperty("type").GetString(), Is.EqualTo("diagnostics"), "the verdict closes the file");

        using var model = ModelFile.Load(Folder.Combine("model.neuro"), new CpuBackend());
        var last = train[^1];
        Assert.That(last.GetProperty("step").GetInt64(), Is.EqualTo(20));
        var parameters = last.GetProperty("parameters").EnumerateArray().ToArray();
        Assert.That(parameters.Select(p => p.GetProperty("name").GetString()), Is.EqualTo(model.ParameterNames));
        foreach (var parameter in parameters)
        {
            string name = parameter.GetProperty("name").GetString()!;
            double norm = Math.Sqrt(model.Parameter(name).ToArray().Sum(w => (double)w * w));
            Assert.That(parameter.GetProperty("weightNorm").GetDouble(), Is.EqualTo(norm).Within(1e-9 * norm + 1e-12), name);
        }
    }

    [Test]
    public void MonitorEvery_NeedsAMonitorFile()
    {
        var (code, _, error) = NeuroCli.Run("train", "--backend", "cpu", "--monitor-every", "5");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(error.Trim(), Is.EqualTo("neuro: --monitor-every needs --monitor FILE"));
    }

    [Test]
    public void RateOf1000_IsSaidToDiverge()
    {
        string report = Folder.Combine("report.json");
        var (code, output, error) = NeuroCli.Run("train", "--model", "lenet5", "--backend", "cpu", "--epochs", "1", "--train-limit", "1600",
            "--test-limit", "200", "--lr", "1000", "--report", report, "--out", Folder.Path);
        Assert.That(code, Is.EqualTo(0), "a run that diverged still ran: " + error);
        Assert.That(File.Exists(Folder.Combine("model.neuro")), Is.False, "a diverged run's NaN weights are not saved");
        Assert.That(error, Does.Contain($"neuro: not saved to {Folder.Combine("model.neuro")}: the run diverged"));
        Assert.That(output, Does.Contain("final loss NaN"));
        Assert.That(error, Does.Contain("neuro: error: the run diverged: the loss became NaN at step 50").And.Contain("Lower the learning rate"));
        Assert.That(error, Does.Contain("not learning: test accuracy"));
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        Assert.That(json.RootElement.GetProperty("diverged").GetBoolean(), Is.True);
        Assert.That(json.RootElement.GetProperty("diagnostics").EnumerateArray().Select(d => d.GetProperty("kind").GetString()),
            Is.EqualTo(new[] { "diverged", "notLearning" }));
        var first = json.RootElement.GetProperty("diagnostics")[0];
        Assert.That(first.GetProperty("title").GetString(), Is.EqualTo("the run diverged"));
        Assert.That(first.GetProperty("message").GetString(), Does.StartWith("the loss became NaN at step 50"), "the title is not repeated");
    }

    /// <summary>A run killed while it trains leaves a file whose lines all parse, but perhaps the last, cut short.</summary>
    [Test]
    public void KilledRun_LeavesAReadableFile()
    {
        string file = Folder.Combine("killed.jsonl");
        string neuro = Path.Combine(AppContext.BaseDirectory, "neuro.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { neuro, "train", "--model", "lenet5", "--backend", "cpu", "--epochs", "3", "--monitor", file, "--monitor-every", "1" })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        try
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(file) || new FileInfo(file).Length < 200_000)
            {
                Assert.That(process.HasExited, Is.False, "the run is still training");
                Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromMinutes(3)), "the file grows");
                Thread.Sleep(100);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        string[] lines;
        using (var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)))
            lines = reader.ReadToEnd().Split('\n');
        var complete = lines[..^1]; // the text after the last line break is a line cut short, or nothing
        Assert.That(complete.Length, Is.GreaterThan(3));
        var records = complete.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.That(records[0].GetProperty("type").GetString(), Is.EqualTo("run"));
        Assert.That(records.Skip(1).Select(r => r.GetProperty("step").GetInt64()), Is.Ordered.Ascending.And.All.GreaterThan(0));
    }
}

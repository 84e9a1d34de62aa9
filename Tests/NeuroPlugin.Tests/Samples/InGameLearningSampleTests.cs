using System.Globalization;
using System.Text.RegularExpressions;
using SkiaSharp;

namespace NeuroPlugin.Tests.Samples;

/// <summary>Runs Samples/InGameLearning as a user would, headless on the default device, with a fixed number of
/// training steps per frame so the run is the same every time: the network must get better at naming the shapes as
/// the game goes on, and the table, the two pictures and the checkpoint must come out right, and a game resumed from that checkpoint
/// must see as well as the first one ended.</summary>
public partial class InGameLearningSampleTests
{
    const int Frames = 900;

    [GeneratedRegex(@"^\|\s*([\d.]+)–\s*([\d.]+) \|\s*([\d.]+) % \((\d+)/(\d+)\)")]
    private static partial Regex TableRow();

    [Test]
    public void NetworkLearnsWhileTheGamePlays()
    {
        if (GLTestContext.SkipRequested) Assert.Ignore("NEURO_SKIP_GL=1");
        using var temp = new TempFolder("neuro-ingame");
        string folder = temp.Path;
        string checkpoint = Path.Combine(folder, "game.ckpt.neuro");
        var (exitCode, output, error) = Run("--frames", $"{Frames}", "--steps-per-frame", "1", "--seed", "1",
            "--out", folder, "--checkpoint", checkpoint);
        Assert.That(exitCode, Is.EqualTo(0), error);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Has.Some.StartsWith("GL: "));

        // Ten windows of game time, each with the share of predictions that named the nearest shape right.
        var rows = lines.Select(l => TableRow().Match(l)).Where(m => m.Success).ToArray();
        Assert.That(rows, Has.Length.EqualTo(10), output);
        double Accuracy(Match row) => double.Parse(row.Groups[3].Value, CultureInfo.InvariantCulture);
        Assert.That(double.Parse(rows[^1].Groups[2].Value, CultureInfo.InvariantCulture), Is.EqualTo(Frames / 60.0).Within(0.05));
        Assert.That(rows.Sum(r => int.Parse(r.Groups[5].Value)), Is.GreaterThan(Frames * 9 / 10), "most frames got a prediction back");
        double first = (Accuracy(rows[0]) + Accuracy(rows[1])) / 2, last = (Accuracy(rows[^2]) + Accuracy(rows[^1])) / 2;
        Assert.That(last, Is.GreaterThan(first + 20), $"learning shows over game time:\n{output}");
        Assert.That(last, Is.GreaterThan(60), $"well above chance (25 %) by the end:\n{output}");

        var times = InGameLearningReport.FrameTimes(lines);
        Assert.That(new[] { times.P50, times.P95, times.P99, times.Max }, Is.Ordered.And.All.GreaterThan(0), "frame-time percentiles");
        var (budgetMs, _, frames) = InGameLearningReport.OverBudget(lines);
        Assert.That((budgetMs, frames), Is.EqualTo((16.7, Frames)), "frames over the budget, of all frames");
        var steps = lines.Select(l => Regex.Match(l, @"^training: (\d+) steps of 16")).Single(m => m.Success);

        AssertPng(Path.Combine(folder, "learning.png"), 800, 450);
        AssertPng(Path.Combine(folder, "frames.png"), 8 * 240, 300);

        var saved = TrainingCheckpoint.Read(checkpoint);
        Assert.That(saved.Counters.Step, Is.EqualTo(long.Parse(steps.Groups[1].Value)));
        Assert.That(saved.OptimizerType, Is.EqualTo("adam"));
        Assert.That(saved.HasOptimizerState, Is.True);

        // A new game that resumes from the checkpoint, without training, sees as well as the first run ended.
        var resumed = Run("--frames", "300", "--no-training", "--resume", checkpoint, "--out", Path.Combine(folder, "resumed"));
        Assert.That(resumed.ExitCode, Is.EqualTo(0), resumed.Error);
        var resumedRows = resumed.Output.Split('\n').Select(l => TableRow().Match(l.Trim())).Where(m => m.Success).ToArray();
        Assert.That(resumedRows, Has.Length.EqualTo(10), resumed.Output);
        double resumedAccuracy = 100.0 * resumedRows.Sum(r => int.Parse(r.Groups[4].Value)) / resumedRows.Sum(r => int.Parse(r.Groups[5].Value));
        Assert.That(resumedAccuracy, Is.GreaterThan(first + 20), $"the checkpoint holds the learned weights:\n{resumed.Output}");
    }

    /// <summary>Checkpoints as the sample wrote them before it used <c>OnlineLearner</c> (weights, Adam's state and counters,
    /// without labels or normalization) still resume; one written with another batch size is refused with the file and the
    /// field named, and the game does not start.</summary>
    [Test]
    public void CheckpointsWithoutADescription_Resume_AndOtherRecipesAreRefusedByName()
    {
        if (GLTestContext.SkipRequested) Assert.Ignore("NEURO_SKIP_GL=1");
        using var temp = new TempFolder("neuro-ingame-old");
        string Write(string name, int batchSize)
        {
            string path = Path.Combine(temp.Path, name);
            using var cpu = new CpuBackend();
            using var network = Network.Create(ModelZoo.Build("lenet5", new ModelOptions(InputChannels: 1, ImageSize: 32, Classes: 4)), cpu, seed: 3);
            using var plan = ExecutionPlan.ForTraining(network, batchSize);
            using var adam = new Adam(2e-3f);
            TrainingCheckpoint.Save(path, network, adam, TrainingCounters.Of(plan, adam, step: 40));
            return path;
        }
        string old = Write("old.ckpt.neuro", batchSize: 16);
        var resumed = Run("--frames", "60", "--steps-per-frame", "1", "--resume", old, "--out", Path.Combine(temp.Path, "resumed"),
            "--checkpoint", Path.Combine(temp.Path, "again.ckpt.neuro"));
        Assert.That(resumed.ExitCode, Is.EqualTo(0), resumed.Error);
        var again = TrainingCheckpoint.Read(Path.Combine(temp.Path, "again.ckpt.neuro"));
        Assert.That(again.Counters.Step, Is.EqualTo(40), "no steps before the replay buffer holds 64 frames; the count goes on from the file's");
        Assert.That(ModelFile.ReadMetadata(Path.Combine(temp.Path, "again.ckpt.neuro")).Labels, Is.EqualTo(new[] { "Circle", "Square", "Triangle", "Cross" }));

        string other = Write("batch8.ckpt.neuro", batchSize: 8);
        var refused = Run("--frames", "60", "--resume", other, "--out", Path.Combine(temp.Path, "refused"));
        Assert.That(refused.ExitCode, Is.EqualTo(1), refused.Output);
        Assert.That(refused.Error, Does.StartWith($"InGameLearning: {other}: ").And.Contain("batchSize"));
    }

    /// <summary>A budgeted run reports the training budget (the over-budget line counts every training frame) and
    /// charts it; the inference mode does the same for a zoo model spread over frames.</summary>
    [TestCase("--train-budget-ms", "2", "training")]
    [TestCase("--inference-model", "lenet5", "inference")]
    public void BudgetedRunsReportTheBudget(string option, string value, string what)
    {
        if (GLTestContext.SkipRequested) Assert.Ignore("NEURO_SKIP_GL=1");
        using var temp = new TempFolder("neuro-ingame");
        string folder = temp.Path;
        const int frames = 150;
        var (exitCode, output, error) = Run("--frames", $"{frames}", option, value, "--out", folder);
        Assert.That(exitCode, Is.EqualTo(0), error);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Has.Some.Matches($@"^{what} time per frame \(ms\): mean [\d.]+, p50 [\d.]+, p99 [\d.]+, p99\.9 [\d.]+, max [\d.]+ against a [\d.]+ ms budget$"), output);
        var over = lines.Select(l => Regex.Match(l, @"^over budget by > 1 ms: (\d+) of (\d+) frames")).Single(m => m.Success);
        int counted = int.Parse(over.Groups[2].Value);
        // training starts once the replay buffer holds 64 frames; inference runs from the first frame
        Assert.That(counted, what == "training" ? Is.InRange(frames - 70, frames - 60) : Is.EqualTo(frames), output);
        Assert.That(int.Parse(over.Groups[1].Value), Is.LessThanOrEqualTo(counted));
        if (what == "training")
            Assert.That(lines, Has.Some.Matches(@"^training throughput: \d+ steps in \d+ frames; time spent [\d.]+ % of frames × budget; " +
                @"[\d.]+ steps per second of training time; utilisation [\d.]+ % \(steps × estimated step time / frames × budget\); [\d.]+ calls per step$"), output);
        AssertPng(Path.Combine(folder, "budget.png"), 900, 450);
    }

    /// <summary>
    /// <c>--inspect 0</c> opens the live link and prints its URL with the token; <c>neuro monitor</c> records the running
    /// game headless, in <c>--monitor</c>'s format, with samples of increasing steps; the game still prints its report.
    /// </summary>
    [Test, NonParallelizable]
    public void Inspect_PrintsTheLink_AndNeuroMonitorRecordsTheRunningGame()
    {
        if (GLTestContext.SkipRequested) Assert.Ignore("NEURO_SKIP_GL=1");
        using var temp = new TempFolder("neuro-ingame-live");
        string folder = temp.Path;
        var lines = new System.Collections.Concurrent.BlockingCollection<string>();
        using var game = new Soak.NeuroProcess(["--frames", "3000", "--inspect", "0", "--monitor-every", "2", "--out", folder], lines.Add, program: "InGameLearning.dll");
        string? url = null;
        while (url is null && lines.TryTake(out var line, TimeSpan.FromSeconds(120)))
        {
            if (InGameLearningReport.LinkUrl(line) is { } link && line.Contains("(read-only)")) url = link;
        }
        Assert.That(url, Is.Not.Null, $"the URL line:\n{game.Output}");

        string file = Path.Combine(folder, "live.jsonl");
        // 15 s of the game: on a loaded machine (CI runs tests side by side) a sample every 2 steps comes every few seconds
        var (code, recorded, recordError) = TestSupport.NeuroCli.Run("monitor", url!, "--out", file, "--seconds", "15");
        Assert.That(code, Is.EqualTo(0), () => $"{recordError}\nthe sample {(game.HasExited ? $"had exited with {game.ExitCode}: {game.Error}" : "runs")}");
        var records = File.ReadAllLines(file).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToArray();
        Assert.That(records[0].GetProperty("type").GetString(), Is.EqualTo("run"));
        Assert.That(records[0].GetProperty("backend").GetString(), Is.EqualTo("gl"));
        var steps = records.Skip(1).Where(l => l.GetProperty("type").GetString() == "train").Select(l => l.GetProperty("step").GetInt64()).ToArray();
        Assert.That(steps, Has.Length.GreaterThanOrEqualTo(3), recorded);
        Assert.That(steps, Is.Ordered.Ascending.And.Unique);

        Assert.That(game.WaitForExit(TimeSpan.FromMinutes(5)), Is.True, "the sample finishes");
        Assert.That(game.ExitCode, Is.EqualTo(0), game.Error);
        Assert.That(game.Output, Does.Match(@"frame time \(ms\): p50 [\d.]+, p95 [\d.]+, p99 [\d.]+, max [\d.]+"));
    }

    [Test]
    public void BadArgumentsPrintUsage()
    {
        var (exitCode, _, error) = Run("--frames", "many");
        Assert.That(exitCode, Is.EqualTo(2));
        Assert.That(error, Does.Contain("bad argument '--frames' 'many'"));
        Assert.That(error, Does.Contain("usage: InGameLearning"));
    }

    static void AssertPng(string path, int width, int height)
    {
        Assert.That(File.Exists(path), Is.True, path);
        using var bitmap = SKBitmap.Decode(path);
        Assert.That(bitmap, Is.Not.Null, $"{path} decodes as an image");
        Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((width, height)), path);
    }

    static (int ExitCode, string Output, string Error) Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "InGameLearning.dll"));
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(300_000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("the sample did not finish within 5 minutes");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}

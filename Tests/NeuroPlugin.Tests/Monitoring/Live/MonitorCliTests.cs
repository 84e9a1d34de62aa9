using NeuroPlugin.Monitoring;

namespace NeuroPlugin.Tests.Monitoring.Live;

/// <summary><c>neuro monitor URL --out FILE --seconds S</c> against a running game's live link (<see cref="LiveGame"/>).</summary>
[NonParallelizable]
public sealed class MonitorCliTests
{
    [Test]
    public void Records_TheRunAndSamplesWithIncreasingSteps_AsTrainMonitorWrites()
    {
        using var game = new LiveGame(new() { Monitor = new MonitorOptions { Every = 2 }, SendInterval = TimeSpan.FromMilliseconds(20) });
        string file = Path.Combine(Path.GetTempPath(), $"neuro-monitor-{Guid.NewGuid():N}.jsonl");
        try
        {
            var (code, output, error) = NeuroCli.Run("monitor", game.Link.Url, "--out", file, "--seconds", "3");
            Assert.That(code, Is.EqualTo(0), error);
            var lines = File.ReadAllLines(file).Select(line => JsonDocument.Parse(line).RootElement).ToArray();
            Assert.That(lines[0].GetProperty("type").GetString(), Is.EqualTo("run"));
            Assert.That(lines[0].GetProperty("every").GetInt32(), Is.EqualTo(2));
            Assert.That(lines.Skip(1).Select(l => l.GetProperty("type").GetString()), Has.All.AnyOf("train", "diagnostics"));
            var train = lines.Where(l => l.GetProperty("type").GetString() == "train").ToArray();
            Assert.That(train, Has.Length.GreaterThanOrEqualTo(3));
            var steps = train.Select(l => l.GetProperty("step").GetInt64()).ToArray();
            Assert.That(steps, Is.Ordered.Ascending.And.Unique);
            Assert.That(steps.Skip(1), Has.All.Matches<long>(s => s % 2 == 0), "the schedule: step 1, then every 2nd");
            Assert.That(train[^1].GetProperty("parameters")[0].GetProperty("name").GetString(), Is.EqualTo("conv1.weight"));
            Assert.That(output, Does.Match($@"recorded {train.Length} samples \(steps {steps[0]}–{steps[^1]}\) and 0 evaluations to "));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void RefusesAUrlWithoutToken_AndAnUnreachableLink()
    {
        var (code, _, error) = NeuroCli.Run("monitor", "http://127.0.0.1:9/", "--out", "x.jsonl");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("has no token"));
        string file = Path.Combine(Path.GetTempPath(), $"neuro-{Guid.NewGuid():N}.jsonl");
        (code, _, error) = NeuroCli.Run("monitor", "http://127.0.0.1:9/?token=abcdefghijklmnopqrstuvwxyz", "--out", file);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("cannot reach the live link at ws://127.0.0.1:9"));
        Assert.That(File.Exists(file), Is.False, "nothing recorded, nothing written");
    }
}

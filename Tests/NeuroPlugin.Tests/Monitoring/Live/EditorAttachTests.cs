using System.Net;
using System.Net.Http.Json;
using NeuroPlugin.Editor.Server;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Monitoring.Live;

namespace NeuroPlugin.Tests.Monitoring.Live;

/// <summary>
/// The editor (<c>neuro serve</c>) attached to a running game (<see cref="LiveGame"/>) through its server: the server is
/// the link's client (no Origin: the link lets a program in; the page never opens a cross-origin socket), and the
/// browsers hear the game through the editor's own checked socket — the live status with frames, the monitor messages
/// of the game's run, recorded into the folder's runs/; probes and control go through; detaching leaves the game running
/// and attaching again works.
/// </summary>
[NonParallelizable]
public sealed class EditorAttachTests
{
    string folder = null!;
    EditorServer server = null!; // null when the editor failed to start
    HttpClient http = null!;

    [SetUp]
    public async Task StartEditor()
    {
        folder = Path.Combine(Path.GetTempPath(), "neuro-attach-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        server = await EditorServer.StartAsync(new EditorServerOptions(folder));
        http = new HttpClient { BaseAddress = server.BaseAddress };
        http.DefaultRequestHeaders.Add(SessionAccess.TokenHeader, server.Token);
    }

    [TearDown]
    public async Task StopEditor()
    {
        if (server is null) return; // it failed to start
        http.Dispose();
        await server.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    async Task<(HttpStatusCode Status, JsonElement Body)> Post(string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Test]
    public async Task Attach_RelaysTheGame_ProbesAndControl_DetachLeavesItRunning_ReattachWorks()
    {
        using var game = new LiveGame(LiveGame.Quick with { EnableControl = true });
        using var browser = new LiveClientSession(server.Port, server.Token); // the editor's own socket, as the page opens it

        var attached = await Post("/api/live/attach", new { url = game.Link.Url });
        Assert.That(attached.Status, Is.EqualTo(HttpStatusCode.OK), attached.Body.ToString());
        Assert.That(attached.Body.GetProperty("state").GetString(), Is.EqualTo("attached"));
        Assert.That(attached.Body.GetProperty("address").GetString(), Is.EqualTo($"http://127.0.0.1:{game.Link.Port}"), "no token in what the page shows");
        game.WaitUntil(() => game.Link.Clients == 1, "the editor's server connected to the game");

        // the game's greeting and frames reach the page as the live status; its run and samples as monitor messages
        var status = browser.NextOf("live", where: m => m.GetProperty("frames").GetArrayLength() > 0 && m.GetProperty("runId").ValueKind == JsonValueKind.String);
        Assert.That(status.GetProperty("control").GetBoolean(), Is.True);
        Assert.That(status.GetProperty("firstConvolution").GetString(), Is.EqualTo("conv1"));
        Assert.That(status.GetProperty("frames")[0].GetProperty("ms").GetDouble(), Is.GreaterThanOrEqualTo(1.9));
        string runId = status.GetProperty("runId").GetString()!;
        var steps = new List<long>();
        while (steps.Count < 3)
        {
            var monitor = browser.NextOf("monitor");
            Assert.That(monitor.GetProperty("runId").GetString(), Is.EqualTo(runId));
            if (monitor.GetProperty("record").GetProperty("type").GetString() == "train") steps.Add(monitor.GetProperty("record").GetProperty("step").GetInt64());
        }
        Assert.That(steps, Is.Ordered.Ascending.And.Unique);

        // a feature-map probe of the game's current frame, answered as the inspector's probe result
        var maps = await Post("/api/live/request", new { op = "featureMaps", node = "conv2" });
        Assert.That(maps.Status, Is.EqualTo(HttpStatusCode.OK), maps.Body.ToString());
        Assert.That((maps.Body.GetProperty("kind").GetString(), maps.Body.GetProperty("channels").GetInt32(), maps.Body.GetProperty("height").GetInt32()), Is.EqualTo(("featureMaps", 6, 4)));
        Assert.That(maps.Body.GetProperty("values").GetBytesFromBase64(), Has.Length.EqualTo(6 * 4 * 4 * sizeof(float)));
        Assert.That(maps.Body.GetProperty("frame").GetInt64(), Is.GreaterThan(0));
        var unknown = await Post("/api/live/request", new { op = "featureMaps", node = "nowhere" });
        Assert.That(unknown.Status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(unknown.Body.GetProperty("error").GetString(), Does.Contain("nowhere"));

        // control: the game's rate changes; the status says so
        var rate = await Post("/api/live/request", new { op = "lr", value = 0.004 });
        Assert.That(rate.Status, Is.EqualTo(HttpStatusCode.OK), rate.Body.ToString());
        Assert.That(rate.Body.GetProperty("lr").GetSingle(), Is.EqualTo(0.004f));
        game.WaitUntil(() => game.LearningRate == 0.004f, "the game's optimizer took the rate");
        browser.NextOf("live", where: m => m.GetProperty("lr").GetSingle() == 0.004f);

        // the game's diagnostics (a rate far too high now) reach the page as the run's monitor messages, as a run's do
        Assert.That((await Post("/api/live/request", new { op = "lr", value = 10 })).Status, Is.EqualTo(HttpStatusCode.OK));
        // (which finding shows first depends on timing; LiveLinkTests checks the finding itself)
        browser.NextOf("monitor", seconds: 60, where: m => m.GetProperty("runId").GetString() == runId
            && m.GetProperty("record").GetProperty("type").GetString() == "diagnostics");

        // attached twice: refused
        Assert.That((await Post("/api/live/attach", new { url = game.Link.Url })).Status, Is.EqualTo(HttpStatusCode.Conflict));

        // detach: the game goes on; its recording is a run like any other
        var detached = await Post("/api/live/detach", new { });
        Assert.That(detached.Body.GetProperty("detached").GetBoolean(), Is.True);
        game.WaitUntil(() => game.Link.Clients == 0, "the game lost its client");
        long frame = game.Link.FrameCount;
        game.WaitUntil(() => game.Link.FrameCount > frame + 10, "the game still runs");
        string runFile = status.GetProperty("runFile").GetString()!;
        var lines = File.ReadAllLines(Path.Combine(folder, runFile)).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.That(lines[0].GetProperty("type").GetString(), Is.EqualTo("run"));
        Assert.That(lines.Count(l => l.GetProperty("type").GetString() == "train"), Is.GreaterThanOrEqualTo(3));
        Assert.That(lines.Any(l => l.GetProperty("type").GetString() == "diagnostics"), "the recording holds the diagnostics");
        var runs = JsonDocument.Parse(await http.GetStringAsync("/api/runs")).RootElement;
        Assert.That(runs.EnumerateArray().Select(r => r.GetProperty("path").GetString()), Has.Member(runFile));

        // attach again: a new run id, frames again
        var again = await Post("/api/live/attach", new { url = game.Link.Url });
        Assert.That(again.Status, Is.EqualTo(HttpStatusCode.OK), again.Body.ToString());
        var second = browser.NextOf("live", where: m => m.GetProperty("state").GetString() == "attached" && m.GetProperty("runId").ValueKind == JsonValueKind.String
            && m.GetProperty("runId").GetString() != runId && m.GetProperty("frames").GetArrayLength() > 0); // statuses of the first attach may still be queued
        Assert.That(second.GetProperty("runId").GetString(), Is.Not.EqualTo(runId));
        Assert.That(second.GetProperty("control").GetBoolean(), Is.True, "control passed on with the reconnect");
    }

    [Test]
    public async Task Attach_ReadOnlyGame_RefusesControl_WrongTokenIsA400NamingTheLink()
    {
        using var game = new LiveGame(LiveGame.Quick);
        var wrong = await Post("/api/live/attach", new { url = $"http://127.0.0.1:{game.Link.Port}/?token=not-the-token-of-this-game" });
        Assert.That(wrong.Status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(wrong.Body.GetProperty("error").GetString(), Does.Contain($"127.0.0.1:{game.Link.Port}"));
        var noToken = await Post("/api/live/attach", new { url = $"http://127.0.0.1:{game.Link.Port}/" });
        Assert.That(noToken.Body.GetProperty("error").GetString(), Does.Contain("no token"));

        Assert.That((await Post("/api/live/attach", new { url = game.Link.Url })).Status, Is.EqualTo(HttpStatusCode.OK));
        var pause = await Post("/api/live/request", new { op = "pause" });
        Assert.That(pause.Status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(pause.Body.GetProperty("error").GetString(), Does.Contain("did not enable control"));
        Assert.That(game.Link.TrainingPaused, Is.False);
        var training = await Post("/api/training/start", new { backend = "cpu" });
        Assert.That(training.Status, Is.EqualTo(HttpStatusCode.Conflict), "no training run while attached");
    }
}

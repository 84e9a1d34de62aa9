using System.Net;
using System.Net.Sockets;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Monitoring.Live;

namespace NeuroPlugin.Tests.Monitoring.Live;

/// <summary>The live link of a game (<see cref="LiveGame"/>: the CPU backend training inside a frame loop on its own
/// thread): security, the stream, probes, control, a stalled client and reconnecting.</summary>
[NonParallelizable]
public sealed class LiveLinkTests
{
    /// <summary>Sends a raw HTTP request and returns the status code and body.</summary>
    static (int Status, string Body) Http(int port, string target, string? host = null, string? origin = null, string? tokenHeader = null)
    {
        using var tcp = new TcpClient();
        tcp.Connect(IPAddress.Loopback, port);
        var request = new StringBuilder($"GET {target} HTTP/1.1\r\nHost: {host ?? $"127.0.0.1:{port}"}\r\n");
        if (origin is not null) request.Append($"Origin: {origin}\r\n");
        if (tokenHeader is not null) request.Append($"{SessionAccess.TokenHeader}: {tokenHeader}\r\n");
        if (target.StartsWith("/ws")) request.Append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
        request.Append("\r\n");
        var stream = tcp.GetStream();
        stream.Write(Encoding.ASCII.GetBytes(request.ToString()));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        string status = reader.ReadLine() ?? throw new IOException("the link closed the connection without an answer");
        int code = int.Parse(status.Split(' ')[1]);
        if (code == 101) return (code, "");
        string? line;
        while (!string.IsNullOrEmpty(line = reader.ReadLine())) { }
        return (code, reader.ReadToEnd());
    }

    [Test]
    public void Refuses_NoToken_WrongToken_ForeignHost_ForeignOrigin()
    {
        using var game = new LiveGame(LiveGame.Quick);
        int port = game.Link.Port;
        string token = game.Link.Token;
        Assert.That(game.Link.Url, Is.EqualTo($"http://127.0.0.1:{port}/?token={token}"));

        foreach (string target in new[] { "/api/link", "/ws" })
        {
            var missing = Http(port, target);
            Assert.That(missing.Status, Is.EqualTo(401), target);
            Assert.That(missing.Body, Does.Contain("token is missing"));
            var wrong = Http(port, $"{target}?token=not-the-token-at-all");
            Assert.That(wrong.Status, Is.EqualTo(401), target);
            Assert.That(wrong.Body, Does.Contain("token is wrong"));
            Assert.That(Http(port, target, tokenHeader: token + "x").Status, Is.EqualTo(401), target);
            var host = Http(port, $"{target}?token={token}", host: $"evil.example:{port}");
            Assert.That(host.Status, Is.EqualTo(421), target);
            Assert.That(host.Body, Does.Contain("evil.example"));
            Assert.That(Http(port, $"{target}?token={token}", host: "127.0.0.1:1").Status, Is.EqualTo(421), "another port");
            var origin = Http(port, $"{target}?token={token}", origin: "http://evil.example");
            Assert.That(origin.Status, Is.EqualTo(403), target);
            Assert.That(Http(port, $"{target}?token={token}", origin: "http://127.0.0.1:1").Status, Is.EqualTo(403), "another port's page");
        }
        var state = Http(port, "/api/link", tokenHeader: token);
        Assert.That(state.Status, Is.EqualTo(200));
        using var json = JsonDocument.Parse(state.Body);
        Assert.That(json.RootElement.GetProperty("controlEnabled").GetBoolean(), Is.False);
        Assert.That(Http(port, $"/api/run?token={token}", origin: $"http://127.0.0.1:{port}").Status, Is.EqualTo(200), "the link's own origin");
        Assert.That(Http(port, $"/ws?token={token}", host: $"localhost:{port}").Status, Is.EqualTo(101));
        Assert.That(Http(port, $"/nothing?token={token}").Status, Is.EqualTo(404));
    }

    [Test]
    public void Streams_TheRunSamplesFramesAndProbes()
    {
        using var game = new LiveGame(LiveGame.Quick);
        using var client = new LiveClientSession(game.Link.Port, game.Link.Token);
        var hello = client.Next()!.Value;
        Assert.That(hello.GetProperty("type").GetString(), Is.EqualTo("hello"));
        Assert.That(hello.GetProperty("control").GetBoolean(), Is.False);
        Assert.That(hello.GetProperty("firstConvolution").GetString(), Is.EqualTo("conv1"));
        var run = client.Next()!.Value;
        Assert.That(run.GetProperty("type").GetString(), Is.EqualTo("run"));
        Assert.That(run.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("name").GetString()),
            Is.EqualTo(MonitorWorkload.Graph().Nodes.Select(n => n.Name)));

        // samples in --monitor's format, steps increasing; frames with the training budget's use
        var steps = new List<long>();
        while (steps.Count < 4)
        {
            var sample = client.NextOf("train");
            steps.Add(sample.GetProperty("step").GetInt64());
            Assert.That(sample.GetProperty("parameters").GetArrayLength(), Is.EqualTo(8));
            Assert.That(sample.GetProperty("nodes")[0].GetProperty("histogram").GetProperty("counts").GetArrayLength(), Is.EqualTo(MonitorOptions.DefaultHistogramBins));
        }
        Assert.That(steps, Is.Ordered.Ascending.And.Unique);
        var frames = client.NextOf("frames").GetProperty("frames");
        Assert.That(frames.GetArrayLength(), Is.GreaterThan(0));
        Assert.That(frames[0].GetProperty("ms").GetDouble(), Is.GreaterThanOrEqualTo(1.9));
        Assert.That(frames.EnumerateArray().Any(f => f.GetProperty("trainingBudgetMs").GetDouble() == 1), "the training budget of frames that trained");

        client.Send("""{"op":"featureMaps","node":"conv2","id":7}""");
        var maps = client.NextOf("probe", where: m => m.GetProperty("id").GetInt64() == 7);
        Assert.That((maps.GetProperty("kind").GetString(), maps.GetProperty("node").GetString()), Is.EqualTo(("featureMaps", "conv2")));
        Assert.That((maps.GetProperty("count").GetInt32(), maps.GetProperty("channels").GetInt32(), maps.GetProperty("height").GetInt32(), maps.GetProperty("width").GetInt32()),
            Is.EqualTo((1, 6, 4, 4)));
        Assert.That(maps.GetProperty("values").GetBytesFromBase64(), Has.Length.EqualTo(6 * 4 * 4 * sizeof(float)));

        client.Send("""{"op":"filters","id":8}""");
        var filters = client.NextOf("probe", where: m => m.GetProperty("id").GetInt64() == 8);
        Assert.That((filters.GetProperty("node").GetString(), filters.GetProperty("count").GetInt32(), filters.GetProperty("channels").GetInt32(), filters.GetProperty("height").GetInt32()),
            Is.EqualTo(("conv1", 4, 1, 3)));

        client.Send("""{"op":"featureMaps","node":"nowhere","id":9}""");
        var error = client.NextOf("error");
        Assert.That(error.GetProperty("id").GetInt64(), Is.EqualTo(9));
        Assert.That(error.GetProperty("error").GetString(), Does.Contain("nowhere"));
        client.Send("not json");
        Assert.That(client.NextOf("error").GetProperty("error").GetString(), Is.Not.Empty);
    }

    /// <summary>Findings of a run gone wrong: a rate far too high shows as updates too large for the weights, a diverged
    /// loss or non-finite values.</summary>
    static readonly string[] RateTooHigh = ["updateTooLarge", "diverged", "nonFinite"];

    [Test]
    public void Diagnostics_JudgedInTheGame_ReachTheClient()
    {
        using var game = new LiveGame(LiveGame.Quick);
        using var client = new LiveClientSession(game.Link.Port, game.Link.Token);
        client.NextOf("train");
        Assert.That(game.Link.Diagnostics.Items.Select(d => d.KindName), Has.None.AnyOf(RateTooHigh), "Adam at 0.01 on this workload");
        // The game's own schedule goes wrong: Adam's updates (≈ the rate) overflow the weights within a step or two. NaN is
        // absorbing, so the finding stays however late this client reads (a rate of 10 makes findings that come and go
        // within a few steps, and a client that fell behind the feed by then rightly never sees them).
        game.ChangeLearningRate(1e37f);
        var report = client.NextOf("diagnostics", seconds: 60, where: m => m.GetProperty("items").EnumerateArray()
            .Any(item => RateTooHigh.Contains(item.GetProperty("kind").GetString())));
        var item = report.GetProperty("items").EnumerateArray().First(i => RateTooHigh.Contains(i.GetProperty("kind").GetString()));
        Assert.That(item.GetProperty("message").GetString(), Is.Not.Empty);
        Assert.That(item.GetProperty("remedy").GetString(), Is.Not.Empty);
        long step = report.GetProperty("step").GetInt64();
        Assert.That(step, Is.GreaterThan(0));
        // the game reads the same report (the finding itself may come and go as the weights grow: no wait for it)
        game.WaitUntil(() => game.Link.Diagnostics.Step >= step, "the link's own report is at least as recent as the message");
    }

    /// <summary>The findings go out when they change, not with every sample; a client that attaches after their message
    /// left the feed (4 messages kept here) is sent the findings in force, with the latest sample's values, right after
    /// the run record.</summary>
    [Test]
    public void Diagnostics_AClientAttachingAfterTheirMessageLeftTheFeed_HearsTheFindingsInForce()
    {
        using var game = new LiveGame(LiveGame.Quick with { MessageCapacity = 4 });
        game.ChangeLearningRate(1e37f);
        game.WaitUntil(() => game.Link.Diagnostics.Items.Any(d => RateTooHigh.Contains(d.KindName)), "the findings of a rate far too high", seconds: 60);
        // samples push the findings' message out of the feed; then the game stops training, so nothing new is published
        for (int attempt = 0; ; attempt++)
        {
            game.Training = true;
            long latest = game.Link.DiagnosticsPublishedAt;
            game.WaitUntil(() => game.Link.Messages.Written > latest + 4, "samples after the findings", seconds: 60);
            game.Training = false;
            game.WaitUntil(() => game.Link.Monitor.PendingSamples == 0, "the last samples delivered");
            long written = game.Link.Messages.Written;
            Thread.Sleep(100);
            if (game.Link.Messages.Written == written && game.Link.DiagnosticsPublishedAt < written - 4) break;
            Assert.That(attempt, Is.LessThan(5), "the findings kept changing");
        }
        var inForce = game.Link.Diagnostics;
        Assert.That(inForce.Items.Select(d => d.KindName), Has.Some.AnyOf(RateTooHigh));

        using var client = new LiveClientSession(game.Link.Port, game.Link.Token);
        Assert.That(client.Next()!.Value.GetProperty("type").GetString(), Is.EqualTo("hello"));
        Assert.That(client.Next()!.Value.GetProperty("type").GetString(), Is.EqualTo("run"));
        var findings = client.Next()!.Value;
        Assert.That(findings.GetProperty("type").GetString(), Is.EqualTo("diagnostics"), "the findings in force, before the feed's samples");
        Assert.That(findings.GetProperty("step").GetInt64(), Is.EqualTo(inForce.Step));
        Assert.That(findings.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("kind").GetString()),
            Is.EqualTo(inForce.Items.Select(d => d.KindName)));
        // then the feed's four messages (samples, NaN-guard reports), without the findings again: unchanged since
        var kept = Enumerable.Range(0, 4).Select(_ => client.Next()!.Value.GetProperty("type").GetString()).ToArray();
        Assert.That(kept, Has.None.EqualTo("diagnostics").And.Some.EqualTo("train"));
    }

    [Test]
    public void Control_RefusedWhenTheGameDidNotEnableIt()
    {
        using var game = new LiveGame(LiveGame.Quick);
        using var client = new LiveClientSession(game.Link.Port, game.Link.Token);
        Assert.That(client.NextOf("hello").GetProperty("control").GetBoolean(), Is.False);
        foreach (string request in new[] { """{"op":"pause","id":1}""", """{"op":"lr","value":0.5,"id":2}""", """{"op":"checkpoint","id":3}""", """{"op":"resume","id":4}""" })
        {
            client.Send(request);
            var error = client.NextOf("error");
            Assert.That(error.GetProperty("error").GetString(), Does.Contain("did not enable control"), request);
        }
        Assert.That(game.Link.TrainingPaused, Is.False);
        Assert.That(game.LearningRate, Is.EqualTo(0.01f));
    }

    [Test]
    public void Control_FirstClientSteers_SecondIsReadOnly()
    {
        using var game = new LiveGame(LiveGame.Quick with { EnableControl = true });
        game.CheckpointPath = "game.ckpt.neuro";
        using var first = new LiveClientSession(game.Link.Port, game.Link.Token);
        Assert.That(first.NextOf("hello").GetProperty("control").GetBoolean(), Is.True);
        using var second = new LiveClientSession(game.Link.Port, game.Link.Token);
        Assert.That(second.NextOf("hello").GetProperty("control").GetBoolean(), Is.False);

        second.Send("""{"op":"pause","id":1}""");
        Assert.That(second.NextOf("error").GetProperty("error").GetString(), Does.Contain("read-only"));

        first.Send("""{"op":"pause","id":2}""");
        var paused = first.NextOf("control", where: m => m.GetProperty("id").GetInt64() == 2);
        Assert.That(paused.GetProperty("paused").GetBoolean(), Is.True);
        game.WaitUntil(() => game.Conv1Weights is not null, "the paused game to read its filters");
        long pausedAt = game.Link.Monitor.CompletedSteps;
        Thread.Sleep(200);
        Assert.That(game.Link.Monitor.CompletedSteps, Is.EqualTo(pausedAt), "no steps while paused");

        // while paused the weights hold still: the filters probe returns exactly conv1's weights
        first.Send("""{"op":"filters","id":3}""");
        var filters = first.NextOf("probe", where: m => m.GetProperty("id").GetInt64() == 3);
        var values = filters.GetProperty("values").GetBytesFromBase64();
        Assert.That(MemoryMarshalFloats(values), Is.EqualTo(game.Conv1Weights));

        first.Send("""{"op":"lr","value":0.005,"id":4}""");
        Assert.That(first.NextOf("control", where: m => m.GetProperty("id").GetInt64() == 4).GetProperty("lr").GetDouble(), Is.EqualTo(0.005).Within(1e-9));
        game.WaitUntil(() => game.LearningRate == 0.005f, "the new learning rate");
        first.Send("""{"op":"lr","value":-1,"id":5}""");
        Assert.That(first.NextOf("error").GetProperty("error").GetString(), Does.Contain("positive learning rate"));

        first.Send("""{"op":"checkpoint","id":6}""");
        Assert.That(first.NextOf("control", where: m => m.GetProperty("id").GetInt64() == 6).GetProperty("path").GetString(), Is.EqualTo("game.ckpt.neuro"));

        first.Send("""{"op":"resume","id":7}""");
        Assert.That(first.NextOf("control", where: m => m.GetProperty("id").GetInt64() == 7).GetProperty("paused").GetBoolean(), Is.False);
        game.WaitUntil(() => game.Link.Monitor.CompletedSteps > pausedAt, "training to resume");
        // the second client saw the control events too
        Assert.That(second.NextOf("control", where: m => m.GetProperty("id").GetInt64() == 7).GetProperty("paused").GetBoolean(), Is.False);
    }

    /// <summary>A read-only client whose sender waits between feed reads falls behind the shared feed and misses
    /// samples, but never a control event: training paused and resumed reaches it anyway.</summary>
    [Test]
    public void Control_ReachesAClientBehindTheFeed()
    {
        // a feed of 8 messages read every 5 s (a reply wakes the sender sooner): the samples of a few steps overflow it
        using var game = new LiveGame(LiveGame.Quick with { EnableControl = true, MessageCapacity = 8, SendInterval = TimeSpan.FromSeconds(5) });
        using var first = new LiveClientSession(game.Link.Port, game.Link.Token);
        Assert.That(first.NextOf("hello").GetProperty("control").GetBoolean(), Is.True);
        using var second = new LiveClientSession(game.Link.Port, game.Link.Token);
        Assert.That(second.NextOf("hello").GetProperty("control").GetBoolean(), Is.False);
        first.Send("""{"op":"pause","id":1}""");
        Assert.That(first.NextOf("control", where: m => m.GetProperty("id").GetInt64() == 1).GetProperty("paused").GetBoolean(), Is.True);
        first.Send("""{"op":"resume","id":2}""");
        Assert.That(first.NextOf("control", where: m => m.GetProperty("id").GetInt64() == 2).GetProperty("paused").GetBoolean(), Is.False);

        var controls = new List<(long Id, bool Paused)>();
        bool missed = false;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(missed && controls.Count == 2) && DateTime.UtcNow < deadline)
        {
            var message = second.Next() ?? throw new AssertionException("the link closed");
            string type = message.GetProperty("type").GetString()!;
            missed |= type == "missed";
            if (type == "control") controls.Add((message.GetProperty("id").GetInt64(), message.GetProperty("paused").GetBoolean()));
        }
        Assert.That(missed, "the second client fell behind the feed");
        Assert.That(controls, Is.EqualTo(new[] { (1L, true), (2L, false) }));
    }

    static float[] MemoryMarshalFloats(byte[] bytes) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    [Test]
    public void Reconnect_GetsTheStateAgain_AndControlPassesOn()
    {
        using var game = new LiveGame(LiveGame.Quick with { EnableControl = true });
        long firstStep;
        using (var client = new LiveClientSession(game.Link.Port, game.Link.Token))
        {
            Assert.That(client.NextOf("hello").GetProperty("control").GetBoolean(), Is.True);
            firstStep = client.NextOf("train").GetProperty("step").GetInt64();
            client.Close();
        }
        game.WaitUntil(() => game.Link.Clients == 0, "the link to forget the closed client");
        using var again = new LiveClientSession(game.Link.Port, game.Link.Token);
        Assert.That(again.NextOf("hello").GetProperty("control").GetBoolean(), Is.True, "control passed to the next client");
        Assert.That(again.NextOf("run").GetProperty("nodes").GetArrayLength(), Is.EqualTo(MonitorWorkload.Graph().Nodes.Count));
        Assert.That(again.NextOf("train", where: m => m.GetProperty("step").GetInt64() > firstStep).GetProperty("step").GetInt64(), Is.GreaterThan(firstStep));
    }

    /// <summary>A client that connects and never reads: the game's frames stay as cheap as before (EndFrame allocates
    /// nothing and takes well under a millisecond), the link's memory stays bounded by its rings, and the client is
    /// dropped once a send has waited longer than the send timeout.</summary>
    [Test]
    public void Hello_ReportsTheLearningRateTheGameSetSinceTheLinkStarted()
    {
        using var game = new LiveGame(LiveGame.Quick);
        using (var first = new LiveClientSession(game.Link.Port, game.Link.Token))
            Assert.That(first.NextOf("hello").GetProperty("lr").GetSingle(), Is.EqualTo(0.01f));
        game.ChangeLearningRate(0.0025f); // the game's own change, not over the link
        game.WaitUntil(() => game.LearningRate == 0.0025f, "the game's new rate");
        game.WaitUntil(() => game.Link.FrameCount > 0 && game.EndFrames().Length > 2, "frames after the change");
        using var later = new LiveClientSession(game.Link.Port, game.Link.Token);
        Assert.That(later.NextOf("hello").GetProperty("lr").GetSingle(), Is.EqualTo(0.0025f));
    }

    [Test]
    public void PendingHandshakes_AreBounded_BeyondTheLimitClosedAtOnce()
    {
        using var game = new LiveGame(LiveGame.Quick);
        int port = game.Link.Port;
        var idle = new List<TcpClient>();
        try
        {
            // connections that never send their request: each holds a handshake slot until its head times out
            for (int i = 0; i < LiveServer.MaxPendingHandshakes; i++)
            {
                var tcp = new TcpClient();
                tcp.Connect(IPAddress.Loopback, port);
                idle.Add(tcp);
            }
            Thread.Sleep(300); // the listener has accepted them
            using var extra = new TcpClient();
            extra.Connect(IPAddress.Loopback, port);
            extra.ReceiveTimeout = 3000;
            var read = new byte[64];
            Assert.That(extra.GetStream().Read(read), Is.EqualTo(0), "one more connection is closed without an answer");
        }
        finally
        {
            foreach (var tcp in idle) tcp.Dispose();
        }
        bool Answers()
        {
            try { return Http(port, $"/api/link?token={game.Link.Token}").Status == 200; }
            catch (Exception e) when (e is IOException or SocketException) { return false; }
        }
        // the idle ones gone, a client with the token gets in again
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!Answers() && DateTime.UtcNow < deadline) Thread.Sleep(100);
        using var client = new LiveClientSession(port, game.Link.Token);
        Assert.That(client.NextOf("hello").GetProperty("type").GetString(), Is.EqualTo("hello"));
    }

    [Test]
    public void StalledClient_NeitherGrowsMemoryNorSlowsFrames()
    {
        using var game = new LiveGame(LiveGame.Quick with { Monitor = new MonitorOptions { Every = 1 }, SendTimeout = TimeSpan.FromSeconds(2), MessageCapacity = 16 });
        using var stalled = new TcpClient { ReceiveBufferSize = 1024 };
        stalled.Connect(IPAddress.Loopback, game.Link.Port);
        stalled.GetStream().Write(Encoding.ASCII.GetBytes($"GET /ws?token={game.Link.Token} HTTP/1.1\r\nHost: 127.0.0.1:{game.Link.Port}\r\n" +
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        game.WaitUntil(() => game.Link.Clients == 1, "the stalled client to connect");
        int warmUp = game.EndFrames().Length + 50;
        GC.Collect();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        game.WaitUntil(() => game.Link.Clients == 0, "the stalled client to be dropped", seconds: 60);
        long after = GC.GetTotalMemory(forceFullCollection: true);
        var frames = game.EndFrames(warmUp);
        Assert.That(frames.Length, Is.GreaterThan(100), "frames ran while the client stalled");
        Assert.That(game.Link.Monitor.SamplesDelivered, Is.GreaterThan(16), "more samples than the feed keeps");
        var allocating = frames.Where(f => f.Bytes > 0).ToArray();
        Assert.That(allocating.Length, Is.LessThanOrEqualTo(frames.Length / 20 + 1), "only frames that deliver a sample allocate (the monitor's record)");
        var times = frames.Select(f => f.Milliseconds).Order().ToArray();
        Assert.That(times[times.Length / 2], Is.LessThan(0.5), "EndFrame's median time, ms");
        Assert.That(after - before, Is.LessThan(16L << 20), "managed memory growth while the client stalled, bytes");

        // the link still serves a new client
        using var client = new LiveClientSession(game.Link.Port, game.Link.Token);
        Assert.That(client.NextOf("train").GetProperty("step").GetInt64(), Is.GreaterThan(0));
    }

    [Test]
    public void AnotherAddress_WarnsAndStillChecksTheHost()
    {
        var warnings = new List<string>();
        using var game = new LiveGame(LiveGame.Quick with { Address = IPAddress.Any, Warning = warnings.Add });
        Assert.That(warnings, Has.Count.EqualTo(1));
        Assert.That(warnings[0], Does.Contain("0.0.0.0").And.Contain("other machines"));
        Assert.That(Http(game.Link.Port, $"/api/link?token={game.Link.Token}").Status, Is.EqualTo(200));
        Assert.That(Http(game.Link.Port, $"/api/link?token={game.Link.Token}", host: $"evil.example:{game.Link.Port}").Status, Is.EqualTo(421));
    }

    [Test]
    public void Options_OutOfRangeAreRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new LiveLinkOptions { Port = 70000 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new LiveLinkOptions { FrameCapacity = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new LiveLinkOptions { Token = "short" }.Validate());
    }
}

using System.Net.WebSockets;
using System.Text;
using NeuroPlugin.Editor.Server;

namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>The hub's outboxes: a client that never reads holds at most one message of each kind and is dropped
/// after the send timeout; a reading client gets the latest of each kind; a slow client gets the monitor's latest sample,
/// evaluation and diagnostics with how many of each it missed, and a client that keeps up misses none.</summary>
public sealed class WebSocketHubTests
{
    /// <summary>
    /// The server's end of a connection whose client pauses reading: writes wait until <see cref="Open"/> and then go
    /// to <paramref name="inner"/>; without <paramref name="inner"/> the client never reads (writes and reads wait until
    /// the socket gives up and disposes the stream).
    /// </summary>
    sealed class GatedStream(Stream? inner) : Stream
    {
        readonly TaskCompletionSource open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly TaskCompletionSource closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int WritesStarted;

        public void Open() => open.TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref WritesStarted);
            await Task.WhenAny(open.Task, closed.Task).WaitAsync(cancellationToken);
            if (inner is null || closed.Task.IsCompleted) throw new IOException("the connection was closed");
            await inner.WriteAsync(buffer, cancellationToken);
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (inner is not null) return await inner.ReadAsync(buffer, cancellationToken);
            await closed.Task.WaitAsync(cancellationToken);
            return 0;
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => inner?.FlushAsync(cancellationToken) ?? Task.CompletedTask;

        protected override void Dispose(bool disposing)
        {
            closed.TrySetResult();
            if (disposing) inner?.Dispose();
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Test]
    public async Task AClientThatNeverReadsHoldsOneMessagePerKindAndIsDropped()
    {
        // long enough that the broadcasts below finish before the stuck greeting times out, even on a loaded machine
        // (500 ms was overtaken once at load 30), short enough to end the client well within the 10 s wait
        var hub = new WebSocketHub { SendTimeout = TimeSpan.FromSeconds(3) };
        var stream = new GatedStream(null);
        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = Timeout.InfiniteTimeSpan });
        var serving = hub.Serve(socket, () => [Encoding.UTF8.GetBytes("{\"type\":\"document\"}")], CancellationToken.None);
        while (stream.WritesStarted == 0) await Task.Delay(5); // the greeting's send is stuck
        Assert.That(hub.Count, Is.EqualTo(1));

        var document = new byte[1 << 20];
        var point = new byte[200];
        for (int i = 0; i < 200; i++)
        {
            hub.Broadcast(HubMessageKind.Document, document);
            hub.Broadcast(HubMessageKind.Training, point);
        }
        Assert.That(hub.WaitingBytes, Is.LessThanOrEqualTo(document.Length + WebSocketHub.TrainingQueueLimit * point.Length),
            "200 MB of documents broadcast: one document and a bounded number of points wait");
        Assert.That(hub.ResyncsWaiting, Is.EqualTo(1), "the overflowing points became one resync");

        Assert.That(await Task.WhenAny(serving, Task.Delay(TimeSpan.FromSeconds(10))), Is.SameAs(serving), "the stuck send timed out and ended the client");
        Assert.That(hub.Count, Is.EqualTo(0));
        Assert.That(hub.WaitingBytes, Is.EqualTo(0));
        Assert.That(socket.State, Is.EqualTo(WebSocketState.Aborted));
    }

    [Test]
    public async Task OverflowingTrainingMessagesBecomeOneResyncAndNothingIsLostOrReordered()
    {
        using var connection = await Connection.OpenAsync();
        int statusCalls = 0;
        var hub = new WebSocketHub(() => { statusCalls++; return Encoding.UTF8.GetBytes("status"); });
        var serving = hub.Serve(connection.Server, () => [Encoding.UTF8.GetBytes("greeting")], CancellationToken.None);
        while (connection.Gate.WritesStarted == 0) await Task.Delay(5);

        const int points = 100;
        for (int i = 0; i < points; i++) hub.Broadcast(HubMessageKind.Training, Encoding.UTF8.GetBytes($"point {i}"));
        hub.Broadcast(HubMessageKind.Document, Encoding.UTF8.GetBytes("document 1"));
        hub.Broadcast(HubMessageKind.Document, Encoding.UTF8.GetBytes("document 2"));
        connection.Gate.Open();

        // points 0..63 filled the queue; point 64 turned them into a resync, then 65..99 queued behind it
        var expected = new List<string> { "greeting", "status" };
        expected.AddRange(Enumerable.Range(WebSocketHub.TrainingQueueLimit, points - WebSocketHub.TrainingQueueLimit).Select(i => $"point {i}"));
        expected.Add("document 2");
        var received = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (received.Count < expected.Count) received.Add(await connection.ReceiveAsync(timeout.Token));
        Assert.That(received, Is.EqualTo(expected));
        Assert.That(statusCalls, Is.EqualTo(1), "the resync is made once, when it is sent");

        // the client closes: the server's writer answers and the connection ends cleanly
        await connection.Client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        await serving.WaitAsync(timeout.Token);
        Assert.That(connection.Client.State, Is.EqualTo(WebSocketState.Closed));
        Assert.That(hub.Count, Is.EqualTo(0));
    }

    /// <summary>A client socket and the server's end of it over loopback TCP, the server's writes held by a gate.</summary>
    sealed class Connection : IDisposable
    {
        readonly System.Net.Sockets.TcpListener listener = new(System.Net.IPAddress.Loopback, 0);
        readonly System.Net.Sockets.TcpClient near = new();
        System.Net.Sockets.TcpClient far = null!;
        public GatedStream Gate = null!;
        public WebSocket Server = null!, Client = null!;

        public static async Task<Connection> OpenAsync()
        {
            var c = new Connection();
            c.listener.Start();
            await c.near.ConnectAsync(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)c.listener.LocalEndpoint).Port);
            c.far = await c.listener.AcceptTcpClientAsync();
            c.Gate = new GatedStream(c.far.GetStream());
            c.Server = WebSocket.CreateFromStream(c.Gate, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = Timeout.InfiniteTimeSpan });
            c.Client = WebSocket.CreateFromStream(c.near.GetStream(), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = Timeout.InfiniteTimeSpan });
            return c;
        }

        public async Task<string> ReceiveAsync(CancellationToken cancel)
        {
            var buffer = new byte[1 << 16];
            var result = await Client.ReceiveAsync(buffer, cancel);
            return Encoding.UTF8.GetString(buffer, 0, result.Count);
        }

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
            far.Dispose();
            near.Dispose();
            listener.Stop();
        }
    }

    /// <summary>A monitor message as the training session makes it: <c>{"type":"monitor","runId":"r","record":{…}}</c>.</summary>
    static string MonitorText(string record, int step) => "{\"type\":\"monitor\",\"runId\":\"r\",\"record\":{\"type\":\"" + record + "\",\"step\":" + step + "}}";

    static byte[] Monitor(string record, int step) => Encoding.UTF8.GetBytes(MonitorText(record, step));

    [Test]
    public async Task ASlowClientGetsTheLatestMonitorMessageOfEachKind_WithHowManyItMissed()
    {
        using var connection = await Connection.OpenAsync();
        var hub = new WebSocketHub();
        var serving = hub.Serve(connection.Server, () => [Encoding.UTF8.GetBytes("greeting")], CancellationToken.None);
        while (connection.Gate.WritesStarted == 0) await Task.Delay(5); // the greeting's send waits at the gate

        var sample = Monitor("train", 0);
        for (int i = 1; i <= 500; i++) hub.Broadcast(HubMessageKind.Sample, Monitor("train", i));
        for (int i = 1; i <= 3; i++) hub.Broadcast(HubMessageKind.Evaluation, Monitor("evaluation", i));
        hub.Broadcast(HubMessageKind.Diagnostics, Monitor("diagnostics", 1));
        Assert.That(hub.WaitingBytes, Is.LessThanOrEqualTo(3 * (sample.Length + 8)), "500 samples broadcast: one of each kind waits");
        Assert.That(hub.MissedMessages, Is.EqualTo(499 + 2), "superseded samples and evaluations, counted");
        connection.Gate.Open();

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new List<string>();
        for (int i = 0; i < 4; i++) received.Add(await connection.ReceiveAsync(timeout.Token));
        Assert.That(received, Is.EqualTo(new[]
        {
            "greeting",
            "{\"missed\":499," + MonitorText("train", 500)[1..],
            "{\"missed\":2," + MonitorText("evaluation", 3)[1..],
            MonitorText("diagnostics", 1),
        }), "the latest of each kind, in the order they were posted; missed only where some were");

        // once the client keeps up, every message arrives and none is missed
        for (int i = 501; i <= 520; i++)
        {
            hub.Broadcast(HubMessageKind.Sample, Monitor("train", i));
            Assert.That(await connection.ReceiveAsync(timeout.Token), Is.EqualTo(MonitorText("train", i)));
        }
        Assert.That(hub.MissedMessages, Is.EqualTo(501), "nothing more missed");
        Assert.That(hub.WaitingBytes, Is.EqualTo(0));

        await connection.Client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        await serving.WaitAsync(timeout.Token);
        Assert.That(hub.Count, Is.EqualTo(0));
    }

    [Test]
    public void MissedGoesFirstInAJsonObject_AndNowhereElse()
    {
        Assert.That(Encoding.UTF8.GetString(WebSocketHub.WithMissed("{\"a\":1}"u8.ToArray(), 7)), Is.EqualTo("{\"missed\":7,\"a\":1}"));
        Assert.That(Encoding.UTF8.GetString(WebSocketHub.WithMissed("{\"a\":1}"u8.ToArray(), 0)), Is.EqualTo("{\"a\":1}"));
        Assert.That(System.Text.Json.Nodes.JsonNode.Parse(WebSocketHub.WithMissed("{ }"u8.ToArray(), 2))!.ToJsonString(), Is.EqualTo("{\"missed\":2}"), "an empty object stays JSON");
        Assert.That(Encoding.UTF8.GetString(WebSocketHub.WithMissed("status"u8.ToArray(), 3)), Is.EqualTo("status"), "not a JSON object: unchanged");
    }
}

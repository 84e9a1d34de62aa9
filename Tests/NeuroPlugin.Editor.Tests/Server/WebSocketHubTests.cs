using System.Net.WebSockets;
using System.Text;
using NeuroPlugin.Editor.Server;

namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>The hub's outboxes: a client that never reads holds at most one message of each kind and is dropped
/// after the send timeout; a reading client gets the latest of each kind.</summary>
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
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var near = new System.Net.Sockets.TcpClient();
        await near.ConnectAsync(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
        using var far = await listener.AcceptTcpClientAsync();
        var gate = new GatedStream(far.GetStream());
        using var serverSocket = WebSocket.CreateFromStream(gate, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = Timeout.InfiniteTimeSpan });
        using var clientSocket = WebSocket.CreateFromStream(near.GetStream(), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = Timeout.InfiniteTimeSpan });
        int statusCalls = 0;
        var hub = new WebSocketHub(() => { statusCalls++; return Encoding.UTF8.GetBytes("status"); });
        var serving = hub.Serve(serverSocket, () => [Encoding.UTF8.GetBytes("greeting")], CancellationToken.None);
        while (gate.WritesStarted == 0) await Task.Delay(5);

        const int points = 100;
        for (int i = 0; i < points; i++) hub.Broadcast(HubMessageKind.Training, Encoding.UTF8.GetBytes($"point {i}"));
        hub.Broadcast(HubMessageKind.Document, Encoding.UTF8.GetBytes("document 1"));
        hub.Broadcast(HubMessageKind.Document, Encoding.UTF8.GetBytes("document 2"));
        gate.Open();

        // points 0..63 filled the queue; point 64 turned them into a resync, then 65..99 queued behind it
        var expected = new List<string> { "greeting", "status" };
        expected.AddRange(Enumerable.Range(WebSocketHub.TrainingQueueLimit, points - WebSocketHub.TrainingQueueLimit).Select(i => $"point {i}"));
        expected.Add("document 2");
        var received = new List<string>();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (received.Count < expected.Count)
        {
            var result = await clientSocket.ReceiveAsync(buffer, timeout.Token);
            received.Add(Encoding.UTF8.GetString(buffer, 0, result.Count));
        }
        Assert.That(received, Is.EqualTo(expected));
        Assert.That(statusCalls, Is.EqualTo(1), "the resync is made once, when it is sent");

        // the client closes: the server's writer answers and the connection ends cleanly
        await clientSocket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        await serving.WaitAsync(timeout.Token);
        Assert.That(clientSocket.State, Is.EqualTo(WebSocketState.Closed));
        Assert.That(hub.Count, Is.EqualTo(0));
    }
}

using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text.Json;

namespace NeuroPlugin.Monitoring.Live;

/// <summary>
/// One WebSocket client of a <see cref="LiveLink"/>: a sender and a receiver (WebSocket allows one of each at a time).
/// The sender greets (<c>hello</c>, then the run), then every <see cref="LiveLinkOptions.SendInterval"/> (sooner for a
/// reply) sends what the link's feeds gained since its cursors — each sample, evaluation, probe result and event, then
/// the new frame timings as one <c>frames</c> message — and a <c>missed</c> message when a cursor fell behind the
/// feed. A send that takes longer than <see cref="LiveLinkOptions.SendTimeout"/> drops the client. The receiver reads
/// requests (JSON text messages of at most <see cref="MaxRequestBytes"/>), refuses what this client may not ask and
/// queues the rest for the game thread.
/// </summary>
internal sealed class LiveClient
{
    /// <summary>Longest request message; a longer one closes the connection (1009).</summary>
    public const int MaxRequestBytes = 16 * 1024;
    const int MaxReplies = 16;

    readonly WebSocket socket;
    readonly LiveLink link;
    readonly LiveServer server;
    readonly ConcurrentQueue<object> replies = new();
    readonly SemaphoreSlim wake = new(0, int.MaxValue);
    readonly ArrayBufferWriter<byte> buffer = new(16 * 1024);
    readonly Utf8JsonWriter json;
    long missedMessages, missedFrames;
    long diagnosticsSent = -1; // the feed number of the latest findings this client was sent

    public LiveClient(WebSocket socket, LiveLink link, LiveServer server, bool mayControl)
    {
        this.socket = socket;
        this.link = link;
        this.server = server;
        MayControl = mayControl;
        json = new Utf8JsonWriter(buffer);
    }

    /// <summary>Whether this client may pause, resume, change the rate and checkpoint.</summary>
    public bool MayControl { get; }

    /// <summary>Queues a message for this client only, sent before the feed's next items: an answer (a refused request, a
    /// probe's values) or a control event. Beyond a few waiting (a client that reads nothing, soon dropped) they are dropped.</summary>
    public void Reply(object message)
    {
        if (replies.Count >= MaxReplies) return;
        replies.Enqueue(message);
        wake.Release();
    }

    /// <summary>Serves the connection until the client closes, fails, is dropped or the link stops.</summary>
    public async Task Run()
    {
        using var receiving = new CancellationTokenSource();
        using var sendingStop = CancellationTokenSource.CreateLinkedTokenSource(server.Stopping);
        var sender = Send(sendingStop.Token);
        var receiver = Receive(receiving.Token);
        try
        {
            if (await Task.WhenAny(sender, receiver) == receiver)
            {
                sendingStop.Cancel();
                await sender;
                if (socket.State == WebSocketState.CloseReceived) await Close(WebSocketCloseStatus.NormalClosure, null);
            }
            else
            {
                // the sender stopped (the link stops, or the client stopped reading): let a close handshake finish, briefly
                await Task.WhenAny(receiver, Task.Delay(TimeSpan.FromSeconds(1)));
                receiving.Cancel();
                await receiver;
            }
        }
        finally
        {
            socket.Abort();
            socket.Dispose();
        }
    }

    async Task Send(CancellationToken stop)
    {
        var messages = new object[link.Messages.Capacity];
        var frames = new FrameTiming[link.Frames.Capacity];
        long messageCursor = Math.Max(0, link.Messages.Written - link.Messages.Capacity); // every message kept: recent history
        long frameCursor = link.Frames.Written;                                            // frames from now on
        try
        {
            await SendJson(json => LiveMessages.WriteHello(json, link, MayControl));
            buffer.Clear();
            buffer.Write(link.RunRecord); // serialized once, when the link started
            await SendBuffer();
            while (true)
            {
                await wake.WaitAsync(server.Options.SendInterval, stop);
                while (replies.TryDequeue(out var reply)) await SendJson(json => LiveMessages.Write(json, reply));
                int messageCount = link.Messages.Read(ref messageCursor, messages, out long skippedMessages);
                int frameCount = link.Frames.Read(ref frameCursor, frames, out long skippedFrames);
                if (skippedMessages + skippedFrames > 0)
                {
                    missedMessages += skippedMessages;
                    missedFrames += skippedFrames;
                    await SendJson(json => LiveMessages.WriteMissed(json, skippedMessages, skippedFrames, missedMessages, missedFrames));
                }
                long first = messageCursor - messageCount;
                if (FindingsNotInFeed(first) is { } findings) await SendJson(json => LiveMessages.Write(json, findings));
                for (int i = 0; i < messageCount; i++)
                {
                    stop.ThrowIfCancellationRequested();
                    var message = messages[i];
                    messages[i] = null!; // the feed keeps what it keeps; this client holds nothing longer
                    if (message is DiagnosticReport) diagnosticsSent = first + i;
                    buffer.Clear();
                    link.Serialized.CopyTo(first + i, message, buffer); // serialized once for every client
                    await SendBuffer();
                }
                if (frameCount > 0) await SendJson(json => LiveMessages.WriteFrames(json, frames.AsSpan(0, frameCount)));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            if (server.Stopping.IsCancellationRequested && socket.State == WebSocketState.Open)
                await Close(WebSocketCloseStatus.EndpointUnavailable, "the game stopped its live link");
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            socket.Abort(); // a send timed out (the client stopped reading) or failed: drop the client
        }
    }

    /// <summary>The findings in force (<see cref="LiveLink.Diagnostics"/>, with the latest sample's values) when this
    /// client will not read them from the feed: the latest <c>diagnostics</c> message is older than the feed items it
    /// reads next (<paramref name="first"/> on: it attached after it, or skipped it when it fell behind) and newer than
    /// what it was sent. Null when it has them, or when none hold for a client that was never sent any.</summary>
    DiagnosticReport? FindingsNotInFeed(long first)
    {
        long published = link.DiagnosticsPublishedAt;
        if (published < 0 || published >= first || published <= diagnosticsSent) return null;
        var report = link.Diagnostics;
        if (diagnosticsSent < 0 && report.Items.Count == 0) return null;
        diagnosticsSent = published;
        return report;
    }

    /// <summary>Serializes one message into the reused buffer and sends it within the send timeout. A send is never cancelled
    /// for stopping (cancelling a WebSocket send aborts the connection: a client closing normally while a sample was on its
    /// way would see its close handshake broken); the stop is noticed between messages.</summary>
    async Task SendJson(Action<Utf8JsonWriter> write)
    {
        buffer.Clear();
        json.Reset(buffer);
        write(json);
        json.Flush();
        await SendBuffer();
    }

    /// <summary>Sends the buffer's message within the send timeout.</summary>
    async Task SendBuffer()
    {
        using var timeout = new CancellationTokenSource(server.Options.SendTimeout);
        try
        {
            await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"a live link client read nothing for {server.Options.SendTimeout.TotalSeconds:0.#} s");
        }
    }

    async Task Close(WebSocketCloseStatus status, string? description)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await socket.CloseOutputAsync(status, description, timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // the client is gone already
        }
    }

    async Task Receive(CancellationToken cancel)
    {
        var request = new byte[MaxRequestBytes];
        try
        {
            while (true)
            {
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == request.Length)
                    {
                        await Close(WebSocketCloseStatus.MessageTooBig, $"requests are at most {MaxRequestBytes} bytes");
                        return;
                    }
                    result = await socket.ReceiveAsync(request.AsMemory(length), cancel);
                    length += result.Count;
                } while (!result.EndOfMessage);
                if (result.MessageType == WebSocketMessageType.Close) return;
                Handle(request.AsSpan(0, length));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // gone, or the connection is ending
        }
    }

    /// <summary>A request: <c>{"op": …, "id": n, "node": "…", "value": x}</c>.</summary>
    void Handle(ReadOnlySpan<byte> message)
    {
        long id = 0;
        try
        {
            var reader = new Utf8JsonReader(message);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException("a request is a JSON object");
            if (root.TryGetProperty("id", out var idElement) && !idElement.TryGetInt64(out id)) throw new FormatException("'id' must be an integer");
            string op = root.TryGetProperty("op", out var opElement) && opElement.ValueKind == JsonValueKind.String ? opElement.GetString()! : throw new FormatException("a request needs 'op'");
            string? node = root.TryGetProperty("node", out var nodeElement) && nodeElement.ValueKind == JsonValueKind.String ? nodeElement.GetString() : null;
            double value = root.TryGetProperty("value", out var valueElement) && valueElement.ValueKind == JsonValueKind.Number ? valueElement.GetDouble() : double.NaN;
            if (LinkRequest.ControlOps.Contains(op))
            {
                if (!link.ControlEnabled) throw new FormatException($"'{op}' refused: the game did not enable control (the live link is read-only)");
                if (!MayControl) throw new FormatException($"'{op}' refused: another client holds control; this connection is read-only");
            }
            else if (!LinkRequest.ReadOnlyOps.Contains(op))
                throw new FormatException($"unknown request '{op}' (known: {string.Join(", ", LinkRequest.ReadOnlyOps.Concat(LinkRequest.ControlOps))})");
            if (op == LinkRequest.LearningRateOp && !(double.IsFinite(value) && value > 0 && value <= float.MaxValue))
                throw new FormatException("'lr' needs 'value', a positive learning rate");
            if (op == LinkRequest.FeatureMaps && node is null) throw new FormatException("'featureMaps' needs 'node', the node whose output to show");
            if (link.PendingRequests >= LiveLink.MaxPendingRequests) throw new FormatException("the game is still serving earlier requests; ask again");
            link.Enqueue(new LinkRequest(id, op, node, value, this));
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            Reply(new LinkReply(id, e.Message));
        }
    }
}

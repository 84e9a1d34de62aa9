using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;

namespace NeuroPlugin.Editor.Server;

/// <summary>The kinds of message the hub pushes (see <see cref="WebSocketHub"/> for how each is bounded): the document;
/// training points and states; the monitor's latest sample, evaluation and diagnostics of a run; and the attached game's
/// live-link status (<see cref="LiveSession"/>).</summary>
internal enum HubMessageKind { Document, Training, Sample, Evaluation, Diagnostics, Live }

/// <summary>
/// The connected browsers: <c>/ws</c> accepts a WebSocket (after <see cref="AccessGuard"/>), sends the current
/// document and training state, then every message <see cref="Broadcast"/> gets. Each client has a bounded outbox
/// and one writer loop (WebSocket allows one send at a time), so a client that stops reading never makes messages
/// pile up: the outbox holds only the latest unsent message of each other kind (a whole document, the monitor's latest
/// sample, evaluation, diagnostics: a newer one supersedes it, and the monitor's messages are sent with
/// <c>"missed": N</c>, how many of their kind this client did not get, so it can fill the gap from the run's file) and
/// at most <see cref="TrainingQueueLimit"/> small training messages; when more training messages wait, they are
/// replaced by one resync message, the training status with every point so far (made when it is sent), which the
/// client takes in place of its list. A send that takes longer than <see cref="SendTimeout"/> aborts that socket and
/// drops the client (it reconnects and gets the current state). The closing handshake goes through the same writer.
/// Client messages are read and ignored.
/// </summary>
/// <param name="trainingStatus">The resync message: the training status with every point (null: overflowing training
/// messages are dropped, the latest kept).</param>
internal sealed class WebSocketHub(Func<byte[]>? trainingStatus = null)
{
    /// <summary>Training messages an outbox holds before they are replaced by one resync message.</summary>
    public const int TrainingQueueLimit = 64;

    /// <summary>A connected socket, its outbox and its writer's wake-up. Messages leave in the order they were posted.</summary>
    sealed class Client(WebSocket socket)
    {
        public WebSocket Socket { get; } = socket;
        public readonly object Gate = new();
        // per kind but Training: the latest unsent message, when it was posted, and how many it replaced unsent
        readonly Dictionary<HubMessageKind, (long Posted, byte[] Message, long Missed)> latest = [];
        readonly Queue<(long Posted, byte[] Message)> training = new();
        long resyncPosted = -1; // ≥ 0: a resync waits, in that place
        long sequence;
        public bool CloseRequested;
        public readonly SemaphoreSlim Wake = new(0, int.MaxValue);

        /// <summary>Adds <paramref name="message"/> to the outbox (any kind but training replaces an unsent one of its
        /// kind, counting it as missed; a training message beyond the limit turns the waiting ones into a resync).</summary>
        public void Post(HubMessageKind kind, byte[] message)
        {
            lock (Gate)
            {
                long posted = ++sequence;
                if (kind != HubMessageKind.Training)
                {
                    long missed = 0;
                    if (latest.TryGetValue(kind, out var unsent))
                    {
                        missed = unsent.Missed + 1;
                        if (kind is not (HubMessageKind.Document or HubMessageKind.Live)) Missed++; // a status: the latest is all there is
                    }
                    latest[kind] = (posted, message, missed);
                }
                else if (training.Count < TrainingQueueLimit)
                    training.Enqueue((posted, message));
                else
                {
                    if (resyncPosted < 0) resyncPosted = training.Peek().Posted;
                    training.Clear();
                    training.Enqueue((posted, message));
                }
            }
            Wake.Release();
        }

        /// <summary>The oldest waiting message, taken out of the outbox (a resync as null with <paramref name="resync"/>
        /// true); false when none waits.</summary>
        public bool TryTake(out byte[]? message, out bool resync)
        {
            lock (Gate)
            {
                long first = long.MaxValue;
                HubMessageKind? oldest = null;
                foreach (var (kind, waiting) in latest)
                    if (waiting.Posted < first) (first, oldest) = (waiting.Posted, kind);
                if (resyncPosted >= 0 && resyncPosted < first) (first, oldest) = (resyncPosted, null);
                if (training.Count > 0 && training.Peek().Posted < first) (first, oldest) = (training.Peek().Posted, null);
                (message, resync) = (null, false);
                if (first == long.MaxValue) return false;
                if (oldest is { } kind2)
                {
                    var waiting = latest[kind2];
                    latest.Remove(kind2);
                    message = kind2 is HubMessageKind.Document or HubMessageKind.Live ? waiting.Message : WithMissed(waiting.Message, waiting.Missed);
                }
                else if (resyncPosted == first) (resync, resyncPosted) = (true, -1);
                else message = training.Dequeue().Message;
                return true;
            }
        }

        /// <summary>Monitor messages this client was sent a newer one in place of, in all (tests read it).</summary>
        public long Missed;

        /// <summary>Bytes waiting in the outbox (a resync counts 0 until it is made).</summary>
        public long WaitingBytes { get { lock (Gate) return latest.Values.Sum(l => (long)l.Message.Length) + training.Sum(t => (long)t.Message.Length); } }

        public bool ResyncWaiting { get { lock (Gate) return resyncPosted >= 0; } }
    }

    /// <summary><paramref name="message"/> (a JSON object) with <c>"missed": N</c> as its first member when N &gt; 0.</summary>
    internal static byte[] WithMissed(byte[] message, long missed)
    {
        if (missed == 0 || message.Length < 2 || message[0] != (byte)'{') return message;
        bool empty = message.AsSpan(1).Trim(" \t\r\n"u8).SequenceEqual("}"u8);
        var head = System.Text.Encoding.UTF8.GetBytes($"{{\"missed\":{missed}{(empty ? "" : ",")}");
        var result = new byte[head.Length + message.Length - 1];
        head.CopyTo(result, 0);
        message.AsSpan(1).CopyTo(result.AsSpan(head.Length));
        return result;
    }

    readonly ConcurrentDictionary<Client, byte> clients = new();

    /// <summary>Longest one send may take before the socket is aborted (a client that stopped reading). Default 10 s.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Connected sockets now.</summary>
    public int Count => clients.Count;

    /// <summary>Bytes waiting in all outboxes now: at most one message of each kind and <see cref="TrainingQueueLimit"/>
    /// training messages per client.</summary>
    public long WaitingBytes => clients.Keys.Sum(c => c.WaitingBytes);

    /// <summary>Monitor messages superseded before they were sent, summed over the connected clients.</summary>
    public long MissedMessages => clients.Keys.Sum(c => Interlocked.Read(ref c.Missed));

    /// <summary>Clients whose outbox holds a resync (their training messages overflowed).</summary>
    public int ResyncsWaiting => clients.Keys.Count(c => c.ResyncWaiting);

    public async Task Accept(HttpContext context, Func<IEnumerable<byte[]>> greeting)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ErrorResponse.Write(context, StatusCodes.Status400BadRequest, "/ws takes WebSocket connections only");
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        await Serve(socket, greeting, context.RequestAborted);
    }

    /// <summary>Serves one accepted socket until it closes, fails or is dropped: the greeting first (made once the
    /// client is registered, so no change falls between the greeting and the broadcasts), then broadcasts.</summary>
    internal async Task Serve(WebSocket socket, Func<IEnumerable<byte[]>> greeting, CancellationToken aborted)
    {
        var client = new Client(socket);
        clients[client] = 0;
        var writer = Task.Run(() => Write(client, [.. greeting()]));
        try
        {
            var buffer = new byte[4096];
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, aborted);
                if (result.MessageType == WebSocketMessageType.Close) break;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // the browser went away, or the writer aborted the socket
        }
        finally
        {
            clients.TryRemove(client, out _);
            lock (client.Gate) client.CloseRequested = true;
            client.Wake.Release();
            await writer;
        }
    }

    /// <summary>Sends <paramref name="message"/> (UTF-8 JSON) to every connected socket: it goes into each outbox
    /// (bounded as above); returns at once.</summary>
    public void Broadcast(HubMessageKind kind, byte[] message)
    {
        foreach (var client in clients.Keys) client.Post(kind, message);
    }

    /// <summary>A client's only writer: sends the greeting, then what its outbox holds, oldest first, each within <see cref="SendTimeout"/>;
    /// on a timeout or failure aborts the socket and drops the client; once closing is asked, answers the close.</summary>
    async Task Write(Client client, IReadOnlyList<byte[]> greeting)
    {
        var socket = client.Socket;
        try
        {
            foreach (var message in greeting)
            {
                using var timeout = new CancellationTokenSource(SendTimeout);
                await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            }
            while (true)
            {
                await client.Wake.WaitAsync();
                bool closing;
                lock (client.Gate) closing = client.CloseRequested;
                if (closing)
                {
                    if (socket.State == WebSocketState.CloseReceived)
                    {
                        using var timeout = new CancellationTokenSource(SendTimeout);
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                    }
                    return;
                }
                while (socket.State == WebSocketState.Open && client.TryTake(out var message, out bool resync))
                {
                    if (resync && trainingStatus is null) continue; // the latest training messages follow
                    using var timeout = new CancellationTokenSource(SendTimeout);
                    await socket.SendAsync(resync ? trainingStatus!() : message!, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            clients.TryRemove(client, out _);
            socket.Abort(); // ends the reader too
        }
    }
}

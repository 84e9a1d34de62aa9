using System.Net.WebSockets;
using System.Text.Json.Nodes;

namespace NeuroPlugin.Editor.Tests.Soak;

/// <summary>
/// A browser-like WebSocket client of <c>neuro serve</c>'s <c>/ws</c>: reads every message, keeps the highest document
/// revision it has seen (messages may arrive out of order), and reconnects when the server drops it, as the UI does.
/// </summary>
sealed class ReadingClient(ServeProcess server)
{
    long latestRevision = -1, messages;
    int reconnects;

    public long LatestRevision => Interlocked.Read(ref latestRevision);
    public long Messages => Interlocked.Read(ref messages);
    public int Reconnects => reconnects;

    /// <summary>A socket on <c>/ws</c> with the session token, as the page opens it.</summary>
    public static async Task<ClientWebSocket> Connect(ServeProcess server, CancellationToken cancel)
    {
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-Neuro-Token", server.Token);
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{server.Port}/ws"), cancel);
        return socket;
    }

    /// <summary>Reads (reconnecting when dropped) until <paramref name="stop"/>.</summary>
    public async Task Run(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            using var socket = await Connect(server, CancellationToken.None);
            var buffer = new byte[64 << 10];
            try
            {
                while (await Receive(socket, buffer, stop) is { } message) Observe(message);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                if (stop.IsCancellationRequested) return;
            }
            Interlocked.Increment(ref reconnects);
        }
    }

    void Observe(JsonObject message)
    {
        Interlocked.Increment(ref messages);
        if ((string?)message["type"] == "document")
        {
            long revision = (long)message["document"]!["revision"]!, seen;
            while (revision > (seen = Interlocked.Read(ref latestRevision)) && Interlocked.CompareExchange(ref latestRevision, revision, seen) != seen) { }
        }
    }

    /// <summary>Reads a socket that has not been read so far until a document of <paramref name="revision"/> arrives; the
    /// highest revision seen, or −1 when the server had dropped the socket (or drops it meanwhile).</summary>
    public static async Task<long> ReadUntil(ClientWebSocket socket, long revision, TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        long latest = -1;
        var buffer = new byte[64 << 10];
        try
        {
            while (latest < revision && await Receive(socket, buffer, limit.Token) is { } message)
                if ((string?)message["type"] == "document") latest = Math.Max(latest, (long)message["document"]!["revision"]!);
            return latest < revision && socket.State != WebSocketState.Open ? -1 : latest;
        }
        catch (WebSocketException)
        {
            return -1;
        }
    }

    /// <summary>One whole text message, parsed; null when the server closed the socket.</summary>
    static async Task<JsonObject?> Receive(ClientWebSocket socket, byte[] buffer, CancellationToken cancel)
    {
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancel);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return JsonNode.Parse(message.ToArray())!.AsObject();
        }
    }
}

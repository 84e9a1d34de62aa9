using System.Net.WebSockets;

namespace NeuroPlugin.Tests.Monitoring.Live;

/// <summary>A test's WebSocket client of a live link: receives messages as JSON documents, sends requests.</summary>
sealed class LiveClientSession : IDisposable
{
    readonly ClientWebSocket socket = new();
    readonly byte[] buffer = new byte[1 << 22];

    public LiveClientSession(int port, string token)
    {
        socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws?token={token}"), CancellationToken.None).Wait(TimeSpan.FromSeconds(10));
        Assert.That(socket.State, Is.EqualTo(WebSocketState.Open));
    }

    public WebSocketState State => socket.State;

    /// <summary>The next message; null when the server closed.</summary>
    public JsonElement? Next(double seconds = 20)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        int length = 0;
        WebSocketReceiveResult result;
        do
        {
            result = socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), timeout.Token).Result;
            length += result.Count;
        } while (!result.EndOfMessage);
        if (result.MessageType == WebSocketMessageType.Close) return null;
        return JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.Clone();
    }

    /// <summary>The next message of <paramref name="type"/> (others skipped); fails after <paramref name="seconds"/>.</summary>
    public JsonElement NextOf(string type, double seconds = 20, Func<JsonElement, bool>? where = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var seen = new SortedDictionary<string, int>(StringComparer.Ordinal);
        JsonElement? lastOfType = null;
        while (DateTime.UtcNow < deadline)
        {
            var message = Next(Math.Max(0.1, (deadline - DateTime.UtcNow).TotalSeconds)) ?? throw new AssertionException($"the link closed before a '{type}' message");
            string received = message.GetProperty("type").GetString() ?? "";
            if (received == type && (where is null || where(message))) return message;
            seen[received] = seen.GetValueOrDefault(received) + 1;
            if (received == type) lastOfType = message;
        }
        // what came instead, so that a failure says whether the link was silent, behind, or sent other values
        throw new AssertionException($"no '{type}' message within {seconds} s; received {string.Join(", ", seen.Select(s => $"{s.Key} ×{s.Value}"))}" +
            (lastOfType is { } last ? $"; the last '{type}' not matching: {Truncate(last.GetRawText(), 600)}" : ""));
    }

    static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "…";

    public void Send(string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, CancellationToken.None).Wait(TimeSpan.FromSeconds(10));

    public void Close()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).Wait(TimeSpan.FromSeconds(5));
    }

    public void Dispose() => socket.Dispose();
}

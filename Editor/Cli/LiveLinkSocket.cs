using System.Net.WebSockets;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// The client end of a game's live link (<see cref="Monitoring.Live.LiveLink"/>), as <c>neuro monitor</c> and the
/// editor's Attach use it: a WebSocket to <c>ws://HOST:PORT/ws?token=…</c> (<see cref="MonitorCommand.WebSocketAddress"/>),
/// never through a proxy and without an <c>Origin</c> header (a program, which the link's Origin check lets in), whole
/// messages received into one growing buffer, requests sent as JSON text.
/// </summary>
internal sealed class LiveLinkSocket : IDisposable
{
    /// <summary>Largest message accepted (a sample of a large network with its histograms, a probe of a wide layer).</summary>
    public const int MaxMessageBytes = 64 << 20;

    readonly ClientWebSocket socket = new();
    readonly SemaphoreSlim sending = new(1, 1);
    byte[] buffer = new byte[64 * 1024];

    LiveLinkSocket() => socket.Options.Proxy = null; // the link is on this machine (or the address given)

    /// <summary>Connects to the link at <paramref name="address"/> (the WebSocket address, with its token).</summary>
    /// <exception cref="WebSocketException">Refused (no such link, a wrong token: the handshake's status says which).</exception>
    public static async Task<LiveLinkSocket> ConnectAsync(Uri address, CancellationToken cancel)
    {
        var link = new LiveLinkSocket();
        try
        {
            await link.socket.ConnectAsync(address, cancel);
            return link;
        }
        catch
        {
            link.Dispose();
            throw;
        }
    }

    /// <summary>The next whole message (valid until the next call), or null when the game closed the link (the close is
    /// answered).</summary>
    /// <exception cref="InvalidDataException">A message over <see cref="MaxMessageBytes"/>.</exception>
    public async Task<ReadOnlyMemory<byte>?> ReceiveAsync(CancellationToken cancel)
    {
        int length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= MaxMessageBytes) throw new InvalidDataException($"a live link message is larger than {MaxMessageBytes >> 20} MiB");
                Array.Resize(ref buffer, buffer.Length * 2);
            }
            result = await socket.ReceiveAsync(buffer.AsMemory(length), cancel);
            length += result.Count;
        } while (!result.EndOfMessage);
        if (result.MessageType != WebSocketMessageType.Close) return buffer.AsMemory(0, length);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        return null;
    }

    /// <summary>Sends one request (a JSON object, UTF-8); one send at a time.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> request, CancellationToken cancel)
    {
        await sending.WaitAsync(cancel);
        try
        {
            await socket.SendAsync(request, WebSocketMessageType.Text, endOfMessage: true, cancel);
        }
        finally
        {
            sending.Release();
        }
    }

    /// <summary>Closes the link from this side, within two seconds (the game goes on).</summary>
    public async Task CloseAsync(string reason)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try { await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, reason, timeout.Token); }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    public void Dispose()
    {
        socket.Dispose();
        sending.Dispose();
    }
}

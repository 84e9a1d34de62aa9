using System.Collections.Concurrent;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;

namespace NeuroPlugin.Editor.Server;

/// <summary>
/// The connected browsers: <c>/ws</c> accepts a WebSocket (after <see cref="AccessGuard"/>), sends the current
/// document and training state, then every message <see cref="Broadcast"/> gets. One send at a time per socket
/// (WebSocket allows no concurrent sends); a socket that fails is dropped. Client messages are read and ignored.
/// </summary>
internal sealed class WebSocketHub
{
    sealed class Client(WebSocket socket)
    {
        public WebSocket Socket { get; } = socket;
        public SemaphoreSlim SendLock { get; } = new(1, 1);
    }

    readonly ConcurrentDictionary<Client, byte> clients = new();

    /// <summary>Connected sockets now.</summary>
    public int Count => clients.Count;

    public async Task Accept(HttpContext context, Func<IEnumerable<byte[]>> greeting)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ErrorResponse.Write(context, StatusCodes.Status400BadRequest, "/ws takes WebSocket connections only");
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var client = new Client(socket);
        clients[client] = 0;
        try
        {
            foreach (var message in greeting()) await Send(client, message);
            var buffer = new byte[4096];
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, context.RequestAborted);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the browser went away
        }
        finally
        {
            clients.TryRemove(client, out _);
        }
    }

    /// <summary>Sends <paramref name="message"/> (UTF-8 JSON) to every connected socket; waits for all sends.</summary>
    public Task Broadcast(byte[] message) => Task.WhenAll(clients.Keys.Select(c => Send(c, message)));

    async Task Send(Client client, byte[] message)
    {
        await client.SendLock.WaitAsync();
        try
        {
            if (client.Socket.State == WebSocketState.Open)
                await client.Socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            clients.TryRemove(client, out _);
        }
        finally
        {
            client.SendLock.Release();
        }
    }
}

using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace NeuroPlugin.Monitoring.Live;

/// <summary>
/// The live link's listener (a <see cref="TcpListener"/> and RFC 6455's handshake, then
/// <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>; no web server needed in a game). Every
/// request passes <see cref="SessionAccess"/>'s checks in order — <c>Host</c> (421), <c>Origin</c> (403), the token in
/// the query <c>token</c> or the header <c>X-Neuro-Token</c> (401) — then: <c>GET /ws</c> (WebSocket: the stream, see
/// <see cref="LiveClient"/>), <c>GET /</c> or <c>/api/link</c> (the link's state as JSON), <c>GET /api/run</c> (the
/// graph as the monitor's run record). At most <see cref="MaxPendingHandshakes"/> connections wait in their handshake
/// at once. Runs on the thread pool; the game thread never waits for it.
/// </summary>
internal sealed class LiveServer : IDisposable
{
    const string WebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    /// <summary>Connections at most whose request has not yet passed the access checks (each waits up to
    /// <see cref="HeadTimeout"/> for its head); more are closed at once, so idle or slow connections cannot pile up.</summary>
    internal const int MaxPendingHandshakes = 8;
    static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(5);

    readonly LiveLink link;
    readonly TcpListener listener;
    readonly CancellationTokenSource stopping = new();
    readonly ConcurrentDictionary<Task, byte> connections = new();
    readonly ConcurrentDictionary<LiveClient, byte> clients = new();
    readonly string[] extraHosts;
    readonly object gate = new();
    readonly Task accepting;
    LiveClient? controller;
    int pendingHandshakes;

    public LiveServer(LiveLink link, LiveLinkOptions options)
    {
        this.link = link;
        Options = options;
        Token = options.Token ?? SessionAccess.NewToken();
        listener = new TcpListener(options.Address, options.Port);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        bool anyAddress = options.Address.Equals(IPAddress.Any) || options.Address.Equals(IPAddress.IPv6Any);
        Host = IPAddress.IsLoopback(options.Address) || anyAddress ? "127.0.0.1" : HostName(options.Address);
        extraHosts = IPAddress.IsLoopback(options.Address) || anyAddress ? [] : [Host];
        accepting = Task.Run(Accept);
    }

    public LiveLinkOptions Options { get; }
    public int Port { get; }
    public string Token { get; }
    /// <summary>The host name clients use: 127.0.0.1, or the address the link was bound to.</summary>
    public string Host { get; }
    public string Url => $"http://{Host}:{Port}/?{SessionAccess.TokenQuery}={Token}";
    public int ClientCount => clients.Count;
    public CancellationToken Stopping => stopping.Token;

    static string HostName(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    async Task Accept()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient tcp;
            try
            {
                tcp = await listener.AcceptTcpClientAsync(stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            if (Interlocked.Increment(ref pendingHandshakes) > MaxPendingHandshakes)
            {
                Interlocked.Decrement(ref pendingHandshakes);
                tcp.Dispose(); // refused: too many connections still in their handshake
                continue;
            }
            var connection = Task.Run(() => Serve(tcp));
            connections[connection] = 0;
            _ = connection.ContinueWith(done => connections.TryRemove(done, out _), TaskScheduler.Default);
        }
    }

    async Task Serve(TcpClient tcp)
    {
        using var _ = tcp;
        tcp.NoDelay = true;
        var stream = tcp.GetStream();
        bool pending = true;
        try
        {
            HttpHead? head;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token))
            {
                timeout.CancelAfter(HeadTimeout);
                head = await HttpHead.ReadAsync(stream, timeout.Token);
            }
            if (head is null)
            {
                await Respond(stream, 400, "Bad Request", "not an HTTP request the live link understands");
                return;
            }
            if (await Refuse(stream, head)) return;
            Interlocked.Decrement(ref pendingHandshakes);
            pending = false;
            switch (head.Path)
            {
                case "/ws":
                    await ServeWebSocket(stream, head);
                    break;
                case "/" or "/api/link":
                    await Respond(stream, 200, "OK", null, LinkState);
                    break;
                case "/api/run":
                    await Respond(stream, 200, "OK", null, json => json.WriteRawValue(link.RunRecord, skipInputValidation: true));
                    break;
                default:
                    await Respond(stream, 404, "Not Found", $"no live link route {head.Path} (routes: /ws, /api/link, /api/run)");
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or WebSocketException)
        {
            // the client went away, or the link is stopping
        }        finally
        {
            if (pending) Interlocked.Decrement(ref pendingHandshakes);
        }
    }

    /// <summary>Answers and returns true when the request may not go further: a method other than GET, a foreign Host,
    /// a foreign Origin, a missing or wrong token.</summary>
    async Task<bool> Refuse(NetworkStream stream, HttpHead head)
    {
        if (head.Method != "GET")
            await Respond(stream, 405, "Method Not Allowed", $"the live link answers GET only, not {head.Method}");
        else if (!SessionAccess.HostAllowed(head.Header("Host"), Port, extraHosts))
            await Respond(stream, 421, "Misdirected Request", $"Host '{head.Header("Host")}' is not this live link ({Host}:{Port})");
        else if (!SessionAccess.OriginAllowed(head.Header("Origin"), Port, Options.AllowedOrigins))
            await Respond(stream, 403, "Forbidden", $"Origin '{head.Header("Origin")}' may not use this live link");
        else
        {
            string? presented = head.Header(SessionAccess.TokenHeader) ?? (head.Query.TryGetValue(SessionAccess.TokenQuery, out var q) ? q : null);
            if (presented is null) await Respond(stream, 401, "Unauthorized", "the live link's session token is missing (use the URL the game printed)");
            else if (!SessionAccess.TokenMatches(presented, Token)) await Respond(stream, 401, "Unauthorized", "the live link's session token is wrong (use the URL the game printed)");
            else return false;
        }
        return true;
    }

    async Task ServeWebSocket(NetworkStream stream, HttpHead head)
    {
        string? key = head.Header("Sec-WebSocket-Key");
        if (!string.Equals(head.Header("Upgrade"), "websocket", StringComparison.OrdinalIgnoreCase) || key is null)
        {
            await Respond(stream, 400, "Bad Request", "/ws takes WebSocket connections only");
            return;
        }
        if (head.Header("Sec-WebSocket-Version") != "13")
        {
            await Respond(stream, 426, "Upgrade Required", "the live link speaks WebSocket version 13");
            return;
        }
        var client = Register(stream);
        if (client is null)
        {
            await Respond(stream, 503, "Service Unavailable", $"the live link already serves {Options.MaxClients} clients");
            return;
        }
        try
        {
            string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + WebSocketGuid)));
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), stopping.Token);
            await client.Run();
        }
        finally
        {
            clients.TryRemove(client, out _);
            lock (gate) if (controller == client) controller = null;
        }
    }

    /// <summary>Queues <paramref name="message"/> for every client connected now (see <see cref="LiveClient.Reply"/>).</summary>
    public void ReplyToAll(object message)
    {
        foreach (var client in clients.Keys) client.Reply(message);
    }

    /// <summary>A new client, the controller when control is enabled and nobody holds it; null when the link is full.</summary>
    LiveClient? Register(NetworkStream stream)
    {
        lock (gate)
        {
            if (clients.Count >= Options.MaxClients) return null;
            bool control = Options.EnableControl && controller is null;
            var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.FromSeconds(30) });
            var client = new LiveClient(socket, link, this, control);
            if (control) controller = client;
            clients[client] = 0;
            return client;
        }
    }

    void LinkState(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteNumber("protocol", LiveMessages.Protocol);
        json.WriteBoolean("controlEnabled", link.ControlEnabled);
        json.WriteBoolean("paused", link.TrainingPaused);
        json.WriteNumber("step", link.Step);
        json.WriteNumber("frame", link.FrameCount);
        json.WriteNumber("clients", ClientCount);
        json.WriteEndObject();
    }

    /// <summary>A whole response (Connection: close): a JSON body from <paramref name="write"/>, or <c>{"error": …}</c>.</summary>
    static async Task Respond(NetworkStream stream, int status, string reason, string? error, Action<Utf8JsonWriter>? write = null)
    {
        var body = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(body))
        {
            if (write is not null) write(json);
            else
            {
                json.WriteStartObject();
                json.WriteString("error", error);
                json.WriteEndObject();
            }
        }
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {body.WrittenCount}\r\n" +
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(head);
        await stream.WriteAsync(body.WrittenMemory);
    }

    /// <summary>Stops accepting, closes every client (a close frame, then the socket) and waits up to two seconds for
    /// them. Safe to call twice.</summary>
    public void Dispose()
    {
        if (stopping.IsCancellationRequested) return;
        stopping.Cancel();
        listener.Stop();
        try
        {
            Task.WaitAll([accepting, .. connections.Keys], TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
            // a connection that failed has ended too
        }
    }
}

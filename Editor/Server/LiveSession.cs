using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Editor.Cli;
using NeuroPlugin.Editor.Document;
using NeuroPlugin.Monitoring;

namespace NeuroPlugin.Editor.Server;

/// <summary>
/// The editor attached to a running game (<c>POST /api/live/attach</c>): the editor's server connects to the game's live
/// link as a client (<see cref="LiveLinkSocket"/>: a program, so no cross-origin socket from the page, whose server keeps
/// its own Host, Origin and token checks) and relays to the browsers through the <see cref="WebSocketHub"/>. The game's
/// run record, training samples, evaluations and diagnostics go out as the training inspector's monitor messages (run id
/// <see cref="RunId"/>) and are recorded to <c>runs/…-live-N.jsonl</c> in the folder, so a tab that joins late reads the
/// history from that file and the session opens later like any run; everything else the link says (its greeting, frame
/// timings, control state, NaN-guard reports, what was missed) becomes one <c>{"type":"live"}</c> status message (the
/// latest supersedes an unsent one). Probes and control requests are forwarded with an id and answered with the game's
/// reply. <see cref="Detach"/> closes the connection only: the game goes on.
/// </summary>
internal sealed class LiveSession(FolderGuard folder) : IDisposable
{
    /// <summary>Frame timings kept for the status (the frame-time chart): five seconds at 60 frames/s.</summary>
    public const int FramesKept = 300;
    /// <summary>Longest wait for the game's answer to a probe or control request.</summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(15);
    /// <summary>Requests the link forwards (the game refuses what it does not allow).</summary>
    static readonly string[] Ops = ["featureMaps", "filters", "pause", "resume", "lr", "checkpoint"];

    readonly object gate = new();
    readonly Queue<JsonObject> frames = new();
    readonly ConcurrentDictionary<long, TaskCompletionSource<byte[]>> waiting = new();
    LiveLinkSocket? socket;
    CancellationTokenSource? stop;
    Task? receiving;
    MonitorJsonlWriter? recording;
    JsonObject hello = [];
    string state = "detached", address = "";
    string? runId, runFile, error, lastNonFinite;
    long missedMessages, missedFrames, nextRequest, attachments;

    /// <summary>Status and monitor messages for the browsers (the hub's kinds).</summary>
    public event Action<HubMessageKind, byte[]>? Message;

    /// <summary>Whether a game is attached now (connecting or connected).</summary>
    public bool IsAttached { get { lock (gate) return state is "connecting" or "attached"; } }

    /// <summary>The attached game's run id in the monitor messages (<c>live-N</c>); null before its run record arrives.</summary>
    public string? RunId { get { lock (gate) return runId; } }

    /// <summary>
    /// Connects to the game's link at <paramref name="url"/> (as the game printed it, with the token) and starts relaying.
    /// A 400 for a URL without a token, a 502-like 400 naming the link when it refuses or cannot be reached, a 409 while
    /// attached (detach first).
    /// </summary>
    public async Task AttachAsync(string url)
    {
        Uri target;
        try
        {
            target = MonitorCommand.WebSocketAddress(url);
        }
        catch (CliErrors.UsageException e)
        {
            throw new DocumentCommandException(e.Message, "url");
        }
        var cancel = new CancellationTokenSource();
        lock (gate)
        {
            if (state is "connecting" or "attached") throw new EditorConflictException($"already attached to {address}: detach first");
            Reset();
            state = "connecting";
            address = target.GetLeftPart(UriPartial.Authority).Replace("ws://", "http://");
            stop = cancel;
        }
        Publish();
        LiveLinkSocket connected;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            connected = await LiveLinkSocket.ConnectAsync(target, timeout.Token);
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException or OperationCanceledException)
        {
            Ended($"cannot attach to the game's live link at {address}: {e.Message}{(e.InnerException is { } cause ? $" ({cause.Message})" : "")}");
            cancel.Dispose();
            throw new DocumentCommandException(Status()["error"]!.GetValue<string>(), "url");
        }
        lock (gate)
        {
            if (stop != cancel) // detached while connecting
            {
                connected.Dispose();
                cancel.Dispose();
                return;
            }
            socket = connected;
            state = "attached";
            receiving = Task.Run(() => Receive(connected, cancel.Token));
        }
        Publish();
    }

    /// <summary>Closes the connection (the game goes on); false when nothing was attached.</summary>
    public bool Detach()
    {
        Task? ending;
        lock (gate)
        {
            if (stop is null) return false;
            stop.Cancel();
            ending = receiving;
        }
        ending?.Wait(TimeSpan.FromSeconds(5));
        Ended(null);
        return true;
    }

    /// <summary>
    /// Forwards a probe or control request (<c>{"op": "featureMaps", "node": …}</c>, <c>{"op": "lr", "value": …}</c>…) and
    /// returns the game's answer: a probe's images (the inspector's probe result, with the game frame and step they show)
    /// or the control state after it. The game's refusal (read-only link, unknown node) is a 400 naming it.
    /// </summary>
    public async Task<byte[]> RequestAsync(JsonObject body)
    {
        string op = body["op"] is JsonValue v && v.TryGetValue(out string? s) && Ops.Contains(s) ? s
            : throw new DocumentCommandException($"op: one of {string.Join(", ", Ops)}", "op");
        LiveLinkSocket link;
        long id;
        lock (gate)
        {
            link = socket is not null && state == "attached" ? socket : throw new EditorConflictException("no game is attached");
            id = ++nextRequest;
        }
        var request = new JsonObject { ["op"] = op, ["id"] = id };
        if (body["node"] is JsonValue node && node.TryGetValue(out string? name)) request["node"] = name;
        if (body["value"] is JsonValue value && value.TryGetValue(out double number)) request["value"] = number;
        var answer = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting[id] = answer;
        try
        {
            await link.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), CancellationToken.None);
            var reply = await answer.Task.WaitAsync(ReplyTimeout);
            using var document = JsonDocument.Parse(reply);
            if (document.RootElement.GetProperty("type").GetString() == "error")
                throw new DocumentCommandException($"the game refused '{op}': {document.RootElement.GetProperty("error").GetString()}", "op");
            return reply;
        }
        catch (TimeoutException)
        {
            throw new IOException($"the game did not answer '{op}' within {ReplyTimeout.TotalSeconds:0} s");
        }
        catch (WebSocketException e)
        {
            throw new IOException($"the live link failed while sending '{op}': {e.Message}", e);
        }
        finally
        {
            waiting.TryRemove(id, out _);
        }
    }

    /// <summary>The status message: <c>{"type":"live", "state": "detached"|"connecting"|"attached"|"ended", "address",
    /// "runId", "runFile", "controlEnabled", "control", "paused", "lr", "step", "frame", "firstConvolution",
    /// "frames": [{frame, ms, trainingBudgetMs, trainingMs, steps, paused}…], "missedMessages", "missedFrames",
    /// "nonFinite", "error"}</c>.</summary>
    public byte[] StatusJson() => Encoding.UTF8.GetBytes(Status().ToJsonString());

    JsonObject Status()
    {
        lock (gate)
        {
            var status = new JsonObject
            {
                ["type"] = "live", ["state"] = state, ["address"] = address, ["runId"] = runId, ["runFile"] = runFile,
                ["missedMessages"] = missedMessages, ["missedFrames"] = missedFrames, ["nonFinite"] = lastNonFinite, ["error"] = error,
                ["frames"] = new JsonArray(frames.Select(f => (JsonNode)f.DeepClone()).ToArray()),
            };
            foreach (var (key, value) in hello) status[key] = value?.DeepClone();
            return status;
        }
    }

    void Publish() => Message?.Invoke(HubMessageKind.Live, StatusJson());

    /// <summary>Clears what the previous attachment left (under the gate).</summary>
    void Reset()
    {
        frames.Clear();
        hello = [];
        runId = runFile = error = lastNonFinite = null;
        missedMessages = missedFrames = 0;
    }

    async Task Receive(LiveLinkSocket link, CancellationToken cancel)
    {
        string? reason = "the game closed its live link";
        try
        {
            while (await link.ReceiveAsync(cancel) is { } message) Take(message.Span);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException && cancel.IsCancellationRequested)
        {
            // detached: the cancelled receive ends as cancelled or, the socket aborted for it, as a WebSocketException
            reason = null;
            await link.CloseAsync("the editor detached");
        }
        catch (Exception e) when (e is WebSocketException or IOException or InvalidDataException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            reason = $"the live link failed: {e.Message}";
        }
        Ended(reason);
    }

    /// <summary>Ends the attachment (the connection is gone or going): the recording is closed, requests waiting fail.</summary>
    void Ended(string? reason)
    {
        lock (gate)
        {
            if (state is "detached" or "ended" && stop is null) return;
            state = reason is null ? "detached" : "ended";
            error = reason ?? error;
            socket?.Dispose();
            socket = null;
            stop?.Dispose();
            stop = null;
            receiving = null;
            recording?.Dispose();
            recording = null;
        }
        foreach (var answer in waiting.Values) answer.TrySetException(new IOException(reason ?? "detached from the game"));
        Publish();
    }

    /// <summary>One message from the link (see <c>Documentation~/Monitoring.md</c>, "Live link").</summary>
    void Take(ReadOnlySpan<byte> message)
    {
        using var document = JsonDocument.Parse(message.ToArray());
        var root = document.RootElement;
        string type = root.GetProperty("type").GetString() ?? "";
        switch (type)
        {
            case "hello":
                var greeting = JsonNode.Parse(root.GetRawText())!.AsObject();
                greeting.Remove("type");
                lock (gate) hello = greeting;
                Publish();
                break;
            case "run":
                string id;
                lock (gate)
                {
                    id = runId = $"live-{++attachments}";
                    runFile = RunFiles.NewPath(id, DateTime.UtcNow);
                    Directory.CreateDirectory(folder.Resolve(RunFiles.Folder));
                    recording = new MonitorJsonlWriter(folder.Resolve(runFile), append: false);
                    recording.WriteLine(message);
                }
                Message?.Invoke(HubMessageKind.Sample, TrainingSession.Wrap(id, message.ToArray()));
                Publish();
                break;
            case "train" or "evaluation" or "diagnostics":
                string? current;
                lock (gate)
                {
                    current = runId;
                    recording?.WriteLine(message);
                }
                var kind = type switch { "train" => HubMessageKind.Sample, "evaluation" => HubMessageKind.Evaluation, _ => HubMessageKind.Diagnostics };
                if (current is not null) Message?.Invoke(kind, TrainingSession.Wrap(current, message.ToArray()));
                break;
            case "frames":
                lock (gate)
                    foreach (var frame in root.GetProperty("frames").EnumerateArray())
                    {
                        frames.Enqueue(new JsonObject
                        {
                            ["frame"] = frame.GetProperty("frame").GetInt64(), ["ms"] = frame.GetProperty("ms").GetDouble(),
                            ["trainingBudgetMs"] = frame.GetProperty("trainingBudgetMs").GetDouble(), ["trainingMs"] = frame.GetProperty("trainingMs").GetDouble(),
                            ["steps"] = frame.GetProperty("steps").GetInt32(), ["paused"] = frame.GetProperty("paused").GetBoolean(),
                        });
                        if (frames.Count > FramesKept) frames.Dequeue();
                        hello["frame"] = frame.GetProperty("frame").GetInt64();
                        hello["step"] = frame.GetProperty("step").GetInt64();
                        hello["paused"] = frame.GetProperty("paused").GetBoolean();
                    }
                Publish();
                break;
            case "missed":
                lock (gate)
                {
                    missedMessages = root.GetProperty("totalMessages").GetInt64();
                    missedFrames = root.GetProperty("totalFrames").GetInt64();
                }
                break;
            case "nonFinite":
                lock (gate) lastNonFinite = root.GetProperty("message").GetString();
                Publish();
                break;
            case "control":
                lock (gate)
                {
                    hello["paused"] = root.GetProperty("paused").GetBoolean();
                    hello["lr"] = root.GetProperty("lr").GetDouble();
                }
                Answer(root, message);
                Publish();
                break;
            case "probe" or "error":
                Answer(root, message);
                break;
        }
    }

    /// <summary>Completes the request a reply answers (its id); a control event from another client has none waiting.</summary>
    void Answer(JsonElement root, ReadOnlySpan<byte> message)
    {
        if (root.TryGetProperty("id", out var id) && id.TryGetInt64(out long n) && waiting.TryRemove(n, out var answer))
            answer.TrySetResult(message.ToArray());
    }

    public void Dispose() => Detach();
}

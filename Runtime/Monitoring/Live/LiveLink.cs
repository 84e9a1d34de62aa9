using System.Collections.Concurrent;
using System.Net;
using NeuroPlugin.Graph;
using NeuroPlugin.Training;

namespace NeuroPlugin.Monitoring.Live;

/// <summary>
/// A live link into a running game: the editor (or <c>neuro monitor</c>) attaches over a WebSocket and watches the game's
/// network learn — the graph, the monitor's samples (the fields of <c>neuro train --monitor</c>), frame times and the
/// training budget's use per frame, NaN-guard events — and asks for probes: the feature maps of any node for the
/// current game frame, the first convolution's filters. With <see cref="LiveLinkOptions.EnableControl"/> the first
/// client may pause and resume training, change the learning rate and take a checkpoint.
/// <para>One opt-in call: <c>using var link = LiveLink.Start(trainer, options);</c> then once per frame, after the
/// present, <see cref="EndFrame"/>; the game skips <c>trainer.Advance</c> while <see cref="TrainingPaused"/>. Not
/// started, it costs nothing.</para>
/// <para>It never blocks a frame. The game thread only stores into bounded rings (<see cref="EndFrame"/>: one frame
/// timing; the monitor's events: a reference to the sample) and serves queued requests — probes and control run on the
/// game thread, so every GL call stays on the context's thread; after warm-up a frame allocates nothing. A background
/// thread accepts clients and one sender per client serializes and sends; a slow client skips to the oldest kept item
/// and is told how many it missed; a client that stops reading is dropped after <see cref="LiveLinkOptions.SendTimeout"/>.</para>
/// <para>Security as <c>neuro serve</c>'s (<see cref="SessionAccess"/>): loopback by default, a per-session token,
/// Host and Origin checks. The protocol is in <c>Documentation~/Monitoring.md</c>.</para>
/// All members except <see cref="Url"/>, <see cref="Port"/>, <see cref="Token"/> and <see cref="Clients"/> on the game
/// thread (the backend's).
/// </summary>
public sealed class LiveLink : IDisposable
{
    /// <summary>Requests waiting for the game thread at most (more are refused as busy).</summary>
    internal const int MaxPendingRequests = 8;
    /// <summary>Feed messages kept serialized for the clients at most (a client further behind serializes again).</summary>
    const int SerializedSlots = 8;

    readonly FrameBudgetedTrainer trainer;
    readonly bool ownsMonitor;
    readonly LiveServer server;
    readonly ConcurrentQueue<LinkRequest> requests = new();
    readonly Queue<(long Id, long Frame, long Step, LiveClient Client)> probesInFlight = new();
    readonly Func<string>? checkpoint;
    readonly TrainingDiagnostics diagnostics;
    NetworkProbe? probe;
    long diagnosticsPublishedAt = -1;
    FrameReport lastReport;
    NonFiniteReport? lastNonFinite;
    long frame;
    volatile bool paused;
    volatile float learningRate;
    bool disposed;

    LiveLink(FrameBudgetedTrainer trainer, LiveLinkOptions options)
    {
        this.trainer = trainer;
        checkpoint = options.Checkpoint;
        ControlEnabled = options.EnableControl;
        Frames = new BoundedFeed<FrameTiming>(options.FrameCapacity);
        Messages = new BoundedFeed<object>(options.MessageCapacity);
        Serialized = new SerializedMessages(Math.Min(options.MessageCapacity, SerializedSlots));
        ownsMonitor = trainer.Monitor is null;
        Monitor = trainer.Monitor ?? TrainingMonitor.Attach(trainer, options.Monitor);
        diagnostics = new TrainingDiagnostics(Monitor.Run);
        RunRecord = LiveMessages.Serialize(Monitor.Run);
        // the samples' writer compiled now, off the game thread, rather than when the first client's first sample is
        // sent (about 13 ms of a core, taken from the game's frames on a small machine)
        _ = Task.Run(MonitorJson.WarmUp);
        learningRate = trainer.Optimizer.LearningRate;
        lastReport = trainer.LastFrame;
        lastNonFinite = trainer.LastNonFinite;
        Monitor.SampleReady += Publish;
        Monitor.EvaluationReady += Publish;
        try
        {
            server = new LiveServer(this, options);
        }
        catch
        {
            Detach();
            throw;
        }
    }

    /// <summary>
    /// Starts the link for <paramref name="trainer"/>: attaches a <see cref="TrainingMonitor"/> unless the trainer carries
    /// one, and listens (<see cref="LiveLinkOptions.Address"/>, loopback by default; another address prints a warning).
    /// Call at a step boundary, on the game thread. Dispose to stop (the game goes on).
    /// </summary>
    /// <exception cref="System.Net.Sockets.SocketException">The port is taken.</exception>
    public static LiveLink Start(FrameBudgetedTrainer trainer, LiveLinkOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        options ??= new LiveLinkOptions();
        options.Validate();
        if (!IPAddress.IsLoopback(options.Address))
            options.Warning($"warning: the live link listens on {options.Address}, reachable from other machines; anyone with the token can watch" +
                (options.EnableControl ? " and steer" : "") + " the training");
        return new LiveLink(trainer, options);
    }

    /// <summary>The monitor whose samples the link publishes.</summary>
    public TrainingMonitor Monitor { get; }

    /// <summary>The findings in force on the game's training, judged from the samples and evaluations the link publishes by
    /// the rules the CLI and the editor use (<see cref="TrainingDiagnostics"/>): dead ReLUs, vanishing gradients, a
    /// diverged run…; empty until the first sample. Clients receive it as a <c>diagnostics</c> record whenever it changes
    /// (not with every sample: the feed's capacity is the samples'); a client that attaches while findings hold, or
    /// that fell behind the feed past the latest change, receives the findings in force before the feed's next items.</summary>
    public DiagnosticReport Diagnostics => diagnostics.Report;

    /// <summary>The port listened on (the real one when 0 was asked).</summary>
    public int Port => server.Port;
    /// <summary>The session token.</summary>
    public string Token => server.Token;
    /// <summary>What to give the editor or <c>neuro monitor</c>: <c>http://127.0.0.1:PORT/?token=TOKEN</c>.</summary>
    public string Url => server.Url;
    /// <summary>Clients connected now.</summary>
    public int Clients => server.ClientCount;
    /// <summary>Whether a client may steer training (<see cref="LiveLinkOptions.EnableControl"/>).</summary>
    public bool ControlEnabled { get; }

    /// <summary>Set by a controlling client's <c>pause</c>: the game skips <c>trainer.Advance</c> while true (inference
    /// and the link go on).</summary>
    public bool TrainingPaused => paused;

    /// <summary>The tensor holding the current game frame as the network sees it (the inference plan's input, filled by
    /// <c>TextureInput</c>): feature-map probes run on its first item, copied on the device. Null: feature maps are refused.</summary>
    public Tensor? FrameInput { get; set; }

    /// <summary>Frames ended so far (<see cref="EndFrame"/> calls).</summary>
    public long FrameCount => frame;

    internal BoundedFeed<FrameTiming> Frames { get; }
    internal BoundedFeed<object> Messages { get; }
    /// <summary>The feed's latest messages as JSON, shared by the clients.</summary>
    internal SerializedMessages Serialized { get; }
    /// <summary>The <c>run</c> record (the graph), serialized when the link started: every client's second message and
    /// <c>GET /api/run</c>.</summary>
    internal byte[] RunRecord { get; }
    internal RunDescription Run => Monitor.Run;
    internal float LearningRate => learningRate;
    internal long Step => Monitor.CompletedSteps;
    internal int PendingRequests => requests.Count;
    /// <summary>The number on <see cref="Messages"/> of the latest <c>diagnostics</c> message (the findings changed then);
    /// −1 before the first.</summary>
    internal long DiagnosticsPublishedAt => Volatile.Read(ref diagnosticsPublishedAt);

    /// <summary>
    /// Call once per frame on the game thread, after the present, with the frame's time: records the frame timing and the
    /// training budget's use (from the trainer's <see cref="FrameBudgetedStages.LastFrame"/> when the trainer ran this frame), publishes
    /// a NaN-guard report the trainer received, delivers the monitor's arrived samples, and serves queued probes and
    /// control requests (at most one probe a frame). Allocates nothing unless a request is served.
    /// </summary>
    public void EndFrame(TimeSpan frameTime)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        frame++;
        learningRate = trainer.Optimizer.LearningRate; // the game (a schedule, its own settings) may change it too: a new client's hello says the current one
        var report = trainer.LastFrame;
        bool trained = report != lastReport; // the trainer ran this frame (a new report; its host time differs at least)
        lastReport = report;
        Frames.Add(new FrameTiming(frame, frameTime.TotalMilliseconds,
            trained ? report.Budget.TotalMilliseconds : 0, trained ? report.HostTime.TotalMilliseconds : 0,
            trainer.LastDeviceFrameTime?.TotalMilliseconds ?? double.NaN, trained ? report.Stages : 0,
            trained ? report.StepsCompleted : 0, Monitor.CompletedSteps, paused));
        if (!ReferenceEquals(trainer.LastNonFinite, lastNonFinite) && trainer.LastNonFinite is { } nonFinite)
        {
            lastNonFinite = nonFinite;
            Messages.Add(nonFinite);
        }
        Monitor.Poll();
        probe?.Poll();
        bool probed = false;
        while (requests.TryPeek(out var request) && !(probed && request.IsProbe))
        {
            requests.TryDequeue(out _);
            probed |= request.IsProbe;
            Serve(request);
        }
    }

    /// <summary>Queues a client's request for the game thread (the server has checked the client may make it).</summary>
    internal void Enqueue(LinkRequest request) => requests.Enqueue(request);

    void Serve(LinkRequest request)
    {
        try
        {
            switch (request.Op)
            {
                case LinkRequest.FeatureMaps:
                    var input = FrameInput ?? throw new InvalidOperationException("the game gave the link no frame input (LiveLink.FrameInput): no feature maps of the current frame");
                    if (!Monitor.Plan.Network.Graph.Nodes.Any(node => node.Name == request.Node))
                        throw new GraphException($"no node '{request.Node}' in the network");
                    Probe().RequestFeatureMaps(request.Node!, input);
                    probesInFlight.Enqueue((request.Id, frame, Monitor.CompletedSteps, request.Client));
                    break;
                case LinkRequest.Filters:
                    Probe().RequestFilters(request.Node);
                    probesInFlight.Enqueue((request.Id, frame, Monitor.CompletedSteps, request.Client));
                    break;
                case LinkRequest.Sample:
                    Monitor.RequestSample();
                    break;
                case LinkRequest.Pause or LinkRequest.Resume:
                    paused = request.Op == LinkRequest.Pause;
                    Controlled(new ControlEvent(request.Id, request.Op, paused, trainer.Optimizer.LearningRate, null));
                    break;
                case LinkRequest.LearningRateOp:
                    trainer.Optimizer.LearningRate = (float)request.Value;
                    learningRate = trainer.Optimizer.LearningRate;
                    Controlled(new ControlEvent(request.Id, request.Op, paused, learningRate, null));
                    break;
                case LinkRequest.Checkpoint:
                    var save = checkpoint ?? throw new InvalidOperationException("the game takes no checkpoints over the link (LiveLinkOptions.Checkpoint is not set)");
                    Controlled(new ControlEvent(request.Id, request.Op, paused, trainer.Optimizer.LearningRate, save()));
                    break;
            }
        }
        catch (Exception e) when (e is GraphException or ShapeException or InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            request.Client.Reply(new LinkReply(request.Id, e.Message));
        }
    }

    /// <summary>A control request carried out: every client hears it on its own reply queue, not from the shared feed, so
    /// a client that fell behind the feed still learns that training paused or the rate changed.</summary>
    void Controlled(ControlEvent done) => server.ReplyToAll(done);

    NetworkProbe Probe()
    {
        if (probe is null)
        {
            probe = new NetworkProbe(Monitor.Plan.Network);
            probe.Ready += images =>
            {
                // to the client that asked, as a reply: the shared feed drops what a slow client has not read yet
                var (id, at, step, client) = probesInFlight.Dequeue();
                client.Reply(new ProbeResult(id, at, step, images));
            };
        }
        return probe;
    }

    void Publish(TrainingSample sample)
    {
        Messages.Add(sample);
        if (diagnostics.Observe(sample)) PublishDiagnostics();
    }

    void Publish(EvaluationSample evaluation)
    {
        Messages.Add(evaluation);
        if (diagnostics.Observe(evaluation)) PublishDiagnostics();
    }

    /// <summary>The findings changed: on the feed, and where, for the clients that will not read them there.</summary>
    void PublishDiagnostics() => Volatile.Write(ref diagnosticsPublishedAt, Messages.Add(diagnostics.Report));

    void Detach()
    {
        Monitor.SampleReady -= Publish;
        Monitor.EvaluationReady -= Publish;
        if (ownsMonitor) Monitor.Dispose();
    }

    /// <summary>Closes every client and stops listening, then detaches the monitor it attached. On the game thread; the
    /// game and its trainer go on. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        server.Dispose();
        probe?.Dispose();
        Detach();
    }
}

/// <summary>One frame as the live link publishes it.</summary>
/// <param name="Frame">Frame number, from 1.</param>
/// <param name="FrameMs">The frame's time as the game measured it (logic to present).</param>
/// <param name="TrainingBudgetMs">The training budget the trainer ran under this frame; 0 when it did not run.</param>
/// <param name="TrainingMs">Host time the trainer spent this frame (its stages' submission; on the CPU backend, the work).</param>
/// <param name="TrainingDeviceMs">GPU time of the latest training frame measured (a few frames late); NaN when unknown.</param>
/// <param name="Stages">Training stages run this frame.</param>
/// <param name="StepsCompleted">Training steps finished this frame.</param>
/// <param name="Step">Training steps completed so far.</param>
/// <param name="Paused">Whether training was paused over the link.</param>
public readonly record struct FrameTiming(long Frame, double FrameMs, double TrainingBudgetMs, double TrainingMs, double TrainingDeviceMs,
    int Stages, int StepsCompleted, long Step, bool Paused);

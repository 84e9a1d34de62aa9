using System.CommandLine;
using System.Net.WebSockets;
using System.Text.Json;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Monitoring.Live;

namespace NeuroPlugin.Editor.Cli;

/// <summary>
/// <c>neuro monitor URL --out FILE.jsonl [--seconds S]</c>: records a game's live link (<see cref="LiveLink"/>) headless,
/// in the JSONL format of <c>neuro train --monitor</c>: the run line, then every training sample and evaluation as the
/// link sends them, each line flushed as it comes. Until S seconds have passed (reconnecting if the game drops the link
/// or restarts), or without <c>--seconds</c> until the game closes the link or Ctrl+C. A reconnect's greeting repeats
/// recent samples: those already recorded are skipped; a different run (a restarted game) is recorded after its run line.
/// </summary>
internal static class MonitorCommand
{
    static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

    public static Command Create()
    {
        var url = new Argument<string>("url") { Description = "The live link's URL with its token, as the game printed it (http://127.0.0.1:PORT/?token=…)" };
        var output = new Option<string>("--out") { Description = "The JSONL file to write (replaced)", Required = true };
        var seconds = new Option<double?>("--seconds") { Description = "Record this long, reconnecting if the link drops (default: until the game closes the link)" };
        var command = new Command("monitor", "Record a running game's live link into a JSONL file, as neuro train --monitor writes") { url, output, seconds };
        command.SetAction(parse => Run(parse.GetValue(url)!, parse.GetValue(output)!, parse.GetValue(seconds)));
        return command;
    }

    /// <summary>The WebSocket address of a link's URL: <c>ws://HOST:PORT/ws?token=…</c>.</summary>
    /// <exception cref="CliErrors.UsageException">Not an http(s)/ws URL, or no token.</exception>
    internal static Uri WebSocketAddress(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "ws"))
            throw new CliErrors.UsageException($"'{url}' is not a live link URL (http://127.0.0.1:PORT/?token=…)");
        string? token = uri.Query.TrimStart('?').Split('&').Select(pair => pair.Split('=', 2))
            .Where(pair => pair.Length == 2 && pair[0] == SessionAccess.TokenQuery).Select(pair => Uri.UnescapeDataString(pair[1])).FirstOrDefault();
        if (string.IsNullOrEmpty(token)) throw new CliErrors.UsageException($"'{url}' has no token: use the URL the game printed (…/?token=…)");
        return new Uri($"ws://{uri.Authority}/ws?{SessionAccess.TokenQuery}={Uri.EscapeDataString(token)}");
    }

    static int Run(string url, string path, double? seconds)
    {
        if (seconds is <= 0 or double.NaN) throw new CliErrors.UsageException($"--seconds must be positive, got {seconds}");
        var address = WebSocketAddress(url);
        using var stop = new CancellationTokenSource();
        if (seconds is double limit) stop.CancelAfter(TimeSpan.FromSeconds(limit));
        ConsoleCancelEventHandler interrupt = (_, e) => { e.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += interrupt;
        try
        {
            using var recorder = new Recorder(path);
            bool connectedOnce = false;
            Exception? lastFailure = null;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    bool closedByGame = RecordOnce(address, recorder, stop.Token).GetAwaiter().GetResult();
                    connectedOnce = true;
                    if (closedByGame && seconds is null) break;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is WebSocketException or HttpRequestException or IOException && !stop.IsCancellationRequested)
                {
                    if (!connectedOnce && seconds is null)
                        throw new IOException($"cannot reach the live link at {address.GetLeftPart(UriPartial.Authority)}: {e.Message}", e);
                    lastFailure = e;
                }
                if (!stop.IsCancellationRequested) stop.Token.WaitHandle.WaitOne(RetryDelay);
            }
            if (!connectedOnce)
                throw new IOException($"could not reach the live link at {address.GetLeftPart(UriPartial.Authority)} within {seconds} s" +
                    (lastFailure is null ? "" : $": {lastFailure.Message}{(lastFailure.InnerException is { } cause ? $" ({cause.Message})" : "")}"));
            Console.WriteLine(recorder.Summary());
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= interrupt;
        }
    }

    /// <summary>One connection: records until the game closes it (true) or <paramref name="stop"/> (false).</summary>
    static async Task<bool> RecordOnce(Uri address, Recorder recorder, CancellationToken stop)
    {
        using var socket = await LiveLinkSocket.ConnectAsync(address, stop);
        try
        {
            while (await socket.ReceiveAsync(stop) is { } message) recorder.Take(message.Span);
            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException && stop.IsCancellationRequested)
        {
            // the stop cancels the pending receive, which ClientWebSocket reports either way: cancelled, or (having
            // aborted the socket for it) a WebSocketException about the aborted state
            await socket.CloseAsync("recording done");
            return false;
        }
    }

    /// <summary>The kinds of live link message the recorder tells apart.</summary>
    enum MessageKind { Other, Hello, Run, Train, Evaluation, Diagnostics, Missed }

    /// <summary>A message's kind and the integers <c>step</c> and <c>messages</c> when written before its first object or
    /// array (the link writes <c>type</c> first, then <c>step</c> and the other scalars): what the recorder needs, read
    /// without parsing a sample's statistics and without allocating.</summary>
    readonly struct MessageHead
    {
        readonly long? step, messages;

        MessageHead(MessageKind kind, long? step, long? messages) => (Kind, this.step, this.messages) = (kind, step, messages);

        public MessageKind Kind { get; }

        /// <exception cref="InvalidDataException">The message has no integer <c>step</c> before its first object or array.</exception>
        public long Step => step ?? throw Missing("step");

        /// <exception cref="InvalidDataException">The message has no integer <c>messages</c> before its first object or array.</exception>
        public long Messages => messages ?? throw Missing("messages");

        InvalidDataException Missing(string name) => new($"a live link '{Kind.ToString().ToLowerInvariant()}' message without the integer '{name}'");

        public static MessageHead Read(ReadOnlySpan<byte> message)
        {
            var reader = new Utf8JsonReader(message);
            var kind = MessageKind.Other;
            long? step = null, messages = null;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) throw new InvalidDataException("a live link message that is not a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isType = reader.ValueTextEquals("type"u8), isStep = reader.ValueTextEquals("step"u8), isMessages = reader.ValueTextEquals("messages"u8);
                reader.Read();
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) break; // the statistics follow
                if (isType && reader.TokenType == JsonTokenType.String) kind = KindOf(ref reader);
                else if ((isStep || isMessages) && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long value))
                {
                    if (isStep) step = value;
                    else messages = value;
                }
            }
            return new MessageHead(kind, step, messages);
        }

        static MessageKind KindOf(ref Utf8JsonReader reader) =>
            reader.ValueTextEquals("train"u8) ? MessageKind.Train
            : reader.ValueTextEquals("evaluation"u8) ? MessageKind.Evaluation
            : reader.ValueTextEquals("diagnostics"u8) ? MessageKind.Diagnostics
            : reader.ValueTextEquals("missed"u8) ? MessageKind.Missed
            : reader.ValueTextEquals("hello"u8) ? MessageKind.Hello
            : reader.ValueTextEquals("run"u8) ? MessageKind.Run
            : MessageKind.Other;
    }

    /// <summary>Writes the run, sample and evaluation messages to the file, once each across reconnects. The file is
    /// replaced when the first message arrives (a link that cannot be reached leaves an earlier recording alone).</summary>
    sealed class Recorder(string path) : IDisposable
    {
        MonitorJsonlWriter? writer;
        byte[]? run;
        long lastTrainStep = -1, lastEvaluationStep = -1, lastDiagnosticsStep = -1, firstStep = -1, samples, evaluations, missed;

        MonitorJsonlWriter File => writer ??= new MonitorJsonlWriter(path, append: false);

        public void Take(ReadOnlySpan<byte> message)
        {
            var head = MessageHead.Read(message);
            switch (head.Kind)
            {
                case MessageKind.Hello:
                    if (head.Step < lastTrainStep) run = null; // a restarted game: its run is recorded anew
                    break;
                case MessageKind.Run:
                    if (run is not null && message.SequenceEqual(run)) return; // the same game, reconnected
                    run = message.ToArray();
                    (lastTrainStep, lastEvaluationStep, lastDiagnosticsStep) = (-1, -1, -1);
                    File.WriteLine(message);
                    break;
                case MessageKind.Train:
                    if (!Record(head.Step, message, ref lastTrainStep)) return;
                    if (firstStep < 0) firstStep = lastTrainStep;
                    samples++;
                    break;
                case MessageKind.Evaluation:
                    if (Record(head.Step, message, ref lastEvaluationStep)) evaluations++;
                    break;
                case MessageKind.Diagnostics:
                    Record(head.Step, message, ref lastDiagnosticsStep); // the findings in force, as `neuro train --monitor` writes them
                    break;
                case MessageKind.Missed:
                    missed += head.Messages;
                    break;
            }
        }

        /// <summary>Writes a step's record unless its step is not past <paramref name="lastStep"/> (already recorded).</summary>
        bool Record(long step, ReadOnlySpan<byte> message, ref long lastStep)
        {
            if (step <= lastStep) return false;
            lastStep = step;
            File.WriteLine(message);
            return true;
        }

        public void Dispose() => writer?.Dispose();

        public string Summary() =>
            $"neuro monitor: recorded {samples} samples" + (samples > 0 ? $" (steps {firstStep}–{lastTrainStep})" : "") +
            $" and {evaluations} evaluations to {path}" + (missed > 0 ? $"; {missed} messages missed (the game went faster than this recorder)" : "");
    }
}

using System.Text.Json;
using NeuroPlugin.Training;

namespace NeuroPlugin.Monitoring.Live;

/// <summary>A client's request, parsed on the server thread and served on the game thread (<see cref="LiveLink.EndFrame"/>).</summary>
internal sealed record LinkRequest(long Id, string Op, string? Node, double Value, LiveClient Client)
{
    public const string FeatureMaps = "featureMaps", Filters = "filters", Sample = "sample";
    public const string Pause = "pause", Resume = "resume", LearningRateOp = "lr", Checkpoint = "checkpoint";

    /// <summary>Requests any client may make.</summary>
    public static readonly string[] ReadOnlyOps = [FeatureMaps, Filters, Sample];
    /// <summary>Requests only a controlling client may make.</summary>
    public static readonly string[] ControlOps = [Pause, Resume, LearningRateOp, Checkpoint];

    public bool IsProbe => Op is FeatureMaps or Filters;
}

/// <summary>A probe's images, with the request that asked and the frame and step they show.</summary>
internal sealed record ProbeResult(long Id, long Frame, long Step, ProbeImages Images);

/// <summary>A control request carried out: the state after it (and a checkpoint's path). Every client gets it as a reply,
/// which a client behind the shared feed cannot miss.</summary>
internal sealed record ControlEvent(long Id, string Op, bool Paused, float LearningRate, string? Path);

/// <summary>A request refused, to the client that made it.</summary>
internal sealed record LinkReply(long Id, string Error);

/// <summary>
/// The live link's messages as JSON (one WebSocket text message each). Training samples, evaluations and the run are
/// <see cref="MonitorJson"/>'s records, byte for byte the lines of a <c>--monitor</c> file; the others are the link's own
/// (<c>hello</c>, <c>frames</c>, <c>probe</c>, <c>nonFinite</c>, <c>control</c>, <c>error</c>, <c>missed</c>).
/// </summary>
internal static class LiveMessages
{
    public const int Protocol = 1;

    /// <summary>Writes any message the feed or a client's replies hold.</summary>
    public static void Write(Utf8JsonWriter json, object message)
    {
        switch (message)
        {
            case TrainingSample sample: MonitorJson.Write(json, sample); break;
            case EvaluationSample evaluation: MonitorJson.Write(json, evaluation); break;
            case DiagnosticReport diagnostics: MonitorJson.Write(json, diagnostics); break;
            case RunDescription run: MonitorJson.Write(json, run); break;
            case ProbeResult probe: Write(json, probe); break;
            case NonFiniteReport report: Write(json, report); break;
            case ControlEvent control: Write(json, control); break;
            case LinkReply reply: Write(json, reply); break;
            default: throw new ArgumentException($"the live link cannot send a {message.GetType().Name}", nameof(message));
        }
    }

    /// <summary>The first message to each client: what it may do and the training's state.</summary>
    public static void WriteHello(Utf8JsonWriter json, LiveLink link, bool mayControl)
    {
        MonitorJson.StartObject(json, "hello");
        json.WriteNumber("protocol", Protocol);
        json.WriteBoolean("controlEnabled", link.ControlEnabled);
        json.WriteBoolean("control", mayControl);
        json.WriteBoolean("paused", link.TrainingPaused);
        json.WriteNumber("lr", link.LearningRate);
        json.WriteNumber("step", link.Step);
        json.WriteNumber("frame", link.FrameCount);
        json.WriteString("firstConvolution", link.Run.Nodes.FirstOrDefault(node => node.Type == "Conv2d")?.Name);
        json.WriteEndObject();
    }

    /// <summary>A batch of frame timings; <c>trainingDeviceMs</c> is null while unknown.</summary>
    public static void WriteFrames(Utf8JsonWriter json, ReadOnlySpan<FrameTiming> frames)
    {
        MonitorJson.StartObject(json, "frames");
        json.WriteStartArray("frames");
        foreach (var frame in frames)
        {
            json.WriteStartObject();
            json.WriteNumber("frame", frame.Frame);
            json.WriteNumber("ms", frame.FrameMs);
            json.WriteNumber("trainingBudgetMs", frame.TrainingBudgetMs);
            json.WriteNumber("trainingMs", frame.TrainingMs);
            MonitorJson.WriteNumber(json, "trainingDeviceMs", frame.TrainingDeviceMs);
            json.WriteNumber("stages", frame.Stages);
            json.WriteNumber("steps", frame.StepsCompleted);
            json.WriteNumber("step", frame.Step);
            json.WriteBoolean("paused", frame.Paused);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>What a slow client skipped since its last such message, and in all.</summary>
    public static void WriteMissed(Utf8JsonWriter json, long messages, long frames, long totalMessages, long totalFrames)
    {
        MonitorJson.StartObject(json, "missed");
        json.WriteNumber("messages", messages);
        json.WriteNumber("frames", frames);
        json.WriteNumber("totalMessages", totalMessages);
        json.WriteNumber("totalFrames", totalFrames);
        json.WriteEndObject();
    }

    /// <summary>A probe: (count, channels, height, width) float32 values, little-endian, base64.</summary>
    static void Write(Utf8JsonWriter json, ProbeResult probe)
    {
        MonitorJson.StartObject(json, "probe");
        json.WriteNumber("id", probe.Id);
        json.WriteNumber("frame", probe.Frame);
        json.WriteNumber("step", probe.Step);
        MonitorJson.WriteMembers(json, probe.Images);
        json.WriteEndObject();
    }

    static void Write(Utf8JsonWriter json, NonFiniteReport report)
    {
        MonitorJson.StartObject(json, "nonFinite");
        json.WriteNumber("step", report.Step);
        json.WriteNumber("skippedUpdates", report.SkippedUpdates);
        json.WriteString("layer", report.Layer);
        MonitorJson.WriteObjects(json, "tensors", report.Tensors, static (json, tensor) =>
        {
            json.WriteString("name", tensor.Name);
            json.WriteString("kind", tensor.Kind.ToString());
            json.WriteString("layer", tensor.Layer);
        });
        json.WriteString("message", report.ToString());
        json.WriteEndObject();
    }

    static void Write(Utf8JsonWriter json, ControlEvent control)
    {
        MonitorJson.StartObject(json, "control");
        json.WriteNumber("id", control.Id);
        json.WriteString("op", control.Op);
        json.WriteBoolean("paused", control.Paused);
        json.WriteNumber("lr", control.LearningRate);
        if (control.Path is not null) json.WriteString("path", control.Path);
        json.WriteEndObject();
    }

    static void Write(Utf8JsonWriter json, LinkReply reply)
    {
        MonitorJson.StartObject(json, "error");
        json.WriteNumber("id", reply.Id);
        json.WriteString("error", reply.Error);
        json.WriteEndObject();
    }
}

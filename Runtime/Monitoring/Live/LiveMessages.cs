using System.Buffers;
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

    /// <summary>The run record as UTF-8 JSON, once (it does not change while the link runs).</summary>
    public static byte[] Serialize(RunDescription run)
    {
        var buffer = new ArrayBufferWriter<byte>(4 * 1024);
        using (var json = new Utf8JsonWriter(buffer)) MonitorJson.Write(json, run);
        return buffer.WrittenSpan.ToArray();
    }

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
        MonitorJson.StartObject(json, "hello"u8);
        json.WriteNumber("protocol"u8, Protocol);
        json.WriteBoolean("controlEnabled"u8, link.ControlEnabled);
        json.WriteBoolean("control"u8, mayControl);
        json.WriteBoolean("paused"u8, link.TrainingPaused);
        json.WriteNumber("lr"u8, link.LearningRate);
        json.WriteNumber("step"u8, link.Step);
        json.WriteNumber("frame"u8, link.FrameCount);
        json.WriteString("firstConvolution"u8, link.Run.Nodes.FirstOrDefault(node => node.Type == "Conv2d")?.Name);
        json.WriteEndObject();
    }

    /// <summary>A batch of frame timings; <c>trainingDeviceMs</c> is null while unknown.</summary>
    public static void WriteFrames(Utf8JsonWriter json, ReadOnlySpan<FrameTiming> frames)
    {
        MonitorJson.StartObject(json, "frames"u8);
        json.WriteStartArray("frames"u8);
        foreach (var frame in frames)
        {
            json.WriteStartObject();
            json.WriteNumber("frame"u8, frame.Frame);
            json.WriteNumber("ms"u8, frame.FrameMs);
            json.WriteNumber("trainingBudgetMs"u8, frame.TrainingBudgetMs);
            json.WriteNumber("trainingMs"u8, frame.TrainingMs);
            MonitorJson.WriteNumber(json, "trainingDeviceMs"u8, frame.TrainingDeviceMs);
            json.WriteNumber("stages"u8, frame.Stages);
            json.WriteNumber("steps"u8, frame.StepsCompleted);
            json.WriteNumber("step"u8, frame.Step);
            json.WriteBoolean("paused"u8, frame.Paused);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>What a slow client skipped since its last such message, and in all.</summary>
    public static void WriteMissed(Utf8JsonWriter json, long messages, long frames, long totalMessages, long totalFrames)
    {
        MonitorJson.StartObject(json, "missed"u8);
        json.WriteNumber("messages"u8, messages);
        json.WriteNumber("frames"u8, frames);
        json.WriteNumber("totalMessages"u8, totalMessages);
        json.WriteNumber("totalFrames"u8, totalFrames);
        json.WriteEndObject();
    }

    /// <summary>A probe: (count, channels, height, width) float32 values, little-endian, base64.</summary>
    static void Write(Utf8JsonWriter json, ProbeResult probe)
    {
        MonitorJson.StartObject(json, "probe"u8);
        json.WriteNumber("id"u8, probe.Id);
        json.WriteNumber("frame"u8, probe.Frame);
        json.WriteNumber("step"u8, probe.Step);
        MonitorJson.WriteMembers(json, probe.Images);
        json.WriteEndObject();
    }

    static void Write(Utf8JsonWriter json, NonFiniteReport report)
    {
        MonitorJson.StartObject(json, "nonFinite"u8);
        json.WriteNumber("step"u8, report.Step);
        json.WriteNumber("skippedUpdates"u8, report.SkippedUpdates);
        json.WriteString("layer"u8, report.Layer);
        MonitorJson.WriteObjects(json, "tensors"u8, report.Tensors, static (json, tensor) =>
        {
            json.WriteString("name"u8, tensor.Name);
            json.WriteString("kind"u8, tensor.Kind.ToString());
            json.WriteString("layer"u8, tensor.Layer);
        });
        json.WriteString("message"u8, report.ToString());
        json.WriteEndObject();
    }

    static void Write(Utf8JsonWriter json, ControlEvent control)
    {
        MonitorJson.StartObject(json, "control"u8);
        json.WriteNumber("id"u8, control.Id);
        json.WriteString("op"u8, control.Op);
        json.WriteBoolean("paused"u8, control.Paused);
        json.WriteNumber("lr"u8, control.LearningRate);
        if (control.Path is not null) json.WriteString("path"u8, control.Path);
        json.WriteEndObject();
    }

    static void Write(Utf8JsonWriter json, LinkReply reply)
    {
        MonitorJson.StartObject(json, "error"u8);
        json.WriteNumber("id"u8, reply.Id);
        json.WriteString("error"u8, reply.Error);
        json.WriteEndObject();
    }
}

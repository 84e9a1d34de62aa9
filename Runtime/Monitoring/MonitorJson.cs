using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace NeuroPlugin.Monitoring;

/// <summary>
/// The JSON form of the monitor's records, one object each, as documented in <c>Documentation~/Monitoring.md</c>: the
/// JSONL run file (<see cref="MonitorJsonlWriter"/>) and any live stream (the editor's WebSocket, a game's live link)
/// write the same objects through these methods. Every object has a <c>"type"</c>: <c>"run"</c>, <c>"train"</c>,
/// <c>"evaluation"</c> or <c>"diagnostics"</c>. Numbers that are not finite (a NaN mean of an all-NaN tensor, a ratio over a zero norm) are
/// written as <c>null</c>, which JSON can hold.
/// </summary>
public static class MonitorJson
{
    /// <summary>Writes the run's description.</summary>
    public static void Write(Utf8JsonWriter json, RunDescription run)
    {
        StartObject(json, "run"u8);
        json.WriteString("backend"u8, run.Backend);
        json.WriteString("device"u8, run.Device);
        json.WriteNumber("batchSize"u8, run.BatchSize);
        json.WriteNumber("every"u8, run.Every);
        json.WriteNumber("histogramBins"u8, run.HistogramBins);
        if (run.Name is not null) json.WriteString("name"u8, run.Name);
        if (run.StartedAt is { } started) json.WriteString("startedAt"u8, started);
        if (run.TotalSteps > 0) json.WriteNumber("totalSteps"u8, run.TotalSteps);
        if (run.Options is not null)
        {
            json.WritePropertyName("options"u8);
            run.Options.WriteTo(json);
        }
        WriteObjects(json, "parameters"u8, run.Parameters, static (json, parameter) =>
        {
            json.WriteString("name"u8, parameter.Name);
            WriteIntegers(json, "shape"u8, parameter.Shape);
        });
        WriteObjects(json, "nodes"u8, run.Nodes, static (json, node) =>
        {
            json.WriteString("name"u8, node.Name);
            json.WriteString("type"u8, node.Type);
            json.WriteStartArray("inputs"u8);
            foreach (string input in node.Inputs) json.WriteStringValue(input);
            json.WriteEndArray();
            WriteIntegers(json, "shape"u8, node.Shape);
        });
        json.WriteEndObject();
    }

    /// <summary>Writes one training sample.</summary>
    public static void Write(Utf8JsonWriter json, TrainingSample sample)
    {
        StartRecord(json, "train"u8, sample.Step, sample.Epoch);
        WriteNumber(json, "loss"u8, sample.Loss);
        WriteNumber(json, "batchAccuracy"u8, sample.BatchAccuracy);
        WriteNumber(json, "lr"u8, sample.LearningRate);
        WriteNumber(json, "imagesPerSecond"u8, sample.ImagesPerSecond);
        WriteNumber(json, "elapsedSeconds"u8, sample.ElapsedSeconds);
        json.WriteNumber("batchSize"u8, sample.BatchSize);
        WriteNumber(json, "forwardMs"u8, sample.ForwardMs);
        WriteNumber(json, "backwardMs"u8, sample.BackwardMs);
        WriteObjects(json, "parameters"u8, sample.Parameters, static (json, parameter) =>
        {
            json.WriteString("name"u8, parameter.Name);
            WriteNumber(json, "weightNorm"u8, parameter.WeightNorm);
            WriteNumber(json, "gradNorm"u8, parameter.GradNorm);
            WriteNumber(json, "updateNorm"u8, parameter.UpdateNorm);
            WriteNumber(json, "updateRatio"u8, parameter.UpdateRatio);
            WriteSingle(json, "min"u8, parameter.Weight.Min);
            WriteSingle(json, "max"u8, parameter.Weight.Max);
            WriteNumber(json, "mean"u8, parameter.Weight.Mean);
            WriteNumber(json, "std"u8, parameter.Weight.Std);
            json.WriteNumber("count"u8, parameter.Weight.Count);
            json.WriteNumber("zeros"u8, parameter.Weight.Zeros);
            json.WriteNumber("nan"u8, parameter.Weight.NaNs);
            json.WriteNumber("inf"u8, parameter.Weight.Infinities);
            json.WriteNumber("nonFinite"u8, parameter.Weight.NonFinite);
            json.WriteNumber("gradNonFinite"u8, parameter.Gradient.NonFinite);
            Write(json, "histogram"u8, parameter.Weight.Histogram);
            Write(json, "gradHistogram"u8, parameter.Gradient.Histogram);
            if (parameter.Update is { } update) Write(json, "updateHistogram"u8, update.Histogram);
        });
        WriteObjects(json, "nodes"u8, sample.Nodes, static (json, node) =>
        {
            json.WriteString("name"u8, node.Name);
            json.WriteString("type"u8, node.Type);
            WriteNumber(json, "mean"u8, node.Mean);
            WriteNumber(json, "std"u8, node.Std);
            WriteSingle(json, "min"u8, node.Output.Min);
            WriteSingle(json, "max"u8, node.Output.Max);
            WriteNumber(json, "zeroFraction"u8, node.ZeroFraction);
            WriteNumber(json, "deadChannelFraction"u8, node.DeadChannelFraction);
            WriteNumber(json, "saturatedFraction"u8, node.SaturatedFraction);
            json.WriteNumber("nonFinite"u8, node.Output.NonFinite);
            WriteNumber(json, "gradNorm"u8, node.GradNorm);
            if (node.Gradient is { } outputGradient) json.WriteNumber("gradNonFinite"u8, outputGradient.NonFinite);
            WriteNumber(json, "forwardMs"u8, node.ForwardMs);
            WriteNumber(json, "backwardMs"u8, node.BackwardMs);
            Write(json, "histogram"u8, node.Output.Histogram);
            if (node.Gradient is { } gradient) Write(json, "gradHistogram"u8, gradient.Histogram);
        });
        json.WriteEndObject();
    }

    /// <summary>Writes one evaluation; each mistake's image as base64 of its bytes (C,H,W), shape in <c>imageShape</c>.</summary>
    public static void Write(Utf8JsonWriter json, EvaluationSample evaluation)
    {
        StartRecord(json, "evaluation"u8, evaluation.Step, evaluation.Epoch);
        json.WriteNumber("count"u8, evaluation.Count);
        WriteNumber(json, "testLoss"u8, evaluation.TestLoss);
        WriteNumber(json, "testAccuracy"u8, evaluation.TestAccuracy);
        json.WriteStartArray("classes"u8);
        foreach (string name in evaluation.ClassNames) json.WriteStringValue(name);
        json.WriteEndArray();
        json.WriteStartArray("confusion"u8);
        foreach (var row in evaluation.Confusion)
        {
            json.WriteStartArray();
            foreach (long count in row) json.WriteNumberValue(count);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.WriteStartArray("classAccuracy"u8);
        foreach (double accuracy in evaluation.ClassAccuracy) WriteNumberValue(json, accuracy);
        json.WriteEndArray();
        WriteIntegers(json, "imageShape"u8, [evaluation.Channels, evaluation.Height, evaluation.Width]);
        WriteObjects(json, "mostConfidentlyWrong"u8, evaluation.MostConfidentlyWrong, static (json, mistake) =>
        {
            json.WriteNumber("index"u8, mistake.Index);
            json.WriteNumber("label"u8, mistake.Label);
            json.WriteNumber("predicted"u8, mistake.Predicted);
            WriteNumber(json, "confidence"u8, mistake.Confidence);
            json.WriteBase64String("pixels"u8, mistake.Pixels);
        });
        json.WriteEndObject();
    }

    /// <summary>Writes the diagnostics in force at a step (<see cref="TrainingDiagnostics"/>): <c>{"type":"diagnostics",
    /// "step","items":[{"kind","title","severity","node","parameter","message","remedy","value","threshold"}]}</c>.</summary>
    public static void Write(Utf8JsonWriter json, DiagnosticReport report)
    {
        StartObject(json, "diagnostics"u8);
        json.WriteNumber("step"u8, report.Step);
        WriteObjects(json, "items"u8, report.Items, static (json, item) =>
        {
            json.WriteString("kind"u8, item.KindName);
            json.WriteString("title"u8, item.Title);
            json.WriteString("severity"u8, item.SeverityName);
            json.WriteString("node"u8, item.Node);
            json.WriteString("parameter"u8, item.Parameter);
            json.WriteNumber("step"u8, item.Step);
            json.WriteString("message"u8, item.Message);
            json.WriteString("remedy"u8, item.Remedy);
            WriteNumber(json, "value"u8, item.Value);
            WriteNumber(json, "threshold"u8, item.Threshold);
        });
        json.WriteEndObject();
    }

    /// <summary>
    /// Compiles the writers of the records that come while a run goes on (<c>train</c>, <c>diagnostics</c>) before their
    /// first use, by writing a placeholder of each into a scratch buffer: otherwise the first sample pays the just-in-time
    /// compilation, about 13 ms of processor time on the development machine against 0.04 ms for each sample after it
    /// (<c>neuro-bench monitor-json</c>). A live link does it on the thread pool when it starts, so that its first
    /// client's first sample does not compete with the game's frames for a core.
    /// </summary>
    public static void WarmUp()
    {
        var histogram = new Histogram(-1, 1, [1, 1]);
        var summary = new TensorSummary(2, -1, 1, 0, 1, 1.5, 0, 0, 0, 0, histogram);
        var sample = new TrainingSample(1, 0, 1, 0.5, 0.1, 100, 1, 1, 0.1, 0.1,
            [new ParameterStatistics("w", summary, summary, summary)], [new NodeStatistics("n", "ReLU", summary, 0, 1, false, summary, 0.1, 0.1)]);
        var report = new DiagnosticReport(1, [new Diagnostic(DiagnosticKind.DeadReLU, DiagnosticSeverity.Warning, "n", 1, "", "", 1, 0.5)]);
        var buffer = new ArrayBufferWriter<byte>(4 * 1024);
        using var json = new Utf8JsonWriter(buffer);
        Write(json, sample);
        json.Reset();
        Write(json, report);
        json.Flush();
    }

    /// <summary>Writes a probe's images as members of the object <paramref name="json"/> is in (the live link's
    /// <c>probe</c> message and the editor's inspector answers): <c>"node","kind","count","channels","height","width"</c>
    /// and <c>"values"</c>, the (count, channels, height, width) values as float32, little-endian, base64.</summary>
    public static void WriteMembers(Utf8JsonWriter json, ProbeImages images)
    {
        json.WriteString("node"u8, images.Node);
        json.WriteString("kind"u8, images.Kind);
        json.WriteNumber("count"u8, images.Count);
        json.WriteNumber("channels"u8, images.Channels);
        json.WriteNumber("height"u8, images.Height);
        json.WriteNumber("width"u8, images.Width);
        // float32, little-endian (every platform .NET runs on)
        json.WriteBase64String("values"u8, MemoryMarshal.AsBytes(images.Values.AsSpan()));
    }

    /// <summary>Opens a record or a live link message: the object and its <c>"type"</c>.</summary>
    internal static void StartObject(Utf8JsonWriter json, ReadOnlySpan<byte> type)
    {
        json.WriteStartObject();
        json.WriteString("type"u8, type);
    }

    /// <summary>Opens a step's record: its type, the step and the epoch.</summary>
    static void StartRecord(Utf8JsonWriter json, ReadOnlySpan<byte> type, long step, int epoch)
    {
        StartObject(json, type);
        json.WriteNumber("step"u8, step);
        json.WriteNumber("epoch"u8, epoch);
    }

    static void Write(Utf8JsonWriter json, ReadOnlySpan<byte> name, Histogram histogram)
    {
        json.WriteStartObject(name);
        WriteSingle(json, "min"u8, histogram.Min);
        WriteSingle(json, "max"u8, histogram.Max);
        json.WriteStartArray("counts"u8);
        var counts = histogram.Counts;
        for (int i = 0; i < counts.Count; i++) json.WriteNumberValue(counts[i]);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>An array property of objects, one per item, each filled by <paramref name="write"/> (indexed: no
    /// enumerator to allocate).</summary>
    internal static void WriteObjects<T>(Utf8JsonWriter json, ReadOnlySpan<byte> name, IReadOnlyList<T> items, Action<Utf8JsonWriter, T> write)
    {
        json.WriteStartArray(name);
        for (int i = 0; i < items.Count; i++)
        {
            json.WriteStartObject();
            write(json, items[i]);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void WriteIntegers(Utf8JsonWriter json, ReadOnlySpan<byte> name, IReadOnlyList<int> values)
    {
        json.WriteStartArray(name);
        for (int i = 0; i < values.Count; i++) json.WriteNumberValue(values[i]);
        json.WriteEndArray();
    }

    /// <summary>A number property; <c>null</c> where the value is not finite (or missing).</summary>
    internal static void WriteNumber(Utf8JsonWriter json, ReadOnlySpan<byte> name, double? value)
    {
        json.WritePropertyName(name);
        WriteNumberValue(json, value);
    }

    /// <summary>A number property holding a float32 value (a tensor's minimum or maximum, a histogram's edge): written
    /// in the shortest form that reads back as the same float32 (<c>0.1</c>, not the widened double's
    /// <c>0.10000000149011612</c>); a value a float32 cannot hold exactly is written as a double, a value that is not
    /// finite as <c>null</c>.</summary>
    static void WriteSingle(Utf8JsonWriter json, ReadOnlySpan<byte> name, double value)
    {
        float single = (float)value;
        if (double.IsFinite(value) && single == value) json.WriteNumber(name, single);
        else WriteNumber(json, name, value);
    }

    static void WriteNumberValue(Utf8JsonWriter json, double? value)
    {
        if (value is double number && double.IsFinite(number)) json.WriteNumberValue(number);
        else json.WriteNullValue();
    }
}

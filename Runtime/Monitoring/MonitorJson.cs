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
        StartObject(json, "run");
        json.WriteString("backend", run.Backend);
        json.WriteString("device", run.Device);
        json.WriteNumber("batchSize", run.BatchSize);
        json.WriteNumber("every", run.Every);
        json.WriteNumber("histogramBins", run.HistogramBins);
        if (run.Name is not null) json.WriteString("name", run.Name);
        if (run.StartedAt is { } started) json.WriteString("startedAt", started);
        if (run.TotalSteps > 0) json.WriteNumber("totalSteps", run.TotalSteps);
        if (run.Options is not null)
        {
            json.WritePropertyName("options");
            run.Options.WriteTo(json);
        }
        WriteObjects(json, "parameters", run.Parameters, static (json, parameter) =>
        {
            json.WriteString("name", parameter.Name);
            WriteIntegers(json, "shape", parameter.Shape);
        });
        WriteObjects(json, "nodes", run.Nodes, static (json, node) =>
        {
            json.WriteString("name", node.Name);
            json.WriteString("type", node.Type);
            json.WriteStartArray("inputs");
            foreach (string input in node.Inputs) json.WriteStringValue(input);
            json.WriteEndArray();
            WriteIntegers(json, "shape", node.Shape);
        });
        json.WriteEndObject();
    }

    /// <summary>Writes one training sample.</summary>
    public static void Write(Utf8JsonWriter json, TrainingSample sample)
    {
        StartRecord(json, "train", sample.Step, sample.Epoch);
        WriteNumber(json, "loss", sample.Loss);
        WriteNumber(json, "batchAccuracy", sample.BatchAccuracy);
        WriteNumber(json, "lr", sample.LearningRate);
        WriteNumber(json, "imagesPerSecond", sample.ImagesPerSecond);
        WriteNumber(json, "elapsedSeconds", sample.ElapsedSeconds);
        json.WriteNumber("batchSize", sample.BatchSize);
        WriteNumber(json, "forwardMs", sample.ForwardMs);
        WriteNumber(json, "backwardMs", sample.BackwardMs);
        WriteObjects(json, "parameters", sample.Parameters, static (json, parameter) =>
        {
            json.WriteString("name", parameter.Name);
            WriteNumber(json, "weightNorm", parameter.WeightNorm);
            WriteNumber(json, "gradNorm", parameter.GradNorm);
            WriteNumber(json, "updateNorm", parameter.UpdateNorm);
            WriteNumber(json, "updateRatio", parameter.UpdateRatio);
            WriteNumber(json, "min", parameter.Weight.Min);
            WriteNumber(json, "max", parameter.Weight.Max);
            WriteNumber(json, "mean", parameter.Weight.Mean);
            WriteNumber(json, "std", parameter.Weight.Std);
            json.WriteNumber("count", parameter.Weight.Count);
            json.WriteNumber("zeros", parameter.Weight.Zeros);
            json.WriteNumber("nan", parameter.Weight.NaNs);
            json.WriteNumber("inf", parameter.Weight.Infinities);
            json.WriteNumber("nonFinite", parameter.Weight.NonFinite);
            json.WriteNumber("gradNonFinite", parameter.Gradient.NonFinite);
            Write(json, "histogram", parameter.Weight.Histogram);
            Write(json, "gradHistogram", parameter.Gradient.Histogram);
            if (parameter.Update is { } update) Write(json, "updateHistogram", update.Histogram);
        });
        WriteObjects(json, "nodes", sample.Nodes, static (json, node) =>
        {
            json.WriteString("name", node.Name);
            json.WriteString("type", node.Type);
            WriteNumber(json, "mean", node.Mean);
            WriteNumber(json, "std", node.Std);
            WriteNumber(json, "min", node.Output.Min);
            WriteNumber(json, "max", node.Output.Max);
            WriteNumber(json, "zeroFraction", node.ZeroFraction);
            WriteNumber(json, "deadChannelFraction", node.DeadChannelFraction);
            WriteNumber(json, "saturatedFraction", node.SaturatedFraction);
            json.WriteNumber("nonFinite", node.Output.NonFinite);
            WriteNumber(json, "gradNorm", node.GradNorm);
            if (node.Gradient is { } outputGradient) json.WriteNumber("gradNonFinite", outputGradient.NonFinite);
            WriteNumber(json, "forwardMs", node.ForwardMs);
            WriteNumber(json, "backwardMs", node.BackwardMs);
            Write(json, "histogram", node.Output.Histogram);
            if (node.Gradient is { } gradient) Write(json, "gradHistogram", gradient.Histogram);
        });
        json.WriteEndObject();
    }

    /// <summary>Writes one evaluation; each mistake's image as base64 of its bytes (C,H,W), shape in <c>imageShape</c>.</summary>
    public static void Write(Utf8JsonWriter json, EvaluationSample evaluation)
    {
        StartRecord(json, "evaluation", evaluation.Step, evaluation.Epoch);
        json.WriteNumber("count", evaluation.Count);
        WriteNumber(json, "testLoss", evaluation.TestLoss);
        WriteNumber(json, "testAccuracy", evaluation.TestAccuracy);
        json.WriteStartArray("classes");
        foreach (string name in evaluation.ClassNames) json.WriteStringValue(name);
        json.WriteEndArray();
        json.WriteStartArray("confusion");
        foreach (var row in evaluation.Confusion)
        {
            json.WriteStartArray();
            foreach (long count in row) json.WriteNumberValue(count);
            json.WriteEndArray();
        }
        json.WriteEndArray();
        json.WriteStartArray("classAccuracy");
        foreach (double accuracy in evaluation.ClassAccuracy) WriteNumberValue(json, accuracy);
        json.WriteEndArray();
        WriteIntegers(json, "imageShape", [evaluation.Channels, evaluation.Height, evaluation.Width]);
        WriteObjects(json, "mostConfidentlyWrong", evaluation.MostConfidentlyWrong, static (json, mistake) =>
        {
            json.WriteNumber("index", mistake.Index);
            json.WriteNumber("label", mistake.Label);
            json.WriteNumber("predicted", mistake.Predicted);
            WriteNumber(json, "confidence", mistake.Confidence);
            json.WriteBase64String("pixels", mistake.Pixels);
        });
        json.WriteEndObject();
    }

    /// <summary>Writes the diagnostics in force at a step (<see cref="TrainingDiagnostics"/>): <c>{"type":"diagnostics",
    /// "step","items":[{"kind","title","severity","node","parameter","message","remedy","value","threshold"}]}</c>.</summary>
    public static void Write(Utf8JsonWriter json, DiagnosticReport report)
    {
        StartObject(json, "diagnostics");
        json.WriteNumber("step", report.Step);
        WriteObjects(json, "items", report.Items, static (json, item) =>
        {
            json.WriteString("kind", item.KindName);
            json.WriteString("title", item.Title);
            json.WriteString("severity", item.SeverityName);
            json.WriteString("node", item.Node);
            json.WriteString("parameter", item.Parameter);
            json.WriteNumber("step", item.Step);
            json.WriteString("message", item.Message);
            json.WriteString("remedy", item.Remedy);
            WriteNumber(json, "value", item.Value);
            WriteNumber(json, "threshold", item.Threshold);
        });
        json.WriteEndObject();
    }

    /// <summary>Writes a probe's images as members of the object <paramref name="json"/> is in (the live link's
    /// <c>probe</c> message and the editor's inspector answers): <c>"node","kind","count","channels","height","width"</c>
    /// and <c>"values"</c>, the (count, channels, height, width) values as float32, little-endian, base64.</summary>
    public static void WriteMembers(Utf8JsonWriter json, ProbeImages images)
    {
        json.WriteString("node", images.Node);
        json.WriteString("kind", images.Kind);
        json.WriteNumber("count", images.Count);
        json.WriteNumber("channels", images.Channels);
        json.WriteNumber("height", images.Height);
        json.WriteNumber("width", images.Width);
        // float32, little-endian (every platform .NET runs on)
        json.WriteBase64String("values", MemoryMarshal.AsBytes(images.Values.AsSpan()));
    }

    /// <summary>Opens a record or a live link message: the object and its <c>"type"</c>.</summary>
    internal static void StartObject(Utf8JsonWriter json, string type)
    {
        json.WriteStartObject();
        json.WriteString("type", type);
    }

    /// <summary>Opens a step's record: its type, the step and the epoch.</summary>
    static void StartRecord(Utf8JsonWriter json, string type, long step, int epoch)
    {
        StartObject(json, type);
        json.WriteNumber("step", step);
        json.WriteNumber("epoch", epoch);
    }

    static void Write(Utf8JsonWriter json, string name, Histogram histogram)
    {
        json.WriteStartObject(name);
        WriteNumber(json, "min", histogram.Min);
        WriteNumber(json, "max", histogram.Max);
        json.WriteStartArray("counts");
        foreach (long count in histogram.Counts) json.WriteNumberValue(count);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>An array property of objects, one per item, each filled by <paramref name="write"/>.</summary>
    internal static void WriteObjects<T>(Utf8JsonWriter json, string name, IEnumerable<T> items, Action<Utf8JsonWriter, T> write)
    {
        json.WriteStartArray(name);
        foreach (var item in items)
        {
            json.WriteStartObject();
            write(json, item);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    static void WriteIntegers(Utf8JsonWriter json, string name, IReadOnlyList<int> values)
    {
        json.WriteStartArray(name);
        foreach (int value in values) json.WriteNumberValue(value);
        json.WriteEndArray();
    }

    /// <summary>A number property; <c>null</c> where the value is not finite (or missing).</summary>
    internal static void WriteNumber(Utf8JsonWriter json, string name, double? value)
    {
        json.WritePropertyName(name);
        WriteNumberValue(json, value);
    }

    static void WriteNumberValue(Utf8JsonWriter json, double? value)
    {
        if (value is double number && double.IsFinite(number)) json.WriteNumberValue(number);
        else json.WriteNullValue();
    }
}

using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Serialization;

/// <summary>
/// What a model says about itself besides its graph and weights, so that a game can hand it pixels and read labelled
/// probabilities without knowing how it was trained:
/// <list type="bullet">
/// <item><see cref="Input"/>: the layout, channels and size of one item and, for images, the colour order or luma (required).</item>
/// <item><see cref="Normalization"/>: <c>y[c] = (Scale·v − Mean[c]) / Std[c]</c> for pixel values <c>v = x/255 ∈ [0,1]</c>.</item>
/// <item><see cref="Labels"/>: one name per class of an (N,K) output.</item>
/// <item><see cref="Provenance"/>: model name, dataset, test accuracy, seed, date and plugin version.</item>
/// </list>
/// A model file keeps them in <c>__metadata__</c> as the JSON strings <c>input</c>, <c>normalization</c>, <c>labels</c> and
/// <c>provenance</c> (<see cref="Entries"/>); an ONNX file as <c>metadata_props</c> with the same keys after
/// <see cref="OnnxKeyPrefix"/>. Every part is checked against the graph when read and when written: the input against
/// the graph's input shape, the labels against its class count, the normalization's values against the channels.
/// </summary>
public sealed record ModelMetadata
{
    /// <summary>The prefix of these entries among an ONNX model's <c>metadata_props</c>, so that other producers' keys
    /// are never read as ours.</summary>
    public const string OnnxKeyPrefix = "neuroplugin.";

    /// <summary>The metadata keys, in the order they are written.</summary>
    public const string InputKey = "input", NormalizationKey = "normalization", LabelsKey = "labels", ProvenanceKey = "provenance";

    /// <summary>How one item of input is laid out (required).</summary>
    public required InputSpecification Input { get; init; }
    /// <summary>How pixel values become input values; null when unknown (a model imported without it).</summary>
    public InputNormalization? Normalization { get; init; }
    /// <summary>The class names, one per output class; null when unknown.</summary>
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>Where the model came from; null when unknown.</summary>
    public ModelProvenance? Provenance { get; init; }

    /// <summary>Equal parts, the labels compared name by name.</summary>
    public bool Equals(ModelMetadata? other) =>
        other is not null && Input == other.Input && Equals(Normalization, other.Normalization) && Equals(Provenance, other.Provenance) &&
        (Labels is null ? other.Labels is null : other.Labels is not null && Labels.SequenceEqual(other.Labels));

    /// <summary>A hash consistent with <see cref="Equals(ModelMetadata?)"/> (labels by count only).</summary>
    public override int GetHashCode() => HashCode.Combine(Input, Normalization, Labels?.Count, Provenance);

    /// <summary>What the graph alone says: its input, with luma for 1 channel and RGB for 3 (<see cref="InputSpecification.FromGraph"/>).</summary>
    public static ModelMetadata Describe(NetworkGraph graph) => new() { Input = InputSpecification.FromGraph(graph) };

    /// <summary>A classifier trained on <paramref name="dataset"/> (8-bit images, 1 channel luma or 3 channels RGB): its
    /// normalization (<see cref="ImageDataset.Normalization"/>, the same for every channel) and class names.</summary>
    public static ModelMetadata ForImageClassifier(NetworkGraph graph, ImageDataset dataset, ModelProvenance? provenance)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var item = InputSpecification.FromGraph(graph).ItemShape;
        var colors = dataset.Channels == 1 ? ChannelOrder.Grayscale : ChannelOrder.Rgb;
        return new ModelMetadata
        {
            Input = new InputSpecification(item, item.Rank == 3 && item[0] == dataset.Channels ? colors : InputSpecification.DefaultColors(item)),
            Normalization = new InputNormalization([dataset.Normalization.Mean], [dataset.Normalization.Std]),
            Labels = [.. dataset.ClassNames],
            Provenance = provenance,
        };
    }

    /// <summary>The parts that still fit <paramref name="graph"/> (after an edit): the input is the graph's (keeping the colours
    /// when the shape is unchanged), the normalization is kept when its values fit the channels, the labels when the class
    /// count is unchanged; the provenance is kept.</summary>
    public ModelMetadata FitTo(NetworkGraph graph)
    {
        var described = InputSpecification.FromGraph(graph);
        var input = described.ItemShape == Input.ItemShape ? Input : described;
        return new ModelMetadata
        {
            Input = input,
            Normalization = Normalization is { } n && n.Fits(input.Channels) ? n : null,
            Labels = Labels is { } labels && ClassCount(graph) == labels.Count ? labels : null,
            Provenance = Provenance,
        };
    }

    /// <summary>The first part that does not fit <paramref name="graph"/> as <c>"field: problem"</c>, or null when all fit.</summary>
    public string? Mismatch(NetworkGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var graphInput = graph.Inputs[0];
        if (Input.ItemShape != graphInput.ItemShape)
            return $"{InputKey}: {Input} does not match the graph's input '{graphInput.Name}' {graphInput.ItemShape}";
        if (Normalization is { } n && !n.Fits(Input.Channels))
            return $"{NormalizationKey}: {n.Mean.Count} means and {n.Std.Count} standard deviations for {Input.Channels} channels (give 1 or {Input.Channels} of each)";
        if (Labels is { } labels)
        {
            int? classes = ClassCount(graph);
            if (classes is null)
                return $"{LabelsKey}: the output '{graph.Output}' {graph.InferShapes(1)[graph.Output]} is not (N,K) class scores";
            if (labels.Count != classes)
                return $"{LabelsKey}: {labels.Count} labels for the {classes} classes of output '{graph.Output}'";
        }
        return null;
    }

    /// <summary>K of an (N,K) output, or null for outputs of another rank.</summary>
    static int? ClassCount(NetworkGraph graph)
    {
        var output = graph.InferShapes(1)[graph.Output];
        return output.Rank == 2 ? output[1] : null;
    }

    /// <summary>The entries to store, key and JSON text: <c>input</c> always, the others when known.</summary>
    public IEnumerable<KeyValuePair<string, string>> Entries()
    {
        yield return new(InputKey, Input.ToJson().ToJsonString());
        if (Normalization is { } n) yield return new(NormalizationKey, n.ToJson().ToJsonString());
        if (Labels is { } labels) yield return new(LabelsKey, new JsonArray([.. labels.Select(l => (JsonNode)l)]).ToJsonString());
        if (Provenance is { } p) yield return new(ProvenanceKey, p.ToJson().ToJsonString());
    }

    /// <summary>Reads the entries <paramref name="lookup"/> gives by key (null: absent) and checks them against
    /// <paramref name="graph"/>. A missing <c>input</c> is described from the graph when <paramref name="inputRequired"/> is
    /// false (an ONNX file from another producer).</summary>
    /// <exception cref="FormatException">An entry is not valid JSON, has an unknown or ill-typed field, or does not fit
    /// the graph; the message starts with the key and the field (<c>labels: 9 labels for the 10 classes…</c>).</exception>
    public static ModelMetadata Read(Func<string, string?> lookup, NetworkGraph graph, bool inputRequired)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        ArgumentNullException.ThrowIfNull(graph);
        string? input = lookup(InputKey);
        if (input is null && inputRequired) throw new FormatException($"{InputKey} is missing");
        var metadata = new ModelMetadata
        {
            Input = input is null ? InputSpecification.FromGraph(graph) : InputSpecification.FromJson(Object(input, InputKey)),
            Normalization = lookup(NormalizationKey) is { } n ? InputNormalization.FromJson(Object(n, NormalizationKey)) : null,
            Labels = lookup(LabelsKey) is { } l ? ReadLabels(l) : null,
            Provenance = lookup(ProvenanceKey) is { } p ? ModelProvenance.FromJson(Object(p, ProvenanceKey)) : null,
        };
        if (metadata.Mismatch(graph) is { } problem) throw new FormatException(problem);
        return metadata;
    }

    static IReadOnlyList<string> ReadLabels(string json)
    {
        if (Parse(json, LabelsKey) is not JsonArray array) throw new FormatException($"{LabelsKey} must be a JSON array of strings");
        var labels = new string[array.Count];
        for (int i = 0; i < labels.Length; i++)
            labels[i] = array[i] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new FormatException($"{LabelsKey}[{i}] must be a string");
        return labels;
    }

    static JsonObject Object(string json, string key) =>
        Parse(json, key) as JsonObject ?? throw new FormatException($"{key} must be a JSON object");

    static JsonNode? Parse(string json, string key)
    {
        try
        {
            return StrictJson.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{key} is not valid JSON: {e.Message}", e);
        }
    }

    // Field readers shared by the parts: each refuses an unknown field and names the one it reads.

    internal static void RefuseUnknown(JsonObject o, string owner, params string[] known)
    {
        foreach (var (name, _) in o)
            if (Array.IndexOf(known, name) < 0)
                throw new FormatException($"{owner}.{name} is not a known field (known: {string.Join(", ", known)})");
    }

    internal static int ReadInt(JsonObject o, string owner, string field) =>
        o[field] is JsonValue v && v.TryGetValue(out int x) ? x : throw new FormatException($"{owner}.{field} must be an integer");

    internal static string? ReadOptionalString(JsonObject o, string owner, string field) => o[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new FormatException($"{owner}.{field} must be a string"),
    };

    internal static float[] ReadFloats(JsonObject o, string owner, string field)
    {
        if (o[field] is not JsonArray array || array.Count == 0) throw new FormatException($"{owner}.{field} must be a non-empty array of numbers");
        var values = new float[array.Count];
        for (int i = 0; i < values.Length; i++)
            values[i] = array[i] is JsonValue v && v.TryGetValue(out double d) ? (float)d : throw new FormatException($"{owner}.{field}[{i}] must be a number");
        return values;
    }
}

/// <summary>
/// One item of a model's input: its shape without the batch axis and its layout — <c>NCHW</c> for (C,H,W) images,
/// <c>NCL</c> for (C,L) sequences, <c>NC</c> for (F) feature vectors — and, for images of 1 or 3 channels, what the
/// channels are (<see cref="ChannelOrder"/>: luma, R G B, or B G R). File form:
/// <c>{"layout":"NCHW","channels":1,"height":28,"width":28,"colors":"luma"}</c>, <c>{"layout":"NC","channels":784}</c>.
/// </summary>
public sealed record InputSpecification
{
    /// <summary>An input of item shape <paramref name="itemShape"/> (rank 1 to 3) with <paramref name="colors"/>.</summary>
    /// <exception cref="ArgumentException">Colours for a shape that is not (1,H,W) (luma) or (3,H,W) (RGB, BGR).</exception>
    public InputSpecification(TensorShape itemShape, ChannelOrder? colors)
    {
        if (itemShape.Rank is < 1 or > 3) throw new ArgumentException($"an input item has 1 to 3 axes, got {itemShape}", nameof(itemShape));
        if (colors is { } order && !(itemShape.Rank == 3 && itemShape[0] == (order == ChannelOrder.Grayscale ? 1 : 3)))
            throw new ArgumentException($"colors {ColorName(order)} need a (C,H,W) input of {(order == ChannelOrder.Grayscale ? 1 : 3)} channels, got {itemShape}", nameof(colors));
        ItemShape = itemShape;
        Colors = colors;
    }

    /// <summary>The item shape, e.g. (1,28,28).</summary>
    public TensorShape ItemShape { get; }
    /// <summary>What the channels of an image input are; null when the input is not a 1- or 3-channel image.</summary>
    public ChannelOrder? Colors { get; }
    /// <summary><c>NCHW</c>, <c>NCL</c> or <c>NC</c>: the batch axis, then the item's axes.</summary>
    public string Layout => ItemShape.Rank switch { 3 => "NCHW", 2 => "NCL", _ => "NC" };
    /// <summary>C (or F for a feature vector).</summary>
    public int Channels => ItemShape[0];
    /// <summary>True for a (C,H,W) input whose channels are known colours: it takes images.</summary>
    public bool IsImage => Colors is not null;

    /// <summary>The graph's first input, with luma for a (1,H,W) and RGB for a (3,H,W) image (the convention of every
    /// writer before format 3: Fashion-MNIST and grey image folders, RGB image folders, torchvision models).</summary>
    public static InputSpecification FromGraph(NetworkGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.Inputs.Count == 0) throw new GraphException("the graph has no input");
        var item = graph.Inputs[0].ItemShape;
        return new InputSpecification(item, DefaultColors(item));
    }

    /// <summary>Luma for (1,H,W), RGB for (3,H,W), none otherwise.</summary>
    public static ChannelOrder? DefaultColors(TensorShape item) => item.Rank != 3 ? null : item[0] switch
    {
        1 => ChannelOrder.Grayscale,
        3 => ChannelOrder.Rgb,
        _ => null,
    };

    /// <summary>"luma", "rgb" or "bgr": the file's names.</summary>
    public static string ColorName(ChannelOrder colors) => colors switch
    {
        ChannelOrder.Grayscale => "luma",
        ChannelOrder.Bgr => "bgr",
        _ => "rgb",
    };

    /// <summary>The colour order named <paramref name="name"/> (<see cref="ColorName"/>).</summary>
    /// <exception cref="FormatException">Another name.</exception>
    public static ChannelOrder ParseColors(string name) => name switch
    {
        "luma" => ChannelOrder.Grayscale,
        "rgb" => ChannelOrder.Rgb,
        "bgr" => ChannelOrder.Bgr,
        _ => throw new FormatException($"colors must be luma, rgb or bgr, got '{name}'"),
    };

    internal JsonObject ToJson()
    {
        var o = new JsonObject { ["layout"] = Layout, ["channels"] = ItemShape[0] };
        if (ItemShape.Rank == 3) { o["height"] = ItemShape[1]; o["width"] = ItemShape[2]; }
        if (ItemShape.Rank == 2) o["length"] = ItemShape[1];
        if (Colors is { } colors) o["colors"] = ColorName(colors);
        return o;
    }

    internal static InputSpecification FromJson(JsonObject o)
    {
        const string owner = ModelMetadata.InputKey;
        string layout = ModelMetadata.ReadOptionalString(o, owner, "layout") ?? throw new FormatException($"{owner}.layout is missing");
        string[] axes = layout switch
        {
            "NCHW" => ["channels", "height", "width"],
            "NCL" => ["channels", "length"],
            "NC" => ["channels"],
            _ => throw new FormatException($"{owner}.layout must be NCHW, NCL or NC, got '{layout}'"),
        };
        ModelMetadata.RefuseUnknown(o, owner, [.. axes, "layout", "colors"]);
        var dims = new int[axes.Length];
        for (int i = 0; i < axes.Length; i++)
            if ((dims[i] = ModelMetadata.ReadInt(o, owner, axes[i])) < 1) throw new FormatException($"{owner}.{axes[i]} must be at least 1, got {dims[i]}");
        ChannelOrder? colors = null;
        if (ModelMetadata.ReadOptionalString(o, owner, "colors") is { } name)
        {
            try
            {
                colors = ParseColors(name);
            }
            catch (FormatException e)
            {
                throw new FormatException($"{owner}.{e.Message}");
            }
        }
        try
        {
            return new InputSpecification(TensorShape.Of(dims), colors);
        }
        catch (Exception e) when (e is ArgumentException or ShapeException)
        {
            throw new FormatException($"{owner}: {e.Message}");
        }
    }

    /// <summary>"NCHW (1,28,28) luma", "NC (784)".</summary>
    public override string ToString() => $"{Layout} {ItemShape}{(Colors is { } c ? " " + ColorName(c) : "")}";
}

/// <summary>
/// How pixel values become input values: <c>y[c] = (Scale·v − Mean[c]) / Std[c]</c> with <c>v = x/255 ∈ [0,1]</c>
/// (torchvision's <c>ToTensor</c> then <c>Normalize(mean, std)</c> with Scale 1; Scale 255 for a model that takes
/// [0,255]). Mean and Std hold one value per channel, or one for every channel. File form:
/// <c>{"scale":1,"mean":[0.286],"std":[0.353]}</c>.
/// </summary>
public sealed record InputNormalization
{
    /// <summary>A normalization; <paramref name="mean"/> and <paramref name="std"/> of equal counts.</summary>
    /// <exception cref="ArgumentException">Empty or unequal counts, a value that is not finite, a std or scale that is not positive.</exception>
    public InputNormalization(IReadOnlyList<float> mean, IReadOnlyList<float> std, float scale = 1f)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
            throw new ArgumentException($"mean and std need the same number of values (1, or one per channel), got {mean.Count} and {std.Count}", nameof(std));
        for (int c = 0; c < mean.Count; c++)
        {
            if (!float.IsFinite(mean[c])) throw new ArgumentException($"mean[{c}] must be finite, got {mean[c]}", nameof(mean));
            if (!(std[c] > 0) || !float.IsFinite(std[c])) throw new ArgumentException($"std[{c}] must be finite and > 0, got {std[c]}", nameof(std));
        }
        if (!(scale > 0) || !float.IsFinite(scale)) throw new ArgumentException($"scale must be finite and > 0, got {scale}", nameof(scale));
        Mean = [.. mean];
        Std = [.. std];
        Scale = scale;
    }

    /// <summary>Multiplies <c>v ∈ [0,1]</c> before the mean is subtracted.</summary>
    public float Scale { get; }
    /// <summary>Per-channel mean (or one for all).</summary>
    public IReadOnlyList<float> Mean { get; }
    /// <summary>Per-channel standard deviation, each &gt; 0 (or one for all).</summary>
    public IReadOnlyList<float> Std { get; }

    /// <summary>Equal scale, means and standard deviations.</summary>
    public bool Equals(InputNormalization? other) =>
        other is not null && Scale == other.Scale && Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    /// <summary>A hash consistent with <see cref="Equals(InputNormalization?)"/> (the scale, the count and first channel's mean and std).</summary>
    public override int GetHashCode() => HashCode.Combine(Scale, Mean.Count, Mean[0], Std[0]);

    /// <summary>The input value of an 8-bit pixel <paramref name="pixel"/> in <paramref name="channel"/>:
    /// <c>(Scale·pixel/255 − Mean[c]) / Std[c]</c>.</summary>
    public float Apply(byte pixel, int channel = 0)
    {
        int c = Mean.Count == 1 ? 0 : channel;
        return (pixel / 255f * Scale - Mean[c]) / Std[c];
    }

    /// <summary>True when the values fit an input of <paramref name="channels"/> channels: one, or one per channel.</summary>
    public bool Fits(int channels) => Mean.Count == 1 || Mean.Count == channels;

    /// <summary>The transform from RGBA images to this input (<see cref="ImageInputTransform"/>, whose CPU and GPU paths
    /// apply it) with the given colours and resize mode.</summary>
    public ImageInputTransform ToTransform(ChannelOrder colors, ResizeMode resize) => new(colors, resize, Scale, Mean, Std);

    internal JsonObject ToJson() => new()
    {
        ["scale"] = Scale,
        ["mean"] = new JsonArray([.. Mean.Select(v => (JsonNode)v)]),
        ["std"] = new JsonArray([.. Std.Select(v => (JsonNode)v)]),
    };

    internal static InputNormalization FromJson(JsonObject o)
    {
        const string owner = ModelMetadata.NormalizationKey;
        ModelMetadata.RefuseUnknown(o, owner, "scale", "mean", "std");
        float scale = o["scale"] is null ? 1f
            : o["scale"] is JsonValue v && v.TryGetValue(out double d) ? (float)d : throw new FormatException($"{owner}.scale must be a number");
        try
        {
            return new InputNormalization(ModelMetadata.ReadFloats(o, owner, "mean"), ModelMetadata.ReadFloats(o, owner, "std"), scale);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{owner}: {e.Message}");
        }
    }

    /// <summary>"(1·v − [0.286]) / [0.353]".</summary>
    public override string ToString() =>
        $"({Scale.ToString(CultureInfo.InvariantCulture)}·v − [{string.Join(", ", Mean.Select(Number))}]) / [{string.Join(", ", Std.Select(Number))}]";

    static string Number(float v) => v.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Where a model came from: every field optional. File form: <c>{"model":"lenet5","dataset":"fashion-mnist",
/// "testAccuracy":0.8897,"seed":1,"date":"2026-11-28T10:15:00Z","pluginVersion":"0.1.0"}</c>.
/// </summary>
public sealed record ModelProvenance
{
    /// <summary>The model's name (a zoo name such as <c>lenet5</c>, or the file it was imported from).</summary>
    public string? ModelName { get; init; }
    /// <summary>What it was trained on (<c>fashion-mnist</c>, <c>folder:pics</c>).</summary>
    public string? Dataset { get; init; }
    /// <summary>Accuracy on the test set, in [0,1].</summary>
    public double? TestAccuracy { get; init; }
    /// <summary>The training seed.</summary>
    public int? Seed { get; init; }
    /// <summary>When it was written.</summary>
    public DateTimeOffset? Date { get; init; }
    /// <summary>The NeuroPlugin version that wrote it.</summary>
    public string? PluginVersion { get; init; }

    /// <summary>This build's version: the Runtime assembly's informational version, which the build takes from
    /// <c>package.json</c>.</summary>
    public static string CurrentPluginVersion { get; } =
        typeof(ModelProvenance).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>A provenance dated now (to the second, UTC) by this build.</summary>
    public static ModelProvenance Now(string? modelName, string? dataset, double? testAccuracy, int? seed)
    {
        var now = DateTimeOffset.UtcNow;
        return new ModelProvenance
        {
            ModelName = modelName, Dataset = dataset, TestAccuracy = testAccuracy, Seed = seed,
            Date = new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero),
            PluginVersion = CurrentPluginVersion,
        };
    }

    internal JsonObject ToJson()
    {
        var o = new JsonObject();
        if (ModelName is not null) o["model"] = ModelName;
        if (Dataset is not null) o["dataset"] = Dataset;
        if (TestAccuracy is { } accuracy) o["testAccuracy"] = accuracy;
        if (Seed is { } seed) o["seed"] = seed;
        if (Date is { } date) o["date"] = DateText(date);
        if (PluginVersion is not null) o["pluginVersion"] = PluginVersion;
        return o;
    }

    /// <summary>ISO 8601 in UTC to the second: <c>2026-11-28T10:15:00Z</c>.</summary>
    static string DateText(DateTimeOffset date) => date.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    internal static ModelProvenance FromJson(JsonObject o)
    {
        const string owner = ModelMetadata.ProvenanceKey;
        ModelMetadata.RefuseUnknown(o, owner, "model", "dataset", "testAccuracy", "seed", "date", "pluginVersion");
        double? accuracy = null;
        if (o["testAccuracy"] is not null)
            accuracy = o["testAccuracy"] is JsonValue v && v.TryGetValue(out double a) && a is >= 0 and <= 1 ? a
                : throw new FormatException($"{owner}.testAccuracy must be a number in [0, 1]");
        DateTimeOffset? date = null;
        if (ModelMetadata.ReadOptionalString(o, owner, "date") is { } text)
            date = DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed) ? parsed
                : throw new FormatException($"{owner}.date must be an ISO 8601 date and time, got '{text}'");
        return new ModelProvenance
        {
            ModelName = ModelMetadata.ReadOptionalString(o, owner, "model"),
            Dataset = ModelMetadata.ReadOptionalString(o, owner, "dataset"),
            TestAccuracy = accuracy,
            Seed = o["seed"] is null ? null : ModelMetadata.ReadInt(o, owner, "seed"),
            Date = date,
            PluginVersion = ModelMetadata.ReadOptionalString(o, owner, "pluginVersion"),
        };
    }

    /// <summary>"lenet5 on fashion-mnist, test accuracy 88.97 %, seed 1, 2026-11-28T10:15:00Z, NeuroPlugin 0.1.0" (the known parts).</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (ModelName is not null || Dataset is not null)
            parts.Add(Dataset is null ? ModelName! : $"{ModelName ?? "model"} on {Dataset}");
        if (TestAccuracy is { } a) parts.Add($"test accuracy {(a * 100).ToString("F2", CultureInfo.InvariantCulture)} %");
        if (Seed is { } s) parts.Add($"seed {s}");
        if (Date is { } d) parts.Add(DateText(d));
        if (PluginVersion is not null) parts.Add($"NeuroPlugin {PluginVersion}");
        return string.Join(", ", parts);
    }
}

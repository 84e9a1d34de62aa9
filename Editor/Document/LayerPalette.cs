using System.Text.Json.Nodes;
using NeuroPlugin.Layers;

namespace NeuroPlugin.Editor.Document;

/// <summary>
/// Every layer type the runtime can build (<see cref="LayerFactory"/>), grouped for the editor's palette, with the
/// attribute schema the side panel shows. Defaults and kinds come from a sample layer's own
/// <see cref="Layer.Attributes"/>, so the schema cannot drift from what <see cref="LayerFactory.Create"/> reads.
/// <see cref="InferredAttributes"/> (input channels and features, merge input counts) are not edited: the document
/// fills them from the connected inputs.
/// </summary>
internal static class LayerPalette
{
    /// <summary>The pseudo-type of graph inputs: attributes <c>channels</c>, <c>height</c>, <c>width</c> (an image) or
    /// <c>features</c> (a flat vector).</summary>
    public const string InputType = "Input";

    /// <summary>Attributes the document derives from the input shapes and connection counts.</summary>
    public static readonly IReadOnlySet<string> InferredAttributes = new HashSet<string>(StringComparer.Ordinal)
        { "inChannels", "inFeatures", "numFeatures", "inputCount" };

    /// <summary>One palette entry: the type, its group, its input count (−1: any number ≥ 2) and a sample layer.</summary>
    public sealed record Entry(string Type, string Group, int Inputs, Func<Layer> Sample);

    static readonly Entry[] entries =
    [
        new("Conv2d", "convolution", 1, () => new Conv2d(1, 16, 3, padding: 1)),
        new("Linear", "linear", 1, () => new Linear(1, 10)),
        new("Flatten", "shape", 1, () => new Flatten()),
        new("ChannelPad", "shape", 1, () => new ChannelPad(16)),
        new("MaxPool2d", "pooling", 1, () => new MaxPool2d(2)),
        new("AvgPool2d", "pooling", 1, () => new AvgPool2d(Backends.Window2d.Square(2, 2, 0), countIncludePad: true)),
        new("AdaptiveAvgPool2d", "pooling", 1, () => new AdaptiveAvgPool2d(1, 1)),
        // either size [H, W] or scaleFactor [h, w]: setting one to null leaves the other
        new("Upsample", "shape", 1, () => Upsample.WithScaleFactor(2f, 2f)),
        new("GlobalAvgPool2d", "pooling", 1, () => new GlobalAvgPool2d()),
        new("GlobalMaxPool2d", "pooling", 1, () => new GlobalMaxPool2d()),
        new("ReLU", "activation", 1, Activation.ReLU),
        new("LeakyReLU", "activation", 1, () => Activation.LeakyReLU()),
        new("ReLU6", "activation", 1, Activation.ReLU6),
        new("Sigmoid", "activation", 1, Activation.Sigmoid),
        new("Tanh", "activation", 1, Activation.Tanh),
        new("SiLU", "activation", 1, Activation.SiLU),
        new("HardSigmoid", "activation", 1, Activation.HardSigmoid),
        new("HardSwish", "activation", 1, Activation.HardSwish),
        new("BatchNorm2d", "normalization", 1, () => new BatchNorm2d(1)),
        new("BatchNorm1d", "normalization", 1, () => new BatchNorm1d(1)),
        new("LocalResponseNorm", "normalization", 1, () => new LocalResponseNorm(5)),
        new("Dropout", "regularization", 1, () => new Dropout()),
        new("StochasticDepth", "regularization", 2, () => new StochasticDepth()),
        new("ShakeShake", "regularization", 3, () => new ShakeShake()),
        new("ShakeDrop", "regularization", 2, () => new ShakeDrop()),
        new("Swapout", "regularization", 2, () => new Swapout()),
        new("Add", "merge", -1, () => new Add()),
        new("Concat", "merge", -1, () => new Concat()),
        new("ChannelMultiply", "merge", 2, () => new ChannelMultiply()),
        new("FractalJoin", "merge", -1, () => new FractalJoin([0, 1], 2)),
        // the training loss is softmax cross-entropy on the output node, applied by the plan; Softmax turns logits into probabilities for inference
        new("Softmax", "loss", 1, () => new Softmax()),
    ];

    static readonly Dictionary<string, Entry> byType = entries.ToDictionary(e => e.Type, StringComparer.Ordinal);

    /// <summary>Every layer entry, palette order.</summary>
    public static IReadOnlyList<Entry> Entries => entries;

    /// <summary>The entry of <paramref name="type"/>, or null for an unknown type (and for <see cref="InputType"/>).</summary>
    public static Entry? Find(string type) => byType.GetValueOrDefault(type);

    /// <summary>True for a type the palette offers (a layer type or <see cref="InputType"/>).</summary>
    public static bool IsKnown(string type) => type == InputType || byType.ContainsKey(type);

    /// <summary>The default attributes of <paramref name="type"/> without the inferred ones (a fresh object).</summary>
    public static JsonObject Defaults(string type)
    {
        if (type == InputType) return new JsonObject { ["channels"] = 1, ["height"] = 28, ["width"] = 28 };
        var attributes = (byType.GetValueOrDefault(type) ?? throw new ArgumentException($"unknown layer type '{type}'")).Sample().Attributes();
        foreach (string name in InferredAttributes) attributes.Remove(name);
        return attributes;
    }

    /// <summary>The palette as the <c>GET /api/layers</c> JSON (see Documentation~/EditorProtocol.md).</summary>
    public static JsonArray ToJson()
    {
        var list = new JsonArray
        {
            new JsonObject
            {
                ["type"] = InputType, ["group"] = "io", ["inputs"] = 0,
                ["attributes"] = new JsonArray(
                    Schema("channels", 1), Schema("height", 28), Schema("width", 28),
                    new JsonObject { ["name"] = "features", ["kind"] = "int", ["min"] = 1, ["optional"] = true }),
            },
        };
        foreach (var entry in entries)
        {
            var schema = new JsonArray();
            foreach (var (name, value) in entry.Sample().Attributes())
                schema.Add(Schema(name, value));
            list.Add(new JsonObject { ["type"] = entry.Type, ["group"] = entry.Group, ["inputs"] = entry.Inputs, ["attributes"] = schema });
        }
        return list;
    }

    /// <summary>One attribute's schema: its kind read from the sample value, the default, a lower bound where the
    /// runtime has an obvious one, and <c>inferred</c> for the ones the document fills.</summary>
    static JsonObject Schema(string name, JsonNode? value)
    {
        var schema = new JsonObject { ["name"] = name };
        switch (value)
        {
            case JsonArray array:
                schema["kind"] = array.All(x => x is JsonValue v && (v.TryGetValue(out int _) || v.TryGetValue(out long _))) ? "ints" : "floats";
                if (name != "columns") schema["length"] = array.Count;
                break;
            case JsonValue v when v.TryGetValue(out bool _):
                schema["kind"] = "bool";
                break;
            case JsonValue v when v.TryGetValue(out string? _):
                schema["kind"] = "string";
                break;
            case JsonValue v when v.TryGetValue(out int _) || v.TryGetValue(out long _):
                schema["kind"] = "int";
                break;
            default:
                schema["kind"] = "float";
                break;
        }
        if (InferredAttributes.Contains(name))
        {
            schema["inferred"] = true;
            return schema;
        }
        schema["default"] = value?.DeepClone();
        if (name is "padding") schema["min"] = 0;
        else if (name is "outChannels" or "outFeatures" or "kernelSize" or "stride" or "dilation" or "groups" or "size" or "outputSize"
                 or "channels" or "height" or "width" or "columnCount") schema["min"] = 1;
        else if (name is "p") { schema["min"] = 0; schema["max"] = 1; }
        if (name is "scaleFactor") schema["alternative"] = "size";
        return schema;
    }
}

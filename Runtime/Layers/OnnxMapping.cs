using System.Text.Json.Nodes;

namespace NeuroPlugin.Layers;

/// <summary>
/// How a layer type maps to ONNX (ai.onnx, as <c>Serialization/Onnx</c> writes and reads it): the forms the exporter
/// writes, each with the op types it emits, and the op types the importer turns into this layer. The registry test
/// exports every form as a one-node network and checks both lists against the exporter and the importer.
/// </summary>
public sealed class OnnxMapping(IReadOnlyList<OnnxForm> export, IReadOnlyList<string> import)
{
    /// <summary>The forms the exporter writes; the first is the layer's with its defaults. Empty: no ONNX form.</summary>
    public IReadOnlyList<OnnxForm> Export { get; } = export;
    /// <summary>The op types the importer reads as this layer (alone or as a pattern such as x·Sigmoid(x)). Empty: none.</summary>
    public IReadOnlyList<string> Import { get; } = import;

    /// <summary>Exported as one op of type <paramref name="op"/> and imported from it (Conv2d ↔ Conv).</summary>
    public static OnnxMapping Same(string op) => new([new OnnxForm(op)], [op]);

    /// <summary>Exported as <paramref name="ops"/> and not imported (the importer does not recognize the pattern).</summary>
    public static OnnxMapping ExportOnly(params string[] ops) => new([new OnnxForm(ops)], []);
}

/// <summary>
/// One form the exporter writes for a layer type: the distinct op types of the ONNX nodes it emits for the layer built from
/// its defaults with <see cref="Attributes"/> in place of some, on <see cref="Inputs"/> (or the descriptor's
/// <see cref="LayerDescriptor.ExampleInputs"/>). E.g. Upsample with a scale factor is one Resize; with a fixed size,
/// Shape, Slice and Concat compute the sizes for Resize.
/// </summary>
public sealed class OnnxForm(params string[] ops)
{
    /// <summary>The distinct ONNX op types (<c>Conv</c>, <c>Resize</c>…) of the nodes written for this form.</summary>
    public IReadOnlyList<string> Ops { get; } = ops;
    /// <summary>Attributes that replace the defaults for this form, or null.</summary>
    public JsonObject? Attributes { get; init; }
    /// <summary>Input item shapes for this form, or null for the descriptor's examples.</summary>
    public IReadOnlyList<TensorShape>? Inputs { get; init; }
    /// <summary>The type the importer reads this form back as when it is another layer computing the same (an
    /// AdaptiveAvgPool2d to 1×1 is a GlobalAveragePool, read as GlobalAvgPool2d); null: this layer's own type.</summary>
    public string? ImportsAs { get; init; }

    /// <summary>The ops, then the attributes when the form has its own, e.g. <c>Resize with {"size":[4,4]}</c>.</summary>
    public override string ToString() => string.Join(", ", Ops) + (Attributes is null ? "" : $" with {Attributes.ToJsonString()}");
}

using System.Text.Json.Nodes;

namespace NeuroPlugin.Layers;

/// <summary>
/// Every layer type the plugin knows, once: the one list a new layer is added to (in the editor's palette order).
/// Model files, ONNX tables, the editor's palette, side panel and inferred attributes read it; each descriptor is declared
/// next to its layer class (<see cref="LayerDescriptor"/>).
/// </summary>
public static class LayerRegistry
{
    static readonly LayerDescriptor[] all =
    [
        Conv2d.Definition,
        ConvTranspose2d.Definition,
        Linear.Definition,
        .. MatMul.Definitions,
        Flatten.Definition,
        Reshape.Definition,
        Permute.Definition,
        Slice.Definition,
        IndexSelect.Definition,
        BatchExpand.Definition,
        ChannelPad.Definition,
        MaxPool2d.Definition,
        AvgPool2d.Definition,
        AdaptiveAvgPool2d.Definition,
        Upsample.Definition,
        GlobalAvgPool2d.Definition,
        GlobalMaxPool2d.Definition,
        .. Reduce.Definitions,
        .. Activation.Definitions,
        PReLU.Definition,
        BatchNorm2d.Definition,
        BatchNorm1d.Definition,
        LayerNorm.Definition,
        GroupNorm.Definition,
        InstanceNorm2d.Definition,
        LocalResponseNorm.Definition,
        Dropout.Definition,
        StochasticDepth.Definition,
        ShakeShake.Definition,
        ShakeDrop.Definition,
        Swapout.Definition,
        Add.Definition,
        Concat.Definition,
        ChannelMultiply.Definition,
        .. Elementwise.Definitions,
        .. ElementwiseFunction.Definitions,
        FractalJoin.Definition,
        .. Softmax.Definitions,
    ];

    static readonly Dictionary<string, LayerDescriptor> byType = all.ToDictionary(d => d.Type, StringComparer.Ordinal);

    /// <summary>Every layer type, in the editor's palette order.</summary>
    public static IReadOnlyList<LayerDescriptor> All => all;

    /// <summary>The descriptor of <paramref name="type"/>, or null for an unknown type.</summary>
    public static LayerDescriptor? Find(string type) => byType.GetValueOrDefault(type);

    /// <summary>The descriptor of <paramref name="type"/>; <see cref="FormatException"/> for an unknown type.</summary>
    public static LayerDescriptor Get(string type) => Find(type) ?? throw new FormatException($"unknown layer type '{type}'");

    /// <summary>The layer of type <paramref name="type"/> that <paramref name="attributes"/> describe (see
    /// <see cref="LayerDescriptor.Create(JsonObject)"/>): how model files are read.</summary>
    public static Layer Create(string type, JsonObject attributes) => Get(type).Create(attributes);
}

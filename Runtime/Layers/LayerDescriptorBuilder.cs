using System.Text.Json.Nodes;
using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// A layer's descriptor in one declaration, its attributes added inside <c>declare</c>:
/// <code>
/// internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe&lt;Dropout&gt;("Dropout", LayerGroup.Regularization, "…", d =>
/// {
///     var p = d.Float("p", l => l.P, 0.5f, AttributeBounds.Probability);
///     return d.Build(a => new Dropout(p.Read(a)), OnnxMapping.Same("Dropout"));
/// });
/// </code>
/// </summary>
internal static class LayerDescriptorBuilder
{
    /// <summary>The descriptor of a one-input layer type: <paramref name="declare"/> adds the attributes to a new builder and
    /// returns its <see cref="LayerDescriptorBuilder{TLayer}.Build"/>.</summary>
    public static LayerDescriptor Describe<TLayer>(string type, LayerGroup group, string description,
        Func<LayerDescriptorBuilder<TLayer>, LayerDescriptor> declare) where TLayer : Layer =>
        declare(new LayerDescriptorBuilder<TLayer>(type, group, description));

    /// <summary>As <see cref="Describe{TLayer}(string, LayerGroup, string, Func{LayerDescriptorBuilder{TLayer}, LayerDescriptor})"/>
    /// for a layer type of <paramref name="inputs"/> inputs (<see cref="LayerDescriptor.AnyInputCount"/>: any number ≥ 2).</summary>
    public static LayerDescriptor Describe<TLayer>(string type, LayerGroup group, string description, int inputs,
        Func<LayerDescriptorBuilder<TLayer>, LayerDescriptor> declare) where TLayer : Layer =>
        declare(new LayerDescriptorBuilder<TLayer>(type, group, description, inputs));
}

/// <summary>
/// Declares a <see cref="LayerDescriptor"/> for layer class <typeparamref name="TLayer"/>: each method adds one attribute
/// (in the order <see cref="Layer.Attributes"/> writes them) with the getter that reads it off a layer, and returns it so
/// the factory given to <see cref="Build"/> reads it by the same object:
/// <code>
/// var p = d.Float("p", l => l.P, 0.5f, AttributeBounds.Probability);
/// return d.Build(a => new Dropout(p.Read(a)), OnnxMapping.Same("Dropout"));
/// </code>
/// </summary>
internal sealed class LayerDescriptorBuilder<TLayer>(string type, LayerGroup group, string description, int inputs = 1) where TLayer : Layer
{
    readonly List<LayerAttribute> attributes = [];
    readonly List<(LayerAttribute, LayerAttribute)> alternatives = [];

    /// <summary>An integer; <paramref name="default"/> is null only for an inferred one.</summary>
    public LayerAttribute<int> Int(string name, Func<TLayer, int> get, int? @default = null, AttributeBounds? bounds = null,
        InferredFrom? inferred = null, bool optional = false) =>
        Add(new LayerAttribute<int>(name, AttributeKind.Int, AttributeJson.ParseInt, Writer(get, v => v), @default)
            { Bounds = bounds, Inferred = inferred, Optional = optional });

    public LayerAttribute<float> Float(string name, Func<TLayer, float> get, float @default, AttributeBounds? bounds = null) =>
        Add(new LayerAttribute<float>(name, AttributeKind.Float, AttributeJson.ParseFloat, Writer(get, v => v), @default) { Bounds = bounds });

    public LayerAttribute<bool> Bool(string name, Func<TLayer, bool> get, bool @default) =>
        Add(new LayerAttribute<bool>(name, AttributeKind.Bool, AttributeJson.ParseBool, Writer(get, v => v), @default));

    /// <summary>A string, one of <paramref name="options"/>.</summary>
    public LayerAttribute<string> String(string name, Func<TLayer, string> get, params string[] options) =>
        Add(new LayerAttribute<string>(name, AttributeKind.String, AttributeJson.ParseString, Writer(get, v => v), options[0]) { Options = options });

    /// <summary>An initializer by name; files written before initializers were recorded leave it out, which means
    /// PyTorch's default.</summary>
    public LayerAttribute<Initializer> Initializer(string name, Func<TLayer, Initializer> get) =>
        Add(new LayerAttribute<Initializer>(name, AttributeKind.Initializer, AttributeJson.ParseInitializer, Writer(get, v => v.Name),
            Init.Initializer.PyTorchDefault.Name) { Optional = true });

    /// <summary>Exactly <paramref name="length"/> integers; the getter returns null where the layer has no value (the unused
    /// one of an alternative pair).</summary>
    public LayerAttribute<int[]> Ints(string name, Func<TLayer, int[]?> get, int length, int[]? @default, AttributeBounds? bounds = null) =>
        Add(new LayerAttribute<int[]>(name, AttributeKind.Ints, AttributeJson.ParseInts, Writer(get, Array), Array(@default)) { Length = length, Bounds = bounds });

    /// <summary>At least <paramref name="minLength"/> integers.</summary>
    public LayerAttribute<int[]> VariableInts(string name, Func<TLayer, int[]> get, int minLength, int[] @default, AttributeBounds? bounds = null) =>
        Add(new LayerAttribute<int[]>(name, AttributeKind.Ints, AttributeJson.ParseInts, Writer(get, Array), Array(@default)) { MinLength = minLength, Bounds = bounds });

    /// <summary>Exactly <paramref name="length"/> numbers; null from the getter as in <see cref="Ints"/>.</summary>
    public LayerAttribute<float[]> Floats(string name, Func<TLayer, float[]?> get, int length, float[]? @default, AttributeBounds? bounds = null) =>
        Add(new LayerAttribute<float[]>(name, AttributeKind.Floats, AttributeJson.ParseFloats, Writer(get, Array), Array(@default)) { Length = length, Bounds = bounds });

    /// <summary>A sliding window as PyTorch's four arguments (see <see cref="WindowAttributes"/>).</summary>
    public WindowAttributes Window(Func<TLayer, Window2d> get, Window2d @default) => new(
        Ints("kernelSize", l => [get(l).KernelHeight, get(l).KernelWidth], 2, [@default.KernelHeight, @default.KernelWidth], AttributeBounds.AtLeast(1)),
        Ints("stride", l => [get(l).StrideHeight, get(l).StrideWidth], 2, [@default.StrideHeight, @default.StrideWidth], AttributeBounds.AtLeast(1)),
        Ints("padding", l => [get(l).PadTop, get(l).PadLeft, get(l).PadBottom, get(l).PadRight], 4,
            [@default.PadTop, @default.PadLeft, @default.PadBottom, @default.PadRight], AttributeBounds.AtLeast(0)),
        Ints("dilation", l => [get(l).DilationHeight, get(l).DilationWidth], 2, [@default.DilationHeight, @default.DilationWidth], AttributeBounds.AtLeast(1)));

    /// <summary>Exactly one of <paramref name="first"/> and <paramref name="second"/> is given (Upsample's size or scale factor).</summary>
    public void OneOf(LayerAttribute first, LayerAttribute second)
    {
        first.Alternative = second.Name;
        second.Alternative = first.Name;
        alternatives.Add((first, second));
    }

    /// <summary>The descriptor: <paramref name="create"/> builds the layer from attributes already checked against their
    /// kinds; <paramref name="exampleInputs"/> are item shapes the default layer takes, when not <see cref="LayerDescriptor.ExampleImage"/>s.</summary>
    public LayerDescriptor Build(Func<JsonObject, TLayer> create, OnnxMapping onnx, IReadOnlyList<TensorShape>? exampleInputs = null) =>
        new(type, group, description, inputs, [.. attributes], [.. alternatives], create, onnx, exampleInputs);

    TAttribute Add<TAttribute>(TAttribute attribute) where TAttribute : LayerAttribute
    {
        if (attributes.Exists(a => a.Name == attribute.Name)) throw new InvalidOperationException($"{type}: attribute '{attribute.Name}' is declared twice");
        attributes.Add(attribute);
        return attribute;
    }

    static Func<Layer, JsonNode?> Writer<T>(Func<TLayer, T> get, Func<T, JsonNode?> toJson) =>
        layer => get((TLayer)layer) is { } value ? toJson(value) : null;

    static JsonArray? Array(int[]? values) => values is null ? null : new JsonArray([.. values.Select(v => (JsonNode)v)]);

    static JsonArray? Array(float[]? values) => values is null ? null : new JsonArray([.. values.Select(v => (JsonNode)v)]);
}

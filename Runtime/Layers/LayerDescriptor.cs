using System.Text.Json.Nodes;

namespace NeuroPlugin.Layers;

/// <summary>The palette group a layer type is listed under in the editor.</summary>
public enum LayerGroup
{
    /// <summary>Convolutions over (N,C,H,W) (Conv2d).</summary>
    Convolution,
    /// <summary>Fully connected layers over (N,features): Linear.</summary>
    Linear,
    /// <summary>Layers that change the shape: they move, select or pad values (Flatten, Reshape, Permute, Slice, IndexSelect,
    /// ChannelPad) or resample them (Upsample).</summary>
    Shape,
    /// <summary>Spatial reductions over windows or whole planes (max/average pooling, global and adaptive pooling).</summary>
    Pooling,
    /// <summary>Element-wise functions: activations (ReLU, GELU, PReLU…) and math functions (Exp, Sqrt…).</summary>
    Activation,
    /// <summary>Layers that rescale by statistics (BatchNorm2d, LocalResponseNorm).</summary>
    Normalization,
    /// <summary>Random layers that regularize training (Dropout, StochasticDepth, ShakeShake, ShakeDrop, Swapout); in eval they
    /// apply their expectation, or nothing.</summary>
    Regularization,
    /// <summary>Layers that combine several inputs (Add, Concat, Elementwise, FractalJoin).</summary>
    Merge,
    /// <summary>Output layers tied to the loss (Softmax, which training folds into cross-entropy).</summary>
    Loss,
}

/// <summary>
/// Everything the plugin knows about one layer type apart from its computation: its name (PyTorch's vocabulary), the
/// editor's palette group and one-line description, how many inputs it takes, its attributes (kinds, defaults, bounds,
/// the ones inferred from the inputs), how to create it from validated attributes, and its ONNX op names. Declared next to
/// the layer class (its <c>Definition</c>) and listed once in <see cref="LayerRegistry"/>; the model files, the editor's
/// palette and side panel, and its inferred attributes all derive from it, and <see cref="Layer.Attributes"/> writes
/// through it, so each attribute's name is written once.
/// </summary>
public sealed class LayerDescriptor
{
    /// <summary><see cref="Inputs"/> of a layer that takes any number of inputs ≥ 2 (Add, Concat, FractalJoin).</summary>
    public const int AnyInputCount = -1;

    readonly Func<JsonObject, Layer> create;
    readonly IReadOnlyList<(LayerAttribute First, LayerAttribute Second)> alternatives;

    internal LayerDescriptor(string type, LayerGroup group, string description, int inputs, IReadOnlyList<LayerAttribute> attributes,
        IReadOnlyList<(LayerAttribute, LayerAttribute)> alternatives, Func<JsonObject, Layer> create, OnnxMapping onnx,
        IReadOnlyList<TensorShape>? exampleInputs)
    {
        Type = type;
        Group = group;
        Description = description;
        Inputs = inputs;
        Attributes = attributes;
        this.alternatives = alternatives;
        this.create = create;
        Onnx = onnx;
        ExampleInputs = exampleInputs ?? [.. Enumerable.Repeat(ExampleImage, inputs == AnyInputCount ? 2 : inputs)];
    }

    /// <summary>The (C,H,W) item shape of the default <see cref="ExampleInputs"/>: small, with enough channels and pixels
    /// for every layer's defaults.</summary>
    public static TensorShape ExampleImage => new(4, 8, 8);

    /// <summary>The type name written in files and shown in the editor (<c>Conv2d</c>, <c>BatchNorm2d</c>).</summary>
    public string Type { get; }
    /// <summary>The editor palette's group that lists this type.</summary>
    public LayerGroup Group { get; }
    /// <summary>One line for the editor's palette: what the layer computes.</summary>
    public string Description { get; }
    /// <summary>The number of inputs, or <see cref="AnyInputCount"/>.</summary>
    public int Inputs { get; }
    /// <summary>The attributes in the order <see cref="Layer.Attributes"/> writes them.</summary>
    public IReadOnlyList<LayerAttribute> Attributes { get; }
    /// <summary>The ONNX ops the layer exports to and is imported from.</summary>
    public OnnxMapping Onnx { get; }
    /// <summary>Item shapes (no batch axis), one per input, that the layer built from its defaults accepts:
    /// <see cref="ExampleImage"/> unless the layer takes something else (Linear: features).</summary>
    public IReadOnlyList<TensorShape> ExampleInputs { get; }

    /// <summary>The attribute called <paramref name="name"/>, or null.</summary>
    public LayerAttribute? Attribute(string name)
    {
        foreach (var attribute in Attributes)
            if (attribute.Name == name) return attribute;
        return null;
    }

    /// <summary>The attributes a new node starts with: every one with a default (the inferred ones have none), as fresh JSON.</summary>
    public JsonObject Defaults()
    {
        var defaults = new JsonObject();
        foreach (var attribute in Attributes)
            if (attribute.Default is { } value) defaults[attribute.Name] = value;
        return defaults;
    }

    /// <summary>
    /// The layer that <paramref name="attributes"/> describe (as written by <see cref="Layer.Attributes"/>). Each attribute
    /// must be present and of its kind, except an <see cref="LayerAttribute.Optional"/> one, and exactly one of an
    /// alternative pair: otherwise <see cref="FormatException"/> naming the attribute. Values out of range are refused by
    /// the layer's constructor (<see cref="ArgumentOutOfRangeException"/> or <see cref="ShapeException"/>).
    /// </summary>
    public Layer Create(JsonObject attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        foreach (var (first, second) in alternatives)
            if (first.IsGiven(attributes) == second.IsGiven(attributes))
                throw new FormatException($"{Type} needs exactly one of the attributes '{first.Name}' and '{second.Name}'");
        foreach (var attribute in Attributes)
            if (attribute.IsGiven(attributes) || !(attribute.Optional || attribute.Alternative is not null))
                attribute.Check(attributes);
        return create(attributes);
    }

    /// <summary>
    /// The layer of node <paramref name="node"/> as the editor builds it: <paramref name="attributes"/> (not modified) with
    /// the defaults of the absent ones and the inferred ones taken from <paramref name="inputs"/>, the shapes (with the
    /// batch axis) of the node's inputs. Throws as <see cref="Create(JsonObject)"/>, and <see cref="ShapeException"/>
    /// starting with <paramref name="node"/> when an input cannot supply an inferred attribute.
    /// </summary>
    public Layer Create(string node, JsonObject attributes, ReadOnlySpan<TensorShape> inputs)
    {
        if (inputs.IsEmpty) throw new ArgumentException($"{node}: {Type} needs the shapes of its inputs", nameof(inputs));
        var complete = (JsonObject)attributes.DeepClone();
        foreach (var attribute in Attributes)
        {
            if (attribute.Inferred is { } source)
                complete[attribute.Name] = Inferred(node, source, inputs);
            else if (!attribute.IsGiven(complete) && !(attribute.Alternative is { } other && complete.ContainsKey(other)))
                complete[attribute.Name] = attribute.Default;
        }
        return Create(complete);
    }

    JsonNode Inferred(string node, InferredFrom source, ReadOnlySpan<TensorShape> inputs)
    {
        var first = inputs[0];
        return source switch
        {
            InferredFrom.InputChannels => first.Rank >= 2 ? first[1]
                : throw new ShapeException($"{node}: {Type} needs an input with channels (N,C,…), got {first}"),
            InferredFrom.InputFeatures => first.ItemLength, // Linear's own check names a 4-D input that needs a Flatten
            InferredFrom.InputCount => inputs.Length,
            _ => throw new ArgumentOutOfRangeException(nameof(source), source, "unknown source of an inferred attribute"),
        };
    }

    /// <summary>The attribute JSON of <paramref name="layer"/>, one of this type (see <see cref="Layer.Attributes"/>).</summary>
    internal JsonObject Write(Layer layer)
    {
        var attributes = new JsonObject();
        foreach (var attribute in Attributes)
            if (attribute.Write(layer) is { } value) attributes[attribute.Name] = value;
        return attributes;
    }

    /// <summary>The <see cref="Type"/> name.</summary>
    public override string ToString() => Type;
}

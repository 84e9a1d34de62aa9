using System.Text.Json.Nodes;

namespace NeuroPlugin.Layers;

/// <summary>An element-wise activation (<see cref="ActivationKind"/> gives the formulas and derivatives);
/// any shape in, the same shape out. Its <see cref="Type"/> is the kind's name (<c>ReLU</c>, <c>LeakyReLU</c>…).</summary>
public sealed class Activation : Layer
{
    /// <summary>PyTorch's default negative slope of <c>LeakyReLU</c>.</summary>
    public const float DefaultNegativeSlope = 0.01f;

    /// <summary>An activation of <paramref name="kind"/>; <paramref name="negativeSlope"/> is LeakyReLU's α
    /// (<c>y = α·x</c> for <c>x ≤ 0</c>) and must be finite; the other kinds ignore it.</summary>
    public Activation(ActivationKind kind, float negativeSlope = DefaultNegativeSlope)
    {
        if (!Enum.IsDefined(kind))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        if (!float.IsFinite(negativeSlope))
            throw new ArgumentOutOfRangeException(nameof(negativeSlope), negativeSlope, "LeakyReLU's negativeSlope must be finite");
        Kind = kind;
        NegativeSlope = negativeSlope;
    }

    /// <summary>Which function this layer applies; it also names the layer type (<c>ReLU</c>, <c>GELUTanh</c>…).</summary>
    public ActivationKind Kind { get; }
    /// <summary>LeakyReLU's α, PyTorch's <c>negative_slope</c> (passed to the backend as the activation's alpha).</summary>
    public float NegativeSlope { get; }
    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => byKind[(int)Kind];

    /// <summary>One descriptor per kind, in the palette's order; the type name is the kind's name.</summary>
    internal static IReadOnlyList<LayerDescriptor> Definitions { get; } =
    [
        Describe(ActivationKind.ReLU, "y = max(0, x)", new([new OnnxForm("Relu")], ["Relu", "Clip"])),
        Describe(ActivationKind.LeakyReLU, "y = x for x > 0, else negativeSlope·x", OnnxMapping.Same("LeakyRelu"), d =>
        {
            var negativeSlope = d.Float("negativeSlope", l => l.NegativeSlope, DefaultNegativeSlope);
            return a => LeakyReLU(negativeSlope.Read(a));
        }),
        Describe(ActivationKind.ReLU6, "y = min(max(0, x), 6)", OnnxMapping.Same("Clip")),
        Describe(ActivationKind.Sigmoid, "y = 1 / (1 + e^−x)", OnnxMapping.Same("Sigmoid")),
        Describe(ActivationKind.Tanh, "y = tanh x", OnnxMapping.Same("Tanh")),
        Describe(ActivationKind.SiLU, "y = x·sigmoid(x) (Swish)", new([new OnnxForm("Sigmoid", "Mul")], ["Sigmoid", "Mul"])),
        Describe(ActivationKind.HardSigmoid, "y = relu6(x + 3) / 6", OnnxMapping.Same("HardSigmoid")),
        Describe(ActivationKind.HardSwish, "y = x·relu6(x + 3) / 6", new([new OnnxForm("HardSwish")], ["HardSwish", "HardSigmoid", "Mul"])),
        // ONNX has no Gelu before opset 20: the exporter writes the formula, which imports op by op
        Describe(ActivationKind.GELU, "y = x·Φ(x) = x/2·(1 + erf(x/√2)) (exact GELU)", OnnxMapping.ExportOnly("Div", "Erf", "Add", "Mul")),
        Describe(ActivationKind.GELUTanh, "y = x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (GELU, tanh approximation)", OnnxMapping.ExportOnly("Mul", "Add", "Tanh")),
    ];

    static readonly LayerDescriptor[] byKind = [.. Enum.GetValues<ActivationKind>().Select(k => Definitions.Single(d => d.Type == k.ToString()))];

    /// <summary>The descriptor of <paramref name="kind"/> (element-wise, any shape): <paramref name="attributes"/> declares the
    /// kind's attributes and returns its factory; without it the kind has none.</summary>
    static LayerDescriptor Describe(ActivationKind kind, string formula, OnnxMapping onnx,
        Func<LayerDescriptorBuilder<Activation>, Func<JsonObject, Activation>>? attributes = null)
    {
        var d = new LayerDescriptorBuilder<Activation>(kind.ToString(), LayerGroup.Activation, $"element-wise {formula}, any shape");
        return d.Build(attributes?.Invoke(d) ?? (_ => new Activation(kind)), onnx);
    }

    /// <summary><c>y = max(0, x)</c>.</summary>
    public static Activation ReLU() => new(ActivationKind.ReLU);
    /// <summary><c>y = 1 / (1 + e^−x)</c>.</summary>
    public static Activation Sigmoid() => new(ActivationKind.Sigmoid);
    /// <summary><c>y = tanh x</c>.</summary>
    public static Activation Tanh() => new(ActivationKind.Tanh);
    /// <summary><c>y = x if x &gt; 0 else α·x</c> (PyTorch's <c>LeakyReLU(negative_slope=0.01)</c>).</summary>
    public static Activation LeakyReLU(float negativeSlope = DefaultNegativeSlope) => new(ActivationKind.LeakyReLU, negativeSlope);
    /// <summary><c>y = min(max(0, x), 6)</c>.</summary>
    public static Activation ReLU6() => new(ActivationKind.ReLU6);
    /// <summary><c>y = x·σ(x)</c> (Swish).</summary>
    public static Activation SiLU() => new(ActivationKind.SiLU);
    /// <summary><c>y = relu6(x + 3) / 6</c>.</summary>
    public static Activation HardSigmoid() => new(ActivationKind.HardSigmoid);
    /// <summary><c>y = x·relu6(x + 3) / 6</c>.</summary>
    public static Activation HardSwish() => new(ActivationKind.HardSwish);
    /// <summary><c>y = x·Φ(x) = x/2·(1 + erf(x/√2))</c> (PyTorch's <c>GELU()</c>).</summary>
    public static Activation GELU() => new(ActivationKind.GELU);
    /// <summary><c>y = x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³)))</c> (PyTorch's <c>GELU(approximate='tanh')</c>).</summary>
    public static Activation GELUTanh() => new(ActivationKind.GELUTanh);

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) => inputs[0];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) => backend.ActivationForward(Kind, t.Inputs[0], t.Output, NegativeSlope);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.ActivationBackward(Kind, t.Inputs[0], t.Output, t.Gradient, dx, NegativeSlope, t.AddsToInputGrad(0));
    }

    /// <inheritdoc/>
    public override bool CanSetInputGradients => true;
}

/// <summary>Flattens (N,C,H,W) to (N,C·H·W). A view: no data moves forward or backward.</summary>
public sealed class Flatten : Layer
{
    internal static LayerDescriptor Definition { get; } =
        new LayerDescriptorBuilder<Flatten>("Flatten", LayerGroup.Shape, "(N,C,H,W) → (N,C·H·W), for a Linear after convolutions")
            .Build(_ => new Flatten(), new OnnxMapping([new OnnxForm("Flatten")], ["Flatten", "Reshape"]));

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;
    /// <inheritdoc/>
    public override bool OutputIsViewOfInput => true;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) =>
        new(inputs[0].N, inputs[0].ItemLength);

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) { }   // the output is a view of the input
    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t) { }  // and its gradient a view of the input's gradient
}

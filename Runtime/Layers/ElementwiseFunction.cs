namespace NeuroPlugin.Layers;

/// <summary>An element-wise math function <c>y = f(x)</c>, any shape in, the same shape out (<see cref="UnaryOp"/>: Neg,
/// Abs, Reciprocal, Sqrt, Exp, Log, Erf; the formulas and derivatives are there). Its <see cref="Layer.Type"/> is the
/// function's name, which is also its ONNX op. Outside a function's domain (the square root or logarithm of a negative
/// number) the result is NaN, as in PyTorch.</summary>
public sealed class ElementwiseFunction : Layer
{
    /// <summary>Applies <paramref name="op"/> element-wise; an undefined value throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    public ElementwiseFunction(UnaryOp op)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), op, "unknown element-wise function");
        Op = op;
    }

    /// <summary>The function f of <c>y = f(x)</c>; it also names the layer type and its ONNX op.</summary>
    public UnaryOp Op { get; }
    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definitions[(int)Op];

    /// <summary>One descriptor per function, in <see cref="UnaryOp"/> order; the type name is the function's name.</summary>
    internal static IReadOnlyList<LayerDescriptor> Definitions { get; } =
    [
        Describe(UnaryOp.Neg, "y = −x"),
        Describe(UnaryOp.Abs, "y = |x|"),
        Describe(UnaryOp.Reciprocal, "y = 1/x"),
        Describe(UnaryOp.Sqrt, "y = √x"),
        Describe(UnaryOp.Exp, "y = eˣ"),
        Describe(UnaryOp.Log, "y = ln x"),
        Describe(UnaryOp.Erf, "y = erf x"),
    ];

    static LayerDescriptor Describe(UnaryOp op, string formula) =>
        new LayerDescriptorBuilder<ElementwiseFunction>(op.ToString(), LayerGroup.Activation, $"element-wise {formula}, any shape")
            .Build(_ => new ElementwiseFunction(op), OnnxMapping.Same(op.ToString()));

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) => inputs[0];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) => backend.UnaryForward(Op, t.Inputs[0], t.Output);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.UnaryBackward(Op, t.Inputs[0], t.Output, t.Gradient, dx);
    }
}

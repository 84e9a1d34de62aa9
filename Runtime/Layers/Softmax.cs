namespace NeuroPlugin.Layers;

/// <summary>
/// Softmax over axis <see cref="Dim"/> (PyTorch's <c>Softmax(dim)</c>), or its logarithm (<c>LogSoftmax(dim)</c>, when
/// <see cref="Logarithm"/>): input and output of one shape, (N,K) for a classifier (dim 1) or any rank up to
/// (N,C,H,W). Along the axis, <c>y_k = e^(x_k − m) / Σ_j e^(x_j − m)</c> with <c>m = max_j x_j</c>; the logarithm is
/// <c>y_k = x_k − m − log Σ_j e^(x_j − m)</c>. Backward: <c>dx = y⊙(dy − Σ_k dy⊙y)</c>, or <c>dx = dy − e^y·Σ_k dy</c>.
/// For training a classifier, leave it out: the loss head already applies softmax fused with cross-entropy. This layer is
/// for networks that output probabilities or use them inside (attention weights, a channel softmax).
/// </summary>
public sealed class Softmax : Layer
{
    /// <summary>Softmax (or, with <paramref name="logarithm"/>, log-softmax) over axis <paramref name="dim"/> ≥ 1 (the batch
    /// axis is never normalized over; an axis past the input's rank is refused by <see cref="InferOutputShape"/>).</summary>
    public Softmax(int dim = 1, bool logarithm = false)
    {
        if (dim is < 1 or >= TensorShape.MaxRank)
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"softmax runs over an axis after the batch axis (1 to {TensorShape.MaxRank - 1})");
        Dim = dim;
        Logarithm = logarithm;
    }

    /// <summary>The axis normalized over (≥ 1; 1 is the classes of (N,K) or the channels of (N,C,H,W)).</summary>
    public int Dim { get; }
    /// <summary>True for log-softmax (the <c>LogSoftmax</c> type).</summary>
    public bool Logarithm { get; }

    /// <summary>The two types' descriptors: <c>Softmax</c> and <c>LogSoftmax</c>.</summary>
    internal static IReadOnlyList<LayerDescriptor> Definitions { get; } = [Describe(logarithm: false), Describe(logarithm: true)];

    // the training loss is softmax cross-entropy on the output node, applied by the plan; this layer is for what comes after
    static LayerDescriptor Describe(bool logarithm)
    {
        string type = logarithm ? "LogSoftmax" : "Softmax";
        var d = new LayerDescriptorBuilder<Softmax>(type, LayerGroup.Loss, logarithm
            ? "log-probabilities over an axis, x − max − log Σ e^(x − max) (PyTorch's log_softmax)"
            : "turns logits into probabilities over an axis (training applies it with the loss already)");
        var dim = d.Int("dim", l => l.Dim, 1, AttributeBounds.Between(1, TensorShape.MaxRank - 1));
        var onnx = new OnnxMapping(
        [
            new OnnxForm(type),
            new OnnxForm(type) { Attributes = new() { ["dim"] = 2 }, Inputs = [new TensorShape(3, 5, 4)] },
        ], [type]);
        return d.Build(a => new Softmax(dim.Read(a), logarithm), onnx, exampleInputs: [new TensorShape(10)]);
    }

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definitions[Logarithm ? 1 : 0];

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (Dim >= x.Rank)
            throw new ShapeException($"{node}: {Type} over axis {Dim} of {x}, which has {x.Rank} axes");
        return x;
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) => backend.SoftmaxForward(t.Inputs[0], t.Output, Dim, Logarithm);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.SoftmaxBackward(t.Output, t.Gradient, dx, Dim, Logarithm);
    }
}

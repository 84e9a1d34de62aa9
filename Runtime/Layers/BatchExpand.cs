using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// A constant repeated for every item of the batch, PyTorch's <c>parameter.expand(N, …)</c> (ViT's class token):
/// <c>y[n] = c</c> for n = 0…N−1, with c of item shape <see cref="Shape"/> (at most 3 axes). The input x (N,…) gives only
/// the batch size N; its values are not read, so it gets no gradient. Output (N, Shape…). The constant is a learnable
/// parameter named <c>constant</c> when <see cref="Learnable"/> (a model's weight, as the class token), else a buffer of
/// that name, saved with the model either way; a new layer starts it at <see cref="Value"/>.
/// Backward: <c>dc += Σ_n dy[n]</c>.
/// </summary>
public sealed class BatchExpand : Layer
{
    /// <summary>A constant of item shape <paramref name="shape"/> (1 to 3 axes) repeated per item, learnable if
    /// <paramref name="learnable"/>, every element starting at <paramref name="value"/> (finite).</summary>
    public BatchExpand(TensorShape shape, bool learnable = true, float value = 0f)
    {
        if (shape.Rank > TensorShape.MaxRank - 1)
            throw new ArgumentOutOfRangeException(nameof(shape), shape, $"the constant has at most {TensorShape.MaxRank - 1} axes (the output adds the batch axis)");
        if (!float.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "the constant's initial value must be finite");
        Shape = shape;
        Learnable = learnable;
        Value = value;
    }

    /// <summary>The constant's shape: one item of the output, without the batch axis.</summary>
    public TensorShape Shape { get; }
    /// <summary>The constant is a parameter the optimizer trains, rather than a buffer.</summary>
    public bool Learnable { get; }
    /// <summary>The value every element of the constant starts at in a new network.</summary>
    public float Value { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<BatchExpand>("BatchExpand", LayerGroup.Shape,
        "y[n] = c for every item n: a constant (learnable, or a buffer) repeated over the batch of its input, as ViT's class token", d =>
        {
            var shape = d.VariableInts("shape", l => l.Shape.ToArray(), 1, [1, 4], AttributeBounds.AtLeast(1));
            var learnable = d.Bool("learnable", l => l.Learnable, true);
            var value = d.Float("value", l => l.Value, 0f);
            return d.Build(a => new BatchExpand(TensorShape.Of(shape.Read(a)), learnable.Read(a), value.Read(a)),
                new OnnxMapping([new OnnxForm("Shape", "Slice", "Concat", "Expand")], ["Expand"]));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters =>
        Learnable ? [new ParameterSpec("constant", Shape, new Initializer.Constant(Value), 1, 1)] : [];

    /// <inheritdoc/>
    public override IReadOnlyList<BufferSpec> Buffers => Learnable ? [] : [new BufferSpec("constant", Shape, Value)];

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) => Shape.PrependBatch(inputs[0].N);

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.BatchExpandForward(Learnable ? t.Parameters[0] : t.Buffers[0], t.Output);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        // in the forward pass this was y[n] = c for every n: each element of c gathers dy over the batch
        if (Learnable && t.ParameterGrads[0] is { } dc) backend.BatchExpandBackward(t.Gradient, dc);
    }
}

namespace NeuroPlugin.Layers;

/// <summary>
/// <c>x.reshape(N, *shape)</c>: the same elements in the same (row-major) order, seen as (N, <see cref="Shape"/>…). The
/// batch axis is kept; the item's element count must not change. A view: no copy forward, and the output's gradient is
/// the input's gradient seen with the new shape, so backward has nothing to do. What the importer makes of ONNX Reshape,
/// Squeeze, Unsqueeze and Flatten (axis 1 after rank-2 views aside) when a layer needs the view materialized.
/// </summary>
public sealed class Reshape : Layer
{
    /// <summary>Reshapes each item to <paramref name="shape"/> (1 to 3 sizes ≥ 1).</summary>
    public Reshape(params int[] shape)
    {
        if (shape.Length is < 1 or >= TensorShape.MaxRank || shape.Any(d => d < 1))
            throw new ArgumentOutOfRangeException(nameof(shape), $"[{string.Join(",", shape)}]: an item shape has 1 to {TensorShape.MaxRank - 1} sizes, each ≥ 1");
        Shape = [.. shape];
    }

    /// <summary>The item shape (without the batch axis).</summary>
    public IReadOnlyList<int> Shape { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Reshape>("Reshape", LayerGroup.Shape,

        "(N,…) → (N, shape…): the same elements seen with another item shape (a view)", d =>
        {
            var shape = d.VariableInts("shape", l => [.. l.Shape], 1, [16, 16], AttributeBounds.AtLeast(1));
            var onnx = new OnnxMapping(
            [
                new OnnxForm("Reshape"),
                // a reshape that only removes or adds axes of size 1
                new OnnxForm("Squeeze") { Attributes = new() { ["shape"] = new System.Text.Json.Nodes.JsonArray(4, 5) }, Inputs = [new TensorShape(4, 1, 5)] },
                new OnnxForm("Unsqueeze") { Attributes = new() { ["shape"] = new System.Text.Json.Nodes.JsonArray(4, 1, 5) }, Inputs = [new TensorShape(4, 5)] },
            ], ["Reshape", "Squeeze", "Unsqueeze", "Flatten"]);
            return d.Build(a => new Reshape(shape.Read(a)), onnx);
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;
    /// <inheritdoc/>
    public override bool OutputIsViewOfInput => true;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        long length = Shape.Aggregate(1L, (p, d) => p * d);
        if (length != x.ItemLength)
            throw new ShapeException($"{node}: cannot reshape {x} to (N,{string.Join(",", Shape)}): an item has {x.ItemLength} elements, the new shape {length}");
        Span<int> dims = stackalloc int[Shape.Count + 1];
        dims[0] = x.N;
        for (int i = 0; i < Shape.Count; i++) dims[i + 1] = Shape[i];
        return TensorShape.Of(dims);
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) { }   // the output is a view of the input
    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t) { }  // and its gradient a view of the input's gradient
}

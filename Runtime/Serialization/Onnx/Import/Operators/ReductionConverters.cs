namespace NeuroPlugin.Serialization.Onnx;

/// <summary>ReduceSum, ReduceMean, ReduceMax and ReduceMin over any axes after the batch → <see cref="Layers.Reduce"/>; the mean
/// over H and W of (N,C,H,W) stays a <see cref="GlobalAvgPool2d"/> (global average pooling, its faster kernel). The axes are
/// an attribute, or from opset 13 (ReduceSum) and 18 (the others) an optional constant input, where no axes with
/// <c>noop_with_empty_axes</c> = 1 pass the input through. No axes at all reduce every axis, the batch axis too, which is an
/// <see cref="OnnxUnsupportedException"/> naming the node, as is any axis list that names the batch axis.</summary>
internal static class ReductionConverters
{
    public static OnnxValue ReduceSum(ImportGraph graph, OnnxNodeReader n) => Reduce(graph, n, ReduceOp.Sum);

    public static OnnxValue ReduceMean(ImportGraph graph, OnnxNodeReader n) => Reduce(graph, n, ReduceOp.Mean);

    public static OnnxValue ReduceMax(ImportGraph graph, OnnxNodeReader n) => Reduce(graph, n, ReduceOp.Max);

    public static OnnxValue ReduceMin(ImportGraph graph, OnnxNodeReader n) => Reduce(graph, n, ReduceOp.Min);

    static OnnxValue Reduce(ImportGraph graph, OnnxNodeReader n, ReduceOp op)
    {
        bool axesInput = n.Opset >= (op == ReduceOp.Sum ? 13 : 18);
        n.ExpectInputs(1, axesInput ? 2 : 1);
        var x = graph.LiveInput(n, 0);
        int rank = x.Shape.Rank;
        long[]? given = axesInput
            ? (n.HasInput(1) ? graph.Constant(n, 1, "axes").AsInts(m => n.Unsupported($"axes: {m}")) : null)
            : n.Ints("axes");
        bool keep = n.Int("keepdims", 1) != 0;
        if (given is null || given.Length == 0)
        {
            if (axesInput && n.Int("noop_with_empty_axes", 0) != 0) return x;
            throw n.Unsupported($"{n.Op} without axes reduces every axis of {x.Shape}, the batch axis too");
        }
        if (axesInput) n.Int("noop_with_empty_axes", 0);
        int[] axes = [.. given.Select(a => n.Axis(a, rank, x.Shape)).Order()];
        if (axes.Distinct().Count() != axes.Length) throw n.Malformed($"axes [{string.Join(",", given)}] name an axis twice");
        if (axes[0] == 0) throw n.Unsupported($"{n.Op} over the batch axis of {x.Shape} (axes [{string.Join(",", given)}])");
        if (op == ReduceOp.Mean && rank == 4 && axes is [2, 3])
        {
            // the mean over H and W: a global average pooling, (N,C,1,1) or, without keepdims, (N,C)
            var pooled = graph.AddLayer(n, null, new GlobalAvgPool2d(), [graph.Materialize(n, x, "input")]);
            return keep ? pooled : pooled with { Shape = new Tensors.TensorShape(1, x.Shape.C) };
        }
        return graph.AddLayer(n, null, new Layers.Reduce(op, axes, keep), [x]);
    }
}

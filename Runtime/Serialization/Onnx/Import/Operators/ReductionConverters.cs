namespace NeuroPlugin.Serialization.Onnx;

/// <summary>ReduceSum, ReduceMean, ReduceMax and ReduceMin over any axes after the batch → <see cref="Layers.Reduce"/>; the mean
/// over H and W of (N,C,H,W) stays a <see cref="GlobalAvgPool2d"/> (global average pooling, its faster kernel). The axes are
/// an attribute, or from opset 13 (ReduceSum) and 18 (the others) an optional constant input, where no axes with
/// <c>noop_with_empty_axes</c> = 1 pass the input through. No axes at all reduce every axis, the batch axis too, which is an
/// <see cref="OnnxUnsupportedException"/> naming the node, as is any axis list that names the batch axis. A view that moves
/// or merges the batch axis (<see cref="PermutedView"/>) is reduced as it is stored.</summary>
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
        var view = graph.Input(n, 0) as PermutedView;
        var x = view is null ? graph.LiveInput(n, 0) : null;
        object shape = view?.Text ?? (object)x!.Shape;
        int rank = view?.Axes.Length ?? x!.Shape.Rank;
        long[]? given = axesInput
            ? (n.HasInput(1) ? graph.Constant(n, 1, "axes").AsInts(m => n.Unsupported($"axes: {m}")) : null)
            : n.Ints("axes");
        bool keep = n.Int("keepdims", 1) != 0;
        if (given is null || given.Length == 0)
        {
            if (axesInput && n.Int("noop_with_empty_axes", 0) != 0) return graph.Input(n, 0);
            throw n.Unsupported($"{n.Op} without axes reduces every axis of {shape}, the batch axis too");
        }
        if (axesInput) n.Int("noop_with_empty_axes", 0);
        int[] axes = [.. given.Select(a => n.Axis(a, rank, shape)).Order()];
        if (axes.Distinct().Count() != axes.Length) throw n.Malformed($"axes [{string.Join(",", given)}] name an axis twice");
        if (view is not null) return ReduceOfView(graph, n, op, view, axes, keep, given);
        if (axes[0] == 0) throw n.Unsupported($"{n.Op} over the batch axis of {x!.Shape} (axes [{string.Join(",", given)}])");
        if (op == ReduceOp.Mean && rank == 4 && axes is [2, 3])
        {
            // the mean over H and W: a global average pooling, (N,C,1,1) or, without keepdims, (N,C)
            var pooled = graph.AddLayer(n, null, new GlobalAvgPool2d(), [graph.Materialize(n, x!, "input")]);
            return keep ? pooled : pooled with { Shape = new Tensors.TensorShape(1, x!.Shape.C) };
        }
        return graph.AddLayer(n, null, new Layers.Reduce(op, axes, keep), [x!]);
    }

    /// <summary>A reduction of a <see cref="PermutedView"/> (a sequence-first (L,N,E) tensor, attention heads (N·heads,L,d))
    /// over ONNX axes that do not hold the batch: the tensor as it is stored, reduced over the stored axes those ONNX axes
    /// merge (runs of reduced and of kept stored axes merged, <see cref="BroadcastAxes"/>), so no data moves; the result
    /// keeps the view, the reduced axes of size 1 or, without keepdims, dropped.</summary>
    static OnnxValue ReduceOfView(ImportGraph graph, OnnxNodeReader n, ReduceOp op, PermutedView view, int[] axes, bool keep, long[] given)
    {
        if (axes.Any(axis => view.Axes[axis].Contains(0)))
            throw n.Unsupported($"{n.Op} over axes [{string.Join(",", given)}] of {view.Text} would reduce the axis that holds the batch");
        int[] reducedAxes = [.. axes.SelectMany(axis => view.Axes[axis])];
        int[] reduced = [.. view.Physical.Select((size, a) => reducedAxes.Contains(a) ? 1 : size)];
        var merged = BroadcastAxes.Merge(view.Physical, [reduced])
            ?? throw n.Unsupported($"{n.Op} of {view.Text} over axes [{string.Join(",", given)}]: the reduced and kept stored axes alternate in more than {Tensors.TensorShape.MaxRank - 1} runs");
        int[] dims = [.. Enumerable.Range(1, merged.Output.Length - 1).Where(i => merged.Operands[0][i] == 1 && merged.Output[i] != 1)];
        // reducing axes of size 1 only leaves every value as it is
        var tensor = dims.Length == 0 ? view.Tensor
            : graph.AddLayer(n, null, new Layers.Reduce(op, dims, keepDims: true), [view.Tensor with { Shape = Tensors.TensorShape.Of(merged.Output) }]);
        var result = new PermutedView(tensor, reduced, view.Axes);
        return (keep ? result : result.Without(axes)).Simplified();
    }
}

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// The shape ops that move data, over tensors of our graph (their all-constant forms fold in <see cref="ConstantFolding"/>):
/// Transpose → <see cref="Permute"/>, Slice and Split → <see cref="Layers.Slice"/> (one per output of a Split), Gather with a
/// constant index → <see cref="IndexSelect"/> (a scalar index drops the axis, an index of several axes adds them, as views).
/// Axes count ONNX's (0 = batch). The batch axis never moves in storage: a Transpose that moves it gives a
/// <see cref="PermutedView"/> (no data moves). It is never sliced short and never gathered from: those are
/// <see cref="OnnxUnsupportedException"/>s naming the node. An op that changes nothing passes its input through.
/// </summary>
internal static class IndexingConverters
{
    /// <summary>Transpose → <see cref="Permute"/>. A tensor seen with more axes than ours have (a <see cref="HighRankView"/>)
    /// is permuted as the fewest axes that describe the same move (<see cref="MergedAxes"/>): ShuffleNet's channel shuffle,
    /// (N,g,C/g,H,W) by (0,2,1,3,4), is a Permute(0,2,1,3) of (N,g,C/g,H·W). Where more than 4 axes remain (MaxViT's
    /// window partition), the groups are put in order one at a time, each step a Permute of (N, placed, skipped, wanted…)
    /// to (N, placed, wanted…, skipped): at most one copy per group.
    /// A perm that moves the batch axis, or any perm of a <see cref="PermutedView"/>, moves no data: the result is a view
    /// that records where each axis lies, and data moves where a layer needs it.</summary>
    public static OnnxValue Transpose(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var view = graph.Input(n, 0) as PermutedView;
        var (x, dims) = view is null ? graph.AnyRankInput(n, 0) : (view.Tensor, view.Dims);
        int rank = dims.Length;
        long[] perm = n.Ints("perm") ?? [.. Enumerable.Range(0, rank).Reverse().Select(i => (long)i)];
        if (perm.Length != rank || perm.Order().Where((p, i) => p != i).Any())
            throw n.Malformed($"perm [{string.Join(",", perm)}] is not a permutation of the {rank} axes of {view?.Text ?? $"[{string.Join(",", dims)}]"}");
        int[] order = [.. perm.Select(p => (int)p)];
        if (view is not null || order[0] != 0) return (view ?? PermutedView.Of(x, dims)).Transposed(order).Simplified();
        if (order.Select((p, i) => p == i).All(same => same)) return graph.Input(n, 0);
        return Permuted(graph, n, 0, x, dims, order);
    }

    /// <summary>The tensor <paramref name="x"/> (input <paramref name="index"/> of <paramref name="n"/>, or a view of it) seen
    /// with sizes <paramref name="dims"/>, its axes permuted by <paramref name="order"/> (batch first, not moved) by Permute
    /// layers, seen with the permuted sizes.</summary>
    internal static OnnxValue Permuted(ImportGraph graph, OnnxNodeReader n, int index, LiveTensor x, int[] dims, int[] order)
    {
        int rank = dims.Length;
        if (rank <= TensorShape.MaxRank) return graph.AddLayer(n, null, new Permute(order), [x with { Shape = TensorShape.Of(dims) }]);
        var (merged, moves) = MergedAxes(dims, order);
        int[] output = [.. order.Select(p => dims[p])];
        if (moves.Select((p, i) => p == i).All(same => same)) return graph.View(n, index, x, output); // only axes of size 1 moved
        if (merged.Length <= TensorShape.MaxRank)
            return ImportGraph.Seen(graph.AddLayer(n, null, new Permute(moves), [x with { Shape = TensorShape.Of(merged) }]), output);
        // more groups than our axes: one block swap at a time, each a Permute of at most 4 axes
        var current = Enumerable.Range(0, merged.Length).ToList(); // the groups in the order they are stored now
        var tensor = x;
        for (int position = 1; position < merged.Length - 1; position++)
        {
            int at = current.IndexOf(moves[position]);
            if (at == position) continue;
            // (N, placed, skipped, wanted…) → (N, placed, wanted…, skipped): the wanted group comes to its position
            int Size(int from, int to) => current.GetRange(from, to - from).Aggregate(1, (size, g) => size * merged[g]);
            int placed = Size(1, position), skipped = Size(position, at), rest = Size(at, current.Count);
            var (view, swap) = position == 1
                ? (TensorShape.Of([1, skipped, rest]), new Permute(0, 2, 1))
                : (TensorShape.Of([1, placed, skipped, rest]), new Permute(0, 1, 3, 2));
            tensor = graph.AddLayer(n, null, swap, [tensor with { Shape = view }]);
            current = [.. current.Take(position), .. current.Skip(at), .. current.Skip(position).Take(at - position)];
        }
        return ImportGraph.Seen(tensor, output);
    }

    /// <summary>The permutation <paramref name="order"/> of axes <paramref name="dims"/> (output axis k is input axis
    /// <c>order[k]</c>, the batch axis first and alone) as the same move of fewer axes: axes of size 1 may go anywhere and
    /// are left out, and input axes that stay next to each other in the output move as one, their sizes multiplied.
    /// Returns the merged input sizes and the permutation of them.</summary>
    public static (int[] Merged, int[] Moves) MergedAxes(int[] dims, int[] order)
    {
        int[] kept = [.. order.Where(p => p == 0 || dims[p] != 1)];
        int[] inputOrder = [.. kept.Order()];
        var groups = new List<List<int>>();
        foreach (int p in kept)
        {
            var last = groups.Count > 0 ? groups[^1] : null;
            if (last is not null && last[^1] != 0 && Array.IndexOf(inputOrder, p) == Array.IndexOf(inputOrder, last[^1]) + 1) last.Add(p);
            else groups.Add([p]);
        }
        var byInput = groups.OrderBy(g => g[0]).ToList();
        int[] merged = [.. byInput.Select(g => g.Aggregate(1, (size, axis) => size * dims[axis]))];
        int[] moves = [.. groups.Select(g => byInput.IndexOf(g))];
        return (merged, moves);
    }

    /// <summary>The starts, ends, axes and steps of a Slice: attributes before opset 10, constant inputs from it (axes
    /// default to 0…, steps to 1). Shared with <see cref="ConstantFolding.Slice"/>.</summary>
    public static (long[] Starts, long[] Ends, long[] Axes, long[] Steps) SliceArguments(ImportGraph graph, OnnxNodeReader n)
    {
        if (n.Opset < 10) n.ExpectInputs(1, 1);
        else n.ExpectInputs(3, 5);
        long[] Constant(int i, string what) => graph.Constant(n, i, what).AsInts(m => n.Unsupported($"{what}: {m}"));
        var (starts, ends, axes, steps) = n.Opset < 10
            ? (n.Ints("starts") ?? [], n.Ints("ends") ?? [], n.Ints("axes"), null)
            : (Constant(1, "starts"), Constant(2, "ends"), n.HasInput(3) ? Constant(3, "axes") : null, n.HasInput(4) ? Constant(4, "steps") : (long[]?)null);
        axes ??= [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
        steps ??= [.. Enumerable.Repeat(1L, starts.Length)];
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length || steps.Contains(0))
            throw n.Malformed("starts, ends, axes and steps must have equal lengths and non-zero steps");
        return (starts, ends, axes, steps);
    }

    public static OnnxValue Slice(ImportGraph graph, OnnxNodeReader n)
    {
        var (starts, ends, axes, steps) = SliceArguments(graph, n);
        if (graph.Input(n, 0) is PermutedView view) return SliceOfView(graph, n, view, starts, ends, axes, steps);
        var x = graph.LiveInput(n, 0);
        var dims = new List<int>();
        var (first, last, step) = (new List<int>(), new List<int>(), new List<int>());
        for (int k = 0; k < axes.Length; k++)
        {
            int axis = n.Axis(axes[k], x.Shape.Rank, x.Shape);
            if (axis == 0)
            {
                // whatever the batch size: from the first item (0, or clamped up to it) to the end (clamped down to it)
                if (steps[k] == 1 && starts[k] is 0 or <= int.MinValue && ends[k] >= int.MaxValue) continue;
                throw n.Unsupported($"slice {starts[k]}:{ends[k]}:{steps[k]} of the batch axis");
            }
            int size = x.Shape[axis];
            var (from, count) = Layers.Slice.Range(size, starts[k], ends[k], steps[k]);
            if (count == 0) throw n.Unsupported($"slice {starts[k]}:{ends[k]}:{steps[k]} of axis {axis} of {x.Shape} is empty");
            if (steps[k] == 1 && from == 0 && count == size) continue;
            if (dims.Contains(axis)) throw n.Malformed($"axis {axes[k]} is sliced twice");
            dims.Add(axis);
            first.Add(Clamp(starts[k]));
            last.Add(Clamp(ends[k]));
            step.Add(Clamp(steps[k]));
        }
        return dims.Count == 0 ? x : graph.AddLayer(n, null, new Layers.Slice([.. dims], [.. first], [.. last], [.. step]), [x]);
    }

    /// <summary>Slice of a <see cref="PermutedView"/>: each sliced ONNX axis must be one stored axis other than the batch's
    /// (MultiheadAttention's q, k and v cut from the last axis of (L,N,3E)); it is sliced in place, the view kept.</summary>
    static OnnxValue SliceOfView(ImportGraph graph, OnnxNodeReader n, PermutedView view, long[] starts, long[] ends, long[] axes, long[] steps)
    {
        int[] dims = view.Dims, physical = [.. view.Physical];
        var tensor = view.Tensor;
        var sliced = new HashSet<int>();
        for (int k = 0; k < axes.Length; k++)
        {
            int axis = n.Axis(axes[k], dims.Length, view.Text);
            int[] stored = view.Axes[axis];
            bool whole = steps[k] == 1 && starts[k] is 0 or <= int.MinValue && ends[k] >= int.MaxValue;
            if (stored.Contains(0))
            {
                if (whole) continue;
                throw n.Unsupported($"slice {starts[k]}:{ends[k]}:{steps[k]} of axis {axis} of {view.Text}, which holds the batch axis");
            }
            var (from, count) = Layers.Slice.Range(dims[axis], starts[k], ends[k], steps[k]);
            if (count == 0) throw n.Unsupported($"slice {starts[k]}:{ends[k]}:{steps[k]} of axis {axis} of {view.Text} is empty");
            if (steps[k] == 1 && from == 0 && count == dims[axis]) continue;
            if (!sliced.Add(axis)) throw n.Malformed($"axis {axes[k]} is sliced twice");
            if (stored.Length != 1)
                throw n.Unsupported($"slice of axis {axis} of {view.Text}, which merges {stored.Length} stored axes of a transposed view");
            int a = stored[0];
            int before = physical[1..a].Aggregate(1, (p, d) => p * d), after = physical[(a + 1)..].Aggregate(1, (p, d) => p * d);
            tensor = graph.AddLayer(n, null, new Layers.Slice([2], [Clamp(starts[k])], [Clamp(ends[k])], [Clamp(steps[k])]),
                [tensor with { Shape = TensorShape.Of([1, before, physical[a], after]) }]);
            physical[a] = count;
        }
        return new PermutedView(tensor, physical, view.Axes).Simplified();
    }

    /// <summary>Split along <c>axis</c> into the given sizes (attribute <c>split</c> before opset 13, an optional constant
    /// input from it), into equal parts, or from opset 18 into <c>num_outputs</c> parts of ⌈size/num_outputs⌉ (the last one
    /// smaller): one <see cref="Layers.Slice"/> per output.</summary>
    public static OnnxValue Split(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, n.Opset >= 13 ? 2 : 1);
        var x = graph.LiveInput(n, 0);
        int axis = n.Axis(n.Int("axis", 0), x.Shape.Rank, x.Shape);
        if (axis == 0) throw n.Unsupported("Split of the batch axis");
        int outputs = n.Proto.Output.Count, size = x.Shape[axis];
        long[]? sizes = n.Opset >= 13
            ? (n.HasInput(1) ? graph.Constant(n, 1, "split").AsInts(m => n.Unsupported($"split: {m}")) : null)
            : n.Ints("split");
        long parts = n.Opset >= 18 ? n.Int("num_outputs", 0) : 0;
        if (parts != 0)
        {
            if (sizes is not null) throw n.Malformed("both the split input and attribute 'num_outputs' are given");
            if (parts != outputs) throw n.Malformed($"attribute 'num_outputs' = {parts} but the node has {outputs} outputs");
            long chunk = (size + parts - 1) / parts;
            if (chunk * (parts - 1) >= size)
                throw n.Unsupported($"num_outputs = {parts} of axis {axis} of {x.Shape} leaves an empty last output");
            sizes = [.. Enumerable.Repeat(chunk, (int)parts - 1), size - chunk * (parts - 1)];
        }
        if (sizes is null)
        {
            if (outputs < 1 || size % outputs != 0) throw n.Malformed($"axis {axis} of {x.Shape} does not split into {outputs} equal parts");
            sizes = [.. Enumerable.Repeat((long)(size / outputs), outputs)];
        }
        if (sizes.Length != outputs || sizes.Any(s => s < 1) || sizes.Sum() != size)
            throw n.Malformed($"split sizes [{string.Join(",", sizes)}] do not cut axis {axis} of {x.Shape} into {outputs} outputs");
        var results = new OnnxValue[outputs];
        int start = 0;
        for (int i = 0; i < outputs; i++)
        {
            int end = start + (int)sizes[i];
            results[i] = outputs == 1 ? x : graph.AddLayer(n, null, new Layers.Slice([axis], [start], [end], [1]), [x]);
            start = end;
        }
        return new OnnxOutputs(results);
    }

    /// <summary>Gather along <c>axis</c> with constant indices (negative ones count from the end): an
    /// <see cref="IndexSelect"/> of the flattened indices, seen with the indices' axes in place of the gathered one.</summary>
    public static OnnxValue Gather(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        if (graph.Input(n, 0) is PermutedView view) return GatherOfView(graph, n, view);
        var x = graph.LiveInput(n, 0);
        int axis = n.Axis(n.Int("axis", 0), x.Shape.Rank, x.Shape);
        if (axis == 0) throw n.Unsupported("Gather along the batch axis");
        var indices = graph.Constant(n, 1, "the indices");
        long[] values = indices.AsInts(m => n.Unsupported($"the indices: {m}"));
        int size = x.Shape[axis];
        if (values.Length == 0 || values.Any(i => i < -size || i >= size))
            throw n.Malformed($"indices [{string.Join(",", values)}] are outside axis {axis} of {x.Shape} (size {size})");
        var selected = graph.AddLayer(n, null, new IndexSelect(axis, [.. values.Select(i => (int)(i < 0 ? i + size : i))]), [x]);
        var dims = x.Shape.ToArray().Select(d => (long)d).ToList();
        dims.RemoveAt(axis);
        dims.InsertRange(axis, indices.Dims);
        if (dims.Count is < 2 or > TensorShape.MaxRank)
            throw n.Unsupported($"Gather of {x.Shape} with indices of shape [{string.Join(",", indices.Dims)}] gives rank {dims.Count} (supported: 2 to {TensorShape.MaxRank})");
        return selected with { Shape = TensorShape.Of([.. dims.Select(d => (int)d)]) };
    }

    /// <summary>Gather of a <see cref="PermutedView"/> along an ONNX axis that is one stored axis other than the batch's, with a
    /// constant scalar or vector index (Swin's q, k and v picked from the (3,k·N,heads,L,d) view): an <see cref="IndexSelect"/>
    /// of that stored axis; a scalar index drops the axis.</summary>
    static OnnxValue GatherOfView(ImportGraph graph, OnnxNodeReader n, PermutedView view)
    {
        int[] dims = view.Dims;
        int axis = n.Axis(n.Int("axis", 0), dims.Length, view.Text);
        var indices = graph.Constant(n, 1, "the indices");
        if (indices.Dims.Length > 1) throw n.Unsupported($"Gather of {view.Text} with indices of shape {indices} (a transposed view takes a scalar or a vector)");
        int[] stored = view.Axes[axis];
        if (stored.Length != 1 || stored[0] == 0)
            throw n.Unsupported($"Gather along axis {axis} of {view.Text}, which {(stored.Contains(0) ? "holds the batch axis" : $"merges {stored.Length} stored axes")}");
        int a = stored[0], size = dims[axis];
        long[] values = indices.AsInts(m => n.Unsupported($"the indices: {m}"));
        if (values.Length == 0 || values.Any(i => i < -size || i >= size))
            throw n.Malformed($"indices [{string.Join(",", values)}] are outside axis {axis} of {view.Text} (size {size})");
        int[] physical = [.. view.Physical];
        int before = physical[1..a].Aggregate(1, (p, d) => p * d), after = physical[(a + 1)..].Aggregate(1, (p, d) => p * d);
        var selected = graph.AddLayer(n, null, new IndexSelect(2, [.. values.Select(i => (int)(i < 0 ? i + size : i))]),
            [view.Tensor with { Shape = TensorShape.Of([1, before, size, after]) }]);
        physical[a] = values.Length;
        if (indices.Dims.Length == 1) return new PermutedView(selected, physical, view.Axes).Simplified();
        // a scalar index: the stored axis (now of size 1) and the ONNX axis go
        int[] Renumbered(int[] group) => [.. group.Select(b => b > a ? b - 1 : b)];
        return new PermutedView(selected, [.. physical.Where((_, i) => i != a)], [.. view.Axes.Where((_, i) => i != axis).Select(Renumbered)]).Simplified();
    }

    /// <summary>A slice bound in int range: ONNX writes ±2⁶³−1 for "to the end", which clamping treats the same.</summary>
    static int Clamp(long v) => (int)Math.Clamp(v, int.MinValue + 1, int.MaxValue);
}

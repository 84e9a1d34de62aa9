namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Comparison, selection and index arithmetic on constants, folded at import time: the shape bookkeeping exporters write
/// around Expand, Reshape and masks (PyTorch's <c>expand</c> writes Shape/ConstantOfShape/Equal/Where; Swin's window
/// arithmetic Mod and Range). Booleans are integer constants 0 and 1. Equal, Where and Mod broadcast (NumPy's rules). The
/// symbolic batch size (<see cref="OnnxConstant.Batch"/>) and its multiples equal themselves and no size below 1, pass through
/// Where, and are refused by name where a result would depend on the batch size (Mod, Range, Equal with a positive size).
/// Expand of a constant to a shape that starts with the batch size is a <see cref="BatchExpand"/> layer; none of the other
/// ops is a layer: on a tensor computed from the graph input they are an <see cref="OnnxUnsupportedException"/> naming the node.
/// </summary>
internal static class ConstantLogic
{
    /// <summary>Equal: 1 where the elements are equal, else 0.</summary>
    public static OnnxValue Equal(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        var (a, b, dims) = ConstantFolding.Broadcast(n, graph.FoldedInput(n, 0), graph.FoldedInput(n, 1));
        if (a.IsFloat || b.IsFloat)
        {
            float[] x = a.AsFloats(ConstantFolding.Fail(n)), y = b.AsFloats(ConstantFolding.Fail(n));
            return new ConstantValue(OnnxConstant.OfInts(dims, [.. x.Select((v, i) => v == y[i] ? 1L : 0L)]));
        }
        long[] p = a.Ints!, q = b.Ints!;
        return new ConstantValue(OnnxConstant.OfInts(dims, [.. p.Select((v, i) => Same(n, v, q[i]) ? 1L : 0L)]));
    }

    /// <summary>Whether integers <paramref name="a"/> and <paramref name="b"/> are equal, either possibly the batch size
    /// (at least 1: unequal to any size below 1, unknown against a positive one).</summary>
    static bool Same(OnnxNodeReader n, long a, long b)
    {
        bool batchA = OnnxConstant.IsBatchMultiple(a), batchB = OnnxConstant.IsBatchMultiple(b);
        if (!batchA && !batchB) return a == b;
        if (batchA && batchB && a == b) return true;
        long other = batchA ? b : a;
        return !(batchA && batchB) && other < 1 ? false
            : throw n.Unsupported($"comparing {Named(a)} with {Named(b)} depends on the batch size");
        static string Named(long v) => v == OnnxConstant.Batch ? "the batch size" : OnnxConstant.Text(v);
    }

    /// <summary>Not of a boolean constant.</summary>
    public static OnnxValue Not(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var c = graph.FoldedInput(n, 0);
        long[] values = c.AsInts(ConstantFolding.Fail(n));
        if (values.Any(v => v is not (0 or 1))) throw n.Malformed($"input {c} is not boolean");
        return new ConstantValue(OnnxConstant.OfInts(c.Dims, [.. values.Select(v => 1 - v)]));
    }

    /// <summary>Where(condition, x, y): x's element where the condition is non-zero, else y's (all three broadcast).</summary>
    public static OnnxValue Where(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(3, 3);
        OnnxConstant condition = graph.FoldedInput(n, 0), x = graph.FoldedInput(n, 1), y = graph.FoldedInput(n, 2);
        long[] dims = ConstantFolding.BroadcastDims(n, ConstantFolding.BroadcastDims(n, condition.Dims, x.Dims), y.Dims);
        long[] chosen = ConstantFolding.Expanded(n, condition, dims).AsInts(ConstantFolding.Fail(n));
        (x, y) = (ConstantFolding.Expanded(n, x, dims), ConstantFolding.Expanded(n, y, dims));
        if (x.IsFloat || y.IsFloat)
        {
            float[] p = x.AsFloats(ConstantFolding.Fail(n)), q = y.AsFloats(ConstantFolding.Fail(n));
            return new ConstantValue(OnnxConstant.OfFloats(dims, [.. chosen.Select((c, i) => c != 0 ? p[i] : q[i])]));
        }
        return new ConstantValue(OnnxConstant.OfInts(dims, [.. chosen.Select((c, i) => c != 0 ? x.Ints![i] : y.Ints![i])]));
    }

    /// <summary>Mod: the remainder with the divisor's sign (fmod = 0, Python's %; integers only) or the dividend's
    /// (fmod = 1, C's fmod).</summary>
    public static OnnxValue Mod(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        bool fmod = n.Int("fmod", 0) != 0;
        var (a, b, dims) = ConstantFolding.Broadcast(n, graph.FoldedInput(n, 0), graph.FoldedInput(n, 1));
        if (a.IsFloat || b.IsFloat)
        {
            if (!fmod) throw n.Malformed("Mod of floats needs fmod = 1");
            float[] x = a.AsFloats(ConstantFolding.Fail(n)), y = b.AsFloats(ConstantFolding.Fail(n));
            return new ConstantValue(OnnxConstant.OfFloats(dims, [.. x.Select((v, i) => v % y[i])]));
        }
        long[] p = a.Ints!, q = b.Ints!;
        if (p.Any(OnnxConstant.IsBatchMultiple) || q.Any(OnnxConstant.IsBatchMultiple)) throw n.Unsupported("Mod of the batch size depends on the batch size");
        if (q.Contains(0)) throw n.Unsupported("integer Mod by 0");
        return new ConstantValue(OnnxConstant.OfInts(dims, [.. p.Select((v, i) => fmod ? v % q[i] : ((v % q[i]) + q[i]) % q[i])]));
    }

    /// <summary>ScatterND of constants (Swin's shifted-window mask, written region by region): a copy of data in which each
    /// index tuple (the last axis of indices, q ≤ rank entries) names a slice, replaced by the matching slice of updates
    /// (reduction none, the default) or combined with it (add, mul; opset 16 on). The batch size is refused in what an add or
    /// mul combines.</summary>
    public static OnnxValue ScatterND(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(3, 3);
        OnnxConstant data = graph.FoldedInput(n, 0), indexTuples = graph.FoldedInput(n, 1), updates = graph.FoldedInput(n, 2);
        string reduction = n.Opset >= 16 ? n.String("reduction", "none") : "none";
        if (reduction is not ("none" or "add" or "mul")) throw n.Unsupported($"reduction '{reduction}' is not supported (none, add, mul)");
        long[] index = indexTuples.AsInts(ConstantFolding.Fail(n));
        int rank = data.Dims.Length, q = indexTuples.Dims.Length == 0 ? 0 : (int)indexTuples.Dims[^1];
        if (q < 1 || q > rank) throw n.Malformed($"indices {indexTuples} must end in an axis of 1 to {rank} entries (the rank of data {data})");
        long[] expected = [.. indexTuples.Dims[..^1], .. data.Dims[q..]];
        if (!updates.Dims.SequenceEqual(expected)) throw n.Malformed($"updates {updates} must have the shape [{string.Join(",", expected)}]");
        if (data.IsFloat != updates.IsFloat) throw n.Malformed($"data {data} and updates {updates} have different element types");
        long[] strides = ConstantFolding.Strides(data.Dims);
        int slice = (int)data.Dims[q..].Aggregate(1L, (p, d) => p * d), tuples = index.Length / q;
        T[] Scatter<T>(T[] values, T[] replacements, Func<T, T, T> combine)
        {
            var result = (T[])values.Clone();
            for (int t = 0; t < tuples; t++)
            {
                long offset = 0;
                for (int j = 0; j < q; j++)
                {
                    long i = index[t * q + j], size = data.Dims[j];
                    if (i < -size || i >= size) throw n.Malformed($"index {i} is outside axis {j} of data {data}");
                    offset += (i < 0 ? i + size : i) * strides[j];
                }
                for (int e = 0; e < slice; e++) result[offset + e] = combine(result[offset + e], replacements[t * slice + e]);
            }
            return result;
        }
        if (data.IsFloat)
            return new ConstantValue(OnnxConstant.OfFloats(data.Dims, Scatter(data.Floats!, updates.Floats!, reduction switch
            {
                "add" => (a, b) => a + b,
                "mul" => (a, b) => a * b,
                _ => (_, b) => b,
            })));
        if (reduction != "none" && (data.Ints!.Any(OnnxConstant.IsBatchMultiple) || updates.Ints!.Any(OnnxConstant.IsBatchMultiple)))
            throw n.Unsupported($"ScatterND with reduction '{reduction}' of the batch size depends on the batch size");
        return new ConstantValue(OnnxConstant.OfInts(data.Dims, Scatter(data.Ints!, updates.Ints!, reduction switch
        {
            "add" => (a, b) => a + b,
            "mul" => (a, b) => a * b,
            _ => (_, b) => b,
        })));
    }

    /// <summary>Range(start, limit, delta): start, start + delta, … up to limit (exclusive), of scalars.</summary>
    public static OnnxValue Range(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(3, 3);
        OnnxConstant start = graph.FoldedInput(n, 0), limit = graph.FoldedInput(n, 1), delta = graph.FoldedInput(n, 2);
        if (start.Length != 1 || limit.Length != 1 || delta.Length != 1) throw n.Malformed($"start {start}, limit {limit} and delta {delta} must be scalars");
        double from = start.Scalar(n), to = limit.Scalar(n), step = delta.Scalar(n);
        if (step == 0) throw n.Malformed("delta is 0");
        double count = Math.Max(Math.Ceiling((to - from) / step), 0);
        if (count > ConstantFolding.MaxMadeElements) throw n.Unsupported($"Range of {count} elements is not supported (at most {ConstantFolding.MaxMadeElements:N0})");
        long[] dims = [(long)count];
        return new ConstantValue(start.IsFloat || limit.IsFloat || delta.IsFloat
            ? OnnxConstant.OfFloats(dims, [.. Enumerable.Range(0, (int)count).Select(i => (float)(from + i * step))])
            : OnnxConstant.OfInts(dims, [.. Enumerable.Range(0, (int)count).Select(i => (long)from + i * (long)step)]));
    }

    /// <summary>Expand of a constant to the broadcast of its shape and the given one. A shape whose first entry is the batch
    /// size N repeats the constant per item (PyTorch's <c>parameter.expand(N, …)</c>, ViT's class token): a
    /// <see cref="BatchExpand"/> layer, learnable where the constant is an initializer of the file (a weight), which it
    /// must then fill each item with as it is (a weight repeated inside an item would train as many copies).</summary>
    public static OnnxValue Expand(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        var c = graph.FoldedInput(n, 0);
        long[] shape = graph.FoldedInput(n, 1).AsInts(ConstantFolding.Fail(n));
        string text = $"[{string.Join(",", shape.Select(OnnxConstant.Text))}]";
        bool perItem = shape.Length > 0 && shape[0] == OnnxConstant.Batch;
        if (shape.Skip(perItem ? 1 : 0).Any(OnnxConstant.IsBatchMultiple))
            throw n.Unsupported($"Expand of the constant {c} to {text}: only the first axis may be the batch size (a constant repeated per item)");
        if (shape.Any(d => d < 0 && !OnnxConstant.IsBatchMultiple(d))) throw n.Malformed($"shape {text} has a negative size");
        if (!perItem) return new ConstantValue(ConstantFolding.Expanded(n, c, ConstantFolding.BroadcastDims(n, c.Dims, shape)));
        long[] dims = ConstantFolding.BroadcastDims(n, c.Dims, [1, .. shape[1..]]);
        if (c.Dims.Length == dims.Length && c.Dims[0] != 1)
            throw n.Unsupported($"Expand of the constant {c} to {text}: its first axis would be the batch axis");
        long[] item = dims[1..];
        if (item.Length == 0) throw n.Unsupported($"Expand of the constant {c} to {text} gives one value per item; our tensors have an item axis");
        var values = ConstantFolding.Expanded(n, c.WithDims([.. BroadcastAxes.Aligned([.. c.Dims.Select(d => (int)d)], dims.Length).Select(d => (long)d)]), dims);
        string name = n.Proto.Input[0];
        bool learnable = graph.IsInitializer(name);
        if (learnable && values.Length != c.Length)
            throw n.Unsupported($"Expand of the weight {c} to {text} repeats it inside each item; only a repeat over the batch is a layer (BatchExpand)");
        var layer = new BatchExpand(TensorShape.Of([.. item.Select(d => (int)d)]), learnable);
        return graph.AddLayer(n, learnable ? $"{name}.weight" : null, layer, [graph.BatchSource], ("constant", [.. values.AsFloats(ConstantFolding.Fail(n))]));
    }
}

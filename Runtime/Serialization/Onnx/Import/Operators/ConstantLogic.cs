namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Comparison, selection and index arithmetic on constants, folded at import time: the shape bookkeeping exporters write
/// around Expand, Reshape and masks (PyTorch's <c>expand</c> writes Shape/ConstantOfShape/Equal/Where; Swin's window
/// arithmetic Mod and Range). Booleans are integer constants 0 and 1. Equal, Where and Mod broadcast (NumPy's rules). The
/// symbolic batch size (<see cref="OnnxConstant.Batch"/>) equals itself and no size below 1, passes through Where, and is
/// refused by name where a result would depend on its value (Mod, Range, Equal with a positive size). None of these ops is
/// a layer: on a tensor computed from the graph input they are an <see cref="OnnxUnsupportedException"/> naming the node.
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
        bool batchA = a == OnnxConstant.Batch, batchB = b == OnnxConstant.Batch;
        if (batchA == batchB) return a == b;
        long other = batchA ? b : a;
        return other < 1 ? false : throw n.Unsupported($"comparing the batch size with {other} depends on the batch size");
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
        if (p.Contains(OnnxConstant.Batch) || q.Contains(OnnxConstant.Batch)) throw n.Unsupported("Mod of the batch size depends on the batch size");
        if (q.Contains(0)) throw n.Unsupported("integer Mod by 0");
        return new ConstantValue(OnnxConstant.OfInts(dims, [.. p.Select((v, i) => fmod ? v % q[i] : ((v % q[i]) + q[i]) % q[i])]));
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

    /// <summary>Expand of a constant to the broadcast of its shape and the given one. A shape holding the batch size
    /// would make a tensor of the batch from a constant, which is refused.</summary>
    public static OnnxValue Expand(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        var c = graph.FoldedInput(n, 0);
        long[] shape = graph.FoldedInput(n, 1).AsInts(ConstantFolding.Fail(n));
        if (shape.Contains(OnnxConstant.Batch))
            throw n.Unsupported($"Expand of the constant {c} to a shape holding the batch size (a constant repeated per item) is not supported");
        if (shape.Any(d => d < 0)) throw n.Malformed($"shape [{string.Join(",", shape)}] has a negative size");
        return new ConstantValue(ConstantFolding.Expanded(n, c, ConstantFolding.BroadcastDims(n, c.Dims, shape)));
    }
}

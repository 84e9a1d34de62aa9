namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// The ops computed at import time when every input is a constant: Constant nodes, and the shape arithmetic exporters
/// write around Flatten, Reshape, Pad and Resize (Shape, Gather, (Un)Squeeze, Reshape, Concat, Slice, Transpose,
/// ConstantOfShape, Cast, Identity, element-wise Add/Sub/Mul/Div). Integer constants may hold the symbolic batch size
/// (<see cref="OnnxConstant.Batch"/>) and its multiples, which pass through Gather, Concat and Slice, and through Mul and Div
/// only where the result is again a multiple of the batch size.
/// </summary>
internal static class ConstantFolding
{
    /// <summary>A Constant node: attribute <c>value</c> (a tensor), or from opset 12 a float, int or list of them.</summary>
    public static OnnxValue Constant(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(0, 0);
        if (n.Tensor("value") is { } tensor) return new ConstantValue(graph.ReadTensor(tensor));
        if (n.Opset >= 12)
        {
            if (n.Has("value_float")) return new ConstantValue(OnnxConstant.OfFloats([], [n.Float("value_float", 0)]));
            if (n.Floats("value_floats") is { } floats) return new ConstantValue(OnnxConstant.OfFloats([floats.Length], floats));
            if (n.Has("value_int")) return new ConstantValue(OnnxConstant.FromFile([], [n.Int("value_int", 0)]));
            if (n.Ints("value_ints") is { } ints) return new ConstantValue(OnnxConstant.FromFile([ints.Length], ints));
        }
        throw n.Unsupported(n.Proto.Attribute.Count > 0 ? $"attribute '{n.Proto.Attribute[0].Name}' is not supported" : "the value is missing");
    }

    public static OnnxValue Identity(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        graph.AliasInitializer(n.Proto.Output[0], n.Proto.Input[0]);
        return graph.Input(n, 0);
    }

    public static OnnxValue Shape(ImportGraph graph, OnnxNodeReader n) =>
        ShapeConverters.ShapeOf(n, graph.FoldedInput(n, 0).Dims.Select(d => (int)d).ToArray(), batchSymbolic: false);

    public static OnnxValue Cast(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        ShapeConverters.ReadSaturate(n);
        long to = n.Int("to", 0);
        var c = graph.FoldedInput(n, 0);
        return to switch
        {
            (int)TensorDataType.Float or (int)TensorDataType.Double => new ConstantValue(OnnxConstant.OfFloats(c.Dims, c.AsFloats(Fail(n)))),
            (int)TensorDataType.Int64 or (int)TensorDataType.Int32 => new ConstantValue(OnnxConstant.OfInts(c.Dims, c.AsInts(Fail(n)))),
            // true where non-zero (a mask's comparison as booleans, Swin's)
            (int)TensorDataType.Bool => new ConstantValue(OnnxConstant.OfInts(c.Dims, [.. c.AsFloats(Fail(n)).Select(v => v != 0f ? 1L : 0L)])),
            _ => throw n.Unsupported($"Cast to type {to} is not supported"),
        };
    }

    /// <summary>Gather along axis 0 of 1-D data (an entry of a shape).</summary>
    public static OnnxValue Gather(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        var (data, indices) = (graph.FoldedInput(n, 0), graph.FoldedInput(n, 1).AsInts(Fail(n)));
        if (n.Int("axis", 0) != 0 || data.Dims.Length != 1) throw n.Unsupported("Gather of constants is supported on 1-D data along axis 0");
        long Pick(long i) => i < 0 ? i + data.Length : i;
        if (indices.Any(i => Pick(i) < 0 || Pick(i) >= data.Length)) throw n.Malformed($"an index is outside [0, {data.Length})");
        long[] dims = graph.FoldedInput(n, 1).Dims;
        return new ConstantValue(data.IsFloat
            ? OnnxConstant.OfFloats(dims, indices.Select(i => data.Floats![Pick(i)]).ToArray())
            : OnnxConstant.OfInts(dims, indices.Select(i => data.Ints![Pick(i)]).ToArray()));
    }

    public static OnnxValue Squeeze(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 2);
        var c = graph.FoldedInput(n, 0);
        return new ConstantValue(c.WithDims([.. ShapeConverters.SqueezeDims(n, [.. c.Dims], ShapeConverters.Axes(graph, n))]));
    }

    public static OnnxValue Unsqueeze(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 2);
        var c = graph.FoldedInput(n, 0);
        return new ConstantValue(c.WithDims([.. ShapeConverters.UnsqueezeDims(n, [.. c.Dims], ShapeConverters.Axes(graph, n))]));
    }

    public static OnnxValue Reshape(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        if (n.Opset >= 14) n.Int("allowzero", 0);
        var c = graph.FoldedInput(n, 0);
        long[] target = graph.FoldedInput(n, 1).AsInts(Fail(n));
        var dims = new long[target.Length];
        int inferred = -1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            dims[i] = d switch
            {
                0 when i < c.Dims.Length => c.Dims[i], // 0 copies the input's size on that axis
                -1 when inferred < 0 => 1,             // at most one −1, inferred below
                > 0 => d,
                _ => throw n.Malformed($"shape entry {d} at {i} is not valid for a reshape of {c}"),
            };
            if (d == -1) inferred = i;
        }
        long known = 1; // the product of the given sizes (the −1 counted as 1)
        try
        {
            foreach (long d in dims) known = checked(known * d);
        }
        catch (OverflowException)
        {
            throw n.Malformed($"cannot reshape {c} to [{string.Join(",", target)}]");
        }
        if (inferred >= 0) dims[inferred] = known > 0 && c.Length % known == 0 ? c.Length / known : known == 0 && c.Length == 0 ? 0 : -1;
        if (dims.Any(d => d < 0) || dims.Aggregate(1L, (p, d) => p * d) != c.Length) throw n.Malformed($"cannot reshape {c} to [{string.Join(",", target)}]");
        return new ConstantValue(c.WithDims(dims));
    }

    /// <summary>Concat of constants along <c>axis</c> (shapes, 1-D; Swin's window masks, 2-D); the result is integer unless
    /// every part is float.</summary>
    public static OnnxValue Concat(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, int.MaxValue);
        var parts = Enumerable.Range(0, n.InputCount).Select(i => graph.FoldedInput(n, i)).ToArray();
        int rank = parts[0].Dims.Length;
        if (rank == 0) throw n.Malformed("Concat of scalars");
        int axis = n.Axis(n.Int("axis", 0), rank, parts[0]);
        if (parts.Any(p => p.Dims.Length != rank || p.Dims.Where((d, i) => i != axis && d != parts[0].Dims[i]).Any()))
            throw n.Malformed($"parts {string.Join(", ", parts.Select(p => p.ToString()))} differ outside axis {axis}");
        bool floats = parts.All(p => p.IsFloat);
        // each part's rows (the elements before the axis) in turn: row r of the result is row r of every part, joined
        long rows = parts[0].Dims[..axis].Aggregate(1L, (p, d) => p * d);
        long[] dims = [.. parts[0].Dims];
        dims[axis] = parts.Sum(p => p.Dims[axis]);
        var floatValues = new List<float>();
        var intValues = new List<long>();
        for (long r = 0; r < rows; r++)
            foreach (var part in parts)
            {
                int block = (int)(part.Length / Math.Max(rows, 1));
                if (floats) floatValues.AddRange(part.Floats!.AsSpan((int)(r * block), block).ToArray());
                else intValues.AddRange(part.AsInts(Fail(n)).AsSpan((int)(r * block), block).ToArray());
            }
        return new ConstantValue(floats ? OnnxConstant.OfFloats(dims, [.. floatValues]) : OnnxConstant.OfInts(dims, [.. intValues]));
    }

    /// <summary>Add, Sub, Mul, Div, Pow, Min or Max of constants, NumPy broadcasting (floats if either is float).</summary>
    public static OnnxValue Arithmetic(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        var (a, b, dims) = Broadcast(n, graph.FoldedInput(n, 0), graph.FoldedInput(n, 1));
        if (a.IsFloat || b.IsFloat)
        {
            float[] x = a.AsFloats(Fail(n)), y = b.AsFloats(Fail(n));
            return new ConstantValue(OnnxConstant.OfFloats(dims, [.. x.Select((v, i) => (float)Apply(n.Op, v, y[i]))]));
        }
        long[] p = a.Ints!, q = b.Ints!;
        return new ConstantValue(OnnxConstant.OfInts(dims, [.. p.Select((v, i) => OnnxConstant.IsBatchMultiple(v) || OnnxConstant.IsBatchMultiple(q[i])
            ? BatchArithmetic(n, v, q[i]) : (long)Apply(n.Op, v, q[i]))]));
    }

    /// <summary>An op of integers of which one or both are batch multiples (<see cref="OnnxConstant.BatchTimes"/>): k·N times
    /// a positive m is (k·m)·N, and k·N divided by a divisor m of k is (k/m)·N (MultiheadAttention's N·heads and L·N, and
    /// back); anything else would depend on the batch size and is refused by name.</summary>
    static long BatchArithmetic(OnnxNodeReader n, long a, long b)
    {
        bool symbolA = OnnxConstant.IsBatchMultiple(a), symbolB = OnnxConstant.IsBatchMultiple(b);
        long k = OnnxConstant.Multiplier(symbolA ? a : b), m = symbolA ? b : a;
        try
        {
            if (n.Op == "Mul" && symbolA != symbolB && m >= 1) return OnnxConstant.BatchTimes(checked(k * m));
            if (n.Op == "Div" && symbolA && !symbolB && m >= 1 && k % m == 0) return OnnxConstant.BatchTimes(k / m);
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException)
        {
            // a multiple past 2⁶² falls through to the refusal
        }
        throw n.Unsupported($"{n.Op} of {OnnxConstant.Text(a)} and {OnnxConstant.Text(b)} depends on the batch size (supported: kN·m, kN/m for m dividing k)");
    }

    /// <summary>The operands expanded to their NumPy broadcast shape (aligned at the last axis; on each axis the sizes are
    /// equal or one is 1), and that shape. Shapes that do not broadcast are a malformed node.</summary>
    internal static (OnnxConstant A, OnnxConstant B, long[] Dims) Broadcast(OnnxNodeReader n, OnnxConstant a, OnnxConstant b)
    {
        long[] dims = BroadcastDims(n, a.Dims, b.Dims);
        return (Expanded(n, a, dims), Expanded(n, b, dims), dims);
    }

    /// <summary>The NumPy broadcast of the shapes <paramref name="a"/> and <paramref name="b"/>.</summary>
    internal static long[] BroadcastDims(OnnxNodeReader n, long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var dims = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long x = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1, y = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (x != y && x != 1 && y != 1) throw n.Malformed($"[{string.Join(",", a)}] and [{string.Join(",", b)}] do not broadcast");
            dims[i] = x == 1 ? y : x;
        }
        return dims;
    }

    /// <summary><paramref name="c"/> broadcast to <paramref name="dims"/> (its axes aligned at the last; each of its sizes
    /// equal to the target's or 1), at most <see cref="MaxMadeElements"/> elements.</summary>
    internal static OnnxConstant Expanded(OnnxNodeReader n, OnnxConstant c, long[] dims)
    {
        if (c.Dims.SequenceEqual(dims)) return c;
        if (dims.Aggregate(1.0, (p, d) => p * d) > MaxMadeElements)
            throw n.Unsupported($"broadcasting {c} to [{string.Join(",", dims)}] is not supported (at most {MaxMadeElements:N0} elements)");
        int offset = dims.Length - c.Dims.Length;
        long[] strides = Strides(c.Dims);
        return Pick(c, dims, index => Enumerable.Range(0, c.Dims.Length).Sum(axis => c.Dims[axis] == 1 ? 0 : index[axis + offset] * strides[axis]));
    }

    /// <summary>Neg, Abs, Reciprocal, Sqrt, Exp, Log or Erf of a constant, in float32 as the layer computes it.</summary>
    public static OnnxValue Function(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var op = ArithmeticConverters.FunctionOp(n);
        var c = graph.FoldedInput(n, 0);
        return new ConstantValue(OnnxConstant.OfFloats(c.Dims, c.AsFloats(Fail(n)).Select(v => Backends.Cpu.CpuBackend.UnaryValue(op, v)).ToArray()));
    }

    /// <summary>The most elements a fold may make from nothing (ConstantOfShape): exporters' shape arithmetic needs a few;
    /// a file's real weights are initializers, whose size its own bytes bound. (2²⁰: 8 MiB as integers, where the
    /// tensor-data limit, 2²⁸, would let a 5 KiB file ask for 2 GiB.)</summary>
    internal const long MaxMadeElements = 1L << 20;

    /// <summary>A constant of the shape input 0 gives, every element attribute <c>value</c> (default a float 0).</summary>
    public static OnnxValue ConstantOfShape(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        long[] dims = graph.FoldedInput(n, 0).AsInts(Fail(n));
        if (dims.Any(d => d < 0) || dims.Aggregate(1.0, (p, d) => p * d) > MaxMadeElements)
            throw n.Unsupported($"ConstantOfShape [{string.Join(",", dims)}] is not supported (at most {MaxMadeElements:N0} elements)");
        var value = n.Tensor("value") is { } t ? graph.ReadTensor(t) : OnnxConstant.OfFloats([1], [0f]);
        if (value.Length != 1) throw n.Malformed("attribute 'value' must hold one element");
        return new ConstantValue(Pick(value, dims, _ => 0));
    }

    /// <summary>Axes permuted by attribute <c>perm</c> (default: reversed).</summary>
    public static OnnxValue Transpose(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var c = graph.FoldedInput(n, 0);
        int rank = c.Dims.Length;
        long[] perm = n.Ints("perm") ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != rank || perm.Order().Select((p, i) => p == i).Any(ok => !ok)) throw n.Malformed($"perm [{string.Join(",", perm)}] is not a permutation of {rank} axes");
        long[] dims = perm.Select(p => c.Dims[p]).ToArray();
        long[] sourceStrides = Strides(c.Dims);
        return new ConstantValue(Pick(c, dims, index => index.Select((i, axis) => i * sourceStrides[perm[axis]]).Sum()));
    }

    /// <summary>ONNX's Slice: per axis, start/end clamped to the axis as the Slice layer clamps them
    /// (<see cref="Layers.Slice.Range"/>), any non-zero step; starts, ends, axes and steps are attributes before opset 10 and
    /// inputs from it.</summary>
    public static OnnxValue Slice(ImportGraph graph, OnnxNodeReader n)
    {
        var (starts, ends, axes, steps) = IndexingConverters.SliceArguments(graph, n);
        var c = graph.FoldedInput(n, 0);
        int rank = c.Dims.Length;
        long[] begin = new long[rank], step = Enumerable.Repeat(1L, rank).ToArray(), dims = (long[])c.Dims.Clone();
        for (int k = 0; k < axes.Length; k++)
        {
            int axis = n.Axis(axes[k], rank, c);
            var (first, count) = Layers.Slice.Range((int)c.Dims[axis], starts[k], ends[k], steps[k]);
            begin[axis] = first;
            step[axis] = steps[k];
            dims[axis] = count;
        }
        long[] strides = Strides(c.Dims);
        return new ConstantValue(Pick(c, dims, index => index.Select((i, axis) => (begin[axis] + i * step[axis]) * strides[axis]).Sum()));
    }

    /// <summary>A problem with a constant's values, as an <see cref="OnnxUnsupportedException"/> naming <paramref name="n"/>.</summary>
    internal static Func<string, Exception> Fail(OnnxNodeReader n) => m => n.Unsupported(m);

    static double Apply(string op, double a, double b) => op switch
    {
        "Add" => a + b,
        "Sub" => a - b,
        "Mul" => a * b,
        "Pow" => Math.Pow(a, b),
        "Min" => Math.Min(a, b),
        "Max" => Math.Max(a, b),
        _ => b == 0 ? double.NaN : a / b,
    };

    /// <summary>Row-major strides of <paramref name="dims"/>.</summary>
    internal static long[] Strides(long[] dims)
    {
        var strides = new long[dims.Length];
        long stride = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= dims[i];
        }
        return strides;
    }

    /// <summary>A constant of shape <paramref name="dims"/> whose element at each multi-index is <paramref name="c"/>'s
    /// element at <paramref name="sourceIndex"/>(multi-index) (the common core of Transpose, Slice and ConstantOfShape).</summary>
    internal static OnnxConstant Pick(OnnxConstant c, long[] dims, Func<long[], long> sourceIndex)
    {
        long count = dims.Aggregate(1L, (p, d) => p * d);
        var index = new long[dims.Length];
        var picked = new long[count];
        for (long flat = 0; flat < count; flat++)
        {
            long rest = flat;
            for (int axis = dims.Length - 1; axis >= 0; axis--)
            {
                index[axis] = rest % dims[axis];
                rest /= dims[axis];
            }
            picked[flat] = sourceIndex(index);
        }
        return c.IsFloat
            ? OnnxConstant.OfFloats(dims, picked.Select(i => c.Floats![i]).ToArray())
            : OnnxConstant.OfInts(dims, picked.Select(i => c.Ints![i]).ToArray());
    }
}

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Ops that only change how a tensor of our graph is seen: Flatten, Reshape and (Un)Squeeze with constant shapes keep
/// the tensor and change its ONNX shape (a layer that needs the view materialized gets a Flatten or a Reshape, both free); Identity and Cast to
/// float32 pass it through; Shape gives a constant whose batch entry is symbolic. The batch axis never moves in storage; a
/// Reshape of a <see cref="PermutedView"/>, or one that merges the batch axis with others (k·N), regroups the view. A view may
/// have more axes than our tensors (up to <see cref="ImportGraph.MaxViewRank"/>, a <see cref="HighRankView"/>) as long as
/// only these ops and Transpose read it. The shape arithmetic here also serves <see cref="ConstantFolding"/>.
/// </summary>
internal static class ShapeConverters
{
    public static OnnxValue Flatten(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var (x, dims) = graph.AnyRankInput(n, 0);
        long axis = n.Int("axis", 1);
        if (axis < 0) axis += dims.Length;
        // axis 0 of a graph whose batch is fixed at 1 is axis 1; any other axis merges the batch axis with others
        if (axis == 0 && graph.DeclaredBatch == 1) axis = 1;
        if (axis != 1) throw n.Unsupported($"attribute 'axis' = {n.Int("axis", 1)} is not supported (only 1, or 0 at a fixed batch of 1: keep the batch axis)");
        return x with { Shape = new TensorShape(1, x.Shape.ItemLength) };
    }

    /// <summary>Reshape to a constant shape that keeps the batch axis: the symbol, a copy of axis 0 (0), the declared
    /// static batch, or what −1 infers.</summary>
    public static OnnxValue Reshape(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        if (n.Opset >= 14) n.Require("allowzero", 0, "0 copies the input's size");
        long[] target = graph.Constant(n, 1, "the shape").AsInts(m => n.Unsupported($"the shape: {m}"));
        if (graph.Input(n, 0) is PermutedView view) return ReshapeView(n, view, target);
        if (target.Where((d, i) => OnnxConstant.IsBatchMultiple(d) && (i > 0 || d != OnnxConstant.Batch)).Any())
        {
            var (tensor, stored) = graph.AnyRankInput(n, 0);
            return ReshapeView(n, PermutedView.Of(tensor, stored), target);
        }
        var (x, from) = graph.AnyRankInput(n, 0);
        if (target.Length is < 1 or > ImportGraph.MaxViewRank) throw n.Unsupported($"reshape to rank {target.Length} is not supported (1 to {ImportGraph.MaxViewRank})");
        var dims = new long[target.Length];
        int inferred = -1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            dims[i] = d switch
            {
                OnnxConstant.Batch => 1,
                0 when i < from.Length => from[i],
                -1 when inferred < 0 => -1,
                > 0 => d,
                _ => throw n.Malformed($"shape entry {d} at {i} is not valid"),
            };
            if (d == -1) inferred = i;
        }
        bool batchKept = target[0] == OnnxConstant.Batch || target[0] == 0 || (graph.DeclaredBatch is long b && target[0] == b) || inferred == 0;
        if (!batchKept) throw n.Unsupported($"reshape to [{string.Join(",", target)}] changes the batch axis");
        dims[0] = inferred == 0 ? -1 : 1;
        // in double: up to 8 file-given sizes can overflow a long, and a product past 2⁵³ is far from any tensor's length
        double known = dims.Where(d => d > 0).Aggregate(1.0, (p, d) => p * d);
        if (inferred >= 0) dims[inferred] = known <= x.Shape.Length && x.Shape.Length % (long)known == 0 ? x.Shape.Length / (long)known : throw n.Malformed($"cannot reshape [{string.Join(",", from)}] to [{string.Join(",", target)}]");
        // a −1 first that takes more than the batch merges it with other axes (Swin's windows, (N,nW,…) to (nW·N,…))
        if (inferred == 0 && dims[0] > 1) return ReshapeView(n, PermutedView.Of(x, from), target);
        if (dims.Any(d => d is < 1 or > int.MaxValue) || dims.Aggregate(1.0, (p, d) => p * d) != x.Shape.Length || dims[0] != 1)
            throw n.Unsupported($"reshape of [{string.Join(",", from)}] to [{string.Join(",", target)}] does not keep the batch axis");
        return graph.View(n, 0, x, dims.Select(d => (int)d).ToArray());
    }

    /// <summary>Reshape of a <see cref="PermutedView"/>, or to a shape that merges the batch axis with others (k·N): the
    /// entries resolved (0 copies the input's, −1 takes what is left, k·N where the input's batch axis goes), then the
    /// stored axes regrouped (<see cref="PermutedView.Reshaped"/>); no data moves.</summary>
    static OnnxValue ReshapeView(OnnxNodeReader n, PermutedView view, long[] target)
    {
        long[] symbols = view.Symbols;
        string text = $"[{string.Join(",", target.Select(OnnxConstant.Text))}]";
        long total = view.Physical.Aggregate(1L, (p, d) => p * d);
        if (target.Length is < 1 or > ImportGraph.MaxViewRank) throw n.Unsupported($"reshape to rank {target.Length} is not supported (1 to {ImportGraph.MaxViewRank})");
        var entries = new long[target.Length];
        int inferred = -1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            entries[i] = d switch
            {
                0 when i < symbols.Length => symbols[i],
                -1 when inferred < 0 => 1,
                _ when OnnxConstant.IsBatchMultiple(d) && OnnxConstant.Multiplier(d) <= total => d,
                > 0 when d <= total => d,
                _ => throw n.Malformed($"shape entry {OnnxConstant.Text(d)} at {i} is not valid for a reshape of {view.Text}"),
            };
            if (d == -1) inferred = i;
        }
        long known = 1;
        foreach (long e in entries)
        {
            known *= OnnxConstant.IsBatchMultiple(e) ? OnnxConstant.Multiplier(e) : e;
            if (known > total) throw n.Malformed($"cannot reshape {view.Text} to {text}");
        }
        if (inferred >= 0)
        {
            if (total % known != 0) throw n.Malformed($"cannot reshape {view.Text} to {text}");
            long rest = total / known;
            entries[inferred] = entries.Any(OnnxConstant.IsBatchMultiple) ? rest : OnnxConstant.BatchTimes(rest);
        }
        var reshaped = view.Reshaped(entries)
            ?? throw n.Unsupported($"reshape of {view.Text} to {text} would split the batch axis or move it into another entry (at batch 1 our tensor stores [{string.Join(",", view.Physical)}])");
        return reshaped.Simplified();
    }

    public static OnnxValue Squeeze(ImportGraph graph, OnnxNodeReader n) => Squeezed(graph, n, squeeze: true);

    public static OnnxValue Unsqueeze(ImportGraph graph, OnnxNodeReader n) => Squeezed(graph, n, squeeze: false);

    public static OnnxValue Identity(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        return graph.Input(n, 0) is HighRankView or PermutedView ? graph.Input(n, 0) : graph.LiveInput(n, 0, allowPads: true);
    }

    /// <summary>Reads Cast's <c>saturate</c> (opset 19), which only concerns the float8 types, refused as targets.</summary>
    public static void ReadSaturate(OnnxNodeReader n)
    {
        if (n.Opset >= 19) n.Int("saturate", 1);
    }

    public static OnnxValue Cast(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        ReadSaturate(n);
        if (n.Int("to", 0) != (int)TensorDataType.Float) throw n.Unsupported("Cast of a runtime tensor to a type other than float32");
        return graph.LiveInput(n, 0);
    }

    /// <summary>The shape of a runtime tensor, its batch entry the symbol <see cref="OnnxConstant.Batch"/> (of a
    /// <see cref="PermutedView"/>, the entry that holds the batch axis is k·N).</summary>
    public static OnnxValue Shape(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        if (graph.Input(n, 0) is PermutedView view) return ShapeOf(n, view.Symbols);
        int[] dims = graph.Input(n, 0) is HighRankView wide ? wide.Dims : graph.LiveInput(n, 0, allowPads: true).Shape.ToArray();
        return ShapeOf(n, dims, batchSymbolic: true);
    }

    /// <summary>The constant <paramref name="dims"/> (the first one symbolic if <paramref name="batchSymbolic"/>), sliced by
    /// the attributes <c>start</c> and <c>end</c> (opset 15).</summary>
    public static OnnxValue ShapeOf(OnnxNodeReader n, int[] dims, bool batchSymbolic) =>
        ShapeOf(n, [.. dims.Select((d, i) => i == 0 && batchSymbolic ? OnnxConstant.Batch : d)]);

    /// <summary>The constant <paramref name="values"/> sliced by the attributes <c>start</c> and <c>end</c> (opset 15).</summary>
    static OnnxValue ShapeOf(OnnxNodeReader n, long[] values)
    {
        n.ExpectInputs(1, 1);
        long start = n.Opset >= 15 ? n.Int("start", 0) : 0, end = n.Opset >= 15 ? n.Int("end", values.Length) : values.Length;
        int Clamp(long v) => (int)Math.Clamp(v < 0 ? v + values.Length : v, 0, values.Length);
        var slice = values[Clamp(start)..Math.Max(Clamp(start), Clamp(end))];
        return new ConstantValue(OnnxConstant.OfInts([slice.Length], slice));
    }

    /// <summary>The axes of a Squeeze or Unsqueeze: attribute <c>axes</c> before opset 13, an optional constant input from it.</summary>
    public static long[] Axes(ImportGraph graph, OnnxNodeReader n) =>
        n.Opset >= 13 ? (n.HasInput(1) ? graph.Constant(n, 1, "axes").AsInts(m => n.Unsupported(m)) : []) : n.Ints("axes") ?? [];

    /// <summary><paramref name="dims"/> without the size-1 <paramref name="axes"/> (all size-1 axes if none are given).</summary>
    public static List<long> SqueezeDims(OnnxNodeReader n, List<long> dims, long[] axes)
    {
        var drop = axes.Length == 0
            ? Enumerable.Range(0, dims.Count).Where(i => dims[i] == 1).Select(i => (long)i).ToHashSet()
            : axes.Select(a => a < 0 ? a + dims.Count : a).ToHashSet();
        if (drop.Any(a => a < 0 || a >= dims.Count || dims[(int)a] != 1)) throw n.Malformed($"cannot squeeze axes [{string.Join(",", axes)}] of [{string.Join(",", dims)}]");
        return dims.Where((_, i) => !drop.Contains(i)).ToList();
    }

    /// <summary><paramref name="dims"/> with size-1 axes inserted at <paramref name="axes"/> (of the result).</summary>
    public static List<long> UnsqueezeDims(OnnxNodeReader n, List<long> dims, long[] axes)
    {
        int rank = dims.Count + axes.Length;
        var insert = axes.Select(a => a < 0 ? a + rank : a).Order().ToArray();
        if (insert.Any(a => a < 0 || a >= rank) || insert.Distinct().Count() != insert.Length) throw n.Malformed($"cannot unsqueeze axes [{string.Join(",", axes)}]");
        var result = new List<long>(dims);
        foreach (long a in insert) result.Insert((int)a, 1);
        return result;
    }

    static OnnxValue Squeezed(ImportGraph graph, OnnxNodeReader n, bool squeeze)
    {
        n.ExpectInputs(1, 2);
        var (x, from) = graph.AnyRankInput(n, 0);
        long[] axes = Axes(graph, n);
        var dims = from.Select(d => (long)d).ToList();
        var result = squeeze ? SqueezeDims(n, dims, axes) : UnsqueezeDims(n, dims, axes);
        int rank = squeeze ? dims.Count : result.Count; // the rank the axes refer to
        if (result.Count is < 2 or > ImportGraph.MaxViewRank || axes.Length == 0 || axes.Any(a => (a < 0 ? a + rank : a) == 0))
            throw n.Unsupported($"{n.Op} over axes [{string.Join(",", axes)}] of [{string.Join(",", from)}] would change the batch axis or the rank limit");
        return ImportGraph.Seen(x, [.. result.Select(d => (int)d)]);
    }
}

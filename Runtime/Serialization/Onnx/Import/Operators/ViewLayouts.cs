namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Layers over <see cref="PermutedView"/>s (MultiheadAttention's (L,N,E), (L,N·heads,d) and (N·heads,L,d) views): data
/// moves only as far as a layer needs. Row-wise ops (MatMul by a constant, Gemm), which read each row of the last ONNX axis
/// alone, run on the rows in any order, so the stored axes are put as (N, the other axes, the last axis) and the result
/// keeps the view's order. A product of two tensors needs the batch axis first: the stored axes are put in the view's
/// order, and an ONNX axis k·N becomes our (N,k). Element-wise ops with a constant run on the tensor as it is stored, the
/// constant laid out the same way; Softmax runs where the last ONNX axis is stored last.
/// </summary>
internal static class ViewLayouts
{
    /// <summary><paramref name="view"/> (input <paramref name="index"/> of <paramref name="n"/>) with its stored axes in the
    /// order its ONNX axes read them: a Permute where they are not, which needs the batch axis first.</summary>
    public static PermutedView InOrder(ImportGraph graph, OnnxNodeReader n, int index, PermutedView view)
    {
        int[] order = view.Order;
        if (order[0] != 0)
            throw n.Unsupported($"input {index} {view.Text} (a transposed view) has its first axis elsewhere than the batch axis; this op needs the batch first");
        if (order.Select((a, i) => a == i).All(same => same)) return view;
        var moved = IndexingConverters.Permuted(graph, n, index, view.Tensor, view.Physical, order);
        var tensor = moved is HighRankView wide ? wide.Tensor : (LiveTensor)moved;
        int next = 0;
        return new PermutedView(tensor, [.. order.Select(a => view.Physical[a])], [.. view.Axes.Select(axis => axis.Select(_ => next++).ToArray())]);
    }

    /// <summary><paramref name="view"/> (input <paramref name="index"/> of <paramref name="n"/>) stored in a layout that depends
    /// only on its ONNX sizes and on which stored sizes its batch-holding axis merges before and after the batch: the batch
    /// first, then the ONNX axes in order, each one stored axis (the batch-holding one: the part before the batch, then the
    /// part after it). Two views of one ONNX shape so laid out are stored alike (<see cref="PermutedView.SameAxes"/>); a
    /// Permute only where the view is not stored in that order already.</summary>
    public static PermutedView Canonical(ImportGraph graph, OnnxNodeReader n, int index, PermutedView view)
    {
        int[] rest = [.. view.Order.Where(a => a != 0)];
        var ordered = InOrder(graph, n, index, new PermutedView(view.Tensor, view.Physical, [[0, .. rest]]));
        var physical = new List<int> { 1 };
        var axes = new List<int[]>();
        foreach (int[] axis in view.Axes)
        {
            int batch = Array.IndexOf(axis, 0);
            var parts = batch < 0 ? [axis] : new[] { axis[..batch], axis[(batch + 1)..] };
            var entry = new List<int>();
            foreach (var (part, i) in parts.Select((part, i) => (part, i)))
            {
                if (batch >= 0 && i == 1) entry.Add(0);
                if (part.Length == 0) continue;
                entry.Add(physical.Count);
                physical.Add(part.Aggregate(1, (p, a) => p * view.Physical[a]));
            }
            axes.Add([.. entry]);
        }
        return new PermutedView(ordered.Tensor, [.. physical], [.. axes]);
    }

    /// <summary>The rows of <paramref name="view"/> for a row-wise op: a tensor (N,R,K), K the last <paramref name="trailing"/>
    /// ONNX axes (in their order), R every other axis but the batch; and how the op's result (N,R,K') is seen again with the
    /// view's ONNX axes: those of the view where K' = K, else (one trailing axis) the last of size K'.</summary>
    public static (LiveTensor Rows, Func<LiveTensor, int, OnnxValue> Back) Rows(ImportGraph graph, OnnxNodeReader n, int index, PermutedView view, int trailing = 1)
    {
        int[] features = [.. view.Axes[^trailing..].SelectMany(axis => axis)];
        if (features.Contains(0)) throw n.Unsupported($"input {index} {view.Text}: its last {(trailing == 1 ? "axis holds" : $"{trailing} axes hold")} the batch axis, which a row-wise op would mix");
        int[] rowAxes = [.. view.Order.Where(a => a != 0 && !features.Contains(a))];
        var ordered = InOrder(graph, n, index, new PermutedView(view.Tensor, view.Physical, [[0, .. rowAxes], features]));
        int Product(IEnumerable<int> axes) => axes.Aggregate(1, (p, a) => p * view.Physical[a]);
        var rows = ordered.Tensor with { Shape = new TensorShape(1, Product(rowAxes), Product(features)) };
        int[] placed = [0, .. rowAxes, .. features]; // the stored axes of the rows tensor, outer first
        int Place(int a) => Array.IndexOf(placed, a);
        OnnxValue Back(LiveTensor result, int outputFeatures)
        {
            if (outputFeatures == Product(features))
                return new PermutedView(result, [.. placed.Select(a => view.Physical[a])], [.. view.Axes.Select(axis => axis.Select(Place).ToArray())]).Simplified();
            if (trailing != 1) throw new InvalidOperationException("only a row-wise op over one trailing axis changes its size");
            int[] physical = [1, .. rowAxes.Select(a => view.Physical[a]), outputFeatures];
            return new PermutedView(result, physical, [.. view.Axes[..^1].Select(axis => axis.Select(Place).ToArray()), [physical.Length - 1]]).Simplified();
        }
        return (rows, Back);
    }

    /// <summary>Input <paramref name="index"/>, a <see cref="PermutedView"/> (or a tensor in storage order) of at least 3 ONNX
    /// axes whose first holds the batch axis, as a tensor of ours for a product of tensors: its stored axes in order (<see cref="InOrder"/>), the first ONNX
    /// axis k·N as (N,k) and the axes before the matrices merged, (N, k·…, M, K) (Swin's (k·N,heads,L,d) is (N,k·heads,L,d)).
    /// Also the sizes the merged axis stands for, (k, …).</summary>
    public static (LiveTensor Tensor, int[] Leading) Batched(ImportGraph graph, OnnxNodeReader n, int index)
    {
        var view = graph.Input(n, index) as PermutedView;
        if (view is null)
        {
            var (x, stored) = graph.AnyRankInput(n, index); // the other operand's batch axis alone: a view in storage order
            view = PermutedView.Of(x, stored);
        }
        if (!view.Axes[0].Contains(0) || view.Axes.Length < 3)
            throw n.Unsupported($"input {index} {view.Text}: a MatMul operand seen through a transposed view needs 3 or more axes, the first holding the batch axis");
        var ordered = InOrder(graph, n, index, view);
        int[] dims = ordered.Dims;
        int[] leading = [ordered.Axes[0].Skip(1).Aggregate(1, (p, a) => p * ordered.Physical[a]), .. dims[1..^2]];
        return (ordered.Tensor with { Shape = TensorShape.Of([1, leading.Aggregate(1, (p, d) => p * d), dims[^2], dims[^1]]) }, leading);
    }

    /// <summary>The product (N, k·…, M, P) of two <see cref="Batched"/> operands seen as the ONNX (k·N, …, M, P).</summary>
    public static OnnxValue BatchedResult(LiveTensor product, int[] leading)
    {
        int[] matrices = product.Shape.ToArray()[2..];
        int[] physical = [1, .. leading, .. matrices];
        return new PermutedView(product, physical, [[0, 1], .. Enumerable.Range(2, physical.Length - 2).Select(a => new[] { a })]).Simplified();
    }

    /// <summary>The constant <paramref name="c"/>, broadcast against the ONNX axes of <paramref name="view"/>, laid out along
    /// its stored axes (size 1 where it is broadcast); null where it does not broadcast to the view's shape, or would vary
    /// along the axis that holds the batch.</summary>
    public static OnnxConstant? Laid(PermutedView view, OnnxConstant c)
    {
        int[] dims = view.Dims;
        int rank = dims.Length;
        if (c.Dims.Length > rank) return null;
        long[] aligned = [.. Enumerable.Repeat(1L, rank - c.Dims.Length), .. c.Dims];
        var full = new bool[rank];
        for (int i = 0; i < rank; i++)
        {
            if (aligned[i] == 1) continue;
            if (aligned[i] != dims[i] || view.Axes[i].Contains(0)) return null;
            full[i] = true;
        }
        var axisOf = new int[view.Physical.Length];
        for (int i = 0; i < rank; i++) foreach (int a in view.Axes[i]) axisOf[a] = i;
        long[] laid = [.. view.Physical.Select((size, a) => full[axisOf[a]] ? (long)size : 1L)];
        long[] strides = ConstantFolding.Strides(aligned);
        return ConstantFolding.Pick(c.WithDims(aligned), laid, index =>
        {
            long flat = 0;
            for (int i = 0; i < rank; i++)
            {
                if (!full[i]) continue;
                long within = 0; // the element's index along ONNX axis i: its stored axes, outer first
                foreach (int a in view.Axes[i]) within = within * view.Physical[a] + index[a];
                flat += within * strides[i];
            }
            return flat;
        });
    }

}

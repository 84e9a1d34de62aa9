namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// A tensor of our graph, <paramref name="Tensor"/>, seen through ONNX axes that are not its storage order or that merge
/// the batch axis with others: PyTorch's MultiheadAttention transposes (N,L,E) to (L,N,E), splits the heads into
/// (L,N·heads,d) and moves them first, (N·heads,L,d). Our tensors keep the batch axis first in storage, so such a view is
/// kept as a record of where each ONNX axis lies, and data moves only where a layer needs it. <paramref name="Physical"/>:
/// the sizes of a row-major view of the tensor's storage (batch 1 first, axis 0 the batch axis, at most
/// <see cref="ImportGraph.MaxViewRank"/> axes). <paramref name="Axes"/>: the ONNX axes in order, each the physical axes it
/// merges (outer first); together they hold every physical axis once. The ONNX axis that holds physical axis 0 has size
/// k·N (<see cref="Symbols"/>).
/// </summary>
internal sealed record PermutedView(LiveTensor Tensor, int[] Physical, int[][] Axes) : OnnxValue
{
    /// <summary>The ONNX sizes at batch 1.</summary>
    public int[] Dims => [.. Axes.Select(axis => axis.Aggregate(1, (p, a) => p * Physical[a]))];

    /// <summary>The ONNX sizes as <c>Shape</c> gives them: numbers, and k·N (<see cref="OnnxConstant.BatchTimes"/>) for the
    /// axis that holds the batch.</summary>
    public long[] Symbols => [.. Axes.Select(axis =>
    {
        long k = axis.Where(a => a != 0).Aggregate(1L, (p, a) => p * Physical[a]);
        return axis.Contains(0) ? OnnxConstant.BatchTimes(k) : k;
    })];

    /// <summary>The physical axes in the order the ONNX axes read them.</summary>
    public int[] Order => [.. Axes.SelectMany(axis => axis)];

    /// <summary>The ONNX sizes for messages, e.g. <c>[17,2N,16]</c>.</summary>
    public string Text => $"[{string.Join(",", Symbols.Select(OnnxConstant.Text))}]";

    /// <summary>A tensor seen with ONNX sizes <paramref name="dims"/> (batch 1 first) in storage order.</summary>
    public static PermutedView Of(LiveTensor x, int[] dims) => new(x, dims, [.. Enumerable.Range(0, dims.Length).Select(a => new[] { a })]);

    /// <summary>This view as an ordinary value (<see cref="ImportGraph.Seen"/>) where its axes are the storage order and the
    /// batch axis is alone and first; otherwise itself.</summary>
    public OnnxValue Simplified()
    {
        // the batch axis merged with stored axes of size 1 only is the batch axis alone
        if (Axes.Any(axis => axis.Length > 1 && axis.Contains(0) && axis.All(a => a == 0 || Physical[a] == 1)))
        {
            int[] ones = [.. Axes.First(axis => axis.Contains(0)).Where(a => a != 0)];
            int Renumbered(int a) => a - ones.Count(one => one < a);
            return new PermutedView(Tensor, [.. Physical.Where((_, a) => !ones.Contains(a))],
                [.. Axes.Select(axis => axis.Where(a => !ones.Contains(a)).Select(Renumbered).ToArray())]).Simplified();
        }
        bool inOrder = Order.Select((a, i) => a == i).All(same => same);
        return inOrder && Axes[0] is [0] && Axes.Length <= ImportGraph.MaxViewRank ? ImportGraph.Seen(Tensor, Dims) : this;
    }

    /// <summary>True when <paramref name="other"/> records its ONNX axes over stored axes as this view does (their sizes may
    /// differ), so the two tensors can be combined as they are stored.</summary>
    public bool SameAxes(PermutedView other) =>
        Physical.Length == other.Physical.Length && Axes.Length == other.Axes.Length && Axes.Zip(other.Axes).All(pair => pair.First.SequenceEqual(pair.Second));

    /// <summary>This view without the ONNX axes <paramref name="dropped"/>, whose stored axes are all of size 1 (a reduction's
    /// without keepdims).</summary>
    public PermutedView Without(int[] dropped)
    {
        int[] gone = [.. dropped.SelectMany(axis => Axes[axis])];
        int Renumbered(int a) => a - gone.Count(g => g < a);
        return new PermutedView(Tensor, [.. Physical.Where((_, a) => !gone.Contains(a))],
            [.. Axes.Where((_, axis) => !dropped.Contains(axis)).Select(axis => axis.Select(Renumbered).ToArray())]);
    }

    /// <summary>ONNX's Transpose: output axis i is input axis <paramref name="perm"/>[i].</summary>
    public PermutedView Transposed(int[] perm) => this with { Axes = [.. perm.Select(p => Axes[p])] };

    /// <summary>ONNX's Reshape to <paramref name="target"/> (numbers and batch multiples, no 0 or −1): the physical axes, in
    /// the order the ONNX axes read them, grouped into the new axes, a physical axis split in two where a new axis ends
    /// inside it. Null where that is impossible: the batch axis would be split, or land elsewhere than in the one entry k·N.</summary>
    public PermutedView? Reshaped(long[] target)
    {
        var physical = Physical.ToList();
        var order = Order.ToList();
        var groups = new List<List<int>>();
        int next = 0;
        foreach (long entry in target)
        {
            bool batch = OnnxConstant.IsBatchMultiple(entry);
            long size = batch ? OnnxConstant.Multiplier(entry) : entry;
            var group = new List<int>();
            long product = 1;
            bool hasBatch = false;
            while (next < order.Count && !(product == size && hasBatch == batch))
            {
                int a = order[next];
                if (a == 0)
                {
                    if (!batch || hasBatch) return null;
                    hasBatch = true;
                }
                else if (size % (product * physical[a]) != 0)
                {
                    // the new axis ends inside physical axis a: split it into (outer q, inner rest), both row-major
                    long q = size / product;
                    if (q == 1 || size % product != 0 || physical[a] % q != 0) return null; // q = 1: the batch axis is not next
                    if (physical.Count == ImportGraph.MaxViewRank) return null;
                    physical.Insert(a + 1, (int)(physical[a] / q));
                    physical[a] = (int)q;
                    for (int i = 0; i < order.Count; i++) if (order[i] > a) order[i]++;
                    foreach (var done in groups) for (int i = 0; i < done.Count; i++) if (done[i] > a) done[i]++;
                    for (int i = 0; i < group.Count; i++) if (group[i] > a) group[i]++;
                    order.Insert(next + 1, a + 1);
                    product *= q;
                }
                else product *= physical[a];
                group.Add(a);
                next++;
            }
            if (product != size || hasBatch != batch) return null;
            groups.Add(group);
        }
        // what is left can only be axes of size 1
        for (; next < order.Count; next++)
        {
            if (order[next] == 0 || physical[order[next]] != 1 || groups.Count == 0) return null;
            groups[^1].Add(order[next]);
        }
        return new PermutedView(Tensor, [.. physical], [.. groups.Select(g => g.ToArray())]);
    }
}

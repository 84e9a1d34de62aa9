namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// The axes of an element-wise op's operands merged into the fewest that describe the same computation, so that a tensor
/// seen with more axes than ours have (a <see cref="HighRankView"/>, such as MaxViT's (N,G,heads,I,J) attention scores)
/// runs as a layer of at most <see cref="TensorShape.MaxRank"/> axes. Consecutive axes merge where every operand treats
/// them alike: all of an operand's sizes there equal the output's (it is read whole) or all are 1 (it is broadcast).
/// Axes of output size 1 merge with anything; the batch axis (0) stays alone.
/// </summary>
internal static class BroadcastAxes
{
    /// <summary>The merged sizes of the output <paramref name="output"/> (batch 1 first) and of each operand in
    /// <paramref name="operands"/> (as many axes as the output, each the output's size or 1), or null when more than
    /// <see cref="TensorShape.MaxRank"/> axes remain.</summary>
    public static (int[] Output, int[][] Operands)? Merge(int[] output, IReadOnlyList<int[]> operands)
    {
        var groups = new List<List<int>>();
        bool[]? lastKind = null;
        for (int axis = 1; axis < output.Length; axis++)
        {
            if (output[axis] == 1) continue; // a size-1 axis adds nothing to any group
            bool[] kind = [.. operands.Select(o => o[axis] == 1)]; // per operand: broadcast along this axis
            if (lastKind is not null && kind.SequenceEqual(lastKind)) groups[^1].Add(axis);
            else groups.Add([axis]);
            lastKind = kind;
        }
        if (groups.Count + 1 > TensorShape.MaxRank) return null;
        if (groups.Count == 0) groups.Add([]); // every item axis of size 1: one axis of size 1 keeps an item axis
        int Product(int[] dims, List<int> group) => group.Aggregate(1, (p, axis) => p * dims[axis]);
        return ([1, .. groups.Select(g => Product(output, g))], [.. operands.Select(o => (int[])[1, .. groups.Select(g => Product(o, g))])]);
    }

    /// <summary><paramref name="dims"/> with 1s in front up to <paramref name="rank"/> axes.</summary>
    public static int[] Aligned(int[] dims, int rank) => [.. Enumerable.Repeat(1, rank - dims.Length), .. dims];
}

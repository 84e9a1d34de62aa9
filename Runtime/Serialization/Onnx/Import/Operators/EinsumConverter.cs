namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Einsum of two tensors in the form of a batched matrix product, which is how PyTorch models write attention
/// (MaxViT's <c>"BGHID,BGHJD->BGHIJ"</c> for q·kᵀ and <c>"BGHIJ,BGHJD->BGHID"</c> for the weights times v): the output's
/// leading letters are batch letters that begin both inputs in the same order (the first is the batch axis), one letter
/// of each input is contracted, and each input has one more letter that the output keeps, in the output's last two
/// places. Each input goes to (…, rows, inner) or (…, inner, columns) by a <see cref="Permute"/> of its last two axes
/// where needed, the batch axes after the first merged into one (a free view), then a <see cref="Layers.MatMul"/> of the
/// two tensors, seen back with the output's axes. Any other equation (an ellipsis, a letter summed in one input only, a
/// repeated letter, several contracted letters), a constant operand or unequal batch sizes is an
/// <see cref="OnnxUnsupportedException"/> naming the node.
/// </summary>
internal static class EinsumConverter
{
    public static OnnxValue Einsum(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, int.MaxValue);
        string equation = new([.. n.String("equation", "").Where(c => !char.IsWhiteSpace(c))]);
        string Refused(string why) => $"equation '{equation}' {why}; supported: a batched matrix product such as 'bij,bjk->bik' (either input's last two letters in either order)";
        if (n.InputCount != 2) throw n.Unsupported(Refused($"has {n.InputCount} inputs"));
        if (equation.Contains("...")) throw n.Unsupported(Refused("has an ellipsis"));
        string[] sides = equation.Split("->");
        string[] terms = sides[0].Split(',');
        if (sides.Length != 2 || terms.Length != 2 || terms.Concat([sides[1]]).Any(t => t.Length == 0 || !t.All(char.IsAsciiLetter) || t.Distinct().Count() != t.Length))
            throw n.Unsupported(Refused("is not two inputs of distinct letters and an explicit output"));
        var (left, right, output) = (terms[0], terms[1], sides[1]);
        int batch = output.Length - 2;
        if (batch < 1 || left.Length != batch + 2 || right.Length != batch + 2 || left[..batch] != output[..batch] || right[..batch] != output[..batch])
            throw n.Unsupported(Refused("is not a product over batch letters that begin both inputs and the output, the first being the batch axis"));
        char rows = output[^2], columns = output[^1];
        // the product's row letter comes from one input and its column letter from the other; the third letter is contracted
        bool swapped = right[batch..].Contains(rows);
        var (a, b) = swapped ? (right, left) : (left, right);
        int first = swapped ? 1 : 0;
        string aLast = a[batch..], bLast = b[batch..];
        if (!aLast.Contains(rows) || !bLast.Contains(columns))
            throw n.Unsupported(Refused("keeps a letter of one input that is not a matrix axis of it"));
        char inner = aLast.First(c => c != rows);
        if (!bLast.Contains(inner)) throw n.Unsupported(Refused("sums a letter over one input only"));

        var (x, xDims) = graph.AnyRankInput(n, first);
        var (y, yDims) = graph.AnyRankInput(n, 1 - first);
        if (xDims.Length != a.Length || yDims.Length != b.Length)
            throw n.Malformed($"equation '{equation}' has {a.Length} and {b.Length} letters for inputs of {xDims.Length} and {yDims.Length} axes");
        string Text(int[] dims) => $"[{string.Join(",", dims)}]";
        if (!xDims[1..batch].SequenceEqual(yDims[1..batch]) || xDims[batch + aLast.IndexOf(inner)] != yDims[batch + bLast.IndexOf(inner)])
            throw n.Unsupported($"equation '{equation}' on {Text(xDims)} and {Text(yDims)}: batch sizes and the contracted size must be equal");
        var product = graph.AddLayer(n, null, new Layers.MatMul(), [Matrices(graph, n, x, xDims, batch, transpose: aLast[0] != rows), Matrices(graph, n, y, yDims, batch, transpose: bLast[1] != columns)]);
        return ImportGraph.Seen(product, [.. xDims[..batch], xDims[batch + aLast.IndexOf(rows)], yDims[batch + bLast.IndexOf(columns)]]);
    }

    /// <summary><paramref name="x"/> (sizes <paramref name="dims"/>, <paramref name="batch"/> batch axes first) as
    /// (N, [merged batch axes,] matrix rows, matrix columns), its last two axes swapped if <paramref name="transpose"/>.</summary>
    static LiveTensor Matrices(ImportGraph graph, OnnxNodeReader n, LiveTensor x, int[] dims, int batch, bool transpose)
    {
        int between = dims[1..batch].Aggregate(1, (p, d) => p * d);
        int[] merged = batch == 1 ? [1, dims[^2], dims[^1]] : [1, between, dims[^2], dims[^1]];
        var view = x with { Shape = TensorShape.Of(merged) };
        if (!transpose) return view;
        return graph.AddLayer(n, null, merged.Length == 3 ? new Permute(0, 2, 1) : new Permute(0, 1, 3, 2), [view]);
    }
}

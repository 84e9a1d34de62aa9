namespace NeuroPlugin.Serialization.Onnx;

/// <summary>The ops that join branches: Sum → <see cref="Layers.Add"/>, Mean → a <see cref="FractalJoin"/> that never
/// drops an input, Concat along any axis but the batch → <see cref="Layers.Concat"/> (of views that move the batch axis,
/// as they are stored). One input passes through.</summary>
internal static class MergeConverters
{
    public static OnnxValue Sum(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, int.MaxValue);
        return n.InputCount == 1 ? graph.LiveInput(n, 0) : graph.AddLayer(n, null, new Add(n.InputCount), LiveInputs(graph, n));
    }

    /// <summary>The element-wise mean: a FractalJoin that never drops an input (what our exporter writes for FractalNet's joins).</summary>
    public static OnnxValue Mean(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, int.MaxValue);
        return n.InputCount == 1 ? graph.LiveInput(n, 0) : graph.AddLayer(n, null,
            new FractalJoin(Enumerable.Range(0, n.InputCount).ToArray(), n.InputCount, localDropProbability: 0f, globalFraction: 0f),
            LiveInputs(graph, n));
    }

    public static OnnxValue Concat(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, int.MaxValue);
        if (Enumerable.Range(0, n.InputCount).Any(i => graph.Input(n, i) is PermutedView)) return ConcatOfViews(graph, n);
        var parts = LiveInputs(graph, n);
        long axis = n.Int("axis", n.Opset < 4 ? 1 : long.MinValue);
        if (axis == long.MinValue) throw n.Malformed("attribute 'axis' is required");
        axis = n.Axis(axis, parts[0].Shape.Rank, parts[0].Shape);
        if (axis == 0) throw n.Unsupported("Concat along the batch axis is not supported");
        return parts.Length == 1 ? parts[0] : graph.AddLayer(n, null, new Layers.Concat(parts.Length, (int)axis), parts);
    }

    /// <summary>Concat of <see cref="PermutedView"/>s (sequence-first (L,N,E) tensors joined along E) along an ONNX axis that
    /// does not hold the batch: where the views are stored alike and that axis is one stored axis, the tensors are joined
    /// along it as they are stored, (N, outer, joined, inner); otherwise each is first put in one layout
    /// (<see cref="ViewLayouts.Canonical"/>). The result keeps the view.</summary>
    static OnnxValue ConcatOfViews(ImportGraph graph, OnnxNodeReader n)
    {
        var views = Enumerable.Range(0, n.InputCount).Select(i => graph.Input(n, i) as PermutedView
            ?? throw n.Unsupported($"input {i}: a Concat of transposed views needs every input to be such a view")).ToArray();
        if (views.Length == 1) return views[0];
        long axis = n.Int("axis", long.MinValue);
        if (axis == long.MinValue) throw n.Malformed("attribute 'axis' is required");
        int joined = n.Axis(axis, views[0].Axes.Length, views[0].Text);
        if (views.Any(view => view.Axes[joined].Contains(0)))
            throw n.Unsupported($"Concat of {views[0].Text} along axis {axis}: the axis holds the batch axis");
        bool Joinable(PermutedView[] all) => all.All(view => view.SameAxes(all[0]) && view.Axes[joined].Length == 1
            && view.Physical.Where((size, a) => a != view.Axes[joined][0] && size != all[0].Physical[a]).Any() == false);
        if (!Joinable(views)) views = [.. views.Select((view, i) => ViewLayouts.Canonical(graph, n, i, view))];
        if (!Joinable(views))
            throw n.Unsupported($"Concat of the views {string.Join(" and ", views.Select(v => v.Text))} along axis {axis}: they differ in size along other axes, or merge different stored sizes with the batch axis");
        var first = views[0];
        int stored = first.Axes[joined][0];
        int Product(PermutedView view, int from, int to) => view.Physical[from..to].Aggregate(1, (p, d) => p * d);
        var parts = views.Select(view => view.Tensor with
        {
            Shape = new TensorShape(1, Product(view, 1, stored), view.Physical[stored], Product(view, stored + 1, view.Physical.Length)),
        }).ToArray();
        var result = graph.AddLayer(n, null, new Layers.Concat(parts.Length, 2), parts);
        int[] physical = [.. first.Physical];
        physical[stored] = views.Sum(view => view.Physical[stored]);
        return new PermutedView(result, physical, first.Axes).Simplified();
    }

    static LiveTensor[] LiveInputs(ImportGraph graph, OnnxNodeReader n) =>
        Enumerable.Range(0, n.InputCount).Select(i => graph.LiveInput(n, i)).ToArray();
}

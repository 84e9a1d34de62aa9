namespace NeuroPlugin.Serialization.Onnx;

/// <summary>The ops that join branches: Sum → <see cref="Layers.Add"/>, Mean → a <see cref="FractalJoin"/> that never
/// drops an input, Concat along any axis but the batch → <see cref="Layers.Concat"/>. One input passes through.</summary>
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
        var parts = LiveInputs(graph, n);
        long axis = n.Int("axis", n.Opset < 4 ? 1 : long.MinValue);
        if (axis == long.MinValue) throw n.Malformed("attribute 'axis' is required");
        axis = n.Axis(axis, parts[0].Shape.Rank, parts[0].Shape);
        if (axis == 0) throw n.Unsupported("Concat along the batch axis is not supported");
        return parts.Length == 1 ? parts[0] : graph.AddLayer(n, null, new Layers.Concat(parts.Length, (int)axis), parts);
    }

    static LiveTensor[] LiveInputs(ImportGraph graph, OnnxNodeReader n) =>
        Enumerable.Range(0, n.InputCount).Select(i => graph.LiveInput(n, i)).ToArray();
}

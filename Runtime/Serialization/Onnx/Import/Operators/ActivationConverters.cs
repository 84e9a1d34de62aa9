namespace NeuroPlugin.Serialization.Onnx;

/// <summary>Relu, Sigmoid, Tanh, LeakyRelu, HardSwish, HardSigmoid (PyTorch's), Clip (as ReLU6 or ReLU), Gelu (opset 20) → an
/// <see cref="Activation"/>; Softmax and LogSoftmax over any axis after the batch → <see cref="Layers.Softmax"/>. The element-wise ones run
/// on the tensor under a view, and their result keeps the input's view.</summary>
internal static class ActivationConverters
{
    public static OnnxValue Relu(ImportGraph graph, OnnxNodeReader n) => Activate(graph, n, Activation.ReLU());

    public static OnnxValue Sigmoid(ImportGraph graph, OnnxNodeReader n) => Activate(graph, n, Activation.Sigmoid());

    public static OnnxValue Tanh(ImportGraph graph, OnnxNodeReader n) => Activate(graph, n, Activation.Tanh());

    public static OnnxValue LeakyRelu(ImportGraph graph, OnnxNodeReader n) => Activate(graph, n, Activation.LeakyReLU(n.Float("alpha", 0.01f)));

    public static OnnxValue HardSwish(ImportGraph graph, OnnxNodeReader n) => Activate(graph, n, Activation.HardSwish());

    /// <summary>Gelu (opset 20): <c>approximate = none</c> is the exact x·Φ(x) (<see cref="Activation.GELU"/>), <c>tanh</c>
    /// its tanh approximation (<see cref="Activation.GELUTanh"/>); any other value is refused by name.</summary>
    public static OnnxValue Gelu(ImportGraph graph, OnnxNodeReader n) => n.String("approximate", "none") switch
    {
        "none" => Activate(graph, n, Activation.GELU()),
        "tanh" => Activate(graph, n, Activation.GELUTanh()),
        var other => throw n.Unsupported($"attribute 'approximate' = '{other}' is not supported (none or tanh)"),
    };

    /// <summary>max(0, min(1, α·x + β)): PyTorch's α = 1/6, β = ½ is the HardSigmoid activation, any other α and β
    /// element-wise arithmetic (<see cref="GeneralActivationConverters.HardSigmoid"/>).</summary>
    public static OnnxValue HardSigmoid(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        float alpha = n.Float("alpha", 0.2f), beta = n.Float("beta", 0.5f);
        if (MathF.Abs(alpha - 1f / 6f) > 1e-6f || beta != 0.5f)
            return GeneralActivationConverters.HardSigmoid(graph, n, alpha, beta);
        return Activate(graph, n, Activation.HardSigmoid());
    }

    /// <summary>Clip to [0, 6] (ReLU6) or [0, ∞) (ReLU); bounds are attributes before opset 11, constant inputs from it.
    /// PyTorch's opset-9 ReLU6, a Relu followed by Clip(max = 6), rewrites the Relu. Any other bounds clamp with
    /// element-wise maximum and minimum (<see cref="GeneralActivationConverters.Clamp"/>).</summary>
    public static OnnxValue Clip(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 3);
        float min, max;
        if (n.Opset < 11)
        {
            min = n.Float("min", float.NegativeInfinity);
            max = n.Float("max", float.PositiveInfinity);
        }
        else
        {
            min = n.HasInput(1) ? graph.Constant(n, 1, "min").Scalar(n) : float.NegativeInfinity;
            max = n.HasInput(2) ? graph.Constant(n, 2, "max").Scalar(n) : float.PositiveInfinity;
        }
        if (min == 0f && max == 6f) return Activate(graph, n, Activation.ReLU6(), maxInputs: 3);
        if (float.IsNegativeInfinity(min) && max == 6f && graph.LiveInput(n, 0) is var x && x.Pads is null &&
            Fusion.TryReLU6(graph, n, x) is { } fused)
            return fused;
        if (min == 0f && (float.IsPositiveInfinity(max) || max >= float.MaxValue)) return Activate(graph, n, Activation.ReLU(), maxInputs: 3);
        return GeneralActivationConverters.Clamp(graph, n, graph.LiveInput(n, 0), min, max);
    }

    public static OnnxValue Softmax(ImportGraph graph, OnnxNodeReader n) => AnySoftmax(graph, n, logarithm: false);

    public static OnnxValue LogSoftmax(ImportGraph graph, OnnxNodeReader n) => AnySoftmax(graph, n, logarithm: true);

    /// <summary>Softmax or LogSoftmax over <c>axis</c> (after the batch axis). From opset 13 over that one axis (default the
    /// last); before it over the input coerced to 2-D at <c>axis</c> (default 1): every axis from <c>axis</c> on is one row,
    /// which is the softmax over the last axis of a view that merges them (free), seen back in the input's shape.</summary>
    static OnnxValue AnySoftmax(ImportGraph graph, OnnxNodeReader n, bool logarithm)
    {
        n.ExpectInputs(1, 1);
        if (graph.Input(n, 0) is HighRankView wide) return HighRankSoftmax(graph, n, wide, logarithm);
        if (graph.Input(n, 0) is PermutedView view) return SoftmaxOfView(graph, n, view, logarithm);
        var x = graph.LiveInput(n, 0);
        int axis = n.Axis(n.Int("axis", n.Opset < 13 ? 1 : -1), x.Shape.Rank, x.Shape);
        if (axis == 0) throw n.Unsupported($"{n.Op} over the batch axis of {x.Shape}");
        if (n.Opset >= 13 || axis == x.Shape.Rank - 1)
            return graph.AddLayer(n, null, new Layers.Softmax(axis, logarithm), [x]);
        // coerced to 2-D at axis: the axes from it on are one row, the last axis of a view of the same elements
        var dims = x.Shape.ToArray();
        int[] rows = [.. dims[..axis], dims[axis..].Aggregate(1, (p, d) => p * d)];
        var merged = graph.AddLayer(n, null, new Layers.Softmax(rows.Length - 1, logarithm), [x with { Shape = TensorShape.Of(rows) }]);
        return merged with { Shape = x.Shape };
    }

    /// <summary>Softmax or LogSoftmax of a tensor seen with more axes than ours have (MaxViT's (N,G,heads,I,J) attention
    /// scores): the axes before the softmax axis merged into one and those after it into another, so the rows are the same
    /// (from opset 13 over the one axis; before it the axes from <c>axis</c> on form a row, as in <see cref="AnySoftmax"/>).</summary>
    static OnnxValue HighRankSoftmax(ImportGraph graph, OnnxNodeReader n, HighRankView wide, bool logarithm)
    {
        int[] dims = wide.Dims;
        int axis = n.Axis(n.Int("axis", n.Opset < 13 ? 1 : -1), dims.Length, $"[{string.Join(",", dims)}]");
        if (axis == 0) throw n.Unsupported($"{n.Op} over the batch axis of [{string.Join(",", dims)}]");
        int Product(int[] part) => part.Aggregate(1, (p, d) => p * d);
        int after = n.Opset >= 13 ? Product(dims[(axis + 1)..]) : 1, size = n.Opset >= 13 ? dims[axis] : Product(dims[axis..]);
        int[] merged = after == 1 ? [1, Product(dims[1..axis]), size] : [1, Product(dims[1..axis]), size, after];
        var result = graph.AddLayer(n, null, new Layers.Softmax(2, logarithm), [wide.Tensor with { Shape = TensorShape.Of(merged) }]);
        return ImportGraph.Seen(result, dims);
    }

    /// <summary>Softmax or LogSoftmax over the last axis of a <see cref="PermutedView"/> (attention weights of (k·N,L,L)),
    /// which must be stored last: the rows as they are stored, the view kept. (Before opset 13 the row is every axis from
    /// <c>axis</c> on, the same when it is the last.)</summary>
    static OnnxValue SoftmaxOfView(ImportGraph graph, OnnxNodeReader n, PermutedView view, bool logarithm)
    {
        int rank = view.Axes.Length, stored = view.Physical.Length;
        int axis = n.Axis(n.Int("axis", n.Opset < 13 ? 1 : -1), rank, view.Text);
        int[] last = view.Axes[^1];
        if (axis != rank - 1 || last.Contains(0) || !last.SequenceEqual(Enumerable.Range(stored - last.Length, last.Length)))
            throw n.Unsupported($"{n.Op} over axis {axis} of {view.Text} (a transposed view): supported over the last axis where it is stored last");
        int size = last.Aggregate(1, (p, a) => p * view.Physical[a]), rows = view.Physical[1..(stored - last.Length)].Aggregate(1, (p, d) => p * d);
        var result = graph.AddLayer(n, null, new Layers.Softmax(2, logarithm), [view.Tensor with { Shape = new TensorShape(1, rows, size) }]);
        return view with { Tensor = result };
    }

    /// <summary>An element-wise activation of input 0: it runs on the underlying tensor and the result keeps the input's view.</summary>
    static OnnxValue Activate(ImportGraph graph, OnnxNodeReader n, Activation activation, int maxInputs = 1)
    {
        n.ExpectInputs(1, maxInputs);
        return graph.ElementwiseOf(n, activation);
    }
}

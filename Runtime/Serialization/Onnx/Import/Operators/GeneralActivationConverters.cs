namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// The activations beyond PyTorch's fixed forms: PRelu → <see cref="PReLU"/> (a constant slope shared or per channel, learnable), or an
/// <see cref="Elementwise"/> prelu of two tensors or of a tensor and a constant slope of another shape; any Clip and
/// HardSigmoid that are not ReLU6, ReLU or PyTorch's hard sigmoid → <see cref="Elementwise"/> maximum and minimum (and
/// Mul, Add for HardSigmoid's α·x + β) with constant operands. At a bound, the clamp's gradient is then split as the
/// element-wise maximum and minimum split a tie (half), where PyTorch's clamp passes all of it; elsewhere they agree.
/// GELU has no op before opset 20 (beyond the importer's opsets): exporters write it out, exact as Div, Erf, Add, Mul and
/// the tanh form as Pow, Mul, Add, Tanh, and those import op by op.
/// </summary>
internal static class GeneralActivationConverters
{
    /// <summary>PRelu(x, slope): the slope broadcasts to x from the last axes. A constant slope of one value, or of C values
    /// on axis 1 of x (N,C,…) (PyTorch writes (C,1,1) for images), is a <see cref="PReLU"/> whose weight it becomes; any
    /// other constant slope an <see cref="Elementwise"/> prelu with it as a learnable constant; a tensor slope an
    /// Elementwise prelu of the two.</summary>
    public static OnnxValue PRelu(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        var x = graph.LiveInput(n, 0);
        if (graph.Input(n, 1) is not ConstantValue { Constant: var slope })
            return graph.AddLayer(n, null, new Elementwise(BinaryOp.PReLU), [x, graph.LiveInput(n, 1)]);
        float[] values = slope.AsFloats(m => n.Unsupported($"the slope: {m}"));
        if (slope.Dims.Length > x.Shape.Rank)
            throw n.Unsupported($"slope {slope} has more axes than the input {x.Shape}");
        if (values.Length == 1 || (x.Shape.Rank >= 2 && values.Length == x.Shape[1] && IsPerChannel(slope.Dims, x.Shape.Rank)))
            return graph.AddLayer(n, n.InputName(1), new PReLU(values.Length, values[0]), [x], ("weight", (float[])values.Clone()));
        var shape = TensorShape.Of(slope.Dims.Select(d => (int)d).ToArray());
        if (Broadcast.Shape(x.Shape, shape) != x.Shape)
            throw n.Unsupported($"slope {slope} does not broadcast to the input {x.Shape}");
        return graph.AddLayer(n, null, new Elementwise(BinaryOp.PReLU, shape, learnable: true, value: values[0]), [x], ("constant", (float[])values.Clone()));
    }

    /// <summary>True when dims, aligned to the last of <paramref name="rank"/> axes, are 1 everywhere but on axis 1.</summary>
    static bool IsPerChannel(long[] dims, int rank)
    {
        for (int i = 0; i < dims.Length; i++)
            if (rank - dims.Length + i != 1 && dims[i] != 1) return false;
        return dims.Length >= rank - 1;
    }

    /// <summary>y = min(max(x, min), max), PyTorch's clamp, as element-wise maximum and minimum with scalar constants; a bound
    /// at ±∞ is left out.</summary>
    public static OnnxValue Clamp(ImportGraph graph, OnnxNodeReader n, LiveTensor x, float min, float max)
    {
        if (float.IsNaN(min) || float.IsNaN(max)) throw n.Unsupported($"Clip to [{min}, {max}]: a bound is NaN");
        var y = x;
        if (!float.IsNegativeInfinity(min)) y = Scalar(graph, n, BinaryOp.Maximum, y, min);
        if (!float.IsPositiveInfinity(max)) y = Scalar(graph, n, BinaryOp.Minimum, y, max);
        return y == x ? graph.AddLayer(n, null, new Elementwise(BinaryOp.Mul, new TensorShape(1), value: 1f), [x], ("constant", [1f])) : y;
    }

    /// <summary>HardSigmoid with any α and β: y = max(0, min(1, α·x + β)).</summary>
    public static OnnxValue HardSigmoid(ImportGraph graph, OnnxNodeReader n, float alpha, float beta)
    {
        if (!float.IsFinite(alpha) || !float.IsFinite(beta)) throw n.Unsupported($"HardSigmoid with alpha {alpha}, beta {beta}: both must be finite");
        var x = graph.LiveInput(n, 0);
        var scaled = Scalar(graph, n, BinaryOp.Add, Scalar(graph, n, BinaryOp.Mul, x, alpha), beta);
        return Clamp(graph, n, scaled, 0f, 1f);
    }

    /// <summary>An <see cref="Elementwise"/> <c>x ∘ c</c> with a scalar constant buffer c.</summary>
    static LiveTensor Scalar(ImportGraph graph, OnnxNodeReader n, BinaryOp op, LiveTensor x, float c)
    {
        if (!float.IsFinite(c)) throw n.Unsupported($"the constant {c} of {Elementwise.OnnxOp(op)} is not finite");
        return graph.AddLayer(n, null, new Elementwise(op, new TensorShape(1), value: c), [x], ("constant", [c]));
    }
}

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Element-wise arithmetic. Neg, Abs, Reciprocal, Sqrt, Exp, Log and Erf of a tensor are <see cref="ElementwiseFunction"/>
/// layers. Add, Sub, Mul, Div, Pow, Min and Max with NumPy broadcasting, where at least one operand is a tensor of our graph.
/// Patterns first: of two tensors, Add of equal shapes is an <see cref="Layers.Add"/> (a residual join) and Mul is x·σ(x)
/// (SiLU), x·hardsigmoid(x) (HardSwish) or a per-channel scale (N,C,H,W)·(N,C,1,1) (a <see cref="ChannelMultiply"/>,
/// squeeze-and-excitation); of a tensor and a constant broadcast per channel, Add/Sub/Mul/Div right after a Conv, Gemm,
/// MatMul or BatchNormalization fold into its weights (<see cref="Fusion.TryScaleShift"/>). Anything else is an
/// <see cref="Elementwise"/> layer: of two tensors, or of a tensor and the constant, which is learnable when it is an
/// initializer of more than one element (a weight, as PyTorch exports parameters) and a fixed buffer otherwise (an
/// epsilon, an exponent, a Constant node). All-constant operands fold (<see cref="ConstantFolding.Arithmetic"/>).
/// </summary>
internal static class ArithmeticConverters
{
    /// <summary>Add, Sub, Mul, Div, Pow, Min or Max (<see cref="OnnxNodeReader.Op"/>) with at least one runtime tensor operand.</summary>
    public static OnnxValue Arithmetic(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        var op = Op(n);
        bool constantFirst = graph.Input(n, 0) is ConstantValue;
        if (!constantFirst && graph.Input(n, 1) is not ConstantValue)
        {
            LiveTensor a = graph.LiveInput(n, 0), b = graph.LiveInput(n, 1);
            if (op == BinaryOp.Add && a.Shape == b.Shape) return graph.AddLayer(n, null, new Layers.Add(), [a, b]);
            if (op == BinaryOp.Mul && Multiply(graph, n, a, b) is { } pattern) return pattern;
            return graph.AddLayer(n, null, new Elementwise(op), [a, b]);
        }
        int liveIndex = constantFirst ? 1 : 0;
        var live = graph.LiveInput(n, liveIndex);
        var constant = graph.Constant(n, 1 - liveIndex, "the other operand");
        if (op is BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div && FoldIntoProducer(graph, n, op, live, constant, constantFirst) is { } folded)
            return folded;
        return WithConstant(graph, n, op, live, constant, constantFirst);
    }

    /// <summary>Neg, Abs, Reciprocal, Sqrt, Exp, Log or Erf of a runtime tensor: an <see cref="ElementwiseFunction"/>.</summary>
    public static OnnxValue Function(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        return graph.AddLayer(n, null, new ElementwiseFunction(FunctionOp(n)), [graph.LiveInput(n, 0)]);
    }

    /// <summary>The <see cref="UnaryOp"/> an ONNX op computes (its name is the op's).</summary>
    public static UnaryOp FunctionOp(OnnxNodeReader n) =>
        Enum.TryParse<UnaryOp>(n.Op, out var op) && op.ToString() == n.Op ? op : throw n.Unsupported($"op '{n.Op}' is not an element-wise function");

    /// <summary>The <see cref="BinaryOp"/> an ONNX arithmetic op computes.</summary>
    static BinaryOp Op(OnnxNodeReader n) => n.Op switch
    {
        "Add" => BinaryOp.Add,
        "Sub" => BinaryOp.Sub,
        "Mul" => BinaryOp.Mul,
        "Div" => BinaryOp.Div,
        "Pow" => BinaryOp.Pow,
        "Min" => BinaryOp.Minimum,
        "Max" => BinaryOp.Maximum,
        _ => throw n.Unsupported($"op '{n.Op}' is not element-wise arithmetic"),
    };

    /// <summary>An affine map per channel, folded into the producer's weights; null where the constant is not per channel
    /// or the producer cannot take it.</summary>
    static OnnxValue? FoldIntoProducer(ImportGraph graph, OnnxNodeReader n, BinaryOp op, LiveTensor live, OnnxConstant constant, bool constantFirst)
    {
        if (Fusion.TryPerChannel(n, constant, live.Shape) is not { } c) return null;
        float[]? scale = null, shift = null;
        switch (op)
        {
            case BinaryOp.Add: shift = c; break;
            case BinaryOp.Sub when constantFirst: scale = c.Select(_ => -1f).ToArray(); shift = c; break;
            case BinaryOp.Sub: shift = c.Select(v => -v).ToArray(); break;
            case BinaryOp.Mul: scale = c; break;
            case BinaryOp.Div when constantFirst: return null; // c / x is not affine
            case BinaryOp.Div: scale = c.Select(v => 1f / v).ToArray(); break;
        }
        return Fusion.TryScaleShift(graph, n, live, constantFirst ? 1 : 0, scale, shift);
    }

    /// <summary>An <see cref="Elementwise"/> layer over <paramref name="live"/> and the constant: its shape is the ONNX
    /// constant's, less leading 1s beyond the tensor's rank (a scalar is (1)).</summary>
    static OnnxValue WithConstant(ImportGraph graph, OnnxNodeReader n, BinaryOp op, LiveTensor live, OnnxConstant constant, bool constantFirst)
    {
        var dims = constant.Dims.SkipWhile((d, i) => d == 1 && constant.Dims.Length - i > Math.Min(live.Shape.Rank, TensorShape.MaxRank)).ToArray();
        if (dims.Length > live.Shape.Rank)
            throw n.Unsupported($"constant {constant} has more axes than the tensor {live.Shape} it is combined with (the batch axis would move)");
        var shape = dims.Length == 0 ? new TensorShape(1) : TensorShape.Of(dims.Select(d => (int)d).ToArray());
        float[] values = constant.AsFloats(m => n.Unsupported($"the constant operand: {m}"));
        bool learnable = graph.IsInitializer(n.Proto.Input[constantFirst ? 0 : 1]) && values.Length > 1;
        var layer = new Elementwise(op, shape, constantFirst, learnable, values[0]);
        return graph.AddLayer(n, null, layer, [live], ("constant", (float[])values.Clone()));
    }

    /// <summary>Mul of two runtime tensors as a pattern: SiLU (x·σ(x)), HardSwish (x·hardsigmoid(x)) or a per-channel
    /// scale; null if none applies.</summary>
    static OnnxValue? Multiply(ImportGraph graph, OnnxNodeReader n, LiveTensor a, LiveTensor b)
    {
        if ((Fusion.TryGatedActivation(graph, n, a, b, gateIndex: 1) ?? Fusion.TryGatedActivation(graph, n, b, a, gateIndex: 0)) is { } gated)
            return gated;
        foreach (var (x, s) in new[] { (a, b), (b, a) })
            if (x.Shape.Rank == 4 && s.Shape.Rank == 4 && s.Shape.C == x.Shape.C && s.Shape.H == 1 && s.Shape.W == 1)
                return graph.AddLayer(n, null, new ChannelMultiply(), [graph.Materialize(n, x, "input"), s.Tensor]);
        return null;
    }
}

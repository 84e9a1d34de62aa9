namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Element-wise arithmetic. Neg, Abs, Reciprocal, Sqrt, Exp, Log and Erf of a tensor are <see cref="ElementwiseFunction"/>
/// layers. Add, Sub, Mul, Div, Pow, Min and Max with NumPy broadcasting, where at least one operand is a tensor of our graph.
/// Patterns first: of two tensors, Add of equal shapes is an <see cref="Layers.Add"/> (a residual join) and Mul is x·σ(x)
/// (SiLU), x·hardsigmoid(x) (HardSwish) or a per-channel scale (N,C,H,W)·(N,C,1,1) (a <see cref="ChannelMultiply"/>,
/// squeeze-and-excitation); of a tensor and a constant broadcast per channel, Add/Sub/Mul/Div right after a Conv, Gemm,
/// MatMul or BatchNormalization fold into its weights (<see cref="Fusion.TryScaleShift"/>). Anything else is an
/// <see cref="Elementwise"/> layer: of two tensors, or of a tensor and the constant, which is learnable when it is an
/// initializer (or an Identity of one) of more than one element (a weight, as PyTorch exports parameters) and a fixed buffer otherwise (an
/// epsilon, an exponent, a Constant node). All-constant operands fold (<see cref="ConstantFolding.Arithmetic"/>). An operand
/// seen with more axes than ours have runs on views whose axes are merged where the operands broadcast alike.
/// </summary>
internal static class ArithmeticConverters
{
    /// <summary>Add, Sub, Mul, Div, Pow, Min or Max (<see cref="OnnxNodeReader.Op"/>) with at least one runtime tensor operand.</summary>
    public static OnnxValue Arithmetic(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        OnnxValue first = graph.Input(n, 0), second = graph.Input(n, 1);
        if (first is PermutedView || second is PermutedView) return OnView(graph, n, first, second);
        return first is HighRankView || second is HighRankView ? OnMergedAxes(graph, n, first, second) : Combine(graph, n, first, second);
    }

    /// <summary>Arithmetic of a <see cref="PermutedView"/> and a constant (MultiheadAttention's bias, its 1/√d scale): the op
    /// on the tensor as it is stored, the constant laid out along the same axes (<see cref="ViewLayouts.Laid"/>) and both
    /// seen with their axes merged where they broadcast alike; the result keeps the view.</summary>
    static OnnxValue OnView(ImportGraph graph, OnnxNodeReader n, OnnxValue first, OnnxValue second)
    {
        if (first is PermutedView a && second is PermutedView b) return OfTwoViews(graph, n, a, b);
        bool constantFirst = first is ConstantValue;
        if ((constantFirst ? second : first) is not PermutedView view || (constantFirst ? first : second) is not ConstantValue { Constant: var c })
            throw n.Unsupported($"{n.Op} of a transposed view with another tensor is supported only with a constant or a view stored alike");
        var laid = ViewLayouts.Laid(view, c)
            ?? throw n.Unsupported($"{n.Op} of {view.Text} and the constant {c}: the constant must broadcast to the view and be 1 along the axis that holds the batch");
        int[] physical = view.Physical, constantDims = [.. laid.Dims.Select(d => (int)d)];
        var merged = BroadcastAxes.Merge(physical, [physical, constantDims])
            ?? throw n.Unsupported($"{n.Op} of {view.Text} and the constant {c}: they broadcast differently along more than {TensorShape.MaxRank - 1} groups of stored axes");
        OnnxValue tensor = view.Tensor with { Shape = TensorShape.Of(merged.Output) };
        OnnxValue constant = new ConstantValue(laid.WithDims([.. merged.Operands[1].Select(d => (long)d)]));
        var result = (LiveTensor)Combine(graph, n, constantFirst ? constant : tensor, constantFirst ? tensor : constant);
        return view with { Tensor = result };
    }

    /// <summary>Arithmetic of two <see cref="PermutedView"/>s (a view and its mean over an axis, x − mean(x) of a layer norm
    /// spelled out on a sequence-first tensor): the op on the tensors as they are stored, broadcast where one has size 1;
    /// where their axes are stored differently, both first in one layout (<see cref="ViewLayouts.Canonical"/>). The result
    /// keeps the view.</summary>
    static OnnxValue OfTwoViews(ImportGraph graph, OnnxNodeReader n, PermutedView a, PermutedView b)
    {
        bool Compatible(PermutedView x, PermutedView y) =>
            x.SameAxes(y) && x.Physical.Zip(y.Physical).All(p => p.First == p.Second || p.First == 1 || p.Second == 1);
        if (!Compatible(a, b)) (a, b) = (ViewLayouts.Canonical(graph, n, 0, a), ViewLayouts.Canonical(graph, n, 1, b));
        if (!Compatible(a, b))
            throw n.Unsupported($"{n.Op} of the views {a.Text} and {b.Text}: they do not broadcast, or merge different stored sizes with the batch axis");
        int[] physical = [.. a.Physical.Zip(b.Physical, Math.Max)];
        var merged = BroadcastAxes.Merge(physical, [a.Physical, b.Physical])
            ?? throw n.Unsupported($"{n.Op} of {a.Text} and {b.Text}: they broadcast differently along more than {TensorShape.MaxRank - 1} groups of stored axes");
        var result = (LiveTensor)Combine(graph, n, a.Tensor with { Shape = TensorShape.Of(merged.Operands[0]) }, b.Tensor with { Shape = TensorShape.Of(merged.Operands[1]) });
        return new PermutedView(result, physical, a.Axes).Simplified();
    }

    /// <summary>Arithmetic where an operand is seen with more axes than our tensors have (MaxViT's attention scores plus
    /// a bias, times a scale): the operands' axes merged where they broadcast alike (<see cref="BroadcastAxes"/>), the op
    /// on those views, its result seen with the output's axes.</summary>
    static OnnxValue OnMergedAxes(ImportGraph graph, OnnxNodeReader n, OnnxValue first, OnnxValue second)
    {
        int[] Dims(OnnxValue v, int index) => ImportGraph.Dims(v) ?? (v is ConstantValue c ? [.. c.Constant.Dims.Select(d => (int)d)] : graph.AsLive(n, index, v).Shape.ToArray());
        int[] a = Dims(first, 0), b = Dims(second, 1);
        string Text(int[] dims) => $"[{string.Join(",", dims)}]";
        int[] output = [.. ConstantFolding.BroadcastDims(n, [.. a.Select(d => (long)d)], [.. b.Select(d => (long)d)]).Select(d => (int)d)];
        foreach (var (value, dims) in new[] { (first, a), (second, b) })
            if (value is not ConstantValue && dims.Length != output.Length)
                throw n.Unsupported($"{n.Op} of {Text(a)} and {Text(b)}: the tensor {Text(dims)} has fewer axes than the result {Text(output)}, so its batch axis would move");
        var merged = BroadcastAxes.Merge(output, [BroadcastAxes.Aligned(a, output.Length), BroadcastAxes.Aligned(b, output.Length)])
            ?? throw n.Unsupported($"{n.Op} of {Text(a)} and {Text(b)}: the operands broadcast differently along more than {TensorShape.MaxRank - 1} groups of axes");
        OnnxValue Merged(OnnxValue value, int[] dims) => value switch
        {
            ConstantValue c => new ConstantValue(c.Constant.WithDims([.. dims.Select(d => (long)d)])),
            HighRankView wide => wide.Tensor with { Shape = TensorShape.Of(dims) },
            _ => ((LiveTensor)value) with { Shape = TensorShape.Of(dims) },
        };
        var result = (LiveTensor)Combine(graph, n, Merged(first, merged.Operands[0]), Merged(second, merged.Operands[1]));
        return ImportGraph.Seen(result, output);
    }

    /// <summary>The op of <paramref name="first"/> and <paramref name="second"/> (inputs 0 and 1 of <paramref name="n"/>,
    /// or views of them), at least one a tensor of our graph.</summary>
    static OnnxValue Combine(ImportGraph graph, OnnxNodeReader n, OnnxValue first, OnnxValue second)
    {
        var op = Op(n);
        bool constantFirst = first is ConstantValue;
        if (!constantFirst && second is not ConstantValue)
        {
            LiveTensor a = graph.AsLive(n, 0, first), b = graph.AsLive(n, 1, second);
            if (op == BinaryOp.Add && a.Shape == b.Shape) return graph.AddLayer(n, null, new Layers.Add(), [a, b]);
            if (op == BinaryOp.Mul && Multiply(graph, n, a, b) is { } pattern) return pattern;
            return graph.AddLayer(n, null, new Elementwise(op), [a, b]);
        }
        int liveIndex = constantFirst ? 1 : 0;
        var live = graph.AsLive(n, liveIndex, constantFirst ? second : first);
        var constant = ((ConstantValue)(constantFirst ? first : second)).Constant;
        if (op is BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div && FoldIntoProducer(graph, n, op, live, constant, constantFirst) is { } folded)
            return folded;
        return WithConstant(graph, n, op, live, constant, constantFirst);
    }

    /// <summary>Neg, Abs, Reciprocal, Sqrt, Exp, Log or Erf of a runtime tensor: an <see cref="ElementwiseFunction"/>.</summary>
    public static OnnxValue Function(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        return graph.ElementwiseOf(n, new ElementwiseFunction(FunctionOp(n)));
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

using NeuroPlugin.Layers;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Add, Sub, Mul and Div of tensors of our graph. Of two tensors: Add is an <see cref="Layers.Add"/> (a residual join);
/// Mul is x·σ(x) (SiLU), x·hardsigmoid(x) (HardSwish) or a per-channel scale (N,C,H,W)·(N,C,1,1) (a
/// <see cref="ChannelMultiply"/>, squeeze-and-excitation). Of a tensor and a constant broadcast per channel: a scale and
/// shift folded into the layer before (<see cref="Fusion.ScaleShift"/>). All-constant operands fold
/// (<see cref="ConstantFolding.Arithmetic"/>).
/// </summary>
internal static class ArithmeticConverters
{
    /// <summary>Add, Sub, Mul or Div (<see cref="OnnxNodeReader.Op"/>) with at least one runtime tensor operand.</summary>
    public static OnnxValue Arithmetic(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        bool constantFirst = graph.Input(n, 0) is ConstantValue;
        if (!constantFirst && graph.Input(n, 1) is not ConstantValue)
        {
            LiveTensor a = graph.LiveInput(n, 0), b = graph.LiveInput(n, 1);
            if (n.Op == "Add") return graph.AddLayer(n, null, new Layers.Add(), [a, b]);
            if (n.Op == "Mul") return Multiply(graph, n, a, b);
            throw n.Unsupported($"{n.Op} of two runtime tensors is not supported");
        }
        // one runtime tensor and one constant: an affine map per channel, folded into the producer's weights
        int liveIndex = constantFirst ? 1 : 0;
        var live = graph.LiveInput(n, liveIndex);
        var constant = graph.Constant(n, 1 - liveIndex, "the other operand");
        float[] c = Fusion.PerChannel(n, constant, live.Shape);
        float[]? scale = null, shift = null;
        switch (n.Op)
        {
            case "Add": shift = c; break;
            case "Sub" when constantFirst: scale = c.Select(_ => -1f).ToArray(); shift = c; break;
            case "Sub": shift = c.Select(v => -v).ToArray(); break;
            case "Mul": scale = c; break;
            case "Div" when constantFirst: throw n.Unsupported("a constant divided by a runtime tensor is not supported");
            case "Div": scale = c.Select(v => 1f / v).ToArray(); break;
        }
        return Fusion.ScaleShift(graph, n, live, liveIndex, scale, shift);
    }

    /// <summary>Mul of two runtime tensors: SiLU (x·σ(x)), HardSwish (x·hardsigmoid(x)) or a per-channel scale.</summary>
    static OnnxValue Multiply(ImportGraph graph, OnnxNodeReader n, LiveTensor a, LiveTensor b)
    {
        if ((Fusion.TryGatedActivation(graph, n, a, b, gateIndex: 1) ?? Fusion.TryGatedActivation(graph, n, b, a, gateIndex: 0)) is { } gated)
            return gated;
        foreach (var (x, s) in new[] { (a, b), (b, a) })
            if (x.Shape.Rank == 4 && s.Shape.Rank == 4 && s.Shape.C == x.Shape.C && s.Shape.H == 1 && s.Shape.W == 1)
                return graph.AddLayer(n, null, new ChannelMultiply(), [graph.Materialize(n, x, "input"), s.Tensor]);
        throw n.Unsupported($"Mul of runtime tensors {a.Shape} and {b.Shape} is supported only as a per-channel scale (N,C,H,W)·(N,C,1,1), x·Sigmoid(x) or x·HardSigmoid(x)");
    }
}

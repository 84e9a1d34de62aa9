namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Patterns that rewrite the layer before a node instead of adding one: a per-channel scale and shift folded into the
/// weights of a Conv, Gemm/MatMul, BatchNormalization or an affine group or instance norm (PyTorch's GroupNorm export) (where it does not apply, the op is an Elementwise layer); x·σ(x) as SiLU and x·hardsigmoid(x) as HardSwish; Relu then
/// Clip(max = 6) as ReLU6. Each applies only where the rewritten layer's output has no other reader.
/// </summary>
internal static class Fusion
{
    /// <summary>y = x·scale + shift per channel (null: 1 and 0), folded into the Conv2d, Linear, BatchNorm, GroupNorm or
    /// InstanceNorm2d (affine) that computed
    /// x, input <paramref name="inputIndex"/> of <paramref name="n"/>, alone; null (nothing changed) where x has no such
    /// producer.</summary>
    public static OnnxValue? TryScaleShift(ImportGraph graph, OnnxNodeReader n, LiveTensor x, int inputIndex, float[]? scale, float[]? shift)
    {
        var p = graph.Producer(x.Tensor);
        bool foldable = p is not null && x.Shape == graph.Shape(x.Tensor) &&
                        p.Layer is Conv2d or Linear or BatchNorm or GroupNorm { IsAffine: true } or InstanceNorm2d { IsAffine: true } &&
                        graph.Unshared(n, inputIndex, x.Tensor);
        if (!foldable) return null;
        float[] weight = p!.State["weight"];
        int channels = graph.Shape(x.Tensor)[1];
        float[] bias = p.State.GetValueOrDefault("bias") ?? new float[channels];
        int perChannel = weight.Length / channels;
        for (int c = 0; c < channels; c++)
        {
            float s = scale?[c] ?? 1f;
            for (int i = 0; i < perChannel; i++) weight[c * perChannel + i] *= s;
            bias[c] = bias[c] * s + (shift?[c] ?? 0f);
        }
        p.State["bias"] = bias;
        p.Layer = p.Layer switch
        {
            Conv2d conv when !conv.HasBias => new Conv2d(conv.InChannels, conv.OutChannels, conv.Window, bias: true, groups: conv.Groups),
            Linear linear when !linear.HasBias => new Linear(linear.InFeatures, linear.OutFeatures, bias: true),
            var same => same,
        };
        return graph.Rewritten(x);
    }

    /// <summary>A constant that broadcasts against <paramref name="shape"/> per channel (axis 1) or as a scalar, as (C)
    /// values; null for any other constant.</summary>
    public static float[]? TryPerChannel(OnnxNodeReader n, OnnxConstant constant, TensorShape shape)
    {
        float[] values = constant.AsFloats(m => n.Unsupported(m));
        int channels = shape[1];
        if (values.Length == 1) return Enumerable.Repeat(values[0], channels).ToArray();
        int offset = shape.Rank - constant.Dims.Length; // numpy broadcasting aligns trailing axes
        bool perChannel = offset >= 0 && constant.Dims.Select((d, i) => i + offset == 1 ? d == channels : d == 1).All(ok => ok) && offset <= 1;
        return perChannel ? values : null;
    }

    /// <summary>y = x·σ(x) is SiLU and y = x·hardsigmoid(x) is HardSwish: the gate's node (a Sigmoid or HardSigmoid of x,
    /// input <paramref name="gateIndex"/> of the Mul <paramref name="n"/>) becomes the product; null if neither matches.</summary>
    public static OnnxValue? TryGatedActivation(ImportGraph graph, OnnxNodeReader n, LiveTensor x, LiveTensor gate, int gateIndex)
    {
        if (graph.Producer(gate.Tensor) is not { Layer: Activation { Kind: ActivationKind.Sigmoid or ActivationKind.HardSigmoid } activation } p ||
            p.Inputs[0] != x.Tensor || gate.Shape != x.Shape || !graph.Unshared(n, gateIndex, gate.Tensor))
            return null;
        p.Layer = activation.Kind == ActivationKind.Sigmoid ? Activation.SiLU() : Activation.HardSwish();
        return graph.Rewritten(gate);
    }

    /// <summary>PyTorch's opset-9 ReLU6 is Relu followed by Clip(max = 6): the Relu that computed <paramref name="x"/>
    /// becomes a ReLU6; null if x is not such a Relu's output read by the Clip alone.</summary>
    public static OnnxValue? TryReLU6(ImportGraph graph, OnnxNodeReader n, LiveTensor x)
    {
        if (graph.Producer(x.Tensor) is not { Layer: Activation { Kind: ActivationKind.ReLU } } p || !graph.Unshared(n, 0, x.Tensor)) return null;
        p.Layer = Activation.ReLU6();
        return graph.Rewritten(x);
    }
}

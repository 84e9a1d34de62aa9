namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Padding: the Pad op, which either appends zero channels (a <see cref="ChannelPad"/>) or pads H and W with zeros
/// that wait on the tensor (<see cref="LiveTensor.Pads"/>) for the next Conv or AveragePool to take into its window;
/// and the window of a Conv or pool from its attributes (kernel, strides, dilations, pads or auto_pad).
/// </summary>
internal static class Padding
{
    /// <summary>Zero padding: attribute <c>pads</c> before opset 11, inputs (pads, constant_value) from it, and from opset 18
    /// an optional constant input <c>axes</c> naming the axes the pads are for (the others unpadded).</summary>
    public static OnnxValue Pad(ImportGraph graph, OnnxNodeReader n)
    {
        if (n.Opset < 11) n.ExpectInputs(1, 1);
        else n.ExpectInputs(2, n.Opset >= 18 ? 4 : 3);
        var x = graph.LiveInput(n, 0);
        if (n.String("mode", "constant") != "constant") throw n.Unsupported($"mode '{n.String("mode", "constant")}' is not supported (only constant zeros)");
        long[] pads;
        float value;
        if (n.Opset < 11)
        {
            pads = (n.Opset < 2 ? n.Ints("paddings") : n.Ints("pads")) ?? throw n.Malformed("attribute 'pads' is required");
            value = n.Float("value", 0f);
        }
        else
        {
            pads = graph.Constant(n, 1, "pads").AsInts(m => n.Unsupported($"pads: {m}"));
            value = n.HasInput(2) ? graph.Constant(n, 2, "constant_value").Scalar(n) : 0f;
            if (n.HasInput(3)) pads = PadsOfAxes(graph, n, x.Shape, pads);
        }
        if (value != 0f) throw n.Unsupported($"padding with {value} is not supported (only zeros)");
        if (x.Shape.Rank != 4 || pads.Length != 8) throw n.Unsupported($"pads [{string.Join(",", pads)}] of {x.Shape}: only padding of (N,C,H,W) is supported");
        if (pads.Where((p, i) => i != 5).All(p => p == 0) && pads[5] > 0 && pads[5] <= 1 << 16)
            // zero channels appended (our exporter's ChannelPad: the option-A shortcut of CIFAR ResNets and PyramidNet)
            return graph.AddLayer(n, null, new ChannelPad(x.Shape.C + (int)pads[5]), [x]);
        if (pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 || pads.Any(p => p < 0 || p > 1 << 16))
            throw n.Unsupported($"pads [{string.Join(",", pads)}]: only non-negative padding of H and W, or zero channels appended at the end, is supported");
        if (pads.All(p => p == 0)) return x;
        int[] own = [(int)pads[2], (int)pads[3], (int)pads[6], (int)pads[7]]; // top, left, bottom, right
        var shape = new TensorShape(1, x.Shape.C, x.Shape.H + own[0] + own[2], x.Shape.W + own[1] + own[3]);
        // the padding waits on a tensor of the unpadded shape: a view (MaxViT's windows put back) is materialized first
        return new LiveTensor(graph.Materialize(n, x, "input"), shape, own);
    }

    /// <summary>Opset 18's pads for the axes of the constant input <c>axes</c> (begins, then ends, in its order) as pads of
    /// every axis of <paramref name="shape"/>, 0 for the axes it does not name.</summary>
    static long[] PadsOfAxes(ImportGraph graph, OnnxNodeReader n, TensorShape shape, long[] pads)
    {
        long[] axes = graph.Constant(n, 3, "axes").AsInts(m => n.Unsupported($"axes: {m}"));
        if (pads.Length != 2 * axes.Length)
            throw n.Malformed($"pads [{string.Join(",", pads)}] need 2 values for each of the axes [{string.Join(",", axes)}]");
        var full = new long[2 * shape.Rank];
        int[] listed = n.DistinctAxes(axes, shape);
        for (int i = 0; i < listed.Length; i++) (full[listed[i]], full[listed[i] + shape.Rank]) = (pads[i], pads[i + axes.Length]);
        return full;
    }

    /// <summary>The kernel size: attribute <c>kernel_shape</c> (two sizes), or else the weight's spatial size.</summary>
    public static int[] KernelShape(OnnxNodeReader n, int[] fromWeight)
    {
        if (n.Ints("kernel_shape") is not { } k) return fromWeight;
        if (k.Length != 2) throw n.Unsupported($"kernel_shape [{string.Join(",", k)}]: only 2-D kernels are supported");
        return [(int)Math.Clamp(k[0], int.MinValue, int.MaxValue), (int)Math.Clamp(k[1], int.MinValue, int.MaxValue)]; // compared with the weight's
    }

    /// <summary>The window of a Conv or pool over <paramref name="x"/>: strides, dilations, pads or auto_pad, plus padding
    /// a Pad node added.</summary>
    public static Window2d Window(ImportGraph graph, OnnxNodeReader n, LiveTensor x, int[] kernel, bool dilations)
    {
        if (x.Shape.Rank != 4) throw n.Unsupported($"input {x.Shape}: only 2-D (N,C,H,W) inputs are supported");
        long[] strides = n.Ints("strides") ?? [1, 1];
        long[] dilation = (dilations ? n.Ints("dilations") : null) ?? [1, 1];
        long[]? pads = n.Ints("pads");
        string autoPad = n.String("auto_pad", "NOTSET");
        if (strides.Length != 2 || dilation.Length != 2 || pads is { Length: not 4 })
            throw n.Unsupported("strides, dilations and pads must describe 2 spatial axes");
        if (strides.Concat(dilation).Any(v => v < 1 || v > 1 << 16) || (pads?.Any(p => p < 0 || p > 1 << 16) ?? false))
            throw n.Unsupported("strides, dilations and pads must be positive (pads non-negative) and reasonable");
        var input = graph.Shape(x.Tensor);
        int[] p = autoPad switch
        {
            "NOTSET" => pads?.Select(v => (int)v).ToArray() ?? [0, 0, 0, 0],
            "VALID" => [0, 0, 0, 0],
            "SAME_UPPER" or "SAME_LOWER" => SamePadding(input, kernel, strides, dilation, autoPad == "SAME_UPPER"),
            _ => throw n.Unsupported($"auto_pad '{autoPad}' is not supported"),
        };
        if (autoPad != "NOTSET" && pads is not null) throw n.Malformed("pads and auto_pad are both set");
        if (x.Pads is { } extra) p = [p[0] + extra[0], p[1] + extra[1], p[2] + extra[2], p[3] + extra[3]];
        return new Window2d(kernel[0], kernel[1], (int)strides[0], (int)strides[1], p[0], p[1], p[2], p[3], (int)dilation[0], (int)dilation[1]);
    }

    /// <summary>ONNX's SAME padding: output = ⌈input/stride⌉, the total padding split with the extra pixel at the end (UPPER) or start (LOWER).</summary>
    static int[] SamePadding(TensorShape input, int[] kernel, long[] strides, long[] dilation, bool upper)
    {
        var result = new int[4];
        int[] sizes = [input.H, input.W];
        for (int axis = 0; axis < 2; axis++)
        {
            long output = (sizes[axis] + strides[axis] - 1) / strides[axis];
            long total = Math.Max(0, (output - 1) * strides[axis] + (kernel[axis] - 1) * dilation[axis] + 1 - sizes[axis]);
            long small = total / 2, large = total - small;
            result[axis] = (int)(upper ? small : large);
            result[axis + 2] = (int)(upper ? large : small);
        }
        return result;
    }
}

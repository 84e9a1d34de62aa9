namespace NeuroPlugin.Serialization.Onnx;

/// <summary>Conv → <see cref="Conv2d"/>: 2-D, any groups, strides, dilations, pads or auto_pad, and the padding of a Pad
/// node right before it. ConvTranspose → <see cref="ConvTranspose2d"/>: 2-D, any groups, strides, dilations, pads,
/// output_padding, or auto_pad / output_shape (turned into pads and output padding). The weight (O, I/groups, KH, KW) —
/// (I, O/groups, KH, KW) for ConvTranspose — and bias are constants; the node takes the weight's name.</summary>
internal static class ConvolutionConverters
{
    public static OnnxValue Conv(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 3);
        var x = graph.LiveInput(n, 0, allowPads: true);
        var weight = graph.Constant(n, 1, "the weight");
        if (weight.Dims.Length != 4 || !weight.IsFloat) throw n.Unsupported($"weight {weight}: only 2-D convolution with a float weight (O,I,KH,KW) is supported");
        long group = n.Int("group", 1);
        if (group < 1 || group > weight.Dims[0] || weight.Dims[0] % group != 0) throw n.Malformed($"attribute 'group' = {group} does not divide the {weight.Dims[0]} output channels");
        int outChannels = (int)weight.Dims[0], inChannels = (int)(weight.Dims[1] * group);
        var kernel = Padding.KernelShape(n, [(int)weight.Dims[2], (int)weight.Dims[3]]);
        if (kernel[0] != weight.Dims[2] || kernel[1] != weight.Dims[3]) throw n.Malformed($"kernel_shape [{string.Join(",", kernel)}] does not match the weight {weight}");
        float[]? bias = n.HasInput(2) ? graph.Constant(n, 2, "the bias").ToVector(n, outChannels, "bias") : null;
        var window = Padding.Window(graph, n, x, kernel, dilations: true);
        var layer = new Conv2d(inChannels, outChannels, window, bias is not null, groups: (int)group);
        return graph.AddLayer(n, n.InputName(1), layer, [graph.Unpadded(n, x)], ("weight", (float[])weight.Floats!.Clone()), ("bias", bias));
    }

    public static OnnxValue ConvTranspose(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 3);
        var x = graph.LiveInput(n, 0);
        var weight = graph.Constant(n, 1, "the weight");
        if (weight.Dims.Length != 4 || !weight.IsFloat) throw n.Unsupported($"weight {weight}: only 2-D transposed convolution with a float weight (I,O/group,KH,KW) is supported");
        if (x.Shape.Rank != 4) throw n.Unsupported($"input {x.Shape}: only 2-D (N,C,H,W) inputs are supported");
        long group = n.Int("group", 1);
        if (group < 1 || group > weight.Dims[0] || weight.Dims[0] % group != 0) throw n.Malformed($"attribute 'group' = {group} does not divide the {weight.Dims[0]} input channels");
        int inChannels = (int)weight.Dims[0], outChannels = (int)(weight.Dims[1] * group);
        if (x.Shape.C != inChannels) throw n.Malformed($"input {x.Shape} has {x.Shape.C} channels, the weight {weight} takes {inChannels}");
        var kernel = Padding.KernelShape(n, [(int)weight.Dims[2], (int)weight.Dims[3]]);
        if (kernel[0] != weight.Dims[2] || kernel[1] != weight.Dims[3]) throw n.Malformed($"kernel_shape [{string.Join(",", kernel)}] does not match the weight {weight}");
        long[] strides = n.Ints("strides") ?? [1, 1], dilations = n.Ints("dilations") ?? [1, 1], extra = n.Ints("output_padding") ?? [0, 0];
        long[]? pads = n.Ints("pads"), outputShape = n.Ints("output_shape");
        string autoPad = n.String("auto_pad", "NOTSET");
        if (strides.Length != 2 || dilations.Length != 2 || extra.Length != 2 || pads is { Length: not 4 } || outputShape is { Length: not 2 and not 4 })
            throw n.Unsupported("strides, dilations, output_padding, pads and output_shape must describe 2 spatial axes");
        if (strides.Concat(dilations).Any(v => v < 1 || v > 1 << 16) || extra.Concat(pads ?? []).Any(p => p < 0 || p > 1 << 16))
            throw n.Unsupported("strides and dilations must be positive, pads and output_padding non-negative, all reasonable");
        if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER")) throw n.Unsupported($"auto_pad '{autoPad}' is not supported");
        if (autoPad != "NOTSET" && pads is not null) throw n.Malformed("pads and auto_pad are both set");
        int[] inputSize = [x.Shape.H, x.Shape.W];
        var p = new long[4];
        for (int axis = 0; axis < 2; axis++)
        {
            // the size before padding is removed: (in − 1)·s + d·(k − 1) + 1 + output_padding
            long full = (inputSize[axis] - 1) * strides[axis] + dilations[axis] * (kernel[axis] - 1) + 1 + extra[axis];
            long? target = outputShape is not null ? outputShape[^(2 - axis)]
                : autoPad is "SAME_UPPER" or "SAME_LOWER" ? inputSize[axis] * strides[axis] : null;
            if (target is { } size)
            {
                // the spec's rule: the total padding split with the extra pixel at the end for SAME_UPPER, else at the start
                long total = full - size;
                if (total < 0 || size < 1) throw n.Unsupported($"output_shape {size} on axis {axis} is larger than the transposed convolution's {full} (only padding is supported)");
                bool upper = autoPad == "SAME_UPPER";
                (p[axis], p[axis + 2]) = upper ? (total / 2, total - total / 2) : (total - total / 2, total / 2);
            }
            else if (pads is not null)
                (p[axis], p[axis + 2]) = (pads[axis], pads[axis + 2]);
        }
        var window = new Window2d(kernel[0], kernel[1], (int)strides[0], (int)strides[1], (int)p[0], (int)p[1], (int)p[2], (int)p[3], (int)dilations[0], (int)dilations[1]);
        float[]? bias = n.HasInput(2) ? graph.Constant(n, 2, "the bias").ToVector(n, outChannels, "bias") : null;
        ConvTranspose2d layer;
        try
        {
            layer = new ConvTranspose2d(inChannels, outChannels, window, ((int)extra[0], (int)extra[1]), bias is not null, groups: (int)group);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw n.Unsupported(e.Message);
        }
        return graph.AddLayer(n, n.InputName(1), layer, [x], ("weight", (float[])weight.Floats!.Clone()), ("bias", bias));
    }
}

using NeuroPlugin.Layers;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>Conv → <see cref="Conv2d"/>: 2-D, any groups, strides, dilations, pads or auto_pad, and the padding of a Pad
/// node right before it. The weight (O, I/groups, KH, KW) and bias are constants; the node takes the weight's name.</summary>
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
}

using System.Text.Json.Nodes;
using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// What <see cref="Conv2d"/> and <see cref="ConvTranspose2d"/> share: channel counts divisible by <see cref="Groups"/>, a
/// sliding window, a (weight, bias) pair with PyTorch's default initialization <c>U(−1/√fanIn, 1/√fanIn)</c> or the named
/// initializers, and the same attributes in files and the editor (inChannels, outChannels, bias, groups, weightInit,
/// biasInit, the window).
/// </summary>
public abstract class WindowedConvolution : WeightedLayer
{
    /// <summary>Checks the sizes (messages name <paramref name="type"/>) and declares <c>weight</c> of
    /// <paramref name="weightShape"/> and, with <paramref name="bias"/>, <c>bias</c> (OutChannels), both initialized with
    /// <paramref name="fanIn"/>.</summary>
    private protected WindowedConvolution(string type, int inChannels, int outChannels, Window2d window, bool bias, Initializer? weightInit,
        Initializer? biasInit, int groups, Func<int, int, TensorShape> weightShape, int fanIn, int fanOut)
        : base(CheckedWeightShape(type, inChannels, outChannels, window, groups, weightShape), outChannels, bias, weightInit, biasInit, fanIn, fanOut)
    {
        InChannels = inChannels;
        OutChannels = outChannels;
        Window = window;
        Groups = groups;
    }

    static TensorShape CheckedWeightShape(string type, int inChannels, int outChannels, Window2d window, int groups,
        Func<int, int, TensorShape> weightShape)
    {
        if (inChannels < 1 || outChannels < 1)
            throw new ShapeException($"{type} needs positive channel counts, got in {inChannels}, out {outChannels}");
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{type} groups must divide both channel counts (in {inChannels}, out {outChannels})");
        window.Validate(type);
        return weightShape(inChannels, outChannels);
    }

    /// <summary>C, the input's channel count (PyTorch's <c>in_channels</c>).</summary>
    public int InChannels { get; }
    /// <summary>The output's channel count (PyTorch's <c>out_channels</c>).</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size KH×KW, stride s, zero padding on each side, and dilation d (PyTorch's <c>kernel_size</c>, <c>stride</c>,
    /// <c>padding</c>, <c>dilation</c>; here the padding may differ per side, as ONNX's pads).</summary>
    public Window2d Window { get; }
    /// <summary>Channel groups G: 1 for an ordinary convolution, InChannels for a depthwise one (PyTorch's <c>groups</c>).</summary>
    public int Groups { get; }

    /// <summary>The input (N,InChannels,H,W) of <paramref name="inputs"/>, checked; messages start with <paramref name="node"/>.</summary>
    private protected TensorShape CheckedInput(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4)
            throw new ShapeException($"{node}: {Type} takes (N,{InChannels},H,W), got {x}");
        if (x.C != InChannels)
            throw new ShapeException($"{node}: input {x} needs {InChannels} channels, got {x.C}");
        return x;
    }

    /// <summary>The attributes both layers declare, in file order, read back together.</summary>
    private protected sealed class ConvolutionAttributes<TLayer>(LayerDescriptorBuilder<TLayer> d, Window2d defaultWindow, bool groupsOptional)
        where TLayer : WindowedConvolution
    {
        readonly LayerAttribute<int> inChannels = d.Int("inChannels", l => l.InChannels, inferred: InferredFrom.InputChannels);
        readonly LayerAttribute<int> outChannels = d.Int("outChannels", l => l.OutChannels, 16, AttributeBounds.AtLeast(1));
        readonly LayerAttribute<bool> bias = d.Bool("bias", l => l.HasBias, true);
        readonly LayerAttribute<int> groups = d.Int("groups", l => l.Groups, 1, AttributeBounds.AtLeast(1), optional: groupsOptional);
        readonly LayerAttribute<Initializer> weightInit = d.Initializer("weightInit", l => l.WeightInit);
        readonly LayerAttribute<Initializer> biasInit = d.Initializer("biasInit", l => l.BiasInit);
        readonly WindowAttributes window = d.Window(l => l.Window, defaultWindow);

        public (int InChannels, int OutChannels, Window2d Window, bool Bias, Initializer WeightInit, Initializer BiasInit, int Groups) Read(JsonObject a) =>
            (inChannels.Read(a), outChannels.Read(a), window.Read(a), bias.Read(a), weightInit.Read(a), biasInit.Read(a), groups.Read(a));
    }
}

using System.Text.Json.Nodes;
using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// What <see cref="Conv2d"/> and <see cref="ConvTranspose2d"/> share: channel counts divisible by <see cref="Groups"/>, a
/// sliding window, a (weight, bias) pair with PyTorch's default initialization <c>U(−1/√fanIn, 1/√fanIn)</c> or the named
/// initializers, and the same attributes in files and the editor (inChannels, outChannels, bias, groups, weightInit,
/// biasInit, the window).
/// </summary>
public abstract class WindowedConvolution : Layer
{
    /// <summary>Checks the sizes (messages name <paramref name="type"/>) and declares <c>weight</c> of
    /// <paramref name="weightShape"/> and, with <paramref name="bias"/>, <c>bias</c> (OutChannels), both initialized with
    /// <paramref name="fanIn"/>.</summary>
    private protected WindowedConvolution(string type, int inChannels, int outChannels, Window2d window, bool bias, Initializer? weightInit,
        Initializer? biasInit, int groups, Func<int, int, TensorShape> weightShape, int fanIn, int fanOut)
    {
        if (inChannels < 1 || outChannels < 1)
            throw new ShapeException($"{type} needs positive channel counts, got in {inChannels}, out {outChannels}");
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"{type} groups must divide both channel counts (in {inChannels}, out {outChannels})");
        window.Validate(type);
        InChannels = inChannels;
        OutChannels = outChannels;
        Window = window;
        Groups = groups;
        HasBias = bias;
        WeightInit = weightInit ?? Initializer.PyTorchDefault;
        BiasInit = biasInit ?? Initializer.PyTorchDefault;
        var parameters = new List<ParameterSpec> { new("weight", weightShape(inChannels, outChannels), WeightInit, fanIn, fanOut) };
        if (bias) parameters.Add(new("bias", new TensorShape(outChannels), BiasInit, fanIn, fanOut));
        Parameters = parameters;
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
    /// <summary>Whether the layer adds the (OutChannels) bias b (PyTorch's <c>bias=True</c>).</summary>
    public bool HasBias { get; }
    /// <summary>How the weight starts (<see cref="Initializer.PyTorchDefault"/> unless given).</summary>
    public Initializer WeightInit { get; }
    /// <summary>How the bias starts (<see cref="Initializer.PyTorchDefault"/> unless given).</summary>
    public Initializer BiasInit { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters { get; }

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

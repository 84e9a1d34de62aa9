using NeuroPlugin.Backends;
using NeuroPlugin.Init;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Layers;

/// <summary>
/// 2-D convolution (cross-correlation, as in PyTorch):
/// <c>y[n,o,i,j] = b[o] + Σ_{c,p,q} x[n,c, i·s − pad + p·d, j·s − pad + q·d]·W[o,c,p,q]</c>.
/// input (N,InChannels,H,W), weight (OutChannels,InChannels,KH,KW), bias (OutChannels),
/// output (N,OutChannels,OH,OW) with <c>OH = ⌊(H + padTop + padBottom − d·(KH − 1) − 1)/s⌋ + 1</c>.
/// With <see cref="Groups"/> G &gt; 1 the channels split into G groups convolved separately (ResNeXt's
/// grouped convolution; G = InChannels is MobileNet's and Xception's depthwise convolution) and the
/// weight is (OutChannels, InChannels/G, KH, KW).
/// Default initialization is PyTorch's: <c>U(−1/√fanIn, 1/√fanIn)</c>, fanIn = InChannels/G·KH·KW; <c>weightInit</c>
/// and <c>biasInit</c> choose others (e.g. <see cref="Initializer.For"/>), kept in the attributes by name.
/// </summary>
public sealed class Conv2d : Layer
{
    /// <summary>A convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/> channels (both divisible by
    /// <paramref name="groups"/>) with <paramref name="window"/>'s kernel, stride, padding and dilation; <paramref name="bias"/>
    /// adds the (OutChannels) bias. Throws <see cref="ShapeException"/> or <see cref="ArgumentOutOfRangeException"/> on a bad size.</summary>
    public Conv2d(int inChannels, int outChannels, Window2d window, bool bias = true, Initializer? weightInit = null, Initializer? biasInit = null, int groups = 1)
    {
        if (inChannels < 1 || outChannels < 1)
            throw new ShapeException($"Conv2d needs positive channel counts, got in {inChannels}, out {outChannels}");
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"Conv2d groups must divide both channel counts (in {inChannels}, out {outChannels})");
        Groups = groups;
        window.Validate("Conv2d");
        InChannels = inChannels;
        OutChannels = outChannels;
        Window = window;
        HasBias = bias;
        WeightInit = weightInit ?? Initializer.PyTorchDefault;
        BiasInit = biasInit ?? Initializer.PyTorchDefault;
        int fanIn = inChannels / groups * window.KernelHeight * window.KernelWidth;
        int fanOut = outChannels / groups * window.KernelHeight * window.KernelWidth;
        var parameters = new List<ParameterSpec>
        {
            new("weight", new TensorShape(outChannels, inChannels / groups, window.KernelHeight, window.KernelWidth), WeightInit, fanIn, fanOut),
        };
        if (bias) parameters.Add(new("bias", new TensorShape(outChannels), BiasInit, fanIn, fanOut));
        Parameters = parameters;
    }

    /// <summary>A square kernel with symmetric padding, PyTorch's common form.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true,
        Initializer? weightInit = null, Initializer? biasInit = null, int groups = 1)
        : this(inChannels, outChannels, Window2d.Square(kernelSize, stride, padding), bias, weightInit, biasInit, groups) { }

    /// <summary>C, the input's channel count (PyTorch's <c>in_channels</c>).</summary>
    public int InChannels { get; }
    /// <summary>The output's channel count, one filter each (PyTorch's <c>out_channels</c>).</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size KH×KW, stride s, zero padding on each side, and dilation d (PyTorch's <c>kernel_size</c>, <c>stride</c>, <c>padding</c>, <c>dilation</c>).</summary>
    public Window2d Window { get; }
    /// <summary>Channel groups G: 1 for an ordinary convolution, InChannels for a depthwise one.</summary>
    public int Groups { get; }
    /// <summary>Whether the layer has the (OutChannels) bias b (PyTorch's <c>bias=True</c>); without it <c>y</c> has no <c>b[o]</c> term.</summary>
    public bool HasBias { get; }
    /// <summary>How the weight starts (<see cref="Initializer.PyTorchDefault"/> unless given).</summary>
    public Initializer WeightInit { get; }
    /// <summary>How the bias starts (<see cref="Initializer.PyTorchDefault"/> unless given).</summary>
    public Initializer BiasInit { get; }

    internal static LayerDescriptor Definition { get; } = Describe();

    static LayerDescriptor Describe()
    {
        var d = new LayerDescriptorBuilder<Conv2d>("Conv2d", LayerGroup.Convolution,
            "2-D convolution of (N,C,H,W) images: learned kernels slide over the input (grouped or depthwise with groups > 1)");
        var inChannels = d.Int("inChannels", l => l.InChannels, inferred: InferredFrom.InputChannels);
        var outChannels = d.Int("outChannels", l => l.OutChannels, 16, AttributeBounds.AtLeast(1));
        var bias = d.Bool("bias", l => l.HasBias, true);
        var groups = d.Int("groups", l => l.Groups, 1, AttributeBounds.AtLeast(1), optional: true); // files before groups: 1
        var weightInit = d.Initializer("weightInit", l => l.WeightInit);
        var biasInit = d.Initializer("biasInit", l => l.BiasInit);
        var window = d.Window(l => l.Window, Window2d.Square(3, stride: 1, padding: 1));
        return d.Build(a => new Conv2d(inChannels.Read(a), outChannels.Read(a), window.Read(a), bias.Read(a), weightInit.Read(a), biasInit.Read(a), groups.Read(a)),
            OnnxMapping.Same("Conv"));
    }

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;
    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4)
            throw new ShapeException($"{node}: Conv2d takes (N,{InChannels},H,W), got {x}");
        if (x.C != InChannels)
            throw new ShapeException($"{node}: input {x} needs {InChannels} channels, got {x.C}");
        return new TensorShape(x.N, OutChannels, Window.OutputHeight(x.H, node), Window.OutputWidth(x.W, node));
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.Conv2dForward(t.Inputs[0], t.Parameters[0], HasBias ? t.Parameters[1] : null, t.Output, Window, Groups);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t) =>
        backend.Conv2dBackward(t.Inputs[0], t.Parameters[0], t.Gradient, t.InputGrads[0], t.ParameterGrads[0]!, HasBias ? t.ParameterGrads[1] : null, Window, Groups);

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) =>
        (long)output.ItemLength * (InChannels / Groups) * Window.KernelHeight * Window.KernelWidth;
}

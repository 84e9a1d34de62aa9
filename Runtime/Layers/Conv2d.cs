using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// 2-D convolution (cross-correlation, as in PyTorch):
/// <c>y[n,o,i,j] = b[o] + Σ_{c,p,q} x[n,c, i·s − pad + p·d, j·s − pad + q·d]·W[o,c,p,q]</c>.
/// input (N,InChannels,H,W), weight (OutChannels,InChannels,KH,KW), bias (OutChannels),
/// output (N,OutChannels,OH,OW) with <c>OH = ⌊(H + padTop + padBottom − d·(KH − 1) − 1)/s⌋ + 1</c>.
/// With <see cref="WindowedConvolution.Groups"/> G &gt; 1 the channels split into G groups convolved separately (ResNeXt's
/// grouped convolution; G = InChannels is MobileNet's and Xception's depthwise convolution) and the
/// weight is (OutChannels, InChannels/G, KH, KW).
/// Default initialization is PyTorch's: <c>U(−1/√fanIn, 1/√fanIn)</c>, fanIn = InChannels/G·KH·KW; <c>weightInit</c>
/// and <c>biasInit</c> choose others (e.g. <see cref="Initializer.For"/>), kept in the attributes by name.
/// </summary>
public sealed class Conv2d : WindowedConvolution
{
    /// <summary>A convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/> channels (both divisible by
    /// <paramref name="groups"/>) with <paramref name="window"/>'s kernel, stride, padding and dilation; <paramref name="bias"/>
    /// adds the (OutChannels) bias. Throws <see cref="ShapeException"/> or <see cref="ArgumentOutOfRangeException"/> on a bad size.</summary>
    public Conv2d(int inChannels, int outChannels, Window2d window, bool bias = true, Initializer? weightInit = null, Initializer? biasInit = null, int groups = 1)
        : base("Conv2d", inChannels, outChannels, window, bias, weightInit, biasInit, groups,
            (i, o) => new TensorShape(o, Math.Max(i / Math.Max(groups, 1), 1), window.KernelHeight, window.KernelWidth),
            FanOf(inChannels, groups, window), FanOf(outChannels, groups, window))
    {
    }

    /// <summary>A square kernel with symmetric padding, PyTorch's common form.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true,
        Initializer? weightInit = null, Initializer? biasInit = null, int groups = 1)
        : this(inChannels, outChannels, Window2d.Square(kernelSize, stride, padding), bias, weightInit, biasInit, groups) { }

    /// <summary>Channels per group times the kernel area (the fan of a weight whose per-group channels are <paramref name="channels"/>/G).</summary>
    internal static int FanOf(int channels, int groups, Window2d window) => channels / Math.Max(groups, 1) * window.KernelHeight * window.KernelWidth;

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Conv2d>("Conv2d", LayerGroup.Convolution,
        "2-D convolution of (N,C,H,W) images: learned kernels slide over the input (grouped or depthwise with groups > 1)", d =>
        {
            var attributes = new ConvolutionAttributes<Conv2d>(d, Window2d.Square(3, stride: 1, padding: 1), groupsOptional: true); // files before groups: 1
            return d.Build(a =>
            {
                var c = attributes.Read(a);
                return new Conv2d(c.InChannels, c.OutChannels, c.Window, c.Bias, c.WeightInit, c.BiasInit, c.Groups);
            }, OnnxMapping.Same("Conv"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = CheckedInput(node, inputs);
        return new TensorShape(x.N, OutChannels, Window.OutputHeight(x.H, node), Window.OutputWidth(x.W, node));
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.Conv2dForward(t.Inputs[0], t.Parameters[0], Bias(t), t.Output, Window, Groups);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t) =>
        backend.Conv2dBackward(t.Inputs[0], t.Parameters[0], t.Gradient, t.InputGrads[0], t.ParameterGrads[0]!, BiasGradient(t), Window, Groups,
            t.AddsToInputGrad(0));

    /// <inheritdoc/>
    public override bool CanSetInputGradients => true;

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) =>
        (long)output.ItemLength * (InChannels / Groups) * Window.KernelHeight * Window.KernelWidth;
}

using NeuroPlugin.Backends;
using NeuroPlugin.Init;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Layers;

/// <summary>
/// 2-D transposed convolution (PyTorch's <c>nn.ConvTranspose2d</c>, "deconvolution"): the adjoint of <see cref="Conv2d"/>,
/// so each input pixel spreads its kernel over the output:
/// <c>y[n,o, i·s − pad + p·d, j·s − pad + q·d] += x[n,c,i,j]·W[c,o,p,q]</c>, plus <c>b[o]</c>.
/// input (N,InChannels,H,W), weight (InChannels, OutChannels/G, KH, KW), bias (OutChannels), output (N,OutChannels,OH,OW) with
/// <c>OH = (H − 1)·s − padTop − padBottom + d·(KH − 1) + 1 + outputPadding</c> (and OW likewise). <see cref="Groups"/> G splits
/// the channels as in Conv2d. The extra rows and columns of <see cref="OutputPaddingHeight"/>/<see cref="OutputPaddingWidth"/>
/// (each below the stride) only make the output larger: PyTorch's way of choosing between the input sizes a strided
/// convolution maps to one output size. Backward: dx is the Conv2d of dy with the same weight and window, dW is Conv2d's weight
/// gradient with x and dy in each other's places, db sums dy per channel.
/// Default initialization is PyTorch's: <c>U(−1/√fanIn, 1/√fanIn)</c> with fanIn = OutChannels/G·KH·KW (PyTorch computes it
/// from the weight's second axis).
/// </summary>
public sealed class ConvTranspose2d : Layer
{
    /// <summary>A transposed convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/> channels (both
    /// divisible by <paramref name="groups"/>) with <paramref name="window"/>'s kernel, stride, padding and dilation, and
    /// <paramref name="outputPadding"/> (rows, columns) extra output size, each in [0, stride).</summary>
    public ConvTranspose2d(int inChannels, int outChannels, Window2d window, (int Height, int Width) outputPadding = default, bool bias = true,
        Initializer? weightInit = null, Initializer? biasInit = null, int groups = 1)
    {
        if (inChannels < 1 || outChannels < 1)
            throw new ShapeException($"ConvTranspose2d needs positive channel counts, got in {inChannels}, out {outChannels}");
        if (groups < 1 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"ConvTranspose2d groups must divide both channel counts (in {inChannels}, out {outChannels})");
        window.Validate("ConvTranspose2d");
        if (outputPadding.Height < 0 || outputPadding.Height >= window.StrideHeight || outputPadding.Width < 0 || outputPadding.Width >= window.StrideWidth)
            throw new ArgumentOutOfRangeException(nameof(outputPadding), outputPadding,
                $"ConvTranspose2d: outputPadding must be at least 0 and below the stride {window.StrideHeight}×{window.StrideWidth}");
        InChannels = inChannels;
        OutChannels = outChannels;
        Window = window;
        OutputPaddingHeight = outputPadding.Height;
        OutputPaddingWidth = outputPadding.Width;
        Groups = groups;
        HasBias = bias;
        WeightInit = weightInit ?? Initializer.PyTorchDefault;
        BiasInit = biasInit ?? Initializer.PyTorchDefault;
        int fanIn = outChannels / groups * window.KernelHeight * window.KernelWidth;
        int fanOut = inChannels / groups * window.KernelHeight * window.KernelWidth;
        var parameters = new List<ParameterSpec>
        {
            new("weight", new TensorShape(inChannels, outChannels / groups, window.KernelHeight, window.KernelWidth), WeightInit, fanIn, fanOut),
        };
        if (bias) parameters.Add(new("bias", new TensorShape(outChannels), BiasInit, fanIn, fanOut));
        Parameters = parameters;
    }

    /// <summary>C, the input's channel count (PyTorch's <c>in_channels</c>).</summary>
    public int InChannels { get; }
    /// <summary>The output's channel count (PyTorch's <c>out_channels</c>).</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size, stride, padding (removed from the output's borders) and dilation (PyTorch's <c>kernel_size</c>,
    /// <c>stride</c>, <c>padding</c>, <c>dilation</c>; padding here may differ per side, as ONNX's pads).</summary>
    public Window2d Window { get; }
    /// <summary>Extra output rows at the bottom, below the stride (PyTorch's <c>output_padding[0]</c>).</summary>
    public int OutputPaddingHeight { get; }
    /// <summary>Extra output columns at the right, below the stride (PyTorch's <c>output_padding[1]</c>).</summary>
    public int OutputPaddingWidth { get; }
    /// <summary>Channel groups G (PyTorch's <c>groups</c>).</summary>
    public int Groups { get; }
    /// <summary>Whether the layer adds the (OutChannels) bias (PyTorch's <c>bias=True</c>).</summary>
    public bool HasBias { get; }
    /// <summary>How the weight starts (<see cref="Initializer.PyTorchDefault"/> unless given).</summary>
    public Initializer WeightInit { get; }
    /// <summary>How the bias starts (<see cref="Initializer.PyTorchDefault"/> unless given).</summary>
    public Initializer BiasInit { get; }

    internal static LayerDescriptor Definition { get; } = Describe();

    static LayerDescriptor Describe()
    {
        var d = new LayerDescriptorBuilder<ConvTranspose2d>("ConvTranspose2d", LayerGroup.Convolution,
            "2-D transposed convolution of (N,C,H,W) images: each pixel spreads a learned kernel over a larger output (upsampling, decoders)");
        var inChannels = d.Int("inChannels", l => l.InChannels, inferred: InferredFrom.InputChannels);
        var outChannels = d.Int("outChannels", l => l.OutChannels, 16, AttributeBounds.AtLeast(1));
        var bias = d.Bool("bias", l => l.HasBias, true);
        var groups = d.Int("groups", l => l.Groups, 1, AttributeBounds.AtLeast(1));
        var weightInit = d.Initializer("weightInit", l => l.WeightInit);
        var biasInit = d.Initializer("biasInit", l => l.BiasInit);
        var window = d.Window(l => l.Window, Window2d.Square(2, stride: 2));
        var outputPadding = d.Ints("outputPadding", l => [l.OutputPaddingHeight, l.OutputPaddingWidth], 2, [0, 0], AttributeBounds.AtLeast(0));
        return d.Build(a =>
        {
            int[] padding = outputPadding.Read(a);
            return new ConvTranspose2d(inChannels.Read(a), outChannels.Read(a), window.Read(a), (padding[0], padding[1]), bias.Read(a),
                weightInit.Read(a), biasInit.Read(a), groups.Read(a));
        }, OnnxMapping.Same("ConvTranspose"));
    }

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;
    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <summary>The output size along one axis: <c>(in − 1)·s − before − after + d·(k − 1) + 1 + extra</c>, refused below 1.</summary>
    static int OutputSize(string node, string axis, int input, int kernel, int stride, int before, int after, int dilation, int extra)
    {
        long size = (long)(input - 1) * stride - before - after + (long)dilation * (kernel - 1) + 1 + extra;
        if (size < 1 || size > int.MaxValue)
            throw new ShapeException($"{node}: ConvTranspose2d's output {axis} would be {size} for input {axis} {input} (padding {before}+{after} removes too much)");
        return (int)size;
    }

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4)
            throw new ShapeException($"{node}: ConvTranspose2d takes (N,{InChannels},H,W), got {x}");
        if (x.C != InChannels)
            throw new ShapeException($"{node}: input {x} needs {InChannels} channels, got {x.C}");
        var w = Window;
        return new TensorShape(x.N, OutChannels,
            OutputSize(node, "height", x.H, w.KernelHeight, w.StrideHeight, w.PadTop, w.PadBottom, w.DilationHeight, OutputPaddingHeight),
            OutputSize(node, "width", x.W, w.KernelWidth, w.StrideWidth, w.PadLeft, w.PadRight, w.DilationWidth, OutputPaddingWidth));
    }

    /// <summary>One input-shaped tensor: the input gradient is the convolution of dy, written there and then added into dx.</summary>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [inputs[0]];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.ConvTranspose2dForward(t.Inputs[0], t.Parameters[0], HasBias ? t.Parameters[1] : null, t.Output, Window, Groups);

    /// <summary>In the forward pass this was y = convᵀ(x; W) + b, the input gradient of the convolution from OutChannels to
    /// InChannels with the same weight and window; so dx += conv(dy; W), dW += that convolution's weight gradient with input
    /// dy and output gradient x, db += Σ dy per channel.</summary>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        Tensor x = t.Inputs[0], weight = t.Parameters[0], dy = t.Gradient;
        if (t.InputGrads[0] is { } dx)
        {
            backend.Conv2dForward(dy, weight, null, t.Workspace[0], Window, Groups);
            backend.Accumulate(t.Workspace[0], dx, 1f);
        }
        if (t.ParameterGrads[0] is { } dw) backend.Conv2dBackward(dy, weight, x, null, dw, null, Window, Groups);
        if (HasBias && t.ParameterGrads[1] is { } db) backend.AddChannelSums(dy, db);
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) =>
        (long)inputs[0].ItemLength * (OutChannels / Groups) * Window.KernelHeight * Window.KernelWidth;
}

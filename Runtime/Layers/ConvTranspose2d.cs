using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// 2-D transposed convolution (PyTorch's <c>nn.ConvTranspose2d</c>, "deconvolution"): the adjoint of <see cref="Conv2d"/>,
/// so each input pixel spreads its kernel over the output:
/// <c>y[n,o, i·s − pad + p·d, j·s − pad + q·d] += x[n,c,i,j]·W[c,o,p,q]</c>, plus <c>b[o]</c>.
/// input (N,InChannels,H,W), weight (InChannels, OutChannels/G, KH, KW), bias (OutChannels), output (N,OutChannels,OH,OW) with
/// <c>OH = (H − 1)·s − padTop − padBottom + d·(KH − 1) + 1 + outputPadding</c> (and OW likewise). <see cref="WindowedConvolution.Groups"/> G splits
/// the channels as in Conv2d. The extra rows and columns of <see cref="OutputPaddingHeight"/>/<see cref="OutputPaddingWidth"/>
/// (each below the stride) only make the output larger: PyTorch's way of choosing between the input sizes a strided
/// convolution maps to one output size. Backward: dx is the Conv2d of dy with the same weight and window, dW is Conv2d's weight
/// gradient with x and dy in each other's places, db sums dy per channel.
/// Default initialization is PyTorch's: <c>U(−1/√fanIn, 1/√fanIn)</c> with fanIn = OutChannels/G·KH·KW (PyTorch computes it
/// from the weight's second axis).
/// </summary>
public sealed class ConvTranspose2d : WindowedConvolution
{
    /// <summary>A transposed convolution from <paramref name="inChannels"/> to <paramref name="outChannels"/> channels (both
    /// divisible by <paramref name="groups"/>) with <paramref name="window"/>'s kernel, stride, padding and dilation, and
    /// <paramref name="outputPadding"/> (rows, columns) extra output size, each in [0, stride).</summary>
    public ConvTranspose2d(int inChannels, int outChannels, Window2d window, (int Height, int Width) outputPadding = default, bool bias = true,
        Initializer? weightInit = null, Initializer? biasInit = null, int groups = 1)
        : base("ConvTranspose2d", inChannels, outChannels, window, bias, weightInit, biasInit, groups,
            (i, o) => new TensorShape(i, Math.Max(o / Math.Max(groups, 1), 1), window.KernelHeight, window.KernelWidth),
            Conv2d.FanOf(outChannels, groups, window), Conv2d.FanOf(inChannels, groups, window))
    {
        if (outputPadding.Height < 0 || outputPadding.Height >= window.StrideHeight || outputPadding.Width < 0 || outputPadding.Width >= window.StrideWidth)
            throw new ArgumentOutOfRangeException(nameof(outputPadding), outputPadding,
                $"ConvTranspose2d: outputPadding must be at least 0 and below the stride {window.StrideHeight}×{window.StrideWidth}");
        OutputPaddingHeight = outputPadding.Height;
        OutputPaddingWidth = outputPadding.Width;
    }

    /// <summary>Extra output rows at the bottom, below the stride (PyTorch's <c>output_padding[0]</c>).</summary>
    public int OutputPaddingHeight { get; }
    /// <summary>Extra output columns at the right, below the stride (PyTorch's <c>output_padding[1]</c>).</summary>
    public int OutputPaddingWidth { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<ConvTranspose2d>("ConvTranspose2d", LayerGroup.Convolution,
        "2-D transposed convolution of (N,C,H,W) images: each pixel spreads a learned kernel over a larger output (upsampling, decoders)", d =>
        {
            var attributes = new ConvolutionAttributes<ConvTranspose2d>(d, Window2d.Square(2, stride: 2), groupsOptional: false);
            var outputPadding = d.Ints("outputPadding", l => [l.OutputPaddingHeight, l.OutputPaddingWidth], 2, [0, 0], AttributeBounds.AtLeast(0));
            return d.Build(a =>
            {
                var c = attributes.Read(a);
                int[] padding = outputPadding.Read(a);
                return new ConvTranspose2d(c.InChannels, c.OutChannels, c.Window, (padding[0], padding[1]), c.Bias, c.WeightInit, c.BiasInit, c.Groups);
            }, OnnxMapping.Same("ConvTranspose"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

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
        var x = CheckedInput(node, inputs);
        var w = Window;
        return new TensorShape(x.N, OutChannels,
            OutputSize(node, "height", x.H, w.KernelHeight, w.StrideHeight, w.PadTop, w.PadBottom, w.DilationHeight, OutputPaddingHeight),
            OutputSize(node, "width", x.W, w.KernelWidth, w.StrideWidth, w.PadLeft, w.PadRight, w.DilationWidth, OutputPaddingWidth));
    }

    /// <summary>One input-shaped tensor: the input gradient is the convolution of dy, written there and then added into dx.</summary>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [inputs[0]];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.ConvTranspose2dForward(t.Inputs[0], t.Parameters[0], Bias(t), t.Output, Window, Groups);

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

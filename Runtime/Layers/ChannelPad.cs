namespace NeuroPlugin.Layers;

/// <summary>
/// Pads the channel axis with zeros: x (N,C,H,W) → y (N,<see cref="OutChannels"/>,H,W), <c>y[:, :C] = x</c>,
/// <c>y[:, C:] = 0</c>. It is the parameter-free "option A" shortcut of the CIFAR ResNets and PyramidNet, which
/// widen the identity to the residual branch's channel count (<c>F.pad(x, (0,0,0,0,0,C'−C))</c> in PyTorch).
/// Backward hands the first C channels of dy to dx. Built on the backend's concat ops, so it needs no kernel of its own.
/// </summary>
public sealed class ChannelPad : Layer
{
    /// <param name="outChannels">Channels after padding, at least the input's.</param>
    public ChannelPad(int outChannels)
    {
        if (outChannels < 1) throw new ArgumentOutOfRangeException(nameof(outChannels), outChannels, "ChannelPad: outChannels must be positive");
        OutChannels = outChannels;
    }

    /// <summary>C′, the channel count after padding (≥ the input's C): channels C…C′−1 of the output are zero.</summary>
    public int OutChannels { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<ChannelPad>("ChannelPad", LayerGroup.Shape,

        "appends zero channels up to outChannels (the option-A shortcut of CIFAR ResNets)", d =>
        {
            var outChannels = d.Int("outChannels", l => l.OutChannels, 16, AttributeBounds.AtLeast(1));
            return d.Build(a => new ChannelPad(outChannels.Read(a)), OnnxMapping.Same("Pad"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4)
            throw new ShapeException($"{node}: ChannelPad takes (N,C,H,W), got {x}");
        if (x.C > OutChannels)
            throw new ShapeException($"{node}: input {x} has more than the {OutChannels} channels it is padded to");
        return new TensorShape(x.N, OutChannels, x.H, x.W);
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        backend.Fill(t.Output, 0f);
        backend.ConcatForward(t.Inputs[0], t.Output, 0);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.ConcatBackward(t.Gradient, dx, 0);
    }
}

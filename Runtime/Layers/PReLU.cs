using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// PyTorch's <c>PReLU(num_parameters, init)</c>: <c>y = x if x &gt; 0 else a·x</c> with a learnable slope <c>a</c>, one
/// shared by every channel (<see cref="NumParameters"/> = 1) or one per channel of axis 1. Input (N,C,…) of any rank ≥ 2,
/// output the same shape; weight (NumParameters), starting at <see cref="Init"/>. Backward: <c>dx = dy</c> where x &gt; 0,
/// else <c>a·dy</c>; <c>da = Σ x·dy</c> over the elements of its channel (all, when shared) where x ≤ 0.
/// </summary>
public sealed class PReLU : Layer
{
    /// <summary>PyTorch's default initial slope.</summary>
    public const float DefaultInit = 0.25f;

    /// <summary>A PReLU with <paramref name="numParameters"/> slopes (1, or the input's channel count), each starting at
    /// <paramref name="init"/> (finite).</summary>
    public PReLU(int numParameters = 1, float init = DefaultInit)
    {
        if (numParameters < 1) throw new ArgumentOutOfRangeException(nameof(numParameters), numParameters, "PReLU needs at least one slope");
        if (!float.IsFinite(init)) throw new ArgumentOutOfRangeException(nameof(init), init, "PReLU's initial slope must be finite");
        NumParameters = numParameters;
        Init = init;
        Parameters = [new ParameterSpec("weight", new TensorShape(numParameters), new Initializer.Constant(init), 1, 1)];
    }

    /// <summary>1 (one slope for all channels) or the number of channels.</summary>
    public int NumParameters { get; }
    /// <summary>The value every slope starts at in a new network.</summary>
    public float Init { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<PReLU>("PReLU", LayerGroup.Activation,
        "y = x for x > 0, else a·x with a learnable slope a (one, or one per channel), any shape (N,C,…)", d =>
        {
            var numParameters = d.Int("numParameters", l => l.NumParameters, 1, AttributeBounds.AtLeast(1));
            var init = d.Float("init", l => l.Init, DefaultInit);
            return d.Build(a => new PReLU(numParameters.Read(a), init.Read(a)), new OnnxMapping(
            [
                new OnnxForm("PRelu"),
                new OnnxForm("PRelu") { Attributes = new() { ["numParameters"] = LayerDescriptor.ExampleImage[0] } },
            ], ["PRelu"]));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;
    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank < 2)
            throw new ShapeException($"{node}: PReLU takes (N,C,…), got {x}");
        if (NumParameters != 1 && x[1] != NumParameters)
            throw new ShapeException($"{node}: PReLU has {NumParameters} slopes (one per channel) but input {x} has {x[1]} channels");
        return x;
    }

    // The kernel is the broadcasting BinaryOp.PReLU with the slopes (1) or (C) read as (C,1,…,1), so the slope's gradient
    // is the broadcast gather (a sum over N and the spatial axes).

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        Tensor x = t.Inputs[0], w = t.Parameters[0];
        backend.BinaryForward(BinaryOp.PReLU, x, w, Broadcast.ChannelAligned(w.Shape, x.Shape), t.Output);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        // in the forward pass this was y = x if x > 0 else w·x
        Tensor x = t.Inputs[0], w = t.Parameters[0];
        Tensor? dx = t.InputGrads[0], dw = t.ParameterGrads[0];
        if (dx is not null || dw is not null)
            backend.BinaryBackward(BinaryOp.PReLU, x, w, Broadcast.ChannelAligned(w.Shape, x.Shape), t.Output, t.Gradient, dx, dw);
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => output.ItemLength;
}

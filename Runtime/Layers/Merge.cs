namespace NeuroPlugin.Layers;

/// <summary>
/// Element-wise sum of two or more inputs of the same shape, <c>y = x₁ + x₂ + …</c> (the residual
/// shortcut of ResNet: <c>y = F(x) + x</c>; put a 1×1 Conv2d on the shortcut when shapes differ).
/// Backward passes dy unchanged to every input.
/// </summary>
public sealed class Add : Layer
{
    /// <summary>A sum of <paramref name="inputCount"/> ≥ 2 inputs.</summary>
    public Add(int inputCount = 2)
    {
        if (inputCount < 2) throw new ArgumentOutOfRangeException(nameof(inputCount), inputCount, "Add needs at least 2 inputs");
        InputCount = inputCount;
    }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Add>("Add", LayerGroup.Merge,

        "element-wise sum of inputs of one shape (a residual shortcut)", LayerDescriptor.AnyInputCount, d =>
        {
            var inputCount = d.Int("inputCount", l => l.InputCount, inferred: InferredFrom.InputCount);
            var image = LayerDescriptor.ExampleImage;
            var onnx = new OnnxMapping([new OnnxForm("Add"), new OnnxForm("Sum") { Inputs = [image, image, image] }], ["Add", "Sum"]);
            return d.Build(a => new Add(inputCount.Read(a)), onnx);
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;
    /// <inheritdoc/>
    public override int InputCount { get; }

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        for (int i = 1; i < inputs.Length; i++)
            if (inputs[i] != inputs[0])
                throw new ShapeException($"{node}: Add needs equal shapes, input 0 is {inputs[0]} and input {i} is {inputs[i]} (use a projection, e.g. a 1×1 Conv2d, on the shortcut)");
        return inputs[0];
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        backend.Copy(t.Inputs[0], t.Output);
        for (int i = 1; i < t.Inputs.Length; i++) backend.Accumulate(t.Inputs[i], t.Output, 1f);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        for (int i = 0; i < t.InputGrads.Length; i++)
            if (t.InputGrads[i] is { } dx) backend.Accumulate(t.Gradient, dx, 1f, t.AddsToInputGrad(i));
    }

    /// <inheritdoc/>
    public override bool CanSetInputGradients => true;

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => (long)output.ItemLength * (inputs.Length - 1);
}

/// <summary>
/// <c>torch.cat(inputs, dim)</c>: concatenation along axis <see cref="Dim"/> (after the batch axis), by default the
/// channels as in Inception and DenseNet: inputs (N,Cᵢ,H,W) with equal N, H, W give (N,ΣCᵢ,H,W); along any other axis
/// every other size must agree. Backward hands each input its slice of dy.
/// </summary>
public sealed class Concat : Layer
{
    /// <summary>Concatenates <paramref name="inputCount"/> ≥ 2 inputs along axis <paramref name="dim"/> ≥ 1 (1: the channels).</summary>
    public Concat(int inputCount = 2, int dim = 1)
    {
        if (inputCount < 2) throw new ArgumentOutOfRangeException(nameof(inputCount), inputCount, "Concat needs at least 2 inputs");
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, "Concat along the batch axis is not supported (dim ≥ 1)");
        InputCount = inputCount;
        Dim = dim;
    }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Concat>("Concat", LayerGroup.Merge,

        "joins inputs along an axis, the channels by default (Inception, DenseNet)", LayerDescriptor.AnyInputCount, d =>
        {
            var inputCount = d.Int("inputCount", l => l.InputCount, inferred: InferredFrom.InputCount);
            var dim = d.Int("dim", l => l.Dim, 1, AttributeBounds.AtLeast(1));
            var onnx = new OnnxMapping([new OnnxForm("Concat"), new OnnxForm("Concat") { Attributes = new() { ["dim"] = 3 } }], ["Concat"]);
            return d.Build(a => new Concat(inputCount.Read(a), dim.Read(a)), onnx);
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;
    /// <inheritdoc/>
    public override int InputCount { get; }
    /// <summary>The axis the inputs are joined along (1: channels).</summary>
    public int Dim { get; }

    /// <summary>True for the channel concatenation of (N,C) or (N,C,H,W) inputs, which the backends' Concat ops do; any
    /// other axis or rank is a strided copy per input.</summary>
    static bool AlongChannels(int dim, TensorShape x) => dim == 1 && x.Rank is 2 or 4;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var first = inputs[0];
        if (Dim >= first.Rank)
            throw new ShapeException($"{node}: Concat along axis {Dim} of {first}, which has {first.Rank} axes");
        long joined = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            var x = inputs[i];
            bool fits = x.Rank == first.Rank;
            for (int k = 0; fits && k < x.Rank; k++) fits = k == Dim || x[k] == first[k];
            if (!fits)
                throw new ShapeException($"{node}: Concat along axis {Dim} needs equal sizes on every other axis; input 0 is {first} and input {i} is {x}");
            joined += x[Dim];
        }
        if (joined > int.MaxValue) throw new ShapeException($"{node}: Concat gives more than {int.MaxValue} elements along axis {Dim}");
        Span<int> dims = stackalloc int[first.Rank];
        for (int k = 0; k < dims.Length; k++) dims[k] = k == Dim ? (int)joined : first[k];
        return TensorShape.Of(dims);
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        int offset = 0;
        foreach (var x in t.Inputs)
        {
            if (AlongChannels(Dim, x.Shape)) backend.ConcatForward(x, t.Output, offset);
            else backend.StridedCopy(Placement(x.Shape, t.Output.Shape, offset), x, t.Output, accumulate: false);
            offset += x.Shape[Dim];
        }
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        int offset = 0;
        for (int i = 0; i < t.Inputs.Length; i++)
        {
            var shape = t.Inputs[i].Shape;
            if (t.InputGrads[i] is { } dx)
            {
                if (AlongChannels(Dim, shape)) backend.ConcatBackward(t.Gradient, dx, offset);
                else backend.StridedCopy(Placement(shape, t.Output.Shape, offset).Reversed, t.Gradient, dx, accumulate: true);
            }
            offset += shape[Dim];
        }
    }

    /// <summary>Input <paramref name="input"/> in its order, written into the output from <paramref name="offset"/> along the axis.</summary>
    StridedMap Placement(TensorShape input, TensorShape output, int offset)
    {
        Span<int> inputStrides = stackalloc int[input.Rank], outputStrides = stackalloc int[input.Rank], extent = stackalloc int[input.Rank];
        StridedMap.ContiguousStrides(input, inputStrides);
        StridedMap.ContiguousStrides(output, outputStrides);
        for (int k = 0; k < extent.Length; k++) extent[k] = input[k];
        return StridedMap.Of(extent, inputStrides, 0, outputStrides, offset * outputStrides[Dim]);
    }
}

/// <summary>
/// Channel-wise product, the "scale" of squeeze-and-excitation: input 0 is x (N,C,H,W), input 1 the
/// per-channel weights s (N,C) or (N,C,1,1); <c>y[n,c,h,w] = x[n,c,h,w]·s[n,c]</c>.
/// </summary>
public sealed class ChannelMultiply : Layer
{
    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<ChannelMultiply>("ChannelMultiply", LayerGroup.Merge,
        "scales each channel of input 0 (N,C,H,W) by input 1 (N,C) or (N,C,1,1) (squeeze-and-excitation)", inputs: 2, d =>
        {
            var image = LayerDescriptor.ExampleImage;
            var onnx = new OnnxMapping(
            [
                new OnnxForm("Mul"),
                new OnnxForm("Unsqueeze", "Mul") { Inputs = [image, new TensorShape(image[0])] }, // ONNX broadcasts trailing axes
            ], ["Mul"]);
            return d.Build(_ => new ChannelMultiply(), onnx, exampleInputs: [image, new TensorShape(image[0], 1, 1)]);
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var (x, s) = (inputs[0], inputs[1]);
        if (x.Rank != 4)
            throw new ShapeException($"{node}: ChannelMultiply scales (N,C,H,W), got {x}");
        bool fits = s.Rank switch
        {
            2 => s.N == x.N && s[1] == x.C,
            4 => s.N == x.N && s.C == x.C && s.H == 1 && s.W == 1,
            _ => false,
        };
        if (!fits)
            throw new ShapeException($"{node}: scale {s} does not fit input {x}: it must be ({x.N},{x.C}) or ({x.N},{x.C},1,1)");
        return x;
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) => backend.ChannelMultiplyForward(t.Inputs[0], t.Inputs[1], t.Output);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t) =>
        backend.ChannelMultiplyBackward(t.Inputs[0], t.Inputs[1], t.Gradient, t.InputGrads[0], t.InputGrads[1]);

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => output.ItemLength;
}

namespace NeuroPlugin.Layers;

/// <summary>
/// Pooling over the whole plane: (N,C,H,W) → (N,C,1,1). It runs the ordinary pooling ops with a window equal
/// to the input plane (kernel H×W, stride H×W, no padding), built from the input's shape at each call, so one
/// layer serves any input size. The GL backend compiles one kernel per plane size, once, and sees the windows
/// as disjoint, so backward writes each plane from its single output.
/// </summary>
public abstract class GlobalPool2d : Layer
{
    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4)
            throw new ShapeException($"{node}: {Type} takes (N,C,H,W), got {x}");
        return new TensorShape(x.N, x.C, 1, 1);
    }

    /// <summary>The window covering a whole H×W plane of <paramref name="input"/>.</summary>
    protected static Window2d PlaneWindow(TensorShape input) => new(input.H, input.W, input.H, input.W);

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => inputs[0].ItemLength;

    /// <summary>The descriptor of a global pooling type: no attributes, one ONNX op both ways.</summary>
    private protected static LayerDescriptor Describe<TLayer>(string type, string statistic, OnnxMapping onnx) where TLayer : GlobalPool2d, new() =>
        new LayerDescriptorBuilder<TLayer>(type, LayerGroup.Pooling, $"the {statistic} of each channel's whole plane: (N,C,H,W) → (N,C,1,1)")
            .Build(_ => new TLayer(), onnx);
}

/// <summary>Global average pooling (PyTorch's <c>AdaptiveAvgPool2d(1)</c>): <c>y[n,c] = (1/HW)·Σ_{h,w} x[n,c,h,w]</c>;
/// backward adds <c>dy[n,c]/HW</c> to every element of the plane.</summary>
public sealed class GlobalAvgPool2d : GlobalPool2d
{
    internal static LayerDescriptor Definition { get; } = Describe<GlobalAvgPool2d>("GlobalAvgPool2d", "mean",
        new OnnxMapping([new OnnxForm("GlobalAveragePool")], ["GlobalAveragePool", "ReduceMean"]));

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.AvgPool2dForward(t.Inputs[0], t.Output, PlaneWindow(t.Inputs[0].Shape), countIncludePad: true);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.AvgPool2dBackward(t.Gradient, dx, PlaneWindow(dx.Shape), countIncludePad: true);
    }
}

/// <summary>Global max pooling (PyTorch's <c>AdaptiveMaxPool2d(1)</c>): <c>y[n,c] = max_{h,w} x[n,c,h,w]</c>;
/// backward adds <c>dy[n,c]</c> at the first maximum (saved as the argmax workspace, (N,C,1,1)).</summary>
public sealed class GlobalMaxPool2d : GlobalPool2d
{
    internal static LayerDescriptor Definition { get; } = Describe<GlobalMaxPool2d>("GlobalMaxPool2d", "maximum", OnnxMapping.Same("GlobalMaxPool"));

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [output];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.MaxPool2dForward(t.Inputs[0], t.Output, t.Workspace[0], PlaneWindow(t.Inputs[0].Shape));

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.MaxPool2dBackward(t.Workspace[0], t.Gradient, dx, PlaneWindow(dx.Shape));
    }
}

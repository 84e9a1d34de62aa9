namespace NeuroPlugin.Layers;

/// <summary>Shape inference shared by the pooling layers: (N,C,H,W) → (N,C,OH,OW), channels unchanged.</summary>
public abstract class Pool2d : Layer
{
    /// <summary>Checks <paramref name="window"/> (<see cref="Window2d.Validate"/>, and padding at most half the kernel on each side,
    /// as PyTorch requires) and keeps it; throws <see cref="ShapeException"/> otherwise.</summary>
    protected Pool2d(Window2d window)
    {
        window.Validate(GetType().Name);
        if (window.PadTop * 2 > window.KernelHeight || window.PadBottom * 2 > window.KernelHeight ||
            window.PadLeft * 2 > window.KernelWidth || window.PadRight * 2 > window.KernelWidth)
            throw new ShapeException($"{GetType().Name}: padding must be at most half the kernel ({window})"); // as in PyTorch: no window entirely in padding
        Window = window;
    }

    /// <summary>Kernel KH×KW, stride s, padding and dilation d of the pooling windows (PyTorch's <c>kernel_size</c>, <c>stride</c>,
    /// <c>padding</c>, <c>dilation</c>): <c>OH = ⌊(H + padTop + padBottom − d·(KH − 1) − 1)/s⌋ + 1</c>, OW likewise.</summary>
    public Window2d Window { get; }

    /// <summary>The window a new pooling node starts with: 2×2, stride 2 (halves H and W).</summary>
    private protected static Window2d DefaultWindow => Window2d.Square(2, stride: 2);

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4)
            throw new ShapeException($"{node}: {Type} takes (N,C,H,W), got {x}");
        return new TensorShape(x.N, x.C, Window.OutputHeight(x.H, node), Window.OutputWidth(x.W, node));
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) =>
        (long)output.ItemLength * Window.KernelHeight * Window.KernelWidth;
}

/// <summary>Max pooling: <c>y = max over each window</c> (padding counts as −∞); overlapping windows
/// (kernel &gt; stride, as in AlexNet) are allowed. Saves the argmax for backward.</summary>
public sealed class MaxPool2d(Window2d window) : Pool2d(window)
{
    /// <summary>PyTorch's <c>MaxPool2d(kernel_size, stride=kernel_size, padding)</c>.</summary>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0)
        : this(Window2d.Square(kernelSize, stride ?? kernelSize, padding)) { }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<MaxPool2d>("MaxPool2d", LayerGroup.Pooling,

        "the maximum of each window of (N,C,H,W), per channel", d =>
        {
            var window = d.Window(l => l.Window, DefaultWindow);
            return d.Build(a => new MaxPool2d(window.Read(a)), OnnxMapping.Same("MaxPool"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [output];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.MaxPool2dForward(t.Inputs[0], t.Output, t.Workspace[0], Window);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.MaxPool2dBackward(t.Workspace[0], t.Gradient, dx, Window);
    }
}

/// <summary>Average pooling: <c>y = Σ window / count</c>; count is <c>KH·KW</c> (PyTorch's default,
/// <see cref="CountIncludePad"/>) or the number of in-bounds elements.</summary>
public sealed class AvgPool2d(Window2d window, bool countIncludePad = true) : Pool2d(window)
{
    /// <summary>PyTorch's <c>AvgPool2d(kernel_size, stride=kernel_size, padding)</c>.</summary>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool countIncludePad = true)
        : this(Window2d.Square(kernelSize, stride ?? kernelSize, padding), countIncludePad) { }

    /// <summary>True (PyTorch's default): every window divides by <c>KH·KW</c>, padding counted as zeros; false: by the
    /// number of its elements inside the input.</summary>
    public bool CountIncludePad { get; } = countIncludePad;

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<AvgPool2d>("AvgPool2d", LayerGroup.Pooling,

        "the mean of each window of (N,C,H,W), per channel", d =>
        {
            var window = d.Window(l => l.Window, DefaultWindow);
            var countIncludePad = d.Bool("countIncludePad", l => l.CountIncludePad, true);
            return d.Build(a => new AvgPool2d(window.Read(a), countIncludePad.Read(a)), OnnxMapping.Same("AveragePool"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.AvgPool2dForward(t.Inputs[0], t.Output, Window, CountIncludePad);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.AvgPool2dBackward(t.Gradient, dx, Window, CountIncludePad);
    }
}

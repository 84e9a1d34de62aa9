namespace NeuroPlugin.Serialization.Onnx;

/// <summary>MaxPool, AveragePool (with the padding of a Pad node before it), GlobalAveragePool, GlobalMaxPool → our
/// pooling layers (ReduceMean over H and W is one too: <see cref="ReductionConverters"/>).</summary>
internal static class PoolingConverters
{
    public static OnnxValue MaxPool(ImportGraph graph, OnnxNodeReader n) => Pool(graph, n, average: false);

    public static OnnxValue AveragePool(ImportGraph graph, OnnxNodeReader n) => Pool(graph, n, average: true);

    public static OnnxValue GlobalAveragePool(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        return graph.AddLayer(n, null, new GlobalAvgPool2d(), [graph.LiveInput(n, 0)]);
    }

    public static OnnxValue GlobalMaxPool(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        return graph.AddLayer(n, null, new GlobalMaxPool2d(), [graph.LiveInput(n, 0)]);
    }

    static OnnxValue Pool(ImportGraph graph, OnnxNodeReader n, bool average)
    {
        n.ExpectInputs(1, 1);
        var x = graph.LiveInput(n, 0, allowPads: average);
        var kernel = n.Ints("kernel_shape") ?? throw n.Malformed("attribute 'kernel_shape' is required");
        if (kernel.Length != 2) throw n.Unsupported($"kernel_shape [{string.Join(",", kernel)}]: only 2-D pooling is supported");
        if (!average) n.Require("storage_order", 0, "row-major indices only");
        bool countIncludePad = average && n.Int("count_include_pad", 0) != 0;
        var window = Padding.Window(graph, n, x, [(int)kernel[0], (int)kernel[1]], dilations: n.Opset >= (average ? 19 : 10));
        if (window.DilationHeight != 1 || window.DilationWidth != 1) throw n.Unsupported("dilated pooling is not supported");
        if (x.Pads is not null && average)
        {
            // zeros a Pad node added are real elements: the average counts them, which our padding does only with
            // countIncludePad, and only if the pool had no padding of its own that ONNX would not count
            bool ownPadding = window.PadTop + window.PadLeft + window.PadBottom + window.PadRight != x.Pads.Sum();
            if (ownPadding && !countIncludePad) throw n.Unsupported("a Pad before an AveragePool with its own padding and count_include_pad = 0 is not supported");
            countIncludePad = true;
        }
        var input = graph.Unpadded(n, x);
        if (average) CheckCeilMode(n, window, graph.Shape(input));
        else window = MaxPoolCeilMode(n, window, graph.Shape(input));
        Layer layer = average ? new AvgPool2d(window, countIncludePad) : new MaxPool2d(window);
        return graph.AddLayer(n, null, layer, [input]);
    }

    /// <summary>MaxPool's ceil_mode = 1 (torchvision's GoogLeNet): the output size rounded up instead of down, as extra
    /// bottom/right padding, which max pooling counts as −∞, so a partial window is the maximum of its in-bounds taps. As in
    /// PyTorch and ONNX Runtime, a last window that would start past the input and its top/left padding is not added.</summary>
    static Window2d MaxPoolCeilMode(OnnxNodeReader n, Window2d window, TensorShape input)
    {
        if (n.Opset < 10 || n.Int("ceil_mode", 0) == 0) return window;
        return window with
        {
            PadBottom = window.PadBottom + CeilPadding(input.H, window.KernelHeight, window.StrideHeight, window.PadTop, window.PadBottom),
            PadRight = window.PadRight + CeilPadding(input.W, window.KernelWidth, window.StrideWidth, window.PadLeft, window.PadRight),
        };
    }

    /// <summary>The padding after an axis of <paramref name="size"/> that makes floor's output size ceil's:
    /// <c>out = ⌈(size + before + after − k)/s⌉ + 1</c>, less the last window when it would start at or past
    /// <c>size + before</c>.</summary>
    static int CeilPadding(int size, int kernel, int stride, int before, int after)
    {
        long span = (long)size + before + after - kernel; // in long: the pads come from the file
        if (span < 0 || span % stride == 0) return 0;
        long outputs = span / stride + 2;
        return (outputs - 1) * stride >= (long)size + before ? 0 : (int)(stride - span % stride);
    }

    /// <summary>AveragePool's ceil_mode = 1 is accepted only where it gives the same output size as floor (no partial
    /// windows, whose divisor ONNX and PyTorch define differently).</summary>
    static void CheckCeilMode(OnnxNodeReader n, Window2d window, TensorShape input)
    {
        if (n.Opset < 10 || n.Int("ceil_mode", 0) == 0) return;
        bool same = true;
        foreach (var (size, k, s, before, after) in new[] { (input.H, window.KernelHeight, window.StrideHeight, window.PadTop, window.PadBottom), (input.W, window.KernelWidth, window.StrideWidth, window.PadLeft, window.PadRight) })
            same &= (size + before + after - k) % s == 0;
        if (!same) throw n.Unsupported("attribute 'ceil_mode' = 1 is not supported where it adds a partial window (only ceil_mode = 0)");
    }
}

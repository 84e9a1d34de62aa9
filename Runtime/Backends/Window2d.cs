namespace NeuroPlugin.Backends;

/// <summary>
/// The sliding-window geometry shared by convolution and pooling: kernel size, stride, padding
/// (top/left/bottom/right) and dilation. Output size per axis:
/// <c>out = floor((in + padBefore + padAfter − dilation·(kernel − 1) − 1) / stride) + 1</c>.
/// Kernels only need the top/left padding (the offset of the window's origin); bottom/right padding
/// only changes the output size, which the caller allocated.
/// </summary>
public readonly record struct Window2d(
    int KernelHeight, int KernelWidth,
    int StrideHeight = 1, int StrideWidth = 1,
    int PadTop = 0, int PadLeft = 0, int PadBottom = 0, int PadRight = 0,
    int DilationHeight = 1, int DilationWidth = 1)
{
    /// <summary>A square window with symmetric padding: <c>kernel×kernel</c>, <paramref name="stride"/>, <paramref name="padding"/> on every side.</summary>
    public static Window2d Square(int kernel, int stride = 1, int padding = 0) =>
        new(kernel, kernel, stride, stride, padding, padding, padding, padding);

    /// <summary>Throws <see cref="ShapeException"/> unless every field is in range; <paramref name="owner"/> names the node in the message.</summary>
    public void Validate(string owner)
    {
        if (KernelHeight < 1 || KernelWidth < 1) throw new ShapeException($"{owner}: kernel size must be positive, got {KernelHeight}×{KernelWidth}");
        if (StrideHeight < 1 || StrideWidth < 1) throw new ShapeException($"{owner}: stride must be positive, got {StrideHeight}×{StrideWidth}");
        if (DilationHeight < 1 || DilationWidth < 1) throw new ShapeException($"{owner}: dilation must be positive, got {DilationHeight}×{DilationWidth}");
        if (PadTop < 0 || PadLeft < 0 || PadBottom < 0 || PadRight < 0) throw new ShapeException($"{owner}: padding must not be negative");
    }

    /// <summary>Output height for an input of height <paramref name="inputHeight"/>; throws if the window does not fit.</summary>
    public int OutputHeight(int inputHeight, string owner) =>
        OutputSize(inputHeight, KernelHeight, StrideHeight, PadTop, PadBottom, DilationHeight, owner, "height");

    /// <summary>Output width for an input of width <paramref name="inputWidth"/>; throws if the window does not fit.</summary>
    public int OutputWidth(int inputWidth, string owner) =>
        OutputSize(inputWidth, KernelWidth, StrideWidth, PadLeft, PadRight, DilationWidth, owner, "width");

    static int OutputSize(int input, int kernel, int stride, int before, int after, int dilation, string owner, string axis)
    {
        long span = (long)dilation * (kernel - 1) + 1;
        long padded = (long)input + before + after;
        if (padded < span)
            throw new ShapeException($"{owner}: {axis} {input} with padding {before}+{after} is smaller than the window ({span})");
        return (int)((padded - span) / stride + 1);
    }

    /// <summary>The window in words, e.g. <c>kernel 3×3, stride 1×1, padding 1,1,1,1, dilation 1×1</c>
    /// (padding in the order top, left, bottom, right).</summary>
    public override string ToString() =>
        $"kernel {KernelHeight}×{KernelWidth}, stride {StrideHeight}×{StrideWidth}, padding {PadTop},{PadLeft},{PadBottom},{PadRight}, dilation {DilationHeight}×{DilationWidth}";
}

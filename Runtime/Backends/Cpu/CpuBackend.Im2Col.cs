using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

// im2col and its adjoint col2im: the convolution as the course teaches it, and the reference the faster kernels match.
public sealed partial class CpuBackend
{
    readonly ColumnWork columnWork = new();

    /// <summary>
    /// im2col (forward) or col2im (backward) of a chunk of samples, one task per sample on <see cref="CpuWorkers"/>:
    /// sample t reads or writes only its own columns [t·P, (t+1)·P) of each row and its own image plane, so the result
    /// does not depend on the thread count. Small chunks stay on the calling thread. Made once per backend; a run
    /// allocates nothing.
    /// </summary>
    sealed class ColumnWork : IParallelWork
    {
        /// <summary>Below this many column values a chunk runs on the calling thread (waking workers costs more).</summary>
        const long ParallelThreshold = 1 << 16;

        float[] image = [], columnData = [];
        int first, group, width;
        bool backward;
        ConvGeometry geometry;
        Window2d window;

        /// <summary>im2col (or, with <paramref name="backward"/>, col2im-add) of group <paramref name="group"/> of samples
        /// [first, first + count), on up to <paramref name="threads"/> threads. <paramref name="image"/> is x (read) or dx
        /// (added to), (N,C,H,W); <paramref name="columnData"/> the (K, count·P) columns, written or read.</summary>
        public void RunChunk(float[] image, float[] columnData, int first, int count, int group, in ConvGeometry g, in Window2d window, bool backward, int threads)
        {
            (this.image, this.columnData, this.first, this.group, width, this.backward, geometry, this.window) =
                (image, columnData, first, group, count * g.OutputPixels, backward, g, window);
            bool large = (long)count * g.KernelLength * g.OutputPixels >= ParallelThreshold;
            CpuWorkers.Shared.Run(this, count, large ? threads : 1);
            (this.image, this.columnData) = ([], []);
        }

        void IParallelWork.Run(int t, int participant)
        {
            var g = geometry;
            var plane = image.AsSpan((first + t) * g.InputPlaneSize + group * g.GroupPlaneSize, g.GroupPlaneSize);
            var col = columnData.AsSpan(t * g.OutputPixels);
            if (backward) Col2ImAdd(col, plane, width, g, window);
            else Im2Col(plane, col, width, g, window);
        }
    }

    /// <summary>
    /// im2col for one sample: <c>col[(c·KH + p)·KW + q, i·OW + j] = x[c, i·sh − padTop + p·dh, j·sw − padLeft + q·dw]</c>,
    /// zero where that position falls in the padding. x is (C,H,W); col holds C·KH·KW rows of OH·OW values,
    /// row r starting at <c>r·rowStride</c> (rows of several samples sit side by side).
    /// </summary>
    static void Im2Col(ReadOnlySpan<float> x, Span<float> col, int rowStride, in ConvGeometry g, in Window2d win)
    {
        for (int c = 0; c < g.InChannels; c++)
            for (int p = 0; p < g.KernelHeight; p++)
                for (int q = 0; q < g.KernelWidth; q++)
                {
                    Span<float> row = col.Slice(((c * g.KernelHeight + p) * g.KernelWidth + q) * rowStride, g.OutputPixels);
                    int offset = q * win.DilationWidth - win.PadLeft;             // iw = j·sw + offset
                    var (first, end) = ValidColumns(offset, win.StrideWidth, g.InputWidth, g.OutputWidth);
                    for (int i = 0; i < g.OutputHeight; i++)
                    {
                        int ih = i * win.StrideHeight - win.PadTop + p * win.DilationHeight;
                        Span<float> segment = row.Slice(i * g.OutputWidth, g.OutputWidth);
                        if ((uint)ih >= (uint)g.InputHeight) { segment.Clear(); continue; }
                        ReadOnlySpan<float> inputRow = x.Slice((c * g.InputHeight + ih) * g.InputWidth, g.InputWidth);
                        segment[..first].Clear();
                        segment[end..].Clear();
                        if (win.StrideWidth == 1)
                            inputRow.Slice(first + offset, end - first).CopyTo(segment[first..end]);
                        else
                            for (int j = first; j < end; j++) segment[j] = inputRow[j * win.StrideWidth + offset];
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: adds every column entry back into the input position it came from.</summary>
    static void Col2ImAdd(ReadOnlySpan<float> col, Span<float> dx, int rowStride, in ConvGeometry g, in Window2d win)
    {
        for (int c = 0; c < g.InChannels; c++)
            for (int p = 0; p < g.KernelHeight; p++)
                for (int q = 0; q < g.KernelWidth; q++)
                {
                    ReadOnlySpan<float> row = col.Slice(((c * g.KernelHeight + p) * g.KernelWidth + q) * rowStride, g.OutputPixels);
                    int offset = q * win.DilationWidth - win.PadLeft;
                    var (first, end) = ValidColumns(offset, win.StrideWidth, g.InputWidth, g.OutputWidth);
                    for (int i = 0; i < g.OutputHeight; i++)
                    {
                        int ih = i * win.StrideHeight - win.PadTop + p * win.DilationHeight;
                        if ((uint)ih >= (uint)g.InputHeight) continue;
                        Span<float> inputRow = dx.Slice((c * g.InputHeight + ih) * g.InputWidth, g.InputWidth);
                        ReadOnlySpan<float> segment = row.Slice(i * g.OutputWidth, g.OutputWidth);
                        if (win.StrideWidth == 1)
                        {
                            Span<float> target = inputRow.Slice(first + offset, end - first);
                            TensorPrimitives.Add(target, segment[first..end], target);
                        }
                        else
                            for (int j = first; j < end; j++) inputRow[j * win.StrideWidth + offset] += segment[j];
                    }
                }
    }

    /// <summary>The output columns j in [first, end) whose input column <c>j·stride + offset</c> lies inside [0, width).</summary>
    internal static (int First, int End) ValidColumns(int offset, int stride, int width, int outputWidth)
    {
        int first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int end = width - offset <= 0 ? 0 : Math.Min(outputWidth, (width - 1 - offset) / stride + 1);
        return (Math.Min(first, outputWidth), Math.Max(end, Math.Min(first, outputWidth)));
    }

}

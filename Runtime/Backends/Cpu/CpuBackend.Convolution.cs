using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    // Workspaces, grown once to the largest layer and then reused: im2col columns for a chunk of samples,
    // their gradients, and the GEMM result (or the output gradient) in (O, samples·OH·OW) order.
    float[] columns = [];
    float[] columnGrads = [];
    float[] gemmResult = [];

    /// <summary>Upper bound on the im2col workspace, in floats (16 MiB): samples are processed in chunks that fit.</summary>
    const int ColumnBudget = 4 << 20;

    /// <inheritdoc/>
    public void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window, int groups = 1)
    {
        // input (N,C,H,W), weight (O,C/G,KH,KW), output (N,O,OH,OW).
        // For a chunk of S samples and one group: col = im2col(x's channels of the group) is (K, S·P) with
        // K = C/G·KH·KW and P = OH·OW, so one GEMM y' = W_g·col gives the group's (O/G, S·P) with long rows
        // (the course's im2col, batched); then y[n,o,:] = y'[o, n·P…] + b[o].
        var g = new ConvGeometry(input.Shape, weight.Shape, output.Shape, groups);
        float[] x = ArrayOf(input);
        Span<float> b = DataOrEmpty(bias), y = Data(output);
        float[] w = ArrayOf(weight);
        int chunk = g.ChunkSize;
        for (int first = 0; first < g.Batch; first += chunk)
            for (int group = 0; group < groups; group++)
            {
                if (Skips) continue; // a work slice's unit: one chunk of samples of one group, computed from scratch
                int count = Math.Min(chunk, g.Batch - first), width = count * g.OutputPixels;
                ChunkColumns(x, first, count, group, g, window);
                Span<float> result = Workspace(ref gemmResult, g.GroupOutputs * width);
                gemm.Multiply(g.GroupOutputs, width, g.KernelLength, new GemmOperand(w, group * g.GroupOutputs * g.KernelLength, g.KernelLength),
                    new GemmOperand(columns, 0, width), gemmResult, 0, width, accumulate: false);
                for (int r = 0; r < g.GroupOutputs; r++)
                {
                    int o = group * g.GroupOutputs + r;
                    for (int t = 0; t < count; t++)
                    {
                        ReadOnlySpan<float> source = result.Slice(r * width + t * g.OutputPixels, g.OutputPixels);
                        Span<float> target = y.Slice(((first + t) * g.OutChannels + o) * g.OutputPixels, g.OutputPixels);
                        if (b.IsEmpty) source.CopyTo(target);
                        else TensorPrimitives.Add(source, b[o], target);
                    }
                }
            }
    }

    /// <inheritdoc/>
    public void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad, Window2d window, int groups = 1)
    {
        // in the forward pass this was y' = W_g·col + b with col = im2col(x_g), per chunk of samples and group;
        // so with dy' the group's output gradient in (O/G, S·P) order: dW_g += dy'·colᵀ, db += Σ dy',
        // dcol = W_gᵀ·dy', dx_g += col2im(dcol)
        var g = new ConvGeometry(input.Shape, weight.Shape, outputGrad.Shape, groups);
        float[] x = ArrayOf(input);
        Span<float> dy = Data(outputGrad), db = DataOrEmpty(biasGrad);
        float[]? dx = inputGrad is null ? null : ArrayOf(inputGrad);
        float[] w = ArrayOf(weight), dw = ArrayOf(weightGrad);
        int chunk = g.ChunkSize;
        for (int first = 0; first < g.Batch; first += chunk)
            for (int group = 0; group < groups; group++)
            {
                if (Skips) continue; // a work slice's unit: one chunk of samples of one group, computed from scratch
                int count = Math.Min(chunk, g.Batch - first), width = count * g.OutputPixels;
                int weightOffset = group * g.GroupOutputs * g.KernelLength;
                ChunkColumns(x, first, count, group, g, window);
                Span<float> dyT = Workspace(ref gemmResult, g.GroupOutputs * width);
                for (int t = 0; t < count; t++)
                    for (int r = 0; r < g.GroupOutputs; r++)
                        dy.Slice(((first + t) * g.OutChannels + group * g.GroupOutputs + r) * g.OutputPixels, g.OutputPixels)
                            .CopyTo(dyT.Slice(r * width + t * g.OutputPixels, g.OutputPixels));
                if (!db.IsEmpty)
                    for (int r = 0; r < g.GroupOutputs; r++)
                        db[group * g.GroupOutputs + r] += TensorPrimitives.Sum(dyT.Slice(r * width, width));
                // dW_g (O/G, K) += dy' (O/G, S·P) · colᵀ (S·P, K)
                gemm.Multiply(g.GroupOutputs, g.KernelLength, width, new GemmOperand(gemmResult, 0, width),
                    new GemmOperand(columns, 0, width, transposed: true), dw, weightOffset, g.KernelLength, accumulate: true);
                if (dx is null) continue;
                // dcol (K, S·P) = W_gᵀ (K, O/G) · dy' (O/G, S·P)
                Workspace(ref columnGrads, g.KernelLength * width);
                gemm.Multiply(g.KernelLength, width, g.GroupOutputs, new GemmOperand(w, weightOffset, g.KernelLength, transposed: true),
                    new GemmOperand(gemmResult, 0, width), columnGrads, 0, width, accumulate: false);
                columnWork.RunChunk(dx, columnGrads, first, count, group, g, window, backward: true, Threads);
            }
    }

    /// <summary>im2col of one group's channels of samples [first, first + count) side by side: (K, count·P),
    /// sample t in columns t·P….</summary>
    void ChunkColumns(float[] x, int first, int count, int group, in ConvGeometry g, in Window2d window)
    {
        Workspace(ref columns, g.KernelLength * count * g.OutputPixels);
        columnWork.RunChunk(x, columns, first, count, group, g, window, backward: false, Threads);
    }

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
    static (int First, int End) ValidColumns(int offset, int stride, int width, int outputWidth)
    {
        int first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int end = width - offset <= 0 ? 0 : Math.Min(outputWidth, (width - 1 - offset) / stride + 1);
        return (Math.Min(first, outputWidth), Math.Max(end, Math.Min(first, outputWidth)));
    }

    static Span<float> Workspace(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }

    /// <summary>Sizes of one convolution, read from the tensors' shapes. <see cref="InChannels"/> counts the
    /// channels of one group (the im2col rows come from one group at a time).</summary>
    readonly struct ConvGeometry(TensorShape input, TensorShape weight, TensorShape output, int groups)
    {
        public readonly int Batch = input.N, InChannels = input.C / groups, InputHeight = input.H, InputWidth = input.W;
        public readonly int OutChannels = weight.N, GroupOutputs = weight.N / groups, KernelHeight = weight.H, KernelWidth = weight.W;
        public readonly int OutputHeight = output.H, OutputWidth = output.W;
        public readonly int InputPlaneSize = input.C * input.H * input.W;
        public int OutputPixels => OutputHeight * OutputWidth;
        public int KernelLength => InChannels * KernelHeight * KernelWidth;
        /// <summary>One group's channels of one sample: (C/G)·H·W.</summary>
        public int GroupPlaneSize => InChannels * InputHeight * InputWidth;
        /// <summary>Samples per im2col chunk: as many as fit <see cref="ColumnBudget"/>, at least one.</summary>
        public int ChunkSize => (int)Math.Clamp(ColumnBudget / Math.Max(1L, (long)KernelLength * OutputPixels), 1, Batch);
    }
}

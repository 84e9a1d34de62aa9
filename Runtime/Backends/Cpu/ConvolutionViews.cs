using System.Runtime.CompilerServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// A matrix V (R × N·P) that a convolution's GEMMs read one row segment at a time, as op = V or op = Vᵀ: columns are
/// (sample n, output pixel) pairs, <c>j = n·P + i·OW + jj</c>, n counted from the view's first sample (a work slice's
/// samples, 0 for the whole batch). <see cref="ReadRow"/> says where a row's values come
/// from; this class packs them into the micro-kernel's panels, through a per-participant row buffer (the panels of
/// one B block take a row at a time; A panels and transposed B panels are transposed from a block of rows).
/// </summary>
internal abstract class RowSegmentSource : GemmSource
{
    /// <summary>Per participant: room for 32 rows of one depth block (the widest B panel, transposed), which also holds
    /// one row of a whole B block.</summary>
    readonly float[][] rows = Enumerable.Range(0, CpuWorkers.Shared.MaxParticipants).Select(_ => new float[Math.Max(32 * Gemm.BlockDepth, Gemm.BlockColumns)]).ToArray();

    /// <summary>op = Vᵀ instead of V.</summary>
    protected bool Transposed;

    /// <summary><c>values[t] = V[row, column + t]</c>.</summary>
    protected abstract void ReadRow(int row, int column, Span<float> values);

    public override void PackRows(int i0, int rows, int p0, int depth, float[] packed, int mr, int participant)
    {
        if (Transposed) throw new NotSupportedException("a transposed row view as op(A)");
        float[] buffer = this.rows[participant];
        for (int ir = 0; ir < rows; ir += mr)
        {
            int height = Math.Min(mr, rows - ir);
            for (int r = 0; r < height; r++) ReadRow(i0 + ir + r, p0, buffer.AsSpan(r * depth, depth));
            Span<float> panel = packed.AsSpan(ir * depth, mr * depth);
            if (height < mr) panel.Clear();
            for (int r = 0; r < height; r++)
            {
                ReadOnlySpan<float> source = buffer.AsSpan(r * depth, depth);
                ref float target = ref panel[r];
                for (int p = 0; p < source.Length; p++) Unsafe.Add(ref target, p * mr) = source[p];
            }
        }
    }

    public override void PackColumns(int p0, int depth, int j0, int columns, float[] packed, int nr, int participant)
    {
        float[] buffer = rows[participant];
        if (Transposed)
        {
            // op(B)[p, j] = V[j, p]: the panel's nr V-rows, each read over the block's depth, then transposed into place
            for (int jr = 0; jr < columns; jr += nr)
            {
                int width = Math.Min(nr, columns - jr);
                for (int j = 0; j < width; j++) ReadRow(j0 + jr + j, p0, buffer.AsSpan(j * depth, depth));
                DenseSource.PackTransposedPanel(buffer, 0, depth, width, depth, packed.AsSpan(jr * depth, nr * depth), nr);
            }
            return;
        }
        // op(B)[p, j] = V[p0 + p, j]: each V row over the block's columns, dealt out to the panels nr at a time
        Span<float> row = buffer.AsSpan(0, columns);
        for (int p = 0; p < depth; p++)
        {
            ReadRow(p0 + p, j0, row);
            for (int jr = 0; jr < columns; jr += nr)
            {
                int width = Math.Min(nr, columns - jr);
                Span<float> target = packed.AsSpan(jr * depth + p * nr, nr);
                row.Slice(jr, width).CopyTo(target);
                target[width..].Clear();
            }
        }
    }
}

/// <summary>
/// im2col of one group of a convolution's input, never stored: <c>V[k, j] = x[n, g·C/G + c, i·sh − padTop + p·dh,
/// jj·sw − padLeft + q·dw]</c> (0 in the padding) with <c>k = (c·KH + p)·KW + q</c> and <c>j = n·P + i·OW + jj</c>; the
/// forward pass multiplies by V, the weight gradient by Vᵀ.
/// </summary>
internal sealed class Im2ColSource : RowSegmentSource
{
    float[] x = [];
    CpuBackend.ConvGeometry g;
    Window2d window;
    int group, firstSample;

    /// <summary>Columns from sample <paramref name="firstSample"/> on.</summary>
    public Im2ColSource Aim(float[] input, in CpuBackend.ConvGeometry geometry, in Window2d window, int group, bool transposed, int firstSample = 0)
    {
        (x, g, this.window, this.group, Transposed, this.firstSample) = (input, geometry, window, group, transposed, firstSample);
        return this;
    }

    public void Clear() => x = [];

    /// <summary>The output columns jj in [first, end) whose input column <c>jj·stride + offset</c> lies inside [0, width).</summary>
    public static (int First, int End) ValidColumns(int offset, int stride, int width, int outputWidth)
    {
        int first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int end = width - offset <= 0 ? 0 : Math.Min(outputWidth, (width - 1 - offset) / stride + 1);
        return (Math.Min(first, outputWidth), Math.Max(end, Math.Min(first, outputWidth)));
    }

    protected override void ReadRow(int row, int column, Span<float> values)
    {
        var w = window;
        int c = row / (g.KernelHeight * g.KernelWidth), p = row / g.KernelWidth % g.KernelHeight, q = row % g.KernelWidth;
        int offset = q * w.DilationWidth - w.PadLeft;                  // iw = jj·sw + offset
        var (first, end) = Im2ColSource.ValidColumns(offset, w.StrideWidth, g.InputWidth, g.OutputWidth);
        int n = firstSample + column / g.OutputPixels, pixel = column % g.OutputPixels, i = pixel / g.OutputWidth, jj = pixel % g.OutputWidth;
        for (int done = 0; done < values.Length;)
        {
            int count = Math.Min(values.Length - done, g.OutputWidth - jj);
            Span<float> segment = values.Slice(done, count);
            int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight;
            int from = Math.Max(first, jj), to = Math.Min(end, jj + count);
            if ((uint)ih >= (uint)g.InputHeight || from >= to) segment.Clear();
            else
            {
                ReadOnlySpan<float> inputRow = x.AsSpan(n * g.InputPlaneSize + ((group * g.InChannels + c) * g.InputHeight + ih) * g.InputWidth, g.InputWidth);
                segment[..(from - jj)].Clear();
                segment[(to - jj)..].Clear();
                if (w.StrideWidth == 1) inputRow.Slice(from + offset, to - from).CopyTo(segment[(from - jj)..]);
                else
                    for (int t = from; t < to; t++) segment[t - jj] = inputRow[t * w.StrideWidth + offset];
            }
            done += count;
            jj += count;
            if (jj == g.OutputWidth) (jj, i) = (0, i + 1);
            if (i == g.OutputHeight) (i, n) = (0, n + 1);
        }
    }
}

/// <summary>
/// A tensor in (N, R, H, W) order seen as the matrix V (rows × N·P) of rows [rowOffset, rowOffset + rows) of every
/// sample: <c>V[r, n·P + t] = data[(n·R + rowOffset + r)·P + t]</c> — a convolution's output gradient, read as op(A) of
/// the weight gradient and as op(B) of the input gradient's columns.
/// </summary>
internal sealed class ChannelMajorSource : RowSegmentSource
{
    float[] data = [];
    int channels, pixels, rowOffset, firstSample;

    /// <summary>Columns from sample <paramref name="firstSample"/> on.</summary>
    public ChannelMajorSource Aim(float[] data, int channels, int pixels, int rowOffset, int firstSample = 0)
    {
        (this.data, this.channels, this.pixels, this.rowOffset, this.firstSample, Transposed) = (data, channels, pixels, rowOffset, firstSample, false);
        return this;
    }

    public void Clear() => data = [];

    protected override void ReadRow(int row, int column, Span<float> values)
    {
        int n = firstSample + column / pixels, t = column % pixels;
        for (int done = 0; done < values.Length; n++, t = 0)
        {
            int count = Math.Min(values.Length - done, pixels - t);
            data.AsSpan((n * channels + rowOffset + row) * pixels + t, count).CopyTo(values.Slice(done, count));
            done += count;
        }
    }
}

/// <summary>
/// C (rows × N·P) stored into a tensor in (N, R, H, W) order — a convolution's output, row r being channel
/// rowOffset + r — each row segment followed by the <see cref="ConvolutionEpilogue"/> while it is in cache.
/// </summary>
internal sealed class ChannelMajorTarget : GemmTarget
{
    float[] data = [];
    int channels, pixels, rowOffset, firstSample;
    ConvolutionEpilogue? epilogue;

    /// <summary>Columns from sample <paramref name="firstSample"/> on.</summary>
    public ChannelMajorTarget Aim(float[] data, int channels, int pixels, int rowOffset, ConvolutionEpilogue? epilogue, int firstSample = 0)
    {
        (this.data, this.channels, this.pixels, this.rowOffset, this.epilogue, this.firstSample) = (data, channels, pixels, rowOffset, epilogue, firstSample);
        return this;
    }

    public void Clear() => (data, epilogue) = ([], null);

    public override void Take(int i0, int rows, int j0, int columns, float[] tile, int stride)
    {
        for (int r = 0; r < rows; r++)
        {
            int channel = rowOffset + i0 + r, n = firstSample + j0 / pixels, t = j0 % pixels;
            for (int done = 0; done < columns; n++, t = 0)
            {
                int count = Math.Min(columns - done, pixels - t), index = (n * channels + channel) * pixels + t;
                Span<float> target = data.AsSpan(index, count);
                tile.AsSpan(r * stride + done, count).CopyTo(target);
                epilogue?.ApplyToChannel(channel, index, target);
                done += count;
            }
        }
    }
}

/// <summary>
/// C (P × O') of one sample stored transposed into a tensor in (N, O, H, W) order: row i is output pixel i, column j
/// output channel <c>channel + j</c> — a pointwise convolution computed with the pixels as the GEMM's rows and the channels
/// on the micro-kernel's vector lanes (<see cref="CpuBackend"/>'s small planes, whose few pixels would leave lanes
/// empty). Full 8×8 blocks of a tile are transposed in registers; then each channel's finished segment goes through the
/// <see cref="ConvolutionEpilogue"/> while it is in cache.
/// </summary>
internal sealed class PixelMajorTarget : GemmTarget
{
    float[] data = [];
    int start, pixels, channel;
    ConvolutionEpilogue? epilogue;

    /// <summary>Channel <paramref name="channel"/> (C's column 0) of the sample whose channel 0 starts at
    /// <c>data[start]</c>, planes of <paramref name="pixels"/>.</summary>
    public PixelMajorTarget Aim(float[] data, int start, int pixels, int channel, ConvolutionEpilogue? epilogue)
    {
        (this.data, this.start, this.pixels, this.channel, this.epilogue) = (data, start, pixels, channel, epilogue);
        return this;
    }

    public void Clear() => (data, epilogue) = ([], null);

    public override void Take(int i0, int rows, int j0, int columns, float[] tile, int stride)
    {
        int first = start + (channel + j0) * pixels + i0;
        DenseSource.Transpose(tile, 0, stride, rows, columns, data, first, pixels);
        if (epilogue is not null)
            for (int j = 0; j < columns; j++) epilogue.ApplyToChannel(channel + j0 + j, first + j * pixels, data.AsSpan(first + j * pixels, rows));
    }
}

/// <summary>
/// col2im: C (K × N·P) = the gradient of one group's im2col matrix, added back where each entry came from,
/// <c>dx[n, g·C/G + c, i·sh − padTop + p·dh, jj·sw − padLeft + q·dw] += C[k, j]</c> (nothing for entries in the padding).
/// Entries of different k land on the same input element, so one task takes all of C's rows for its images, in k order.
/// </summary>
internal sealed class Col2ImTarget : GemmTarget
{
    float[] dx = [];
    CpuBackend.ConvGeometry g;
    Window2d window;
    int group, firstSample;

    /// <summary>Columns from sample <paramref name="firstSample"/> on.</summary>
    public Col2ImTarget Aim(float[] inputGrad, in CpuBackend.ConvGeometry geometry, in Window2d window, int group, int firstSample = 0)
    {
        (dx, g, this.window, this.group, this.firstSample) = (inputGrad, geometry, window, group, firstSample);
        return this;
    }

    public void Clear() => dx = [];

    public override bool OwnsColumns => true;
    public override int ColumnGroup => g.OutputPixels;

    public override void Take(int i0, int rows, int j0, int columns, float[] tile, int stride)
    {
        var w = window;
        for (int r = 0; r < rows; r++)
        {
            int k = i0 + r, c = k / (g.KernelHeight * g.KernelWidth), p = k / g.KernelWidth % g.KernelHeight, q = k % g.KernelWidth;
            int offset = q * w.DilationWidth - w.PadLeft;
            var (first, end) = Im2ColSource.ValidColumns(offset, w.StrideWidth, g.InputWidth, g.OutputWidth);
            int n = firstSample + j0 / g.OutputPixels, pixel = j0 % g.OutputPixels, i = pixel / g.OutputWidth, jj = pixel % g.OutputWidth;
            for (int done = 0; done < columns;)
            {
                int count = Math.Min(columns - done, g.OutputWidth - jj);
                int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight;
                int from = Math.Max(first, jj), to = Math.Min(end, jj + count);
                if ((uint)ih < (uint)g.InputHeight && from < to)
                {
                    Span<float> inputRow = dx.AsSpan(n * g.InputPlaneSize + ((group * g.InChannels + c) * g.InputHeight + ih) * g.InputWidth, g.InputWidth);
                    ReadOnlySpan<float> segment = tile.AsSpan(r * stride + done + from - jj, to - from);
                    if (w.StrideWidth == 1)
                    {
                        Span<float> target = inputRow.Slice(from + offset, to - from);
                        TensorPrimitives.Add(target, segment, target);
                    }
                    else
                        for (int t = from; t < to; t++) inputRow[t * w.StrideWidth + offset] += segment[t - from];
                }
                done += count;
                jj += count;
                if (jj == g.OutputWidth) (jj, i) = (0, i + 1);
                if (i == g.OutputHeight) (i, n) = (0, n + 1);
            }
        }
    }
}

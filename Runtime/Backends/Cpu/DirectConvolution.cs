using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>Where a batch of (C,H,W) images sits inside an array: sample n's channel c (counted from
/// <see cref="FirstSample"/> and <see cref="ChannelOffset"/>) starts at <c>(FirstSample + n)·SampleStride + (ChannelOffset + c)·H·W</c>.</summary>
internal readonly record struct ImageBatch(float[] Data, int SampleStride, int ChannelOffset, int Height, int Width, int FirstSample = 0)
{
    public int Plane => Height * Width;
    public int Start(int sample, int channel) => (FirstSample + sample) * SampleStride + (ChannelOffset + channel) * Plane;
}

/// <summary>
/// Convolution as an implicit GEMM that reads its input in place: <c>Y (M, P) = A (M, K) · X (K, P)</c> per image, where
/// row k = (c·KH + p)·KW + q of X is the input shifted by tap (p, q) of channel c. The input is first copied, zero-padded,
/// into <c>stride_h·stride_w</c> phase planes per channel (phase (φh, φw) holds the padded pixels whose row ≡ φh and column
/// ≡ φw modulo the stride), each <c>Hq × Wq</c> = ⌈padded size / stride⌉. Then output pixel (i, j) is virtual column
/// <c>v = i·Wq + j</c>, and for every tap the values of consecutive virtual columns are consecutive floats of one phase
/// plane, at a fixed offset per k: the GEMM micro-kernel's B panel is read straight from the planes with one offset per k,
/// and nothing is packed at all (the weights are read in place too). Virtual columns j ≥ OW of each row (Wq − OW of them: 2 for a padded 3×3
/// stride-1 layer) are computed and dropped. This is how the forward pass and, for stride-1 layers, the input gradient
/// (a convolution of the output gradient with the flipped, transposed kernel) run; <see cref="PhasePlaneSource"/> serves
/// the same planes to the weight gradient's GEMM.
/// <para>Each output element is one sum over k ascending with fused multiply-adds, whatever tile or thread computes it,
/// so the result does not depend on the thread count or the register tile (MR × NR: AVX-512's 8 × 32, 8 × 16 for a run's
/// last 16 columns or fewer, AVX2's 6 × 16 or 4 × 24, see <see cref="NarrowTile"/>; the tiles are in DirectConvolution.Kernels.cs). Tasks: (image, block of output rows, panel of MR rows; blocks
/// are made shorter when there would be fewer than two tasks a thread, as for one image and one tile of channels; for one
/// image of at least 16 output rows a thread, a task is a whole block of at most a quarter of a thread's rows with all its
/// panels, so each thread keeps its own block's input in its L2), the panels of a block one after another (they read the same input columns), each summing its tiles into its own row buffer and
/// then copying the valid columns out and applying the epilogue while they are in cache.</para>
/// </summary>
internal sealed partial class DirectConvolution : IParallelWork
{
    /// <summary>Virtual columns a task sums at most (a block of whole output rows, at least one row): its rows of the
    /// output stay in cache from the kernel through the epilogue.</summary>
    const int BlockColumns = 512;
    /// <summary>Products (images × rows × virtual columns × K) from which a run is shared among threads.</summary>
    const long ParallelWork = 1 << 20;
    /// <summary>The most bytes of a block's input columns (K rows of its virtual columns) that every panel reads whole:
    /// beyond it K is summed in blocks, each read by all the panels of a task from L2 (half of a Zen 3 core's). On this
    /// project's AVX2 machine (one thread, ResNet-18's 3×3 layers alone) blocks of K took the 56×56 and 28×28 layers from
    /// 38 to 43–44 GMAC/s and the 14×14 ones from 37 to 40; the 7×7 ones, 4 tiles a block, lost 10 % (their weights are
    /// the larger stream, and short pieces of it are read from L3 without the prefetcher's help).</summary>
    const int DepthBlockBytes = 256 << 10;
    /// <summary>Virtual columns a block needs (8 tiles of 16) for K to be summed in blocks.</summary>
    const int MinDepthBlockedColumns = 128;

    /// <summary>Whether the kernel exists for <paramref name="kernel"/>'s tile (the FMA kernels).</summary>
    public static bool Supports(GemmKernel kernel) => kernel is GemmKernel.Vector512Fma or GemmKernel.Vector256Fma;

    // the planes of the last Build, and their geometry
    float[] planes = [];
    int[] offsets = [];
    int batch, channels, strideHeight, strideWidth, planeHeight, planeWidth, channelSize, sampleSize, outputHeight, outputWidth;
    UsedPhases used;

    // the current Run
    float[] weights = [];
    int weightOffset;
    readonly float[][] rowBuffers = new float[CpuWorkers.Shared.MaxParticipants][];
    ImageBatch input, output;
    Window2d window;
    int rows, depth, depthBlock, panels, panelsPerTask, panelGroups, blocks, blockRows, virtualStride, mr, nr;
    bool building, accumulate;
    ConvolutionEpilogue? epilogue;
    GemmKernel kernel;

    /// <summary>Virtual columns per image: <c>(OH − 1)·Wq + OW</c>.</summary>
    public int VirtualColumns => ColumnsOf(outputHeight);

    /// <summary>Virtual columns of <paramref name="outputRows"/> consecutive output rows: <c>(rows − 1)·Wq + OW</c>.</summary>
    int ColumnsOf(int outputRows) => (outputRows - 1) * planeWidth + outputWidth;
    /// <summary>Distance between the starts of two images' planes in <see cref="Planes"/>.</summary>
    public int SampleSize => sampleSize;
    /// <summary>The phase planes of the last <see cref="Build"/>, image after image (with slack after the last).</summary>
    public float[] Planes => planes;
    /// <summary>For each k = (c·KH + p)·KW + q, where tap (p, q) of channel c starts in an image's planes.</summary>
    public int[] Offsets => offsets;
    public int PlaneWidth => planeWidth;
    /// <summary>K = channels·KH·KW of the last Build.</summary>
    public int Depth => depth;
    /// <summary>The k each block of K holds in the last Run (<see cref="Depth"/> where K is summed in one pass).</summary>
    internal int DepthBlock => depthBlock;
    public int OutputWidth => outputWidth;
    public int OutputHeight => outputHeight;

    /// <summary>Copies <paramref name="images"/> (<paramref name="count"/> images of <paramref name="channelCount"/>
    /// channels) into phase planes for <paramref name="window"/> with kernel <paramref name="kernelHeight"/>×<paramref name="kernelWidth"/>,
    /// and the offsets of its taps. The planes are sized for at least <paramref name="capacity"/> images (a work slice's
    /// window of a batch passes the batch: a later window of more images then finds them large enough).</summary>
    public void Build(in ImageBatch images, int count, int channelCount, int kernelHeight, int kernelWidth, in Window2d window, int threads, int capacity = 0)
    {
        var w = window;
        (input, batch, channels, this.window) = (images, count, channelCount, w);
        (strideHeight, strideWidth) = (w.StrideHeight, w.StrideWidth);
        int paddedHeight = images.Height + w.PadTop + w.PadBottom, paddedWidth = images.Width + w.PadLeft + w.PadRight;
        planeHeight = (paddedHeight + strideHeight - 1) / strideHeight;
        planeWidth = (paddedWidth + strideWidth - 1) / strideWidth;
        outputHeight = (paddedHeight - w.DilationHeight * (kernelHeight - 1) - 1) / strideHeight + 1;
        outputWidth = (paddedWidth - w.DilationWidth * (kernelWidth - 1) - 1) / strideWidth + 1;
        // only the phases some tap reads (a 1×1 stride-2 window reads one of four)
        used = UsedPhases.Of(kernelHeight, kernelWidth, w);
        channelSize = used.Count(strideHeight, strideWidth) * planeHeight * planeWidth;
        sampleSize = channelCount * channelSize;
        // reads run past an image's last plane by at most a tile and a row (columns that are dropped)
        int length = count * sampleSize + 64 + planeWidth;
        if (planes.Length < length) planes = new float[Math.Max(count, capacity) * sampleSize + 64 + planeWidth];
        depth = channelCount * kernelHeight * kernelWidth;
        if (offsets.Length < depth) offsets = new int[depth];
        for (int c = 0, k = 0; c < channelCount; c++)
            for (int p = 0; p < kernelHeight; p++)
                for (int q = 0; q < kernelWidth; q++, k++)
                    offsets[k] = c * channelSize + TapOffset(p, q, w, planeHeight, planeWidth, used);
        // the slack is read by dropped columns only, whose products must stay finite (0·NaN would not be 0)
        planes.AsSpan(count * sampleSize, length - count * sampleSize).Clear();
        if (strideHeight == 1 && strideWidth == 1 && planeHeight == images.Height && planeWidth == images.Width && (long)count * sampleSize < 1 << 18)
            // stride 1 without padding (a pointwise layer): the planes are the input's channels as they are, one run an
            // image, copied here at once; as a task a channel, the threads' hand-offs cost more than the copy (a 14×14
            // plane is 784 bytes)
            for (int n = 0; n < count; n++) images.Data.AsSpan(images.Start(n, 0), sampleSize).CopyTo(planes.AsSpan(n * sampleSize, sampleSize));
        else
        {
            building = true;
            CpuWorkers.Shared.Run(this, count * channelCount, (long)count * sampleSize >= 1 << 15 ? threads : 1);
            building = false;
        }
        input = default;
    }

    /// <summary>
    /// Image <paramref name="image"/> of the last <see cref="Build"/> as op(A) of a GEMM whose rows are its output pixels
    /// (<c>CpuBackend.WindowIsPixelMajor</c>): <c>A[pixel i·OW + j, k] = V[k, i·Wq + j]</c>, the im2col matrix transposed
    /// without the dropped virtual columns, in <paramref name="mr"/>-row panels as <see cref="PixelPanelSource"/> serves
    /// them: the block of K from p0 (depth d, blocks of <see cref="Gemm.BlockDepth"/>) at <c>p0·Mp</c> (Mp = P rounded up
    /// to mr), its panel t at <c>p0·Mp + t·d·mr</c>, element (r, k) at <c>k·mr + r</c>. Rows past P read the virtual
    /// columns after the last pixel (finite; the GEMM drops them). The array is this object's, overwritten by the next
    /// call.
    /// </summary>
    public float[] PackPixelPanels(int image, int mr)
    {
        int pixels = outputHeight * outputWidth, paddedRows = Gemm.RoundUp(pixels, mr);
        // each k of a panel is stored as 8 floats: for mr < 8 the last ones run into the next k (or panel, or block, all
        // written later) and, after the very last, into 8 floats of slack
        if (pixelPanels.Length < depth * paddedRows + 8) pixelPanels = new float[depth * paddedRows + 8];
        Span<nuint> runOffsets = stackalloc nuint[8];
        Span<Vector256<float>> runLanes = stackalloc Vector256<float>[8];
        var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        ref float plane = ref planes[image * sampleSize];
        for (int p0 = 0; p0 < depth; p0 += Gemm.BlockDepth)
        {
            int blockDepth = Math.Min(Gemm.BlockDepth, depth - p0);
            for (int t = 0; t * mr < pixels; t++)
            {
                // the panel's pixels as runs of consecutive virtual columns (a run ends where an output row does): run u
                // takes lanes from its first on, read from one vector load at its offset
                int runs = 0, previous = -2;
                for (int r = 0; r < mr; r++)
                {
                    int pixel = t * mr + r;
                    int v = pixel < pixels ? pixel / outputWidth * planeWidth + pixel % outputWidth : previous + 1;
                    if (v != previous + 1)
                    {
                        runOffsets[runs] = (nuint)(v - r);
                        runLanes[runs++] = Vector256.GreaterThanOrEqual(lane, Vector256.Create(r)).AsSingle();
                    }
                    previous = v;
                }
                ref float target = ref pixelPanels[p0 * paddedRows + t * blockDepth * mr];
                for (int kk = 0; kk < blockDepth; kk++, target = ref Unsafe.Add(ref target, mr))
                {
                    ref float tap = ref Unsafe.Add(ref plane, offsets[p0 + kk]);
                    var values = Vector256.LoadUnsafe(ref tap, runOffsets[0]);
                    for (int u = 1; u < runs; u++) values = Vector256.ConditionalSelect(runLanes[u], Vector256.LoadUnsafe(ref tap, runOffsets[u]), values);
                    values.StoreUnsafe(ref target);
                }
            }
        }
        return pixelPanels;
    }
    float[] pixelPanels = [];

    /// <summary>The last <see cref="PackPixelPanels"/>' panels (until the next).</summary>
    public float[] PixelPanels => pixelPanels;

    /// <summary>The planes of image n, channel c.</summary>
    void BuildChannel(int n, int c) =>
        PhasePlanes(input.Data.AsSpan(input.Start(n, c), input.Plane), input.Height, input.Width, window, planeHeight, planeWidth,
            planes.AsSpan(n * sampleSize + c * channelSize, channelSize), used);

    /// <summary>
    /// <c>output[n, o] (=|+=) epilogue(Σ_k A[o, k]·X_n[k, ·])</c> for the planes of the last <see cref="Build"/>: A is
    /// <paramref name="rowCount"/> row-major rows of K = the Build's channels·KH·KW weights from
    /// <c>weights[weightOffset]</c>, row o written to the output's channel o (from its offset on). The output's height and
    /// width must be the Build's output size. The kernel broadcasts the weights from their rows as they are: nothing is
    /// packed, so a layer's weights are never copied.
    /// </summary>
    /// <para><paramref name="tile"/> forces AVX2's register tile (tests: both tiles give the same bits); by default the
    /// one of <see cref="NarrowTile"/>.</para>
    public void Run(float[] weights, int weightOffset, int rowCount, in ImageBatch output, bool accumulate, ConvolutionEpilogue? epilogue, GemmKernel kernel, int threads,
        (int Rows, int Columns)? tile = null)
    {
        (this.weights, this.weightOffset, this.output, this.accumulate, this.epilogue, this.kernel, rows) = (weights, weightOffset, output, accumulate, epilogue, kernel, rowCount);
        if (!Supports(kernel)) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "the direct convolution needs an FMA kernel");
        // output rows per block: about BlockColumns virtual columns (at least one row), so a task's row buffer and the
        // input columns it reads stay in cache while the panels of one block follow each other
        blockRows = Math.Clamp(BlockColumns / planeWidth, 1, outputHeight);
        blocks = (outputHeight + blockRows - 1) / blockRows;
        (mr, nr) = kernel == GemmKernel.Vector512Fma ? (8, 32) : tile ?? NarrowTile(rowCount, blockRows);
        if ((mr, nr) is not ((8, 32) or (6, 16) or (4, 24)) || (mr == 8) != (kernel == GemmKernel.Vector512Fma))
            throw new ArgumentOutOfRangeException(nameof(tile), tile, $"{kernel} has no {mr}×{nr} register tile");
        panels = (rowCount + mr - 1) / mr;
        // the row buffers hold a block of this size whatever the run cuts or whichever tile it takes, so that a layer's
        // buffers are grown once (by its first run), not by a later run with more tasks
        int blockColumns = ColumnsOf(blockRows);
        int bufferLength = kernel == GemmKernel.Vector512Fma ? 8 * Gemm.RoundUp(blockColumns, 32)
            : Math.Max(6 * Gemm.RoundUp(blockColumns, 16), 4 * Gemm.RoundUp(blockColumns, 24));
        long work = (long)batch * rowCount * VirtualColumns * depth;
        int participants = work >= ParallelWork ? Math.Min(threads, CpuWorkers.Shared.MaxParticipants) : 1;
        if (participants > 1 && (long)batch * panels * blocks < 2 * participants)
        {
            // too few tasks to keep every thread busy (a work slice's window of one image and one tile of channels, a
            // small late layer): shorter blocks, at least two tasks a thread where the output has the rows for them
            int wantedBlocks = (2 * participants + batch * panels - 1) / (batch * panels);
            blockRows = Math.Max(1, (outputHeight + wantedBlocks - 1) / wantedBlocks);
            blocks = (outputHeight + blockRows - 1) / blockRows;
        }
        panelsPerTask = 1;
        if (participants > 1 && batch == 1 && outputHeight >= 16 * participants && panels > 1)
        {
            // one image with rows enough for four blocks a thread (batch-1 inference of a large plane): a task is a whole
            // block, all its panels, so each thread reads its own block's input columns from its own L2 for every panel
            // instead of both threads streaming the same block
            blockRows = Math.Min(blockRows, (outputHeight + 4 * participants - 1) / (4 * participants));
            blocks = (outputHeight + blockRows - 1) / blockRows;
            panelsPerTask = panels;
        }
        virtualStride = Gemm.RoundUp(ColumnsOf(blockRows), nr);
        // a block's input columns for all of K (K rows of virtualStride floats, read by every panel) larger than
        // DepthBlockBytes, over tiles enough to reuse a panel's weights: K in blocks, each read by all the panels of a task
        // while it is in L2, a task a group of panels (all of them, or enough groups for two tasks a thread)
        long inputBytes = (long)depth * virtualStride * sizeof(float);
        depthBlock = depth;
        if (inputBytes > DepthBlockBytes && virtualStride >= MinDepthBlockedColumns && panels > 1)
        {
            long depthBlocks = (inputBytes + DepthBlockBytes - 1) / DepthBlockBytes;
            depthBlock = (int)((depth + depthBlocks - 1) / depthBlocks);
            int groups = Math.Clamp((2 * participants + batch * blocks - 1) / (batch * blocks), 1, panels);
            panelsPerTask = (panels + groups - 1) / groups;
            bufferLength = Math.Max(bufferLength, panelsPerTask * mr * virtualStride);
        }
        panelGroups = (panels + panelsPerTask - 1) / panelsPerTask;
        for (int p = 0; p < rowBuffers.Length; p++)
            if ((rowBuffers[p]?.Length ?? 0) < bufferLength) rowBuffers[p] = new float[bufferLength];
        CpuWorkers.Shared.Run(this, batch * blocks * panelGroups, participants);
        (this.weights, this.output, this.epilogue) = ([], default, null);
    }

    void IParallelWork.Run(int task, int participant)
    {
        if (building)
        {
            BuildChannel(task / channels, task % channels);
            return;
        }
        // panels [firstPanel, endPanel) of block task / groups % blocks of image task / groups / blocks
        int group = task % panelGroups, block = task / panelGroups % blocks, n = task / panelGroups / blocks;
        int firstPanel = group * panelsPerTask, endPanel = Math.Min(panels, firstPanel + panelsPerTask);
        float[] buffer = rowBuffers[participant]!;
        if (depthBlock == depth)
            // each panel whole, its rows emitted while they are in cache
            for (int panel = firstPanel; panel < endPanel; panel++)
            {
                SumTiles(n, block, panel, 0, depth, buffer, 0);
                Emit(n, block, panel, buffer, 0);
            }
        else
        {
            // K in blocks: every panel of the task sums a block of K (continuing its sums from the last block's) before
            // the next block of the input is read; each panel's rows have their own place in the buffer
            for (int k0 = 0; k0 < depth; k0 += depthBlock)
                for (int panel = firstPanel; panel < endPanel; panel++)
                    SumTiles(n, block, panel, k0, Math.Min(depthBlock, depth - k0), buffer, (panel - firstPanel) * mr);
            for (int panel = firstPanel; panel < endPanel; panel++) Emit(n, block, panel, buffer, (panel - firstPanel) * mr);
        }
    }

    /// <summary>Rows [0, OH) of the output in <see cref="blocks"/> of <see cref="blockRows"/>: block <paramref name="block"/>'s first row and row count.</summary>
    (int FirstRow, int Rows) BlockOf(int block)
    {
        int firstRow = block * blockRows;
        return (firstRow, Math.Min(blockRows, outputHeight - firstRow));
    }

    /// <summary>The sums over k in [<paramref name="k0"/>, k0 + <paramref name="count"/>) of panel <paramref name="panel"/>'s
    /// rows, for block <paramref name="block"/>'s virtual columns of image <paramref name="n"/>, into buffer rows from
    /// <paramref name="bufferRow"/> on: from zero at k0 = 0, else continuing the sums there (the same chain of fused
    /// multiply-adds as one pass over all of K).</summary>
    void SumTiles(int n, int block, int panel, int k0, int count, float[] buffer, int bufferRow)
    {
        var (firstRow, rowsHere) = BlockOf(block);
        int columns = ColumnsOf(rowsHere);
        // the panel's rows of A; past the last row, the last row again (computed and dropped), so every read is in bounds
        int first = panel * mr, last = Math.Min(rows, first + mr) - 1;
        ref float a = ref weights[weightOffset + first * depth + k0 + count - 1];
        a = ref Unsafe.Subtract(ref a, count - 1);
        _ = weights[weightOffset + last * depth + k0 + count - 1]; // the last row lies inside the array too
        nint rowStep = depth, lastStep = (last - first) * (nint)depth;
        ref int taps = ref offsets[k0];
        _ = offsets[k0 + count - 1];
        ref float image = ref planes[n * sampleSize + firstRow * planeWidth];
        ref float sums = ref buffer[bufferRow * virtualStride];
        _ = buffer[(bufferRow + mr) * virtualStride - 1];
        bool resume = k0 > 0;
        for (int v = 0; v < columns; v += nr)
        {
            // the last 16 columns or fewer in a half tile (an 8×8 plane's last 14)
            if (kernel == GemmKernel.Vector512Fma && columns - v <= 16) Kernel8x16(ref a, rowStep, lastStep, ref Unsafe.Add(ref image, v), ref taps, count, ref Unsafe.Add(ref sums, v), virtualStride, resume);
            else if (kernel == GemmKernel.Vector512Fma) Kernel512(ref a, rowStep, lastStep, ref Unsafe.Add(ref image, v), ref taps, count, ref Unsafe.Add(ref sums, v), virtualStride, resume);
            else if (nr == 24) Kernel4x24(ref a, rowStep, lastStep, ref Unsafe.Add(ref image, v), ref taps, count, ref Unsafe.Add(ref sums, v), virtualStride, resume);
            // the last 8 columns or fewer (a 7×7 image's 49th, a 14×14 image's last 4): half a tile, half its products
            else if (columns - v <= 8) Kernel6x8(ref a, rowStep, lastStep, ref Unsafe.Add(ref image, v), ref taps, count, ref Unsafe.Add(ref sums, v), virtualStride, resume);
            else Kernel256(ref a, rowStep, lastStep, ref Unsafe.Add(ref image, v), ref taps, count, ref Unsafe.Add(ref sums, v), virtualStride, resume);
        }
    }

    /// <summary>The valid columns of panel <paramref name="panel"/>'s rows (buffer rows from <paramref name="bufferRow"/> on)
    /// written to the output (or added to it), then the epilogue on them.</summary>
    void Emit(int n, int block, int panel, float[] buffer, int bufferRow)
    {
        var (firstRow, rowsHere) = BlockOf(block);
        int outputPixels = rowsHere * outputWidth;
        for (int r = 0; r < Math.Min(mr, rows - panel * mr); r++)
        {
            int channel = panel * mr + r, start = output.Start(n, channel) + firstRow * outputWidth;
            var row = buffer.AsSpan((bufferRow + r) * virtualStride);
            if (!accumulate)
            {
                // the rows and their epilogue in one pass where it can (a batch norm and ReLU6), else one after the other
                if (epilogue?.CopyRowsAndApply(output.ChannelOffset + channel, row, planeWidth,
                    output.Data.AsSpan(start, outputPixels), outputWidth, rowsHere) == true) continue;
                CopyRows(row, planeWidth, output.Data.AsSpan(start, outputPixels), outputWidth, outputWidth, rowsHere);
            }
            else
            {
                // rows without dropped columns (a 1×1 window without padding) are one run
                int runs = planeWidth == outputWidth ? 1 : rowsHere, length = planeWidth == outputWidth ? outputPixels : outputWidth;
                for (int i = 0; i < runs; i++)
                {
                    Span<float> target = output.Data.AsSpan(start + i * outputWidth, length);
                    TensorPrimitives.Add(target, row.Slice(i * planeWidth, length), target);
                }
            }
            epilogue?.ApplyToChannel(output.ChannelOffset + channel, start, output.Data.AsSpan(start, outputPixels));
        }
    }
}

/// <summary>
/// The phase planes of a <see cref="DirectConvolution.Build"/> as the matrix X (K × N·V'): <c>X[k, n·V' + v] =
/// planes[n·sampleSize + offsets[k] + v]</c>, V' the virtual columns per image padded as <see cref="WeightGradient.ImageColumns"/>
/// — op(B) = Xᵀ of the weight gradient <c>dW (O, K) += dY (O, N·V') · Xᵀ</c> where the weights are too many for
/// <see cref="WeightGradient"/>; dY holds the output gradient in virtual columns with zeros in the dropped and padded
/// ones (so their products add nothing).
/// </summary>
internal sealed class PhasePlaneSource : RowSegmentSource
{
    DirectConvolution? planes;

    public PhasePlaneSource Aim(DirectConvolution built)
    {
        (planes, Transposed) = (built, true);
        return this;
    }

    public void Clear() => planes = null;

    protected override void ReadRow(int row, int column, Span<float> values)
    {
        var source = planes!;
        int columns = WeightGradient.ImageColumns(source), n = column / columns, v = column % columns, offset = source.Offsets[row];
        for (int done = 0; done < values.Length; n++, v = 0)
        {
            int count = Math.Min(values.Length - done, columns - v);
            source.Planes.AsSpan(n * source.SampleSize + offset + v, count).CopyTo(values.Slice(done, count));
            done += count;
        }
    }
}

/// <summary>
/// Which stride phases of a window its taps read, per axis: bit φ of <see cref="Rows"/> is set when some tap row
/// <c>p·dilation ≡ φ (mod stride)</c>, likewise <see cref="Columns"/>; 0 stands for every phase of that axis (the default,
/// and strides above 64). A tap row p·d lands in phase p·d mod s, so a window smaller than its stride (1×1 stride 2,
/// ResNet's downsampling shortcut) reads one phase of each axis: its phase planes are a quarter of all of them.
/// </summary>
internal readonly record struct UsedPhases(ulong Rows, ulong Columns)
{
    /// <summary>The phases that a <paramref name="kernelHeight"/>×<paramref name="kernelWidth"/> window <paramref name="w"/> reads.</summary>
    public static UsedPhases Of(int kernelHeight, int kernelWidth, in Window2d w) =>
        new(Axis(kernelHeight, w.DilationHeight, w.StrideHeight), Axis(kernelWidth, w.DilationWidth, w.StrideWidth));

    static ulong Axis(int kernel, int dilation, int stride)
    {
        if (stride > 64) return 0;
        ulong mask = 0;
        for (int p = 0; p < Math.Min(kernel, stride); p++) mask |= 1UL << (int)((long)p * dilation % stride);
        return mask == (stride == 64 ? ulong.MaxValue : (1UL << stride) - 1) ? 0 : mask;
    }

    /// <summary>Whether phase <paramref name="phase"/> of an axis with mask <paramref name="mask"/> is read.</summary>
    public static bool Has(ulong mask, int phase) => mask == 0 || (mask >> phase & 1) != 0;

    /// <summary>The number of read phases: row phases × column phases of strides <paramref name="strideHeight"/>, <paramref name="strideWidth"/>.</summary>
    public int Count(int strideHeight, int strideWidth) =>
        (Rows == 0 ? strideHeight : BitOperations.PopCount(Rows)) * (Columns == 0 ? strideWidth : BitOperations.PopCount(Columns));

    /// <summary>The place of read phase (<paramref name="phaseRow"/>, <paramref name="phaseColumn"/>) among the read ones, row-major.</summary>
    public int Slot(int phaseRow, int phaseColumn, int strideWidth) =>
        Rank(Rows, phaseRow) * (Columns == 0 ? strideWidth : BitOperations.PopCount(Columns)) + Rank(Columns, phaseColumn);

    static int Rank(ulong mask, int phase) => mask == 0 ? phase : BitOperations.PopCount(mask & ((1UL << phase) - 1));
}

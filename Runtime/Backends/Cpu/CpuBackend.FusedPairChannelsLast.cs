using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    readonly ChannelsLastPair channelsLastPair = new();

    /// <summary>Channels of the intermediate tensor one unit of a channels-last pair computes at most: a multiple of the
    /// GEMM's widest B panel, few enough that a band of them stays in L2 with many rows.</summary>
    const int ChannelsLastBlock = 64;

    /// <summary>Whether a pair runs channels-last (<see cref="ChannelsLastPair"/>): the fused-multiply-add kernels (the
    /// arithmetic whose direct and GEMM sums agree), an ungrouped pointwise first convolution with k at most one GEMM block
    /// (so its GEMM sums as every other path of that layer sums) and an epilogue that applies to channels side by side, and
    /// a depthwise second convolution with one output per channel; strided, or on planes of at most 256 pixels. Measured
    /// on MobileNet v2's pairs alone (one thread, this project's AVX2 machine, the shapes at batch 1): stride 2 went from
    /// 1.43 to 1.29 ms at 112×112, 0.67–0.99 to 0.58 ms at 56×56, 0.27–0.37 to 0.25 ms at 28×28 and 0.50 to 0.38–0.44 ms at
    /// 14×14, stride 1 from 0.38 to 0.33 ms at 7×7 and stayed even at 14×14; at stride 1 on 28×28 and 56×56 planes it lost
    /// 15–17 % (the plane kernel needs no phase planes there, and the transposes and the second epilogue's own pass cost
    /// more than the lanes gained).</summary>
    bool RunsChannelsLast(in ConvGeometry a, in FusedConvolution first, in ConvGeometry b, in FusedConvolution second) =>
        UsesDirectConvolution && (second.Window.StrideHeight > 1 || second.Window.StrideWidth > 1 || a.OutputPixels <= 256) &&
        a.Groups == 1 && a.IsPointwise(first.Window) && a.KernelLength <= Gemm.BlockDepth && ConvolutionEpilogue.AppliesChannelsLast(first.Residual, first.Activation) &&
        b.InChannels == 1 && b.Groups == a.OutChannels && b.OutChannels == b.Groups;

    /// <summary>
    /// A fused pair (pointwise expansion, then depthwise) with the intermediate tensor stored channels-last: the
    /// depthwise kernel's vectors hold 8 channels of one pixel, so no lane idles on a small plane's few columns, a stride-2
    /// window reads its pixels in place (no phase planes), and no plane is copied. Units are (sample, band of output rows,
    /// block of at most <see cref="ChannelsLastBlock"/> channels), one task each; for each, the intermediate rows the band
    /// reads (<see cref="PairBands"/>'s band rule, on the block's bytes) are computed by a GEMM with the pixels as rows,
    /// <c>(pixels, C)·(C, block) = x_bandᵀ·W1_blockᵀ</c>, both read in place, into a buffer (rows, W + padding, block) whose
    /// padding is zeros, through the first epilogue as the tiles are stored (<see cref="ConvolutionEpilogue.CopyPixelsAndApply"/>);
    /// the depthwise sums of the band's outputs (taps in the GEMM's k order, products with the padding's zeros included)
    /// go into a (pixels, block) buffer, moved into y's (N,C,H,W) planes in 8×8 blocks transposed in registers, each
    /// channel's rows then through the second epilogue. Every element is the separate ops' sum in their order, so the
    /// bits are theirs.
    /// </summary>
    sealed class ChannelsLastPair : IParallelWork
    {
        CpuBackend backend = null!;
        float[] x = [], w1 = [], w2 = [], y = [];
        ConvGeometry a, b;
        Window2d window;
        int rows, bands, blocks, blockWidth, paddedWidth;
        long first;
        bool fused;
        ConvolutionEpilogue? expansion, depthwise;
        PackedPanels packedWeights;
        /// <summary>Per participant: the band's padded intermediate, the depthwise sums, and the block's depthwise weights
        /// tap-major (<c>taps[t·width + c]</c>, so a tap's weights for 8 channels are one vector).</summary>
        readonly float[][] padded = new float[CpuWorkers.Shared.MaxParticipants][], sums = new float[CpuWorkers.Shared.MaxParticipants][],
            blockTaps = new float[CpuWorkers.Shared.MaxParticipants][];
        readonly DenseSource[] inputs = new DenseSource[CpuWorkers.Shared.MaxParticipants], weights = new DenseSource[CpuWorkers.Shared.MaxParticipants];
        readonly PaddedRowsTarget[] targets = new PaddedRowsTarget[CpuWorkers.Shared.MaxParticipants];

        public ChannelsLastPair()
        {
            for (int p = 0; p < inputs.Length; p++) (inputs[p], weights[p], targets[p]) = (new DenseSource(), new DenseSource(), new PaddedRowsTarget());
        }

        /// <summary>Channels of the last <see cref="Plan"/>'s blocks (the last block may have fewer).</summary>
        public int BlockWidth => blockWidth;

        /// <summary>The units' count for these shapes: samples × bands × channel blocks.</summary>
        public long Plan(CpuBackend backend, in ConvGeometry a, in ConvGeometry b, in Window2d window)
        {
            blocks = (a.OutChannels + ChannelsLastBlock - 1) / ChannelsLastBlock;
            blockWidth = (a.OutChannels + blocks - 1) / blocks;
            rows = backend.BandRows(a, b, window, window.DilationHeight * (b.KernelHeight - 1), blockWidth);
            bands = (b.OutputHeight + rows - 1) / rows;
            return (long)a.Batch * bands * blocks;
        }

        /// <summary>Units [<paramref name="from"/>, <paramref name="to"/>) of the last <see cref="Plan"/>.</summary>
        /// <remarks><paramref name="packed"/>: the expansion's weights packed for blocks of <see cref="BlockWidth"/>
        /// channels, or default to pack them in each unit.</remarks>
        public void Run(CpuBackend backend, float[] x, float[] w1, in PackedPanels packed, float[] w2, float[] y, in ConvGeometry a, in ConvGeometry b,
            in Window2d window, ConvolutionEpilogue expansion, ConvolutionEpilogue depthwise, long from, long to)
        {
            (this.backend, this.x, this.w1, packedWeights, this.w2, this.y, this.a, this.b, this.window) = (backend, x, w1, packed, w2, y, a, b, window);
            (first, fused, this.expansion, this.depthwise) = (from, backend.FusedProducts, expansion.IsEmpty ? null : expansion, depthwise.IsEmpty ? null : depthwise);
            paddedWidth = a.OutputWidth + window.PadLeft + window.PadRight;
            int inputRows = (rows - 1) * window.StrideHeight + window.DilationHeight * (b.KernelHeight - 1) + 1;
            int bufferLength = inputRows * paddedWidth * blockWidth, sumLength = rows * b.OutputWidth * blockWidth;
            for (int p = 0; p < padded.Length; p++)
            {
                if ((padded[p]?.Length ?? 0) < bufferLength) padded[p] = new float[bufferLength];
                if ((sums[p]?.Length ?? 0) < sumLength) sums[p] = new float[sumLength];
                if ((blockTaps[p]?.Length ?? 0) < b.KernelHeight * b.KernelWidth * blockWidth) blockTaps[p] = new float[b.KernelHeight * b.KernelWidth * blockWidth];
            }
            try
            {
                CpuWorkers.Shared.Run(this, (int)(to - from), backend.Threads);
            }
            finally
            {
                (this.x, this.w1, this.w2, this.y, this.expansion, this.depthwise, packedWeights) = ([], [], [], [], null, null, default);
            }
        }

        void IParallelWork.Run(int task, int participant)
        {
            long unit = first + task;
            int block = (int)(unit % blocks), band = (int)(unit / blocks % bands), n = (int)(unit / blocks / bands);
            int e0 = block * blockWidth, width = Math.Min(blockWidth, a.OutChannels - e0);
            int i0 = band * rows, i1 = Math.Min(b.OutputHeight, i0 + rows), imageWidth = a.OutputWidth;
            // padded rows [top, bottom) of the band's output rows; the image's rows [firstRow, endRow) among them
            int top = i0 * window.StrideHeight - window.PadTop;
            int bottom = (i1 - 1) * window.StrideHeight - window.PadTop + window.DilationHeight * (b.KernelHeight - 1) + 1;
            int firstRow = Math.Clamp(top, 0, a.OutputHeight), endRow = Math.Clamp(bottom, firstRow, a.OutputHeight);
            int rowLength = paddedWidth * width;
            Span<float> buffer = padded[participant].AsSpan(0, (bottom - top) * rowLength);
            // the padding: whole rows above and below the image, and the columns left and right of its rows
            buffer[..((firstRow - top) * rowLength)].Clear();
            buffer[((endRow - top) * rowLength)..].Clear();
            for (int r = firstRow - top; r < endRow - top; r++)
            {
                buffer.Slice(r * rowLength, window.PadLeft * width).Clear();
                buffer.Slice(r * rowLength + (window.PadLeft + imageWidth) * width, window.PadRight * width).Clear();
            }
            if (endRow > firstRow)
            {
                // the expansion: (pixels, C)·(C, block), both operands read in place, each pixel's channels finished as stored
                var input = inputs[participant].Set(new GemmOperand(x, n * a.InputPlaneSize + firstRow * imageWidth, a.InputPixels, transposed: true));
                var weight = weights[participant].Set(new GemmOperand(w1, e0 * a.KernelLength, a.KernelLength, transposed: true), packedWeights);
                var target = targets[participant].Aim(padded[participant], (firstRow - top) * rowLength + window.PadLeft * width, imageWidth, rowLength, width, e0, expansion);
                backend.gemm.MultiplyAlone((endRow - firstRow) * imageWidth, width, a.KernelLength, input, weight, target, participant);
                input.Clear();
                weight.Clear();
                target.Clear();
            }
            // the block's depthwise weights (channels e0 …, KH·KW taps each) tap-major
            float[] outputs = sums[participant], taps = blockTaps[participant];
            int tapCount = b.KernelHeight * b.KernelWidth;
            for (int c = 0; c < width; c++)
                for (int t = 0; t < tapCount; t++) taps[t * width + c] = w2[(e0 + c) * tapCount + t];
            int outputWidth = b.OutputWidth, pixels = (i1 - i0) * outputWidth;
            if (fused) Depthwise<Gemm.FusedProducts>(padded[participant], taps, outputs, i1 - i0, width);
            else Depthwise<Gemm.RoundedProducts>(padded[participant], taps, outputs, i1 - i0, width);
            // into y's planes (channel e0 + c's rows [i0, i1) are pixels contiguous values), 8 channels at a time, each then
            // through its epilogue while its values are in L1
            int start = n * b.OutputPlaneSize + e0 * b.OutputPixels + i0 * outputWidth;
            for (int c0 = 0; c0 < width; c0 += 8)
            {
                int count = Math.Min(8, width - c0);
                DenseSource.Transpose(outputs, c0, width, pixels, count, y, start + c0 * b.OutputPixels, b.OutputPixels);
                if (depthwise is null) continue;
                for (int c = c0; c < c0 + count; c++)
                    depthwise.ApplyToChannel(e0 + c, start + c * b.OutputPixels, y.AsSpan(start + c * b.OutputPixels, pixels));
            }
        }

        /// <summary>Outputs of a row the depthwise kernel sums at once, all channel vectors (their input rows stay in L1).</summary>
        const int ColumnBlock = 16;

        /// <summary>
        /// <c>sums[(i·OW + j)·width + c] = Σ_{p,q} taps[(p·KW + q)·width + c] · buffer[((i·sh + p·dh)·Wp + j·sw + q·dw)·width + c]</c>
        /// for the band's <paramref name="outputRows"/> rows, taps ascending from 0, each step rounded as
        /// <typeparamref name="TMultiplyAdd"/> says (the depthwise kernel's order). Vectors of 8 channels, by blocks of
        /// <see cref="ColumnBlock"/> outputs of a row; a 3×3 window keeps its nine weight vectors in registers and sums four
        /// pixels of a row at once.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void Depthwise<TMultiplyAdd>(float[] buffer, float[] taps, float[] sums, int outputRows, int width) where TMultiplyAdd : struct, Gemm.IMultiplyAdd
        {
            int kh = b.KernelHeight, kw = b.KernelWidth, tapCount = kh * kw, outputWidth = b.OutputWidth;
            int sh = window.StrideHeight, sw = window.StrideWidth, dh = window.DilationHeight, dw = window.DilationWidth;
            int rowLength = paddedWidth * width, vectors = Vector256.IsHardwareAccelerated ? width / 8 * 8 : 0;
            // every read lies inside the buffer, every write inside the sums, every weight inside the taps
            _ = buffer[((outputRows - 1) * sh + (kh - 1) * dh) * rowLength + ((outputWidth - 1) * sw + (kw - 1) * dw) * width + width - 1];
            _ = sums[outputRows * outputWidth * width - 1];
            _ = taps[tapCount * width - 1];
            ref float input = ref MemoryMarshal.GetArrayDataReference(buffer);
            ref float output = ref MemoryMarshal.GetArrayDataReference(sums);
            ref float weight = ref MemoryMarshal.GetArrayDataReference(taps);
            nint step = sw * width; // from a pixel's first tap to the next pixel's
            nint q1 = dw * width, q2 = 2 * q1, p1 = dh * rowLength, p2 = 2 * p1;
            // a block of a row's outputs at a time, all its channel vectors: the input rows it reads stay in L1 while the
            // vectors follow each other (vector by vector over the whole band, they would come from L2 each time)
            for (int i = 0; i < outputRows; i++)
                for (int j0 = 0; j0 < outputWidth; j0 += ColumnBlock)
                {
                    int j1 = Math.Min(outputWidth, j0 + ColumnBlock);
                    for (int c = 0; c < vectors; c += 8)
                    {
                        ref float row = ref Unsafe.Add(ref input, i * sh * rowLength + c);
                        ref float target = ref Unsafe.Add(ref output, i * outputWidth * width + c);
                        if (kh != 3 || kw != 3)
                        {
                            for (int column = j0; column < j1; column++)
                            {
                                ref float at = ref Unsafe.Add(ref row, column * step);
                                var sum = Vector256<float>.Zero;
                                for (int p = 0, t = 0; p < kh; p++)
                                    for (int q = 0; q < kw; q++, t++)
                                        sum = TMultiplyAdd.Apply(Vector256.LoadUnsafe(ref weight, (nuint)(t * width + c)),
                                            Vector256.LoadUnsafe(ref Unsafe.Add(ref at, p * dh * rowLength + q * dw * width)), sum);
                                sum.StoreUnsafe(ref Unsafe.Add(ref target, column * width));
                            }
                            continue;
                        }
                        Vector256<float> w0 = Vector256.LoadUnsafe(ref weight, (nuint)c), w1 = Vector256.LoadUnsafe(ref weight, (nuint)(width + c));
                        Vector256<float> w2 = Vector256.LoadUnsafe(ref weight, (nuint)(2 * width + c)), w3 = Vector256.LoadUnsafe(ref weight, (nuint)(3 * width + c));
                        Vector256<float> w4 = Vector256.LoadUnsafe(ref weight, (nuint)(4 * width + c)), w5 = Vector256.LoadUnsafe(ref weight, (nuint)(5 * width + c));
                        Vector256<float> w6 = Vector256.LoadUnsafe(ref weight, (nuint)(6 * width + c)), w7 = Vector256.LoadUnsafe(ref weight, (nuint)(7 * width + c));
                        Vector256<float> w8 = Vector256.LoadUnsafe(ref weight, (nuint)(8 * width + c));
                        int j = j0;
                        for (; j + 4 <= j1; j += 4)
                        {
                            ref float at = ref Unsafe.Add(ref row, j * step);
                            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
                            Tap(ref at, 0, step, w0, ref s0, ref s1, ref s2, ref s3);
                            Tap(ref at, q1, step, w1, ref s0, ref s1, ref s2, ref s3);
                            Tap(ref at, q2, step, w2, ref s0, ref s1, ref s2, ref s3);
                            Tap(ref at, p1, step, w3, ref s0, ref s1, ref s2, ref s3);
                            Tap(ref at, p1 + q1, step, w4, ref s0, ref s1, ref s2, ref s3);
                            Tap(ref at, p1 + q2, step, w5, ref s0, ref s1, ref s2, ref s3);
                            Tap(ref at, p2, step, w6, ref s0, ref s1, ref s2, ref s3);
                            Tap(ref at, p2 + q1, step, w7, ref s0, ref s1, ref s2, ref s3);
                            Tap(ref at, p2 + q2, step, w8, ref s0, ref s1, ref s2, ref s3);
                            ref float to = ref Unsafe.Add(ref target, j * width);
                            s0.StoreUnsafe(ref to);
                            s1.StoreUnsafe(ref to, (nuint)width);
                            s2.StoreUnsafe(ref to, (nuint)(2 * width));
                            s3.StoreUnsafe(ref to, (nuint)(3 * width));
                        }
                        for (; j < j1; j++)
                        {
                            ref float at = ref Unsafe.Add(ref row, j * step);
                            var sum = TMultiplyAdd.Apply(w0, Vector256.LoadUnsafe(ref at), Vector256<float>.Zero);
                            sum = TMultiplyAdd.Apply(w1, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, q1)), sum);
                            sum = TMultiplyAdd.Apply(w2, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, q2)), sum);
                            sum = TMultiplyAdd.Apply(w3, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, p1)), sum);
                            sum = TMultiplyAdd.Apply(w4, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, p1 + q1)), sum);
                            sum = TMultiplyAdd.Apply(w5, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, p1 + q2)), sum);
                            sum = TMultiplyAdd.Apply(w6, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, p2)), sum);
                            sum = TMultiplyAdd.Apply(w7, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, p2 + q1)), sum);
                            sum = TMultiplyAdd.Apply(w8, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, p2 + q2)), sum);
                            sum.StoreUnsafe(ref Unsafe.Add(ref target, j * width));
                        }
                    }
                }
            // the channels past the last full vector, one at a time (rounded as TMultiplyAdd rounds)
            for (int c = vectors; c < width; c++)
                for (int i = 0; i < outputRows; i++)
                    for (int j = 0; j < outputWidth; j++)
                    {
                        int at = i * sh * rowLength + j * sw * width + c;
                        float sum = 0f;
                        for (int p = 0, t = 0; p < kh; p++)
                            for (int q = 0; q < kw; q++, t++)
                            {
                                float product = taps[t * width + c], value = buffer[at + p * dh * rowLength + q * dw * width];
                                sum = fused ? MathF.FusedMultiplyAdd(product, value, sum) : sum + product * value;
                            }
                        sums[(i * outputWidth + j) * width + c] = sum;
                    }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static void Tap(ref float at, nint offset, nint step, Vector256<float> weight, ref Vector256<float> s0, ref Vector256<float> s1,
                ref Vector256<float> s2, ref Vector256<float> s3)
            {
                ref float first = ref Unsafe.Add(ref at, offset);
                s0 = TMultiplyAdd.Apply(weight, Vector256.LoadUnsafe(ref first), s0);
                s1 = TMultiplyAdd.Apply(weight, Vector256.LoadUnsafe(ref Unsafe.Add(ref first, step)), s1);
                s2 = TMultiplyAdd.Apply(weight, Vector256.LoadUnsafe(ref Unsafe.Add(ref first, 2 * step)), s2);
                s3 = TMultiplyAdd.Apply(weight, Vector256.LoadUnsafe(ref Unsafe.Add(ref first, 3 * step)), s3);
            }
        }
    }

    /// <summary>
    /// C (pixels × block) of a channels-last pair's expansion, pixel i = (row r, column s) of the band's image rows, stored
    /// at <c>data[start + r·rowLength + s·width + j]</c> (rows of the padded buffer, past its left padding) and finished
    /// there by the first epilogue as it moves them (<see cref="ConvolutionEpilogue.CopyPixelsAndApply"/>).
    /// </summary>
    sealed class PaddedRowsTarget : GemmTarget
    {
        float[] data = [];
        int start, imageWidth, rowLength, width, firstChannel;
        ConvolutionEpilogue? epilogue;

        public PaddedRowsTarget Aim(float[] data, int start, int imageWidth, int rowLength, int width, int firstChannel, ConvolutionEpilogue? epilogue)
        {
            (this.data, this.start, this.imageWidth, this.rowLength, this.width, this.firstChannel, this.epilogue) =
                (data, start, imageWidth, rowLength, width, firstChannel, epilogue);
            return this;
        }

        public void Clear() => (data, epilogue) = ([], null);

        public override void Take(int i0, int rows, int j0, int columns, float[] tile, int stride)
        {
            // run by run of the tile's pixels that lie in one image row (consecutive in the buffer too, width apart)
            for (int r = 0; r < rows;)
            {
                int pixel = i0 + r, count = Math.Min(rows - r, imageWidth - pixel % imageWidth);
                int at = start + pixel / imageWidth * rowLength + pixel % imageWidth * width + j0, length = (count - 1) * width + columns;
                ReadOnlySpan<float> source = tile.AsSpan(r * stride, (count - 1) * stride + columns);
                if (epilogue is not null) epilogue.CopyPixelsAndApply(firstChannel + j0, columns, source, stride, data.AsSpan(at, length), width, count);
                else
                    for (int t = 0; t < count; t++) source.Slice(t * stride, columns).CopyTo(data.AsSpan(at + t * width, columns));
                r += count;
            }
        }
    }
}

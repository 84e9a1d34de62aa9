using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// A 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin &amp; Gray, "Fast algorithms for
/// convolutional neural networks", 2016): each 2×2 tile of an output plane is <c>Aᵀ[Σ_c (G g_{o,c} Gᵀ) ⊙ (Bᵀ d_c B)]A</c>,
/// d_c the 4×4 input patch of channel c under the tile, so the 36 multiplications of a tile and channel pair become 16,
/// and the sum over channels is 16 matrix products, one per position ξ of the 4×4 transformed tile:
/// <c>M_ξ (O × T) = U_ξ (O × C) · V_ξ (C × T)</c>, T the tiles. With
/// <c>Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]]</c>, <c>G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]]</c> and
/// <c>Aᵀ = [[1,1,1,0],[0,1,−1,−1]]</c>.
/// <para>The input is split, zero-padded, into its four 2×2 phases (<see cref="DirectConvolution.PhasePlanes"/>,
/// <c>(OH/2 + 1) × (OW/2 + 1)</c> each), where the patch rows and columns of consecutive tiles are consecutive floats:
/// V is made by vector operations over a whole plane of tiles. A row of tiles holds one more tile than the output (the
/// planes' width), computed and dropped. The products run on the direct convolution's register tile, a block of tile
/// rows and a group of up to 8 panels of output channels at a time (each strip of V serves the group's panels from L1),
/// and are transformed into y while they are in L2: M is never stored whole, and nothing is packed. The weights'
/// transform U is kept per weight array and made again when the weight tensor's version moves on
/// (<see cref="CpuTensorStorage.Version"/>), and V is kept for the last input, samples and geometry while the input
/// tensor's version stands, so a frame budget's parts (one sample's tile of 8 output channels each) transform the
/// sample's input once, not once a part. It gains only on large planes of many channels (see <see cref="Applies"/>): on
/// ResNet-18's 56×56 and 28×28 layers 8–20 % of processor time per layer on an AVX2 Zen 3 (2026-12-06, a loaded machine;
/// one panel a task then), 35–40 % with AVX-512 on Zen 4 (2026-12-07), and on an AVX2 Zen 1 (2026-12-08, groups of
/// panels) 34–42 % of the time at one thread and 15–31 % at two (with one panel a task: 21–24 % and 0–15 %); nothing on
/// 14×14, and it was slower on 8×8 planes and on 16–32 channels.</para>
/// <para>Not the direct sum's rounding: the transforms add and subtract inputs (and weights) before they are multiplied,
/// so results differ from the direct convolution by float rounding (a few units in the last place of the inputs'
/// magnitude, relative to the output). Only <see cref="CpuArithmetic.Fast"/> uses it. Deterministic: every element is
/// computed in the same order whatever the thread count or the block of samples × channels computed.</para>
/// </summary>
internal sealed class WinogradConvolution : IParallelWork
{
    /// <summary>Whether a convolution is one this computes, and one where it gains (measured on ResNet-18 and ResNet-20): a
    /// 3×3 window, stride and dilation 1, one group, at least 64 input and output channels (with fewer, the register
    /// tile's sums are too short), at least 128 tiles a sample (an output of about 22×22: smaller planes leave the
    /// register tile's columns idle) and at least as many tiles a sample as input channels (with fewer, reading U, 16/9 of
    /// the weights, costs more than the multiplications save). Judged per sample, so that a sample's bits do not depend on
    /// the batch it is in.</summary>
    public static bool Applies(in CpuBackend.ConvGeometry g, in Window2d w) =>
        g.KernelHeight == 3 && g.KernelWidth == 3 && w.StrideHeight == 1 && w.StrideWidth == 1 && w.DilationHeight == 1 && w.DilationWidth == 1
        && g.Groups == 1 && g.InChannels >= 64 && g.OutChannels >= 64
        && TileRows(g) * (TileColumns(g) + 1) >= Math.Max(128, g.InChannels);

    static int TileRows(in CpuBackend.ConvGeometry g) => (g.OutputHeight + 1) / 2;
    static int TileColumns(in CpuBackend.ConvGeometry g) => (g.OutputWidth + 1) / 2;

    /// <summary>A weight array's transform, and the weight tensor's version it was made at.</summary>
    sealed class Transformed
    {
        public long Version = -1;
        public float[] U = [];
    }
    readonly ConditionalWeakTable<float[], Transformed> transforms = new();

    /// <summary>What the V in <see cref="v"/> was made from: the input array and its tensor's version, the samples, and
    /// the geometry (null input: nothing valid).</summary>
    (float[]? Input, long Version, int FirstSample, int EndSample, int Channels, int Height, int Width, Window2d Window) madeV;

    float[] x = [], y = [], u = [], v = [];
    int[] offsets = [];
    CpuBackend.ConvGeometry g;
    Window2d padded;
    ConvolutionEpilogue? epilogue;
    ChannelTileBlocks.Block block;
    GemmKernel kernel;
    bool output;
    int tileRows, tileColumns, planeWidth, tilesPerSample, tiles, blockTileRows, tileBlocks, panelGroups, groupPanels, mr, ldc;
    /// <summary>Per participant: the input's phases and the rows of its transform, or the products of a block of tiles.</summary>
    readonly float[][] scratch = new float[CpuWorkers.Shared.MaxParticipants][];

    /// <summary>
    /// <paramref name="block"/>'s outputs of the convolution of x (N,C,H,W) with w (O,C,3,3) into y (N,O,OH,OW), then
    /// <paramref name="epilogue"/> on each output row. First V for the block's samples (16 × C × T, tiles one after
    /// another, parallel over (sample, channel)); then tasks (sample, block of tile rows, group of panels of MR output
    /// channels), each running the direct convolution's register tile (<see cref="DirectConvolution.Kernel512"/>, weights
    /// and V read in place, nothing packed) for the 16 positions into a buffer and transforming it straight into y.
    /// </summary>
    /// <remarks><paramref name="weightVersion"/> and <paramref name="inputVersion"/>: the versions of the tensors behind
    /// <paramref name="w"/> and <paramref name="x"/>, which say whether U and V may be reused.</remarks>
    public void Forward(float[] x, float[] w, float[] y, in CpuBackend.ConvGeometry g, in Window2d window, ConvolutionEpilogue? epilogue,
        GemmKernel kernel, int threads, in ChannelTileBlocks.Block block, long weightVersion, long inputVersion)
    {
        // a few samples at a time, so V stays within MaxTransformed floats at any batch size (every sample is computed alone)
        int chunk = (int)Math.Clamp(MaxTransformed / (16L * g.InChannels * TileRows(g) * (TileColumns(g) + 1)), 1, block.Samples);
        for (int first = block.FirstSample; first < block.EndSample; first += chunk)
            ForwardSamples(x, w, y, g, window, epilogue, kernel, threads, block with { FirstSample = first, EndSample = Math.Min(block.EndSample, first + chunk) },
                weightVersion, inputVersion);
    }

    /// <summary>Floats of V made at once at most (16 MiB), unless one sample needs more.</summary>
    const long MaxTransformed = 1 << 22;

    void ForwardSamples(float[] x, float[] w, float[] y, in CpuBackend.ConvGeometry g, in Window2d window, ConvolutionEpilogue? epilogue,
        GemmKernel kernel, int threads, in ChannelTileBlocks.Block block, long weightVersion, long inputVersion)
    {
        if (!DirectConvolution.Supports(kernel)) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "Winograd's convolution needs an FMA kernel");
        int channels = g.InChannels, outChannels = g.OutChannels;
        (tileRows, tileColumns) = (TileRows(g), TileColumns(g));
        planeWidth = tileColumns + 1;
        tilesPerSample = tileRows * planeWidth;
        tiles = block.Samples * tilesPerSample;
        // the padded input covers every tile's 4×4 patch: 2·tiles + 2 rows and columns
        padded = window with
        {
            StrideHeight = 2, StrideWidth = 2,
            PadBottom = 2 * tileRows + 2 - g.InputHeight - window.PadTop,
            PadRight = 2 * tileColumns + 2 - g.InputWidth - window.PadLeft,
        };
        (this.x, this.y, this.g, this.epilogue, this.block, this.kernel) = (x, y, g, epilogue, block, kernel);
        int nr;
        (mr, nr) = kernel == GemmKernel.Vector512Fma ? (8, 32) : (6, 16);
        blockTileRows = Math.Clamp(BlockColumns / planeWidth, 1, tileRows);
        tileBlocks = (tileRows + blockTileRows - 1) / blockTileRows;
        int panels = (block.Channels + mr - 1) / mr;
        panelGroups = (panels + MaxGroupPanels - 1) / MaxGroupPanels;
        groupPanels = (panels + panelGroups - 1) / panelGroups;
        ldc = Gemm.RoundUp(blockTileRows * planeWidth, nr);
        u = WeightTransform(w, outChannels, channels, weightVersion);
        // V, and slack for the register tile's columns past the last tile (read, dropped); kept from the last call where
        // it was made from the same values (a frame budget's next part of the same sample)
        var source = (x, inputVersion, block.FirstSample, block.EndSample, channels, g.InputHeight, g.InputWidth, window);
        bool made = madeV == source;
        madeV = default;
        Grow(ref v, 16 * channels * tiles + nr);
        if (offsets.Length < channels) offsets = new int[channels];
        for (int c = 0; c < channels; c++) offsets[c] = c * tiles;
        int phaseLength = 4 * (tileRows + 1) * planeWidth + 16;
        for (int p = 0; p < scratch.Length; p++) Grow(ref scratch[p], Math.Max(phaseLength, (16 * groupPanels * mr + 4) * ldc));
        bool large = (long)tiles * channels * outChannels * 16 >= 1 << 20;
        output = false;
        if (!made) CpuWorkers.Shared.Run(this, block.Samples * channels, large ? threads : 1);
        madeV = source;
        output = true;
        CpuWorkers.Shared.Run(this, block.Samples * tileBlocks * panelGroups, large ? threads : 1);
        (this.x, this.y, this.u, this.epilogue) = ([], [], [], null);
    }

    /// <summary>Virtual tiles (whole rows of tiles, at least one) a task's register tiles cover.</summary>
    const int BlockColumns = 64;

    /// <summary>Panels of MR output channels a task computes at most (the block's panels are shared out evenly): each
    /// strip of V it reads from L2 serves all of them from L1. (With one panel a task, V was read 11–22 times per block of
    /// tiles on ResNet-18's Winograd layers, from L3 where the L2 is 512 KiB: the layers took 15–30 % longer on a Zen 1.)</summary>
    const int MaxGroupPanels = 8;

    static void Grow(ref float[] buffer, int length)
    {
        if ((buffer?.Length ?? 0) < length) buffer = new float[length];
    }

    /// <summary>U (16 × O × C): <c>U_ξ[o, c] = (G g_{o,c} Gᵀ)[ξ / 4, ξ % 4]</c>, cached per weight array while its
    /// tensor's version (<paramref name="version"/>) stands.</summary>
    float[] WeightTransform(float[] w, int outChannels, int channels, long version)
    {
        int length = outChannels * channels * 9;
        var weights = w.AsSpan(0, length);
        if (transforms.TryGetValue(w, out var known) && known.Version == version && known.U.Length == 16 * outChannels * channels)
            return known.U;
        if (known is null) transforms.AddOrUpdate(w, known = new Transformed());
        if (known.U.Length != 16 * outChannels * channels) known.U = new float[16 * outChannels * channels];
        known.Version = version;
        float[] u = known.U;
        int stride = outChannels * channels;
        Span<float> a = stackalloc float[12];
        for (int o = 0; o < outChannels; o++)
            for (int c = 0; c < channels; c++)
            {
                ReadOnlySpan<float> k = weights.Slice((o * channels + c) * 9, 9);
                // G·g (4×3), row by row
                for (int q = 0; q < 3; q++)
                {
                    float g0 = k[q], g1 = k[3 + q], g2 = k[6 + q];
                    (a[q], a[3 + q], a[6 + q], a[9 + q]) = (g0, 0.5f * (g0 + g1 + g2), 0.5f * (g0 - g1 + g2), g2);
                }
                // (G·g)·Gᵀ (4×4)
                for (int i = 0; i < 4; i++)
                {
                    float a0 = a[3 * i], a1 = a[3 * i + 1], a2 = a[3 * i + 2];
                    int at = o * channels + c + 4 * i * stride;
                    u[at] = a0;
                    u[at + stride] = 0.5f * (a0 + a1 + a2);
                    u[at + 2 * stride] = 0.5f * (a0 - a1 + a2);
                    u[at + 3 * stride] = a2;
                }
            }
        return u;
    }

    void IParallelWork.Run(int task, int participant)
    {
        if (output) Products(task / panelGroups / tileBlocks, task / panelGroups % tileBlocks, task % panelGroups * groupPanels, scratch[participant]);
        else InputTransform(task / g.InChannels, task % g.InChannels, scratch[participant]);
    }

    /// <summary>
    /// V_ξ[c, tiles of sample n]: <c>Bᵀ d B</c> of every tile's patch, 8 tiles at a time in registers. Tile t's patch row
    /// r, column q is <c>d[r, q]</c> = phase plane (r mod 2, q mod 2) at <c>t + ⌊r/2⌋·Wq + ⌊q/2⌋</c> (tiles laid out as the
    /// planes, Wq a row, the last tile of each row computed and never read). First e = Bᵀ·d by rows (e0 = d0 − d2,
    /// e1 = d1 + d2, e2 = d2 − d1, e3 = d1 − d3), then each row of e by columns the same way: the sums the transform
    /// defines, each rounded once, whichever tiles share a vector.
    /// </summary>
    void InputTransform(int n, int c, float[] work)
    {
        int planeHeight = tileRows + 1, phaseSize = planeHeight * planeWidth, count = tilesPerSample;
        var phases = work.AsSpan(0, 4 * phaseSize + 16);
        DirectConvolution.PhasePlanes(x.AsSpan((block.FirstSample + n) * g.InputPlaneSize + c * g.InputPixels, g.InputPixels),
            g.InputHeight, g.InputWidth, padded, planeHeight, planeWidth, phases[..(4 * phaseSize)]);
        phases[(4 * phaseSize)..].Clear(); // read by the dropped last tile only
        // the 16 positions' V of this channel and sample: ξ = 4·i + j at ((ξ·C + c)·tiles + n·tiles a sample)
        nint positionStride = (nint)g.InChannels * tiles;
        ref float v0 = ref v[c * tiles + n * tilesPerSample];
        ref float even = ref phases[0], evenOdd = ref phases[phaseSize], oddEven = ref phases[2 * phaseSize], odd = ref phases[3 * phaseSize];
        // 8 tiles a step; the last step ends at the last tile (Applies guarantees at least 128), overlapping the one before
        for (int t = 0; t < count; t += 8)
        {
            nuint at = (nuint)Math.Min(t, count - 8), below = at + (nuint)planeWidth;
            // e[i][q] = (Bᵀ·d)[i, q] for the patch's columns q = 0…3 (column parity q mod 2, offset ⌊q/2⌋)
            var (e00, e10, e20, e30) = Rows(Vector256.LoadUnsafe(ref even, at), Vector256.LoadUnsafe(ref oddEven, at), Vector256.LoadUnsafe(ref even, below), Vector256.LoadUnsafe(ref oddEven, below));
            var (e01, e11, e21, e31) = Rows(Vector256.LoadUnsafe(ref evenOdd, at), Vector256.LoadUnsafe(ref odd, at), Vector256.LoadUnsafe(ref evenOdd, below), Vector256.LoadUnsafe(ref odd, below));
            var (e02, e12, e22, e32) = Rows(Vector256.LoadUnsafe(ref even, at + 1), Vector256.LoadUnsafe(ref oddEven, at + 1), Vector256.LoadUnsafe(ref even, below + 1), Vector256.LoadUnsafe(ref oddEven, below + 1));
            var (e03, e13, e23, e33) = Rows(Vector256.LoadUnsafe(ref evenOdd, at + 1), Vector256.LoadUnsafe(ref odd, at + 1), Vector256.LoadUnsafe(ref evenOdd, below + 1), Vector256.LoadUnsafe(ref odd, below + 1));
            ref float target = ref Unsafe.Add(ref v0, (nint)at);
            StoreColumns(ref target, positionStride, 0, e00, e01, e02, e03);
            StoreColumns(ref target, positionStride, 4, e10, e11, e12, e13);
            StoreColumns(ref target, positionStride, 8, e20, e21, e22, e23);
            StoreColumns(ref target, positionStride, 12, e30, e31, e32, e33);
        }
    }

    /// <summary>Bᵀ applied to a column of the patch: (d0 − d2, d1 + d2, d2 − d1, d1 − d3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float>, Vector256<float>, Vector256<float>, Vector256<float>) Rows(Vector256<float> d0, Vector256<float> d1, Vector256<float> d2, Vector256<float> d3) =>
        (d0 - d2, d1 + d2, d2 - d1, d1 - d3);

    /// <summary>Row i of e times B, (e0 − e2, e1 + e2, e2 − e1, e1 − e3), stored to positions ξ = <paramref name="first"/> … + 3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreColumns(ref float target, nint positionStride, int first, Vector256<float> e0, Vector256<float> e1, Vector256<float> e2, Vector256<float> e3)
    {
        (e0 - e2).StoreUnsafe(ref Unsafe.Add(ref target, first * positionStride));
        (e1 + e2).StoreUnsafe(ref Unsafe.Add(ref target, (first + 1) * positionStride));
        (e2 - e1).StoreUnsafe(ref Unsafe.Add(ref target, (first + 2) * positionStride));
        (e1 - e3).StoreUnsafe(ref Unsafe.Add(ref target, (first + 3) * positionStride));
    }

    /// <summary>
    /// Sample n's tile rows of <paramref name="tileBlock"/> for the output channels of a group of panels, from
    /// <paramref name="firstPanel"/> on: <c>M_ξ = U_ξ · V_ξ</c> for the 16 positions (the group's rows × the block's tiles
    /// each, in <paramref name="work"/>), then <c>Aᵀ M A</c> of every tile into y, then the epilogue on the block's output
    /// rows. Each 16- or 32-tile strip of V_ξ is read by every panel of the group while it is in L1: the panels of one task
    /// read V from L2 (or L3) once, not once a panel.
    /// </summary>
    void Products(int n, int tileBlock, int firstPanel, float[] work)
    {
        int channels = g.InChannels, outChannels = g.OutChannels, nr = kernel == GemmKernel.Vector512Fma ? 32 : 16;
        int firstTileRow = tileBlock * blockTileRows, rowsHere = Math.Min(blockTileRows, tileRows - firstTileRow);
        int columns = rowsHere * planeWidth, first = block.FirstChannel + firstPanel * mr, count = Math.Min(groupPanels * mr, block.EndChannel - first);
        int groupRows = Gemm.RoundUp(count, mr);
        ref int taps = ref offsets[0];
        _ = u[((15 * outChannels) + first + count - 1) * channels + channels - 1];
        for (int xi = 0; xi < 16; xi++)
        {
            ref float image = ref v[xi * channels * tiles + n * tilesPerSample + firstTileRow * planeWidth];
            ref float products = ref work[xi * groupRows * ldc];
            for (int column = 0; column < columns; column += nr)
                for (int row = 0; row < count; row += mr)
                {
                    // a panel's rows past the last one repeat it (computed, dropped)
                    ref float a = ref u[(xi * outChannels + first + row) * channels];
                    nint rowStep = channels, lastStep = (Math.Min(mr, count - row) - 1) * (nint)channels;
                    ref float target = ref Unsafe.Add(ref products, row * ldc + column);
                    if (kernel == GemmKernel.Vector512Fma)
                        DirectConvolution.Kernel512(ref a, rowStep, lastStep, ref Unsafe.Add(ref image, column), ref taps, channels, ref target, ldc);
                    else
                        DirectConvolution.Kernel256(ref a, rowStep, lastStep, ref Unsafe.Add(ref image, column), ref taps, channels, ref target, ldc);
                }
        }
        int height = g.OutputHeight, width = g.OutputWidth, firstRow = 2 * firstTileRow, endRow = Math.Min(height, 2 * (firstTileRow + rowsHere));
        Span<float> transformed = work.AsSpan(16 * groupRows * ldc, 4 * ldc);
        for (int r = 0; r < count; r++)
        {
            OutputTransform(work, r, groupRows, columns, transformed);
            int o = first + r, start = ((block.FirstSample + n) * outChannels + o) * g.OutputPixels;
            Span<float> plane = y.AsSpan(start, g.OutputPixels);
            for (int row = firstRow; row < endRow; row++)
            {
                int at = (row / 2 - firstTileRow) * planeWidth, parity = row % 2;
                ReadOnlySpan<float> even = transformed.Slice(2 * parity * ldc + at, tileColumns), odd = transformed.Slice((2 * parity + 1) * ldc + at, tileColumns);
                Span<float> line = plane.Slice(row * width, width);
                int column = 0;
                for (int tj = 0; column + 1 < width; tj++, column += 2) (line[column], line[column + 1]) = (even[tj], odd[tj]);
                if (column < width) line[column] = even[column / 2];
            }
            int from = firstRow * width;
            epilogue?.ApplyToChannel(o, start + from, plane[from..(endRow * width)]);
        }
    }

    /// <summary>Row r of the 16 products of a block (<c>work[(ξ·rows + r)·ldc + t]</c>) to <c>Y_{a,b}[t] = (Aᵀ M A)[a, b]</c>
    /// at <c>transformed[(2a + b)·ldc + t]</c>, 8 tiles at a time.</summary>
    void OutputTransform(float[] work, int r, int rows, int columns, Span<float> transformed)
    {
        ref float m = ref work[r * ldc];
        nint step = rows * ldc;
        ref float y0 = ref transformed[0];
        for (int t = 0; t < columns; t += 8)
        {
            ref float at = ref Unsafe.Add(ref m, t);
            Vector256<float> m0 = Vector256.LoadUnsafe(ref at), m1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, step)),
                m2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 2 * step)), m3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 3 * step)),
                m4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 4 * step)), m5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 5 * step)),
                m6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 6 * step)), m7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 7 * step)),
                m8 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 8 * step)), m9 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 9 * step)),
                m10 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 10 * step)), m11 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 11 * step)),
                m12 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 12 * step)), m13 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 13 * step)),
                m14 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 14 * step)), m15 = Vector256.LoadUnsafe(ref Unsafe.Add(ref at, 15 * step));
            // (Aᵀ M) row 0 (a·) and row 1 (b·), columns 0–3
            Vector256<float> a0 = m0 + m4 + m8, b0 = m4 - m8 - m12;
            Vector256<float> a1 = m1 + m5 + m9, b1 = m5 - m9 - m13;
            Vector256<float> a2 = m2 + m6 + m10, b2 = m6 - m10 - m14;
            Vector256<float> a3 = m3 + m7 + m11, b3 = m7 - m11 - m15;
            ref float target = ref Unsafe.Add(ref y0, t);
            (a0 + a1 + a2).StoreUnsafe(ref target);
            (a1 - a2 - a3).StoreUnsafe(ref target, (nuint)ldc);
            (b0 + b1 + b2).StoreUnsafe(ref target, (nuint)(2 * ldc));
            (b1 - b2 - b3).StoreUnsafe(ref target, (nuint)(3 * ldc));
        }
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// One operand of <see cref="Gemm"/>: a row-major matrix inside a float array, read as itself or as its transpose.
/// Element (r, c) of the operand is <c>data[offset + r·stride + c]</c>, or <c>data[offset + c·stride + r]</c> when
/// <see cref="Transposed"/> (the array holds the transpose, as a (cols × rows) row-major matrix).
/// An array rather than a span, so that the worker threads can share it.
/// </summary>
internal readonly struct GemmOperand(float[] data, int offset, int stride, bool transposed = false)
{
    public readonly float[] Data = data;
    public readonly int Offset = offset, Stride = stride;
    public readonly bool Transposed = transposed;

    public float this[int row, int column] => Transposed ? Data[Offset + column * Stride + row] : Data[Offset + row * Stride + column];
}

/// <summary>The micro-kernels <see cref="Gemm"/> can run: the widest one the processor supports is the default;
/// tests run every supported one against <see cref="Gemm.Reference"/>.</summary>
internal enum GemmKernel
{
    /// <summary>Plain loops over the packed panels: any processor.</summary>
    Scalar,
    /// <summary>6 rows × four 128-bit vectors (SSE, NEON).</summary>
    Vector128,
    /// <summary>6 rows × two 256-bit vectors (AVX2: x64 since Haswell and Zen).</summary>
    Vector256,
}

/// <summary>
/// Single-precision matrix multiply for the CPU backend's convolution and fully connected layers:
/// <c>C = [C +] op(A)·op(B)</c> with op(A) (M×K), op(B) (K×N) and C (M×N) row-major.
/// <para>
/// <see cref="Reference"/> is the definition, three loops. <see cref="Multiply"/> computes the same product
/// the way BLAS libraries do (Goto &amp; van de Geijn, "Anatomy of high-performance matrix multiplication", 2008):
/// op(B) is copied in blocks of <see cref="BlockDepth"/> rows into panels <see cref="PanelColumns"/> wide, op(A) in
/// blocks of <see cref="BlockRows"/> rows into panels <see cref="PanelRows"/> high, both laid out in the order the
/// micro-kernel reads them (zero-padded at the edges), so the kernel streams through contiguous memory and keeps a
/// 6×16 tile of C in registers for a whole block: 12 accumulators of 8 floats, each loaded value used 6 or 16 times.
/// Products are rounded before they are added (no FMA), like the GL backend (see <see cref="KernelVector256"/>).
/// </para>
/// <para>
/// Determinism: every element of C is summed in the same order — k ascending inside blocks of
/// <see cref="BlockDepth"/>, each block's partial sum then added to C — whatever the tile it falls in and whatever
/// thread computes it, so the result does not depend on <see cref="Threads"/>. Work is split into tiles of C only,
/// never along k. Threads come from <see cref="CpuWorkers.Shared"/>; the packing buffers of every participant that
/// <see cref="Threads"/> allows are made when it is set (on the caller's thread) and reused, so no multiply allocates.
/// The exception is a single row times a matrix stored by columns (batch-1 <c>LinearForward</c>, a depthwise
/// convolution's weight gradient): one vectorized dot product per output (<c>TensorPrimitives.Dot</c>), whose summation
/// order follows the processor's vector width, so such a row may differ in the last bits from the same row computed
/// in a larger batch, and between processors — still the same for any <see cref="Threads"/>.
/// </para>
/// </summary>
internal sealed class Gemm : IParallelWork
{
    /// <summary>Rows of the register tile (MR).</summary>
    public const int PanelRows = 6;
    /// <summary>Columns of the register tile (NR): two 256-bit vectors.</summary>
    public const int PanelColumns = 16;
    /// <summary>k-depth of a packed block (KC): one B panel, 16 KiB, stays in L1 while the A block streams from L2.</summary>
    public const int BlockDepth = 256;
    /// <summary>Rows of a packed A block (MC): 120 KiB at full depth, kept in L2.</summary>
    public const int BlockRows = 120;
    /// <summary>Columns of a packed B block (NC): 1 MiB at full depth.</summary>
    public const int BlockColumns = 1024;
    /// <summary>Products smaller than this many multiply-adds run on the calling thread only.</summary>
    const long ParallelThreshold = 1 << 18;

    /// <summary>Per participant (0 = the calling thread): packed A and B blocks.</summary>
    readonly float[]?[] packedA, packedB;

    /// <summary>The micro-kernel; defaults to the widest one this processor supports.</summary>
    public GemmKernel Kernel { get; set; } = BestKernel;

    /// <summary>How many threads one multiply may use (the caller plus pool workers), at least 1. Setting it makes the
    /// packing buffers of that many participants (about 1.2 MB each) if they do not exist yet.</summary>
    public int Threads
    {
        get => threadCount;
        set
        {
            threadCount = value;
            for (int p = 0; p < Math.Clamp(value, 1, packedA.Length); p++)
            {
                packedA[p] ??= new float[BlockRows * BlockDepth];
                packedB[p] ??= new float[BlockColumns * BlockDepth];
            }
        }
    }
    int threadCount;

    /// <summary>The widest supported kernel.</summary>
    public static GemmKernel BestKernel =>
        Avx2.IsSupported && Vector256.IsHardwareAccelerated ? GemmKernel.Vector256
        : Vector128.IsHardwareAccelerated ? GemmKernel.Vector128
        : GemmKernel.Scalar;

    public static bool IsSupported(GemmKernel kernel) => kernel switch
    {
        GemmKernel.Vector256 => Avx2.IsSupported && Vector256.IsHardwareAccelerated,
        GemmKernel.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };

    public Gemm(int threads)
    {
        packedA = new float[CpuWorkers.Shared.MaxParticipants][];
        packedB = new float[CpuWorkers.Shared.MaxParticipants][];
        Threads = threads;
    }

    /// <summary>
    /// The definition: <c>C[i,j] = [C[i,j] +] Σ_p op(A)[i,p]·op(B)[p,j]</c>, p ascending, one float accumulator.
    /// C is (M×N) at <c>c[i·ldc + j]</c>.
    /// </summary>
    public static void Reference(int m, int n, int k, in GemmOperand a, in GemmOperand b, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++) sum += a[i, p] * b[p, j];
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
            }
    }

    // The multiply being run: set by Multiply, read by every participant's tiles.
    int m, n, k, ldc, cOffset, tileRows, tileColumns, rowTiles, columnTiles;
    GemmOperand a, b;
    float[] c = [];
    bool accumulate;

    /// <summary>
    /// <c>C = [C +] op(A)·op(B)</c> (see <see cref="Reference"/>) with op(A) (M×K), op(B) (K×N), and C (M×N) at
    /// <c>c[cOffset + i·ldc + j]</c>. With K = 0 this sets C to zero (or leaves it, when accumulating).
    /// </summary>
    public void Multiply(int m, int n, int k, in GemmOperand a, in GemmOperand b, float[] c, int cOffset, int ldc, bool accumulate)
    {
        if (m <= 0 || n <= 0) return;
        if (k <= 0)
        {
            if (!accumulate)
                for (int i = 0; i < m; i++) c.AsSpan(cOffset + i * ldc, n).Clear();
            return;
        }
        if (m == 1 && b.Transposed)
        {
            // a vector times a matrix stored by columns (LinearForward at batch 1): one dot product per output
            ReadOnlySpan<float> row = a.Transposed ? default : a.Data.AsSpan(a.Offset, k);
            for (int j = 0; j < n; j++)
            {
                float sum = a.Transposed ? DotStrided(a, b, j, k) : TensorPrimitives.Dot(row, b.Data.AsSpan(b.Offset + j * b.Stride, k));
                c[cOffset + j] = accumulate ? c[cOffset + j] + sum : sum;
            }
            return;
        }
        (this.m, this.n, this.k, this.a, this.b, this.c, this.cOffset, this.ldc, this.accumulate) = (m, n, k, a, b, c, cOffset, ldc, accumulate);
        int threads = (long)m * n * k < ParallelThreshold ? 1 : Math.Clamp(Threads, 1, CpuWorkers.Shared.MaxParticipants);
        // tiles of at most BlockRows × BlockColumns; narrower column tiles when that is what gives every thread work
        tileRows = Math.Min(BlockRows, RoundUp(m, PanelRows));
        rowTiles = (m + tileRows - 1) / tileRows;
        int columnsPerThread = RoundUp((n + threads - 1) / threads, PanelColumns);
        tileColumns = Math.Min(BlockColumns, rowTiles >= threads ? RoundUp(n, PanelColumns) : columnsPerThread);
        columnTiles = (n + tileColumns - 1) / tileColumns;
        CpuWorkers.Shared.Run(this, rowTiles * columnTiles, threads);
        this.c = [];
        this.a = this.b = default;
    }

    static float DotStrided(in GemmOperand a, in GemmOperand b, int j, int k)
    {
        float sum = 0f;
        for (int p = 0; p < k; p++) sum += a[0, p] * b[p, j];
        return sum;
    }

    /// <summary>One tile of C: rows [i0, i0 + tileRows) × columns [j0, j0 + tileColumns), over all of k.</summary>
    void IParallelWork.Run(int task, int participant)
    {
        int i0 = task / columnTiles * tileRows, j0 = task % columnTiles * tileColumns;
        int rows = Math.Min(tileRows, m - i0), columns = Math.Min(tileColumns, n - j0);
        // full-size blocks, made by the Threads setter for every participant it allows
        float[] packA = packedA[participant]!, packB = packedB[participant]!;
        Span<float> edge = stackalloc float[PanelRows * PanelColumns];
        for (int p0 = 0; p0 < k; p0 += BlockDepth)
        {
            int depth = Math.Min(BlockDepth, k - p0);
            bool add = accumulate || p0 > 0;
            PackB(b, p0, depth, j0, columns, packB);
            PackA(a, i0, rows, p0, depth, packA);
            for (int jr = 0; jr < columns; jr += PanelColumns)
            {
                ref float bPanel = ref packB[jr * depth];
                int width = Math.Min(PanelColumns, columns - jr);
                for (int ir = 0; ir < rows; ir += PanelRows)
                {
                    ref float aPanel = ref packA[ir * depth];
                    int height = Math.Min(PanelRows, rows - ir);
                    int cStart = cOffset + (i0 + ir) * ldc + j0 + jr;
                    if (height == PanelRows && width == PanelColumns)
                        RunKernel(ref aPanel, ref bPanel, depth, ref c[cStart], ldc, add);
                    else
                    {
                        // a partial tile: compute all 6×16 into a scratch tile, then add the part that exists
                        RunKernel(ref aPanel, ref bPanel, depth, ref edge[0], PanelColumns, false);
                        for (int r = 0; r < height; r++)
                        {
                            Span<float> target = c.AsSpan(cStart + r * ldc, width);
                            ReadOnlySpan<float> source = edge.Slice(r * PanelColumns, width);
                            if (add) TensorPrimitives.Add(target, source, target);
                            else source.CopyTo(target);
                        }
                    }
                }
            }
        }
    }

    void RunKernel(ref float aPanel, ref float bPanel, int depth, ref float c, int ldc, bool add)
    {
        switch (Kernel)
        {
            case GemmKernel.Vector256: KernelVector256(ref aPanel, ref bPanel, depth, ref c, ldc, add); break;
            case GemmKernel.Vector128: KernelVector128(ref aPanel, ref bPanel, depth, ref c, ldc, add); break;
            default: KernelScalar(ref aPanel, ref bPanel, depth, ref c, ldc, add); break;
        }
    }

    /// <summary>
    /// Packs rows [i0, i0 + rows) × depths [p0, p0 + depth) of op(A) into panels of <see cref="PanelRows"/> rows:
    /// panel q holds <c>op(A)[i0 + 6q + r, p0 + p]</c> at <c>q·6·depth + p·6 + r</c>, zero past the last row.
    /// </summary>
    static void PackA(in GemmOperand a, int i0, int rows, int p0, int depth, float[] packed)
    {
        for (int ir = 0; ir < rows; ir += PanelRows)
        {
            Span<float> panel = packed.AsSpan(ir * depth, PanelRows * depth);
            int height = Math.Min(PanelRows, rows - ir);
            if (height < PanelRows) panel.Clear();
            ref float target = ref panel[0];
            if (a.Transposed)
                for (int p = 0; p < depth; p++)
                {
                    // op(A)[i, p] = data[(p0 + p)·stride + i]: the panel's rows are contiguous here (indexing the last
                    // one checks that all lie inside the array)
                    ref float last = ref a.Data[a.Offset + (p0 + p) * a.Stride + i0 + ir + height - 1];
                    for (int r = 0; r < height; r++) Unsafe.Add(ref target, p * PanelRows + r) = Unsafe.Subtract(ref last, height - 1 - r);
                }
            else
                for (int r = 0; r < height; r++)
                {
                    ReadOnlySpan<float> source = a.Data.AsSpan(a.Offset + (i0 + ir + r) * a.Stride + p0, depth);
                    for (int p = 0; p < source.Length; p++) Unsafe.Add(ref target, p * PanelRows + r) = source[p];
                }
        }
    }

    /// <summary>
    /// Packs depths [p0, p0 + depth) × columns [j0, j0 + columns) of op(B) into panels of <see cref="PanelColumns"/>
    /// columns: panel q holds <c>op(B)[p0 + p, j0 + 16q + j]</c> at <c>q·16·depth + p·16 + j</c>, zero past the last column.
    /// </summary>
    static void PackB(in GemmOperand b, int p0, int depth, int j0, int columns, float[] packed)
    {
        for (int jr = 0; jr < columns; jr += PanelColumns)
        {
            Span<float> panel = packed.AsSpan(jr * depth, PanelColumns * depth);
            int width = Math.Min(PanelColumns, columns - jr);
            if (width < PanelColumns) panel.Clear();
            ref float target = ref panel[0];
            if (b.Transposed)
            {
                // op(B)[p, j] = data[j·stride + p]: a column of the panel is contiguous here. Full panels move in 8×8
                // blocks transposed in registers (8 contiguous loads, 8 contiguous stores) instead of one scattered
                // store per value; what is left (a partial panel, the last depth % 8 rows) goes value by value.
                int blocked = width == PanelColumns && Avx.IsSupported ? depth & ~7 : 0;
                for (int jb = 0; jb < PanelColumns && blocked > 0; jb += 8)
                {
                    // the last element of the block's last source row: indexing it checks that the block lies inside the array
                    ref float source = ref Unsafe.Subtract(ref b.Data[b.Offset + (j0 + jr + jb + 7) * b.Stride + p0 + blocked - 1], 7 * b.Stride + blocked - 1);
                    for (int p = 0; p < blocked; p += 8)
                        Transpose8x8(ref Unsafe.Add(ref source, p), b.Stride, ref Unsafe.Add(ref target, p * PanelColumns + jb), PanelColumns);
                }
                for (int j = 0; j < width; j++)
                {
                    ReadOnlySpan<float> source = b.Data.AsSpan(b.Offset + (j0 + jr + j) * b.Stride + p0, depth);
                    for (int p = blocked; p < source.Length; p++) Unsafe.Add(ref target, p * PanelColumns + j) = source[p];
                }
            }
            else if (width == PanelColumns)
                for (int p = 0; p < depth; p++)
                {
                    // a full row of the panel: one 64-byte copy, which the JIT unrolls into vector moves (indexing the
                    // last element checks that the row lies inside the array)
                    ref float last = ref b.Data[b.Offset + (p0 + p) * b.Stride + j0 + jr + PanelColumns - 1];
                    Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref target, p * PanelColumns)),
                        ref Unsafe.As<float, byte>(ref Unsafe.Subtract(ref last, PanelColumns - 1)), PanelColumns * sizeof(float));
                }
            else
                for (int p = 0; p < depth; p++)
                    b.Data.AsSpan(b.Offset + (p0 + p) * b.Stride + j0 + jr, width).CopyTo(panel.Slice(p * PanelColumns, width));
        }
    }

    /// <summary><c>target[m·targetStride + k] = source[k·sourceStride + m]</c> for k, m &lt; 8: eight rows of eight floats
    /// loaded, transposed with unpack/shuffle/permute (AVX), stored as eight rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8x8(ref float source, int sourceStride, ref float target, int targetStride)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref source), r1 = Vector256.LoadUnsafe(ref source, (nuint)sourceStride);
        Vector256<float> r2 = Vector256.LoadUnsafe(ref source, (nuint)(2 * sourceStride)), r3 = Vector256.LoadUnsafe(ref source, (nuint)(3 * sourceStride));
        Vector256<float> r4 = Vector256.LoadUnsafe(ref source, (nuint)(4 * sourceStride)), r5 = Vector256.LoadUnsafe(ref source, (nuint)(5 * sourceStride));
        Vector256<float> r6 = Vector256.LoadUnsafe(ref source, (nuint)(6 * sourceStride)), r7 = Vector256.LoadUnsafe(ref source, (nuint)(7 * sourceStride));
        // pairs of rows interleaved, then 2×2 blocks of pairs, then the 128-bit halves exchanged
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE), u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE), u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref target);
        Avx.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref target, (nuint)targetStride);
        Avx.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref target, (nuint)(2 * targetStride));
        Avx.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref target, (nuint)(3 * targetStride));
        Avx.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref target, (nuint)(4 * targetStride));
        Avx.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref target, (nuint)(5 * targetStride));
        Avx.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref target, (nuint)(6 * targetStride));
        Avx.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref target, (nuint)(7 * targetStride));
    }

    /// <summary>
    /// The register tile with 256-bit vectors: <c>C[r, 0..16) [+]= Σ_p a[p·6 + r]·b[p·16 + 0..16)</c> for r &lt; 6,
    /// twelve 8-float accumulators, one broadcast of A and two loads of B per step of p. Each product is rounded
    /// before it is added (no fused multiply-add), as in the GL shaders on llvmpipe and the loops this replaced: the
    /// zoo's GL = CPU training checks include chaotic networks (MobileNetV2: a 1e-6 nudge of the input moves a
    /// gradient by 34 %) that only agree when both backends round the same way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelVector256(ref float a, ref float b, int depth, ref float c, int ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < depth; p++)
        {
            Vector256<float> b0 = Vector256.LoadUnsafe(ref b), b1 = Vector256.LoadUnsafe(ref b, 8);
            Vector256<float> x = Vector256.Create(a);
            c00 += x * b0; c01 += x * b1;
            x = Vector256.Create(Unsafe.Add(ref a, 1));
            c10 += x * b0; c11 += x * b1;
            x = Vector256.Create(Unsafe.Add(ref a, 2));
            c20 += x * b0; c21 += x * b1;
            x = Vector256.Create(Unsafe.Add(ref a, 3));
            c30 += x * b0; c31 += x * b1;
            x = Vector256.Create(Unsafe.Add(ref a, 4));
            c40 += x * b0; c41 += x * b1;
            x = Vector256.Create(Unsafe.Add(ref a, 5));
            c50 += x * b0; c51 += x * b1;
            a = ref Unsafe.Add(ref a, PanelRows);
            b = ref Unsafe.Add(ref b, PanelColumns);
        }
        Store256(ref c, c00, c01, add);
        Store256(ref Unsafe.Add(ref c, ldc), c10, c11, add);
        Store256(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, add);
        Store256(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, add);
        Store256(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, add);
        Store256(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store256(ref float row, Vector256<float> left, Vector256<float> right, bool add)
    {
        if (add)
        {
            left += Vector256.LoadUnsafe(ref row);
            right += Vector256.LoadUnsafe(ref row, 8);
        }
        left.StoreUnsafe(ref row);
        right.StoreUnsafe(ref row, 8);
    }

    /// <summary>The register tile with 128-bit vectors (the same sums as <see cref="KernelVector256"/>, 24 accumulators of 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelVector128(ref float a, ref float b, int depth, ref float c, int ldc, bool add)
    {
        Span<Vector128<float>> sums = stackalloc Vector128<float>[PanelRows * 4];
        sums.Clear();
        for (int p = 0; p < depth; p++)
        {
            Vector128<float> b0 = Vector128.LoadUnsafe(ref b), b1 = Vector128.LoadUnsafe(ref b, 4);
            Vector128<float> b2 = Vector128.LoadUnsafe(ref b, 8), b3 = Vector128.LoadUnsafe(ref b, 12);
            for (int r = 0; r < PanelRows; r++)
            {
                Vector128<float> x = Vector128.Create(Unsafe.Add(ref a, r));
                sums[4 * r] += x * b0;
                sums[4 * r + 1] += x * b1;
                sums[4 * r + 2] += x * b2;
                sums[4 * r + 3] += x * b3;
            }
            a = ref Unsafe.Add(ref a, PanelRows);
            b = ref Unsafe.Add(ref b, PanelColumns);
        }
        for (int r = 0; r < PanelRows; r++)
        {
            ref float row = ref Unsafe.Add(ref c, r * ldc);
            for (int v = 0; v < 4; v++)
            {
                Vector128<float> sum = sums[4 * r + v];
                if (add) sum += Vector128.LoadUnsafe(ref row, (nuint)(4 * v));
                sum.StoreUnsafe(ref row, (nuint)(4 * v));
            }
        }
    }

    /// <summary>The register tile in plain loops (any processor): <c>C[r,j] [+]= Σ_p a[p·6 + r]·b[p·16 + j]</c>.</summary>
    static void KernelScalar(ref float a, ref float b, int depth, ref float c, int ldc, bool add)
    {
        Span<float> sums = stackalloc float[PanelRows * PanelColumns];
        sums.Clear();
        for (int p = 0; p < depth; p++)
            for (int r = 0; r < PanelRows; r++)
            {
                float x = Unsafe.Add(ref a, p * PanelRows + r);
                for (int j = 0; j < PanelColumns; j++)
                    sums[r * PanelColumns + j] += x * Unsafe.Add(ref b, p * PanelColumns + j);
            }
        for (int r = 0; r < PanelRows; r++)
            for (int j = 0; j < PanelColumns; j++)
            {
                ref float target = ref Unsafe.Add(ref c, r * ldc + j);
                target = add ? target + sums[r * PanelColumns + j] : sums[r * PanelColumns + j];
            }
    }

    static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}

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

/// <summary>What <see cref="Gemm"/> does to each finished row segment of C, while it is still in cache (a convolution's
/// bias, folded batch norm and activation). Called once per element of C, after the whole sum over k.</summary>
internal interface IGemmEpilogue
{
    /// <summary>Transforms <paramref name="values"/>: C[row, column …) in place.</summary>
    void Apply(int row, int column, Span<float> values);
}

/// <summary>
/// Single-precision matrix multiply for the CPU backend's convolution and fully connected layers:
/// <c>C = [C +] op(A)·op(B)</c> with op(A) (M×K), op(B) (K×N) and C (M×N) row-major.
/// <para>
/// <see cref="Reference"/> is the definition, three loops. <see cref="Multiply"/> computes the same product
/// the way BLAS libraries do (Goto &amp; van de Geijn, "Anatomy of high-performance matrix multiplication", 2008):
/// op(B) is copied in blocks of <see cref="BlockDepth"/> rows into panels NR wide, op(A) in blocks of
/// <see cref="BlockRows"/> rows into panels MR high, both laid out in the order the micro-kernel reads them
/// (zero-padded at the edges), so the kernel streams through contiguous memory and keeps an MR×NR tile of C in
/// registers for a whole block (see <see cref="GemmKernel"/> for the tiles).
/// </para>
/// <para>
/// Determinism: every element of C is summed in the same order — k ascending inside blocks of
/// <see cref="BlockDepth"/>, each block's partial sum then added to C — whatever the tile it falls in and whatever
/// thread computes it, so the result does not depend on <see cref="Threads"/>. The kernels differ only in how a product
/// meets the sum: rounded first (<see cref="GemmKernel.Vector256"/> and narrower, the GL shaders' arithmetic) or fused
/// (<see cref="GemmKernel.Vector256Fma"/>, <see cref="GemmKernel.Vector512Fma"/>: one rounding per step, so closer to
/// the exact sum). Work is split into tiles of C only, never along k. Threads come from <see cref="CpuWorkers.Shared"/>;
/// the packing buffers of every participant that <see cref="Threads"/> allows are made when it is set (on the caller's
/// thread) and reused, so no multiply allocates.
/// The exception is a single row times a matrix stored by columns (batch-1 <c>LinearForward</c>, a depthwise
/// convolution's weight gradient): one vectorized dot product per output (<c>TensorPrimitives.Dot</c>), whose summation
/// order follows the processor's vector width, so such a row may differ in the last bits from the same row computed
/// in a larger batch, and between processors — still the same for any <see cref="Threads"/>.
/// </para>
/// </summary>
internal sealed partial class Gemm : IParallelWork
{
    /// <summary>k-depth of a packed block (KC): one B panel (16–32 KiB) stays in L1 while the A block streams from L2.</summary>
    public const int BlockDepth = 256;
    /// <summary>Rows of a packed A block (MC, a multiple of every kernel's MR): 120 KiB at full depth, kept in L2.</summary>
    public const int BlockRows = 120;
    /// <summary>Columns of a packed B block (NC, a multiple of every kernel's NR): 1 MiB at full depth.</summary>
    public const int BlockColumns = 1024;
    /// <summary>Products smaller than this many multiply-adds run on the calling thread only.</summary>
    const long ParallelThreshold = 1 << 20;

    /// <summary>Per participant (0 = the calling thread): packed A and B blocks.</summary>
    readonly float[]?[] packedA, packedB;

    /// <summary>The micro-kernel; defaults to the fastest one this processor supports.</summary>
    public GemmKernel Kernel
    {
        get => kernel;
        set
        {
            if (!IsSupported(value)) throw new PlatformNotSupportedException($"the {value} GEMM kernel needs instructions this processor lacks");
            kernel = value;
            (panelRows, panelColumns) = TileOf(value);
        }
    }
    GemmKernel kernel;
    int panelRows, panelColumns;

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

    public Gemm(int threads, GemmKernel? kernel = null)
    {
        packedA = new float[CpuWorkers.Shared.MaxParticipants][];
        packedB = new float[CpuWorkers.Shared.MaxParticipants][];
        Threads = threads;
        Kernel = kernel ?? FastestKernel;
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
    int m, n, k, ldc, cOffset, tileRows, tileColumns, columnTiles;
    GemmOperand a, b;
    float[] c = [];
    bool accumulate;
    IGemmEpilogue? epilogue;

    /// <summary>
    /// <c>C = [C +] op(A)·op(B)</c> (see <see cref="Reference"/>) with op(A) (M×K), op(B) (K×N), and C (M×N) at
    /// <c>c[cOffset + i·ldc + j]</c>, then <paramref name="epilogue"/> on every element (row segments of C, each once,
    /// after its whole sum). With K = 0 this sets C to zero (or leaves it, when accumulating) before the epilogue.
    /// </summary>
    public void Multiply(int m, int n, int k, in GemmOperand a, in GemmOperand b, float[] c, int cOffset, int ldc, bool accumulate,
        IGemmEpilogue? epilogue = null)
    {
        if (m <= 0 || n <= 0) return;
        if (k <= 0 || (m == 1 && b.Transposed))
        {
            for (int i = 0; i < m; i++)
            {
                Span<float> row = c.AsSpan(cOffset + i * ldc, n);
                if (k <= 0) { if (!accumulate) row.Clear(); }
                else MultiplyRowByColumns(a, b, k, row, accumulate);
                epilogue?.Apply(i, 0, row);
            }
            return;
        }
        (this.m, this.n, this.k, this.a, this.b, this.c, this.cOffset, this.ldc, this.accumulate, this.epilogue) =
            (m, n, k, a, b, c, cOffset, ldc, accumulate, epilogue);
        int threads = (long)m * n * k < ParallelThreshold ? 1 : Math.Clamp(Threads, 1, CpuWorkers.Shared.MaxParticipants);
        // tiles of at most BlockRows × BlockColumns, as many as it takes to give every thread the same share: columns are
        // split evenly into a multiple of the thread count of tiles when the rows alone do not make enough
        tileRows = Math.Min(BlockRows, RoundUp(m, panelRows));
        int rowTiles = (m + tileRows - 1) / tileRows;
        int columnBlocks = (n + BlockColumns - 1) / BlockColumns;
        if (rowTiles * columnBlocks % threads != 0 && rowTiles < threads * 4)
            columnBlocks = RoundUp(Math.Max(columnBlocks, (threads + rowTiles - 1) / rowTiles), threads);
        tileColumns = Math.Min(BlockColumns, RoundUp((n + columnBlocks - 1) / columnBlocks, panelColumns));
        columnTiles = (n + tileColumns - 1) / tileColumns;
        CpuWorkers.Shared.Run(this, rowTiles * columnTiles, threads);
        this.c = [];
        this.a = this.b = default;
        this.epilogue = null;
    }

    /// <summary>One row of op(A) times op(B) stored by columns: a vectorized dot product per output.</summary>
    static void MultiplyRowByColumns(in GemmOperand a, in GemmOperand b, int k, Span<float> row, bool accumulate)
    {
        ReadOnlySpan<float> left = a.Transposed ? default : a.Data.AsSpan(a.Offset, k);
        for (int j = 0; j < row.Length; j++)
        {
            float sum;
            if (a.Transposed)
            {
                sum = 0f;
                for (int p = 0; p < k; p++) sum += a[0, p] * b[p, j];
            }
            else sum = TensorPrimitives.Dot(left, b.Data.AsSpan(b.Offset + j * b.Stride, k));
            row[j] = accumulate ? row[j] + sum : sum;
        }
    }

    /// <summary>One tile of C: rows [i0, i0 + tileRows) × columns [j0, j0 + tileColumns), over all of k.</summary>
    void IParallelWork.Run(int task, int participant)
    {
        int i0 = task / columnTiles * tileRows, j0 = task % columnTiles * tileColumns;
        int rows = Math.Min(tileRows, m - i0), columns = Math.Min(tileColumns, n - j0);
        int mr = panelRows, nr = panelColumns;
        // full-size blocks, made by the Threads setter for every participant it allows
        float[] packA = packedA[participant]!, packB = packedB[participant]!;
        Span<float> edge = stackalloc float[MaxTile];
        for (int p0 = 0; p0 < k; p0 += BlockDepth)
        {
            int depth = Math.Min(BlockDepth, k - p0);
            bool add = accumulate || p0 > 0;
            PackB(b, p0, depth, j0, columns, packB, nr);
            PackA(a, i0, rows, p0, depth, packA, mr);
            for (int jr = 0; jr < columns; jr += nr)
            {
                ref float bPanel = ref packB[jr * depth];
                int width = Math.Min(nr, columns - jr);
                for (int ir = 0; ir < rows; ir += mr)
                {
                    ref float aPanel = ref packA[ir * depth];
                    int height = Math.Min(mr, rows - ir);
                    int cStart = cOffset + (i0 + ir) * ldc + j0 + jr;
                    if (height == mr && width == nr)
                        RunKernel(ref aPanel, ref bPanel, depth, ref c[cStart], ldc, add);
                    else
                    {
                        // a partial tile: compute all of it into a scratch tile, then add the part that exists
                        RunKernel(ref aPanel, ref bPanel, depth, ref edge[0], nr, false);
                        for (int r = 0; r < height; r++)
                        {
                            Span<float> target = c.AsSpan(cStart + r * ldc, width);
                            ReadOnlySpan<float> source = edge.Slice(r * nr, width);
                            if (add) TensorPrimitives.Add(target, source, target);
                            else source.CopyTo(target);
                        }
                    }
                }
            }
        }
        if (epilogue is not null)
            for (int r = 0; r < rows; r++) epilogue.Apply(i0 + r, j0, c.AsSpan(cOffset + (i0 + r) * ldc + j0, columns));
    }

    /// <summary>
    /// Packs rows [i0, i0 + rows) × depths [p0, p0 + depth) of op(A) into panels of <paramref name="mr"/> rows:
    /// panel q holds <c>op(A)[i0 + mr·q + r, p0 + p]</c> at <c>q·mr·depth + p·mr + r</c>, zero past the last row.
    /// </summary>
    static void PackA(in GemmOperand a, int i0, int rows, int p0, int depth, float[] packed, int mr)
    {
        for (int ir = 0; ir < rows; ir += mr)
        {
            Span<float> panel = packed.AsSpan(ir * depth, mr * depth);
            int height = Math.Min(mr, rows - ir);
            if (height < mr) panel.Clear();
            ref float target = ref panel[0];
            if (a.Transposed)
                for (int p = 0; p < depth; p++)
                {
                    // op(A)[i, p] = data[(p0 + p)·stride + i]: the panel's rows are contiguous here (indexing the last
                    // one checks that all lie inside the array)
                    ref float last = ref a.Data[a.Offset + (p0 + p) * a.Stride + i0 + ir + height - 1];
                    for (int r = 0; r < height; r++) Unsafe.Add(ref target, p * mr + r) = Unsafe.Subtract(ref last, height - 1 - r);
                }
            else
                for (int r = 0; r < height; r++)
                {
                    ReadOnlySpan<float> source = a.Data.AsSpan(a.Offset + (i0 + ir + r) * a.Stride + p0, depth);
                    for (int p = 0; p < source.Length; p++) Unsafe.Add(ref target, p * mr + r) = source[p];
                }
        }
    }

    /// <summary>
    /// Packs depths [p0, p0 + depth) × columns [j0, j0 + columns) of op(B) into panels of <paramref name="nr"/>
    /// columns: panel q holds <c>op(B)[p0 + p, j0 + nr·q + j]</c> at <c>q·nr·depth + p·nr + j</c>, zero past the last column.
    /// </summary>
    static void PackB(in GemmOperand b, int p0, int depth, int j0, int columns, float[] packed, int nr)
    {
        for (int jr = 0; jr < columns; jr += nr)
        {
            Span<float> panel = packed.AsSpan(jr * depth, nr * depth);
            int width = Math.Min(nr, columns - jr);
            if (width < nr) panel.Clear();
            ref float target = ref panel[0];
            if (b.Transposed)
            {
                // op(B)[p, j] = data[j·stride + p]: a column of the panel is contiguous here. Full panels move in 8×8
                // blocks transposed in registers (8 contiguous loads, 8 contiguous stores) instead of one scattered
                // store per value; what is left (a partial panel, the last depth % 8 rows) goes value by value.
                int blocked = width == nr && Avx.IsSupported ? depth & ~7 : 0;
                for (int jb = 0; jb < nr && blocked > 0; jb += 8)
                {
                    // the last element of the block's last source row: indexing it checks that the block lies inside the array
                    ref float source = ref Unsafe.Subtract(ref b.Data[b.Offset + (j0 + jr + jb + 7) * b.Stride + p0 + blocked - 1], 7 * b.Stride + blocked - 1);
                    for (int p = 0; p < blocked; p += 8)
                        Transpose8x8(ref Unsafe.Add(ref source, p), b.Stride, ref Unsafe.Add(ref target, p * nr + jb), nr);
                }
                for (int j = 0; j < width; j++)
                {
                    ReadOnlySpan<float> source = b.Data.AsSpan(b.Offset + (j0 + jr + j) * b.Stride + p0, depth);
                    for (int p = blocked; p < source.Length; p++) Unsafe.Add(ref target, p * nr + j) = source[p];
                }
            }
            else if (width == nr)
                for (int p = 0; p < depth; p++)
                {
                    // a full row of the panel: one 64- or 128-byte copy, which the JIT turns into vector moves (indexing
                    // the last element checks that the row lies inside the array)
                    ref float last = ref b.Data[b.Offset + (p0 + p) * b.Stride + j0 + jr + nr - 1];
                    Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref target, p * nr)),
                        ref Unsafe.As<float, byte>(ref Unsafe.Subtract(ref last, nr - 1)), (uint)(nr * sizeof(float)));
                }
            else
                for (int p = 0; p < depth; p++)
                    b.Data.AsSpan(b.Offset + (p0 + p) * b.Stride + j0 + jr, width).CopyTo(panel.Slice(p * nr, width));
        }
    }

    /// <summary><c>target[m·targetStride + k] = source[k·sourceStride + m]</c> for k, m &lt; 8: eight rows of eight floats
    /// loaded, transposed with unpack/shuffle/permute (AVX), stored as eight rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(ref float source, int sourceStride, ref float target, int targetStride)
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

    static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}

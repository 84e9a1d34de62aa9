using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// Single-precision matrix multiply for the CPU backend's convolution and fully connected layers:
/// <c>C = [C +] op(A)·op(B)</c> with op(A) (M×K), op(B) (K×N) and C (M×N).
/// <para>
/// <see cref="Reference"/> is the definition, three loops. <see cref="Multiply(int, int, int, in GemmOperand, in GemmOperand, float[], int, int, bool, IGemmEpilogue?, int, int)"/>
/// computes the same product the way BLAS libraries do (Goto &amp; van de Geijn, "Anatomy of high-performance matrix
/// multiplication", 2008): op(B) is copied in blocks of <see cref="BlockDepth"/> rows into panels NR wide, op(A) in
/// blocks of <see cref="BlockRows"/> rows into panels MR high, both laid out in the order the micro-kernel reads them
/// (zero-padded at the edges), so the kernel streams through contiguous memory and keeps an MR×NR tile of C in
/// registers for a whole block (see <see cref="GemmKernel"/> for the tiles). The operands need not exist as matrices:
/// a <see cref="GemmSource"/> packs its blocks from wherever its values live (a convolution's input through im2col,
/// its output gradient in (N,C,H,W) order), and a <see cref="GemmTarget"/> takes C's finished tiles (stored in (N,C,H,W)
/// order, or added back into an image by col2im), so a convolution never builds its im2col matrix.
/// </para>
/// <para>
/// Determinism: every element of C is summed in the same order — k ascending inside blocks of
/// <see cref="BlockDepth"/>, each block's partial sum then added to C (or to the tile being summed) — whatever tile it
/// falls in and whatever thread computes it, so the result does not depend on <see cref="Threads"/>. A product with a
/// small C and a very long k (a convolution's weight gradient) is cut along k into parts of <see cref="SplitDepth"/>,
/// a number fixed by k alone, summed separately and then added in order. The kernels differ only in how a product meets
/// the sum: rounded first (<see cref="GemmKernel.Vector256"/> and narrower, the GL shaders' arithmetic) or fused
/// (<see cref="GemmKernel.Vector256Fma"/>, <see cref="GemmKernel.Vector512Fma"/>: one rounding per step). Threads come
/// from <see cref="CpuWorkers.Shared"/>; every participant's packing buffers are made when <see cref="Threads"/> is set
/// (on the caller's thread) and reused, so no multiply allocates (the split sums' buffer grows once).
/// The exception is a single row times a matrix stored by columns (batch-1 <c>LinearForward</c>): one vectorized dot
/// product per output (<c>TensorPrimitives.Dot</c>), whose summation order follows the processor's vector width, so
/// such a row may differ in the last bits from the same row computed in a larger batch, and between processors — still
/// the same for any <see cref="Threads"/>.
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
    /// <summary>Columns of a tile summed into a scratch tile for a <see cref="GemmTarget"/> that is not a plain matrix
    /// (120×256 floats: the tile, the A block and the B block fit a 1 MiB L2 together).</summary>
    public const int ScratchColumns = 256;
    /// <summary>Depth of one part of a product cut along k (see the class remarks).</summary>
    public const int SplitDepth = 16 * BlockDepth;
    /// <summary>Products smaller than this many multiply-adds run on the calling thread only (waking a worker costs
    /// several microseconds).</summary>
    const long ParallelThreshold = 1 << 20;
    /// <summary>A product is cut along k when C has at most this many elements and k is at least two parts long.</summary>
    const int SplitMaxOutputs = 1 << 16;

    /// <summary>Per participant (0 = the calling thread): packed A and B blocks, and the scratch tile.</summary>
    readonly float[]?[] packedA, packedB, scratch;
    /// <summary>The parts of a product cut along k, each (M×N), summed in order after the parts are done.</summary>
    float[] parts = [];

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

    /// <summary>The kernel's register tile width NR: op(B)'s panels are this many columns wide.</summary>
    public int PanelColumns => panelColumns;

    /// <summary>The kernel's register tile height MR: op(A)'s panels are this many rows high.</summary>
    public int PanelRows => panelRows;

    /// <summary>How many threads one multiply may use (the caller plus pool workers), at least 1. Setting it makes the
    /// buffers of that many participants (about 1.3 MB each) if they do not exist yet.</summary>
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
                scratch[p] ??= new float[BlockRows * ScratchColumns];
            }
        }
    }
    int threadCount;

    public Gemm(int threads, GemmKernel? kernel = null)
    {
        int participants = CpuWorkers.Shared.MaxParticipants;
        (packedA, packedB, scratch) = (new float[participants][], new float[participants][], new float[participants][]);
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

    // Wrappers for plain matrices, made once: the struct operands are copied into them, so a call allocates nothing.
    readonly DenseSource denseA = new(), denseB = new();
    readonly DenseTarget denseC = new();

    /// <summary>
    /// <c>C = [C +] op(A)·op(B)</c> (see <see cref="Reference"/>) with op(A) (M×K), op(B) (K×N), and C (M×N) at
    /// <c>c[cOffset + i·ldc + j]</c>, then <paramref name="epilogue"/> on every element (row segments of C, each once,
    /// after its whole sum). With K = 0 this sets C to zero (or leaves it, when accumulating) before the epilogue.
    /// Only C's rows [<paramref name="firstRow"/>, <paramref name="endRow"/>) are computed (all by default), each exactly
    /// as the whole product computes it (see <see cref="Multiply(int, int, int, GemmSource, GemmSource, GemmTarget, int, int)"/>).
    /// </summary>
    public void Multiply(int m, int n, int k, in GemmOperand a, in GemmOperand b, float[] c, int cOffset, int ldc, bool accumulate,
        IGemmEpilogue? epilogue = null, int firstRow = 0, int endRow = int.MaxValue)
    {
        endRow = Math.Min(endRow, m);
        if (firstRow >= endRow || n <= 0) return;
        if (k <= 0 || (m == 1 && b.Transposed))
        {
            for (int i = firstRow; i < endRow; i++)
            {
                Span<float> row = c.AsSpan(cOffset + i * ldc, n);
                if (k <= 0) { if (!accumulate) row.Clear(); }
                else rowByColumns.Run(a, b, k, c, cOffset + i * ldc, n, accumulate, (long)n * k < ParallelThreshold ? 1 : Threads);
                epilogue?.Apply(i, 0, row);
            }
            return;
        }
        denseC.Set(c, cOffset, ldc, accumulate, epilogue);
        Multiply(m, n, k, denseA.Set(a), denseB.Set(b), denseC, firstRow, endRow);
        denseA.Clear();
        denseB.Clear();
        denseC.Clear();
    }

    // The multiply being run: set by Multiply, read by every participant's tasks. Rows [rowBegin, rowEnd) of C are
    // computed, rowCount of them.
    int n, k, rowBegin, rowEnd, rowCount, tileRows, tileColumns, rowTiles, columnTiles, partCount;
    GemmSource? a, b;
    GemmTarget? c;

    /// <summary><c>C [+]= op(A)·op(B)</c> for operands that pack themselves and a target that takes the finished tiles.</summary>
    public void Multiply(int m, int n, int k, GemmSource a, GemmSource b, GemmTarget c) => Multiply(m, n, k, a, b, c, 0, m);

    /// <summary>
    /// Rows [<paramref name="firstRow"/>, <paramref name="endRow"/>) of <c>C [+]= op(A)·op(B)</c> (M×N) only — a work
    /// slice's share of a product: the sources are asked for those rows of op(A), the target gets those rows of C. Each
    /// element is summed exactly as the whole product sums it (the order of a sum never depends on its tile, and whether
    /// k is cut into parts is decided by the whole product's M, N and K), so windows of rows that cover C are the whole
    /// product bit for bit.
    /// </summary>
    public void Multiply(int m, int n, int k, GemmSource a, GemmSource b, GemmTarget c, int firstRow, int endRow)
    {
        if (m <= 0 || n <= 0 || k <= 0) throw new ArgumentOutOfRangeException(nameof(k), "a packed product needs M, N and K above 0");
        if (firstRow < 0 || endRow > m || firstRow >= endRow) throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, {endRow}) of a product of {m} rows");
        (this.n, this.k, this.a, this.b, this.c) = (n, k, a, b, c);
        (rowBegin, rowEnd, rowCount) = (firstRow, endRow, endRow - firstRow);
        int threads = (long)rowCount * n * k < ParallelThreshold ? 1 : Math.Clamp(Threads, 1, CpuWorkers.Shared.MaxParticipants);
        // row tiles of at most BlockRows, as even as whole panels make them (196 rows: 104 + 92, not 120 + 76)
        rowTiles = (rowCount + BlockRows - 1) / BlockRows;
        tileRows = RoundUp((rowCount + rowTiles - 1) / rowTiles, panelRows);
        rowTiles = (rowCount + tileRows - 1) / tileRows;
        partCount = c is DenseTarget && (long)m * n <= SplitMaxOutputs && k >= 2 * SplitDepth ? (k + SplitDepth - 1) / SplitDepth : 1;
        if (partCount > 1)
        {
            // a small C and a long k: the parts of k are the tasks, each summing all of C's rows into its own buffer
            if (parts.Length < partCount * rowCount * n) parts = new float[partCount * rowCount * n];
            CpuWorkers.Shared.Run(this, partCount, threads);
            ((DenseTarget)c).AddParts(parts, partCount, rowBegin, rowCount, n);
        }
        else if (c.OwnsColumns)
        {
            // each task owns whole column groups (images) and sums all their rows, since tiles of different rows may add
            // into the same place of the target
            columnTiles = (n + c.ColumnGroup - 1) / c.ColumnGroup;
            int groupsPerTile = Math.Max(1, ScratchColumns / c.ColumnGroup);
            columnTiles = (columnTiles + groupsPerTile - 1) / groupsPerTile;
            tileColumns = groupsPerTile * c.ColumnGroup;
            CpuWorkers.Shared.Run(this, columnTiles, threads);
        }
        else
        {
            // tiles of at most BlockRows × BlockColumns (ScratchColumns when summed in a scratch tile), as many as it takes
            // to give every thread the same share: columns are split evenly into a multiple of the thread count of tiles
            // when the rows alone do not make enough
            int widest = c is DenseTarget ? BlockColumns : ScratchColumns;
            int columnBlocks = (n + widest - 1) / widest;
            if (rowTiles * columnBlocks % threads != 0 && rowTiles < threads * 4)
                columnBlocks = RoundUp(Math.Max(columnBlocks, (threads + rowTiles - 1) / rowTiles), threads);
            tileColumns = Math.Min(widest, RoundUp((n + columnBlocks - 1) / columnBlocks, panelColumns));
            columnTiles = (n + tileColumns - 1) / tileColumns;
            CpuWorkers.Shared.Run(this, rowTiles * columnTiles, threads);
        }
        this.a = this.b = null;
        this.c = null;
    }

    readonly RowByColumns rowByColumns = new();

    void IParallelWork.Run(int task, int participant)
    {
        float[] tile = scratch[participant]!;
        if (partCount > 1)
        {
            // part `task` of k: all of C's rows, into its own (rows × N) buffer
            int begin = task * SplitDepth, end = Math.Min(k, begin + SplitDepth);
            for (int i0 = rowBegin; i0 < rowEnd; i0 += tileRows)
                for (int j0 = 0; j0 < n; j0 += BlockColumns)
                    SumTile(a!, b!, i0, Math.Min(tileRows, rowEnd - i0), j0, Math.Min(BlockColumns, n - j0), begin, end, parts,
                        (task * rowCount + i0 - rowBegin) * n + j0, n, false, participant);
            return;
        }
        var target = c!;
        if (target.OwnsColumns)
        {
            int first = task * tileColumns, last = Math.Min(n, first + tileColumns);
            for (int j0 = first; j0 < last; j0 += ScratchColumns)
            {
                int columns = Math.Min(ScratchColumns, last - j0);
                for (int i0 = rowBegin; i0 < rowEnd; i0 += tileRows)
                {
                    int rows = Math.Min(tileRows, rowEnd - i0);
                    SumTile(a!, b!, i0, rows, j0, columns, 0, k, tile, 0, columns, false, participant);
                    target.Take(i0, rows, j0, columns, tile, columns);
                }
            }
            return;
        }
        int rowStart = rowBegin + task / columnTiles * tileRows, columnStart = task % columnTiles * tileColumns;
        int tileHeight = Math.Min(tileRows, rowEnd - rowStart), tileWidth = Math.Min(tileColumns, n - columnStart);
        if (target is DenseTarget dense)
        {
            SumTile(a!, b!, rowStart, tileHeight, columnStart, tileWidth, 0, k, dense.Data, dense.Offset + rowStart * dense.Stride + columnStart, dense.Stride, dense.Accumulate, participant);
            dense.Finish(rowStart, tileHeight, columnStart, tileWidth);
        }
        else
        {
            SumTile(a!, b!, rowStart, tileHeight, columnStart, tileWidth, 0, k, tile, 0, tileWidth, false, participant);
            target.Take(rowStart, tileHeight, columnStart, tileWidth, tile, tileWidth);
        }
    }

    /// <summary>
    /// Rows [i0, i0 + rows) × columns [j0, j0 + columns) of C summed over k in [kBegin, kEnd), block by block, into
    /// <c>output[offset + r·stride + j]</c>: set by the first block (added to what is there with <paramref name="accumulate"/>),
    /// then added to.
    /// </summary>
    void SumTile(GemmSource a, GemmSource b, int i0, int rows, int j0, int columns, int kBegin, int kEnd, float[] output, int offset, int stride, bool accumulate, int participant)
    {
        int mr = panelRows, nr = panelColumns;
        // full-size blocks, made by the Threads setter for every participant it allows
        float[] packA = packedA[participant]!, packB = packedB[participant]!;
        Span<float> edge = stackalloc float[MaxTile];
        for (int p0 = kBegin; p0 < kEnd; p0 += BlockDepth)
        {
            int depth = Math.Min(BlockDepth, kEnd - p0);
            bool add = accumulate || p0 > kBegin;
            // op(B)'s panels as the source keeps them (packed weights), else packed now
            float[]? packed = b.PackedColumns(p0, depth, j0, nr, out int bStart);
            if (packed is null) b.PackColumns(p0, depth, j0, columns, packB, nr, participant);
            float[] bPanels = packed ?? packB;
            // op(A)'s panels likewise (an image's pixel panels), else packed now
            float[] aPanels = a.PackedRows(i0, p0, depth, mr, out int aStart) ?? packA;
            if (aPanels == packA) a.PackRows(i0, rows, p0, depth, packA, mr, participant);
            for (int jr = 0; jr < columns; jr += nr)
            {
                ref float bPanel = ref bPanels[bStart + jr * depth];
                int width = Math.Min(nr, columns - jr);
                for (int ir = 0; ir < rows; ir += mr)
                {
                    ref float aPanel = ref aPanels[aStart + ir * depth];
                    int height = Math.Min(mr, rows - ir);
                    int start = offset + ir * stride + jr;
                    if (height == mr && width == nr)
                        RunKernel(ref aPanel, ref bPanel, depth, ref output[start], stride, add);
                    else
                    {
                        // a partial tile: computed into a scratch tile (with FMA, only as many of its rows as hold the rows
                        // that exist: a 7×7 plane's last tile has one), then the part that exists added or copied
                        if (kernel == GemmKernel.Vector512Fma) RunRows512(height, ref aPanel, ref bPanel, depth, ref edge[0], nr, false);
                        else if (kernel == GemmKernel.Vector256Fma) RunRows256(height, ref aPanel, ref bPanel, depth, ref edge[0], nr, false);
                        else RunKernel(ref aPanel, ref bPanel, depth, ref edge[0], nr, false);
                        for (int r = 0; r < height; r++)
                        {
                            Span<float> target = output.AsSpan(start + r * stride, width);
                            ReadOnlySpan<float> source = edge.Slice(r * nr, width);
                            if (add) TensorPrimitives.Add(target, source, target);
                            else source.CopyTo(target);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// <c>C = op(A)·op(B)</c> (M×N at <c>c[offset + i·ldc + j]</c>) on the calling thread alone, with participant
    /// <paramref name="participant"/>'s packing buffers: for a task of a parallel run that computes a product of its own
    /// (each participant its own sources). No epilogue. Every element is summed as <see cref="Multiply(int, int, int, GemmSource, GemmSource, GemmTarget, int, int)"/>
    /// sums it where k is not cut into parts, which k below 2·<see cref="SplitDepth"/> guarantees (required).
    /// </summary>
    public void MultiplyAlone(int m, int n, int k, GemmSource a, GemmSource b, float[] c, int offset, int ldc, int participant)
    {
        if (m <= 0 || n <= 0 || k <= 0 || k >= 2 * SplitDepth) throw new ArgumentOutOfRangeException(nameof(k), $"a product alone needs M, N above 0 and K in [1, {2 * SplitDepth})");
        int height = Math.Min(BlockRows, RoundUp(m, panelRows));
        for (int i0 = 0; i0 < m; i0 += height)
            for (int j0 = 0; j0 < n; j0 += BlockColumns)
                SumTile(a, b, i0, Math.Min(height, m - i0), j0, Math.Min(BlockColumns, n - j0), 0, k, c, offset + i0 * ldc + j0, ldc, false, participant);
    }

    /// <summary><see cref="MultiplyAlone(int, int, int, GemmSource, GemmSource, float[], int, int, int)"/> into a target
    /// that takes C's finished tiles (of at most <see cref="BlockRows"/> × <see cref="ScratchColumns"/>), summed in the
    /// participant's scratch tile: the same sums.</summary>
    public void MultiplyAlone(int m, int n, int k, GemmSource a, GemmSource b, GemmTarget c, int participant)
    {
        if (m <= 0 || n <= 0 || k <= 0 || k >= 2 * SplitDepth) throw new ArgumentOutOfRangeException(nameof(k), $"a product alone needs M, N above 0 and K in [1, {2 * SplitDepth})");
        int height = Math.Min(BlockRows, RoundUp(m, panelRows));
        float[] tile = scratch[participant]!;
        for (int i0 = 0; i0 < m; i0 += height)
            for (int j0 = 0; j0 < n; j0 += ScratchColumns)
            {
                int rows = Math.Min(height, m - i0), columns = Math.Min(ScratchColumns, n - j0);
                SumTile(a, b, i0, rows, j0, columns, 0, k, tile, 0, columns, false, participant);
                c.Take(i0, rows, j0, columns, tile, columns);
            }
    }

    internal static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
/// op(A) or op(B) of a <see cref="Gemm"/> product, which copies its own blocks into the micro-kernel's panel order, so
/// that it need not exist as a matrix. Called from worker threads, for disjoint blocks; an instance is made once and
/// re-aimed before each product.
/// </summary>
internal abstract class GemmSource
{
    // participant: the worker calling (0 = the thread that started the product), for per-thread buffers.

    /// <summary>As op(A): rows [i0, i0 + rows) × depths [p0, p0 + depth) into panels of <paramref name="mr"/> rows:
    /// panel q holds <c>op(A)[i0 + mr·q + r, p0 + p]</c> at <c>q·mr·depth + p·mr + r</c>, zero past the last row.</summary>
    public abstract void PackRows(int i0, int rows, int p0, int depth, float[] packed, int mr, int participant);

    /// <summary>As op(B): depths [p0, p0 + depth) × columns [j0, j0 + columns) into panels of <paramref name="nr"/>
    /// columns: panel q holds <c>op(B)[p0 + p, j0 + nr·q + j]</c> at <c>q·nr·depth + p·nr + j</c>, zero past the last column.</summary>
    public abstract void PackColumns(int p0, int depth, int j0, int columns, float[] packed, int nr, int participant);

    /// <summary>As op(B), where the source keeps its panels packed already (<see cref="PackedWeights"/>): the array that
    /// holds what <see cref="PackColumns"/> would pack for depths [p0, p0 + depth) and columns from j0 on, and where in it
    /// they start; null where the source must pack them.</summary>
    public virtual float[]? PackedColumns(int p0, int depth, int j0, int nr, out int start)
    {
        start = 0;
        return null;
    }

    /// <summary>As op(A), where the source holds its row panels packed already (<see cref="PixelPanelSource"/>): the
    /// array that holds what <see cref="PackRows"/> would pack for rows from <paramref name="i0"/> (a multiple of
    /// <paramref name="mr"/>) and depths [p0, p0 + depth), and where in it they start; null where the source must pack them.</summary>
    public virtual float[]? PackedRows(int i0, int p0, int depth, int mr, out int start)
    {
        start = 0;
        return null;
    }
}

/// <summary>
/// op(A) of a product whose rows are an image's output pixels, packed whole in the micro-kernel's row panels before the
/// product (<see cref="DirectConvolution.PackPixelPanels"/>): block by block of K, each block's panels one after another,
/// so every tile reads them where they lie and none packs A again.
/// </summary>
internal sealed class PixelPanelSource : GemmSource
{
    float[] panels = [];
    int paddedRows, panelRows;

    /// <summary>Aims at <paramref name="packed"/>, packed for <paramref name="paddedRows"/> rows (a multiple of
    /// <paramref name="mr"/>) in panels of <paramref name="mr"/>.</summary>
    public PixelPanelSource Set(float[] packed, int paddedRows, int mr)
    {
        (panels, this.paddedRows, panelRows) = (packed, paddedRows, mr);
        return this;
    }

    public void Clear() => panels = [];

    public override float[]? PackedRows(int i0, int p0, int depth, int mr, out int start)
    {
        if (mr != panelRows || i0 % mr != 0) throw new ArgumentException($"pixel panels are packed {panelRows} rows a panel; asked for {mr} from row {i0}");
        start = p0 * paddedRows + i0 * depth;
        return panels;
    }

    public override void PackRows(int i0, int rows, int p0, int depth, float[] packed, int mr, int participant) =>
        throw new NotSupportedException("pixel panels are packed before the product");

    public override void PackColumns(int p0, int depth, int j0, int columns, float[] packed, int nr, int participant) =>
        throw new NotSupportedException("pixel panels are op(A) only");
}

/// <summary>
/// Where the finished tiles of C go when C is not a plain matrix: <see cref="Take"/> gets each tile once, after its
/// whole sum. Called from worker threads, for disjoint tiles, unless <see cref="OwnsColumns"/>.
/// </summary>
internal abstract class GemmTarget
{
    /// <summary>True when tiles of different rows may write the same place (col2im): then one task takes every row of
    /// its columns, in order, and tasks hold whole groups of <see cref="ColumnGroup"/> columns.</summary>
    public virtual bool OwnsColumns => false;

    /// <summary>Columns that must stay in one task when <see cref="OwnsColumns"/> (the pixels of one image).</summary>
    public virtual int ColumnGroup => 1;

    /// <summary>C's rows [i0, i0 + rows) × columns [j0, j0 + columns), at <c>tile[r·stride + j]</c>.</summary>
    public abstract void Take(int i0, int rows, int j0, int columns, float[] tile, int stride);
}

/// <summary>A plain row-major matrix (<see cref="GemmOperand"/>) as a <see cref="GemmSource"/>; as op(B) = Wᵀ of a weight
/// matrix it may come with W's packed panels, which it then serves instead of packing.</summary>
internal sealed class DenseSource : GemmSource
{
    GemmOperand operand;
    PackedPanels packedWeights;
    int firstPackedRow;

    /// <summary>Aims at <paramref name="value"/>; with <paramref name="packed"/> (the panels of the whole W whose rows
    /// from some row on the transposed operand reads), op(B)'s panels come from there.</summary>
    public DenseSource Set(in GemmOperand value, in PackedPanels packed = default)
    {
        operand = value;
        bool fits = packed.Panels is not null && value.Transposed && value.Stride == packed.Depth && value.Offset % packed.Depth == 0;
        (packedWeights, firstPackedRow) = fits ? (packed, value.Offset / packed.Depth) : (default, 0);
        return this;
    }

    public void Clear() => (operand, packedWeights) = (default, default);

    public override float[]? PackedColumns(int p0, int depth, int j0, int nr, out int start)
    {
        start = packedWeights.PanelColumns == nr ? packedWeights.Start(p0, depth, firstPackedRow + j0) : -1;
        if (start >= 0) return packedWeights.Panels;
        start = 0;
        return null;
    }

    public override void PackRows(int i0, int rows, int p0, int depth, float[] packed, int mr, int participant)
    {
        var a = operand;
        int full = 0;
        if (a.Transposed && mr >= 4 && rows >= mr && Vector128.IsHardwareAccelerated)
        {
            // the full panels of a transposed A (a pointwise layer's input planes, read pixel-major): p outermost, so each
            // source row is read once, front to back, across all the panels (panel by panel, each p's few values would
            // come from another cache line), and each p's mr values move in 128-bit steps (the last one overlapping when
            // mr is not a multiple of 4)
            full = rows / mr * mr;
            ref float origin = ref a.Data[a.Offset + (p0 + depth - 1) * a.Stride + i0 + full - 1]; // checks the last value read
            origin = ref Unsafe.Subtract(ref origin, (depth - 1) * a.Stride + full - 1);
            ref float panels = ref packed[full * depth - 1]; // checks the last value written
            panels = ref Unsafe.Subtract(ref panels, full * depth - 1);
            for (int p = 0; p < depth; p++)
            {
                ref float source = ref Unsafe.Add(ref origin, p * a.Stride);
                for (int ir = 0; ir < full; ir += mr)
                {
                    ref float row = ref Unsafe.Add(ref panels, ir * depth + p * mr);
                    for (int r = 0; r < mr - 4; r += 4) Vector128.LoadUnsafe(ref source, (nuint)(ir + r)).StoreUnsafe(ref row, (nuint)r);
                    Vector128.LoadUnsafe(ref source, (nuint)(ir + mr - 4)).StoreUnsafe(ref row, (nuint)(mr - 4));
                }
            }
        }
        for (int ir = full; ir < rows; ir += mr)
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

    public override void PackColumns(int p0, int depth, int j0, int columns, float[] packed, int nr, int participant)
    {
        var b = operand;
        for (int jr = 0; jr < columns; jr += nr)
        {
            int width = Math.Min(nr, columns - jr);
            if (b.Transposed)
                // op(B)[p, j] = data[j·stride + p]: a column of the panel is contiguous here
                PackTransposedPanel(b.Data, b.Offset + (j0 + jr) * b.Stride + p0, b.Stride, width, depth, packed.AsSpan(jr * depth, nr * depth), nr);
            else if (width == nr)
            {
                ref float target = ref packed[jr * depth];
                _ = packed[jr * depth + depth * nr - 1]; // the whole panel lies inside the array
                bool wide = Vector512.IsHardwareAccelerated && nr % 16 == 0, narrow = !wide && Vector256.IsHardwareAccelerated && nr % 8 == 0;
                for (int p = 0; p < depth; p++)
                {
                    // a full row of the panel, 64 or 128 bytes (indexing the last element checks that the row lies inside
                    // the array): inline 512- or 256-bit moves, since a copy of a size the JIT does not know is a Memmove
                    // call, which measured 4–5 % of MobileNet v2's batch-1 pass (the pointwise GEMMs pack every input row)
                    ref float last = ref b.Data[b.Offset + (p0 + p) * b.Stride + j0 + jr + nr - 1];
                    ref float first = ref Unsafe.Subtract(ref last, nr - 1);
                    ref float row = ref Unsafe.Add(ref target, p * nr);
                    if (wide)
                        for (int j = 0; j < nr; j += 16) Vector512.LoadUnsafe(ref first, (nuint)j).StoreUnsafe(ref row, (nuint)j);
                    else if (narrow)
                        for (int j = 0; j < nr; j += 8) Vector256.LoadUnsafe(ref first, (nuint)j).StoreUnsafe(ref row, (nuint)j);
                    else
                        Unsafe.CopyBlockUnaligned(ref Unsafe.As<float, byte>(ref row), ref Unsafe.As<float, byte>(ref first), (uint)(nr * sizeof(float)));
                }
            }
            else
            {
                Span<float> panel = packed.AsSpan(jr * depth, nr * depth);
                panel.Clear();
                for (int p = 0; p < depth; p++)
                    b.Data.AsSpan(b.Offset + (p0 + p) * b.Stride + j0 + jr, width).CopyTo(panel.Slice(p * nr, width));
            }
        }
    }

    /// <summary>
    /// One B panel from <paramref name="width"/> source rows of <paramref name="depth"/> values each (row j at
    /// <c>source[start + j·stride …]</c>): <c>panel[p·nr + j] = source[start + j·stride + p]</c>, zero past the last row.
    /// Full panels move in 8×8 blocks transposed in registers (8 contiguous loads, 8 contiguous stores) instead of one
    /// scattered store per value; what is left (a partial panel, the last depth % 8 values) goes value by value.
    /// </summary>
    internal static void PackTransposedPanel(float[] source, int start, int stride, int width, int depth, Span<float> panel, int nr)
    {
        if (width < nr) panel.Clear();
        ref float target = ref panel[0];
        int blocked = width == nr && Avx.IsSupported ? depth & ~7 : 0;
        for (int jb = 0; jb < nr && blocked > 0; jb += 8)
        {
            // the last element of the block's last source row: indexing it checks that the block lies inside the array
            ref float first = ref Unsafe.Subtract(ref source[start + (jb + 7) * stride + blocked - 1], 7 * stride + blocked - 1);
            for (int p = 0; p < blocked; p += 8)
                Transpose8x8(ref Unsafe.Add(ref first, p), stride, ref Unsafe.Add(ref target, p * nr + jb), nr);
        }
        for (int j = 0; j < width; j++)
        {
            ReadOnlySpan<float> row = source.AsSpan(start + j * stride, depth);
            for (int p = blocked; p < row.Length; p++) Unsafe.Add(ref target, p * nr + j) = row[p];
        }
    }

    /// <summary><c>target[targetStart + c·targetStride + r] = source[sourceStart + r·sourceStride + c]</c> for r &lt;
    /// <paramref name="rows"/>, c &lt; <paramref name="columns"/>: full 8×8 blocks transposed in registers (AVX), the rest
    /// value by value (a pixel-major result moved into (N,C,H,W) planes).</summary>
    internal static void Transpose(float[] source, int sourceStart, int sourceStride, int rows, int columns, float[] target, int targetStart, int targetStride)
    {
        if (rows <= 0 || columns <= 0) return;
        // every value read and written lies inside the arrays (the blocks below index by reference)
        _ = source.AsSpan(sourceStart, (rows - 1) * sourceStride + columns);
        _ = target.AsSpan(targetStart, (columns - 1) * targetStride + rows);
        int blockedRows = Avx.IsSupported ? rows & ~7 : 0, blockedColumns = Avx.IsSupported ? columns & ~7 : 0;
        ref float from = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(source), sourceStart);
        ref float to = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(target), targetStart);
        for (int c = 0; c < blockedColumns; c += 8)
            for (int r = 0; r < blockedRows; r += 8)
                Transpose8x8(ref Unsafe.Add(ref from, r * sourceStride + c), sourceStride, ref Unsafe.Add(ref to, c * targetStride + r), targetStride);
        for (int c = 0; c < columns; c++)
            for (int r = c < blockedColumns ? blockedRows : 0; r < rows; r++)
                target[targetStart + c * targetStride + r] = source[sourceStart + r * sourceStride + c];
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
}

/// <summary>A plain row-major C at <c>data[offset + i·stride + j]</c>, summed in place (the kernel stores straight into it),
/// with an optional epilogue on each finished tile.</summary>
internal sealed class DenseTarget : GemmTarget
{
    public float[] Data = [];
    public int Offset, Stride;
    public bool Accumulate;
    IGemmEpilogue? epilogue;

    public void Set(float[] data, int offset, int stride, bool accumulate, IGemmEpilogue? epilogue) =>
        (Data, Offset, Stride, Accumulate, this.epilogue) = (data, offset, stride, accumulate, epilogue);

    public void Clear() => (Data, epilogue) = ([], null);

    /// <summary>The epilogue on a tile the kernel has summed in place.</summary>
    public void Finish(int i0, int rows, int j0, int columns)
    {
        if (epilogue is null) return;
        for (int r = 0; r < rows; r++) epilogue.Apply(i0 + r, j0, Data.AsSpan(Offset + (i0 + r) * Stride + j0, columns));
    }

    /// <summary>C's rows [firstRow, firstRow + rows) [+]= the sum of the k-parts, added in order (part 0 first), then the
    /// epilogue; part p holds those rows at <c>parts[(p·rows + i)·n …]</c>.</summary>
    public void AddParts(float[] parts, int count, int firstRow, int rows, int n)
    {
        for (int i = 0; i < rows; i++)
        {
            Span<float> row = Data.AsSpan(Offset + (firstRow + i) * Stride, n);
            for (int part = 0; part < count; part++)
            {
                ReadOnlySpan<float> values = parts.AsSpan((part * rows + i) * n, n);
                if (part == 0 && !Accumulate) values.CopyTo(row);
                else TensorPrimitives.Add(row, values, row);
            }
            epilogue?.Apply(firstRow + i, 0, row);
        }
    }

    public override void Take(int i0, int rows, int j0, int columns, float[] tile, int stride) =>
        throw new InvalidOperationException("a dense C is summed in place");
}

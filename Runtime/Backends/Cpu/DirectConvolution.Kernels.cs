using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>The direct convolution's register tiles: <c>C[r, v] = Σ_k a[r·K + k]·x[offsets[k] + v]</c> for a panel of
/// output channels r and a run of virtual columns v, k ascending with one fused multiply-add per product, whatever the
/// tile, so every tile gives the same bits.</summary>
internal sealed partial class DirectConvolution
{
    // one unrolled kernel per vector width, like Gemm's register tiles (see the note there: merged, they lose their registers)

    /// <summary>8 rows × 32 virtual columns (two 512-bit vectors): <c>C[r, 0..32) = Σ_k a[r·K + k]·x[offsets[k] + 0..32)</c>,
    /// one fused multiply-add per product, k ascending, from zero or, with <paramref name="resume"/>, from what C holds (a
    /// sum over the earlier blocks of K, so that blocks of K chain the same multiply-adds as one pass). Row r of A is <c>min(r, lastRow)·rowStep</c> floats after a (the
    /// rows past the last one repeat it: <paramref name="lastStep"/> = lastRow·rowStep).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel512(ref float a, nint rowStep, nint lastStep, ref float x, ref int offsets, int depth, ref float c, int ldc, bool resume = false)
    {
        nint s1 = Math.Min(rowStep, lastStep), s2 = Math.Min(2 * rowStep, lastStep), s3 = Math.Min(3 * rowStep, lastStep), s4 = Math.Min(4 * rowStep, lastStep);
        nint s5 = Math.Min(5 * rowStep, lastStep), s6 = Math.Min(6 * rowStep, lastStep), s7 = Math.Min(7 * rowStep, lastStep);
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        if (resume)
        {
            ((c00, c01), (c10, c11), (c20, c21), (c30, c31)) = (Row512(ref c, 0), Row512(ref c, ldc), Row512(ref c, 2 * ldc), Row512(ref c, 3 * ldc));
            ((c40, c41), (c50, c51), (c60, c61), (c70, c71)) = (Row512(ref c, 4 * ldc), Row512(ref c, 5 * ldc), Row512(ref c, 6 * ldc), Row512(ref c, 7 * ldc));
        }
        for (int k = 0; k < depth; k++)
        {
            ref float b = ref Unsafe.Add(ref x, Unsafe.Add(ref offsets, k));
            Vector512<float> b0 = Vector512.LoadUnsafe(ref b), b1 = Vector512.LoadUnsafe(ref b, 16);
            Vector512<float> w = Vector512.Create(a);
            c00 = Avx512F.FusedMultiplyAdd(w, b0, c00); c01 = Avx512F.FusedMultiplyAdd(w, b1, c01);
            w = Vector512.Create(Unsafe.Add(ref a, s1));
            c10 = Avx512F.FusedMultiplyAdd(w, b0, c10); c11 = Avx512F.FusedMultiplyAdd(w, b1, c11);
            w = Vector512.Create(Unsafe.Add(ref a, s2));
            c20 = Avx512F.FusedMultiplyAdd(w, b0, c20); c21 = Avx512F.FusedMultiplyAdd(w, b1, c21);
            w = Vector512.Create(Unsafe.Add(ref a, s3));
            c30 = Avx512F.FusedMultiplyAdd(w, b0, c30); c31 = Avx512F.FusedMultiplyAdd(w, b1, c31);
            w = Vector512.Create(Unsafe.Add(ref a, s4));
            c40 = Avx512F.FusedMultiplyAdd(w, b0, c40); c41 = Avx512F.FusedMultiplyAdd(w, b1, c41);
            w = Vector512.Create(Unsafe.Add(ref a, s5));
            c50 = Avx512F.FusedMultiplyAdd(w, b0, c50); c51 = Avx512F.FusedMultiplyAdd(w, b1, c51);
            w = Vector512.Create(Unsafe.Add(ref a, s6));
            c60 = Avx512F.FusedMultiplyAdd(w, b0, c60); c61 = Avx512F.FusedMultiplyAdd(w, b1, c61);
            w = Vector512.Create(Unsafe.Add(ref a, s7));
            c70 = Avx512F.FusedMultiplyAdd(w, b0, c70); c71 = Avx512F.FusedMultiplyAdd(w, b1, c71);
            a = ref Unsafe.Add(ref a, 1);
        }
        Gemm.Store512(ref c, c00, c01, add: false);
        Gemm.Store512(ref Unsafe.Add(ref c, ldc), c10, c11, add: false);
        Gemm.Store512(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, add: false);
        Gemm.Store512(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, add: false);
        Gemm.Store512(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, add: false);
        Gemm.Store512(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, add: false);
        Gemm.Store512(ref Unsafe.Add(ref c, 6 * ldc), c60, c61, add: false);
        Gemm.Store512(ref Unsafe.Add(ref c, 7 * ldc), c70, c71, add: false);
    }

    /// <summary>8 rows × 16 virtual columns (one 512-bit vector): <see cref="Kernel512"/>'s left half, the same sums in the
    /// same order, for a run's last 16 columns or fewer (an 8×8 plane's 78 virtual columns are 80 in tiles of 32 and 16,
    /// not 96).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel8x16(ref float a, nint rowStep, nint lastStep, ref float x, ref int offsets, int depth, ref float c, int ldc, bool resume)
    {
        nint s1 = Math.Min(rowStep, lastStep), s2 = Math.Min(2 * rowStep, lastStep), s3 = Math.Min(3 * rowStep, lastStep), s4 = Math.Min(4 * rowStep, lastStep);
        nint s5 = Math.Min(5 * rowStep, lastStep), s6 = Math.Min(6 * rowStep, lastStep), s7 = Math.Min(7 * rowStep, lastStep);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        if (resume)
        {
            (c0, c1, c2, c3) = (Vector512.LoadUnsafe(ref c), Vector512.LoadUnsafe(ref c, (nuint)ldc), Vector512.LoadUnsafe(ref c, (nuint)(2 * ldc)), Vector512.LoadUnsafe(ref c, (nuint)(3 * ldc)));
            (c4, c5, c6, c7) = (Vector512.LoadUnsafe(ref c, (nuint)(4 * ldc)), Vector512.LoadUnsafe(ref c, (nuint)(5 * ldc)), Vector512.LoadUnsafe(ref c, (nuint)(6 * ldc)), Vector512.LoadUnsafe(ref c, (nuint)(7 * ldc)));
        }
        for (int k = 0; k < depth; k++)
        {
            Vector512<float> b = Vector512.LoadUnsafe(ref Unsafe.Add(ref x, Unsafe.Add(ref offsets, k)));
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a), b, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, s1)), b, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, s2)), b, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, s3)), b, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, s4)), b, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, s5)), b, c5);
            c6 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, s6)), b, c6);
            c7 = Avx512F.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, s7)), b, c7);
            a = ref Unsafe.Add(ref a, 1);
        }
        c0.StoreUnsafe(ref c);
        c1.StoreUnsafe(ref c, (nuint)ldc);
        c2.StoreUnsafe(ref c, (nuint)(2 * ldc));
        c3.StoreUnsafe(ref c, (nuint)(3 * ldc));
        c4.StoreUnsafe(ref c, (nuint)(4 * ldc));
        c5.StoreUnsafe(ref c, (nuint)(5 * ldc));
        c6.StoreUnsafe(ref c, (nuint)(6 * ldc));
        c7.StoreUnsafe(ref c, (nuint)(7 * ldc));
    }

    /// <summary>
    /// AVX2's register tile for a run of <paramref name="rowCount"/> rows (output channels) in blocks of
    /// <paramref name="blockRows"/> output rows: 6 rows × 16 virtual columns or 4 × 24, whichever computes fewer products
    /// that are dropped (a last panel's rows past the run's, a block's columns past its last). Both are 12 accumulators
    /// with 9 or 8 loads per 12 fused multiply-adds and run about as fast per product, so the waste decides: 16 or 32
    /// channels are whole panels of 4 but 18 or 36 rows in panels of 6 (ResNet-20's first two stages, 11 % of their
    /// products dropped), while an 8×8 plane's 78 columns are 80 in tiles of 16 but 96 in tiles of 24.
    /// </summary>
    internal (int Rows, int Columns) NarrowTile(int rowCount, int blockRows)
    {
        int fullBlocks = outputHeight / blockRows, lastRows = outputHeight % blockRows;
        long Work(int tileRows, int tileColumns)
        {
            long columns = fullBlocks * (long)Gemm.RoundUp(ColumnsOf(blockRows), tileColumns);
            if (lastRows > 0) columns += Gemm.RoundUp(ColumnsOf(lastRows), tileColumns);
            return Gemm.RoundUp(rowCount, tileRows) * columns;
        }
        return Work(4, 24) < Work(6, 16) ? (4, 24) : (6, 16);
    }

    /// <summary>6 rows × 16 virtual columns (two 256-bit vectors, FMA3), as <see cref="Kernel512"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel256(ref float a, nint rowStep, nint lastStep, ref float x, ref int offsets, int depth, ref float c, int ldc, bool resume = false)
    {
        nint s1 = Math.Min(rowStep, lastStep), s2 = Math.Min(2 * rowStep, lastStep), s3 = Math.Min(3 * rowStep, lastStep);
        nint s4 = Math.Min(4 * rowStep, lastStep), s5 = Math.Min(5 * rowStep, lastStep);
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        if (resume)
        {
            ((c00, c01), (c10, c11), (c20, c21)) = (Row256(ref c, 0), Row256(ref c, ldc), Row256(ref c, 2 * ldc));
            ((c30, c31), (c40, c41), (c50, c51)) = (Row256(ref c, 3 * ldc), Row256(ref c, 4 * ldc), Row256(ref c, 5 * ldc));
        }
        for (int k = 0; k < depth; k++)
        {
            ref float b = ref Unsafe.Add(ref x, Unsafe.Add(ref offsets, k));
            Vector256<float> b0 = Vector256.LoadUnsafe(ref b), b1 = Vector256.LoadUnsafe(ref b, 8);
            Vector256<float> w = Vector256.Create(a);
            c00 = Fma.MultiplyAdd(w, b0, c00); c01 = Fma.MultiplyAdd(w, b1, c01);
            w = Vector256.Create(Unsafe.Add(ref a, s1));
            c10 = Fma.MultiplyAdd(w, b0, c10); c11 = Fma.MultiplyAdd(w, b1, c11);
            w = Vector256.Create(Unsafe.Add(ref a, s2));
            c20 = Fma.MultiplyAdd(w, b0, c20); c21 = Fma.MultiplyAdd(w, b1, c21);
            w = Vector256.Create(Unsafe.Add(ref a, s3));
            c30 = Fma.MultiplyAdd(w, b0, c30); c31 = Fma.MultiplyAdd(w, b1, c31);
            w = Vector256.Create(Unsafe.Add(ref a, s4));
            c40 = Fma.MultiplyAdd(w, b0, c40); c41 = Fma.MultiplyAdd(w, b1, c41);
            w = Vector256.Create(Unsafe.Add(ref a, s5));
            c50 = Fma.MultiplyAdd(w, b0, c50); c51 = Fma.MultiplyAdd(w, b1, c51);
            a = ref Unsafe.Add(ref a, 1);
        }
        Gemm.Store256(ref c, c00, c01, add: false);
        Gemm.Store256(ref Unsafe.Add(ref c, ldc), c10, c11, add: false);
        Gemm.Store256(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, add: false);
        Gemm.Store256(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, add: false);
        Gemm.Store256(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, add: false);
        Gemm.Store256(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, add: false);
    }

    /// <summary>6 rows × 8 virtual columns (one 256-bit vector, FMA3): <see cref="Kernel256"/>'s left half, the same sums
    /// in the same order, for a run's last 8 columns or fewer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel6x8(ref float a, nint rowStep, nint lastStep, ref float x, ref int offsets, int depth, ref float c, int ldc, bool resume)
    {
        nint s1 = Math.Min(rowStep, lastStep), s2 = Math.Min(2 * rowStep, lastStep), s3 = Math.Min(3 * rowStep, lastStep);
        nint s4 = Math.Min(4 * rowStep, lastStep), s5 = Math.Min(5 * rowStep, lastStep);
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        if (resume)
        {
            (c0, c1, c2) = (Vector256.LoadUnsafe(ref c), Vector256.LoadUnsafe(ref c, (nuint)ldc), Vector256.LoadUnsafe(ref c, (nuint)(2 * ldc)));
            (c3, c4, c5) = (Vector256.LoadUnsafe(ref c, (nuint)(3 * ldc)), Vector256.LoadUnsafe(ref c, (nuint)(4 * ldc)), Vector256.LoadUnsafe(ref c, (nuint)(5 * ldc)));
        }
        for (int k = 0; k < depth; k++)
        {
            Vector256<float> b = Vector256.LoadUnsafe(ref Unsafe.Add(ref x, Unsafe.Add(ref offsets, k)));
            c0 = Fma.MultiplyAdd(Vector256.Create(a), b, c0);
            c1 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a, s1)), b, c1);
            c2 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a, s2)), b, c2);
            c3 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a, s3)), b, c3);
            c4 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a, s4)), b, c4);
            c5 = Fma.MultiplyAdd(Vector256.Create(Unsafe.Add(ref a, s5)), b, c5);
            a = ref Unsafe.Add(ref a, 1);
        }
        c0.StoreUnsafe(ref c);
        c1.StoreUnsafe(ref c, (nuint)ldc);
        c2.StoreUnsafe(ref c, (nuint)(2 * ldc));
        c3.StoreUnsafe(ref c, (nuint)(3 * ldc));
        c4.StoreUnsafe(ref c, (nuint)(4 * ldc));
        c5.StoreUnsafe(ref c, (nuint)(5 * ldc));
    }

    /// <summary>4 rows × 24 virtual columns (three 256-bit vectors, FMA3), as <see cref="Kernel512"/>: the same sums, in the
    /// same order, as <see cref="Kernel256"/>'s tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel4x24(ref float a, nint rowStep, nint lastStep, ref float x, ref int offsets, int depth, ref float c, int ldc, bool resume)
    {
        nint s1 = Math.Min(rowStep, lastStep), s2 = Math.Min(2 * rowStep, lastStep), s3 = Math.Min(3 * rowStep, lastStep);
        Vector256<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        if (resume)
        {
            ((c00, c01, c02), (c10, c11, c12)) = (Row3(ref c, 0), Row3(ref c, ldc));
            ((c20, c21, c22), (c30, c31, c32)) = (Row3(ref c, 2 * ldc), Row3(ref c, 3 * ldc));
        }
        for (int k = 0; k < depth; k++)
        {
            ref float b = ref Unsafe.Add(ref x, Unsafe.Add(ref offsets, k));
            Vector256<float> b0 = Vector256.LoadUnsafe(ref b), b1 = Vector256.LoadUnsafe(ref b, 8), b2 = Vector256.LoadUnsafe(ref b, 16);
            Vector256<float> w = Vector256.Create(a);
            c00 = Fma.MultiplyAdd(w, b0, c00); c01 = Fma.MultiplyAdd(w, b1, c01); c02 = Fma.MultiplyAdd(w, b2, c02);
            w = Vector256.Create(Unsafe.Add(ref a, s1));
            c10 = Fma.MultiplyAdd(w, b0, c10); c11 = Fma.MultiplyAdd(w, b1, c11); c12 = Fma.MultiplyAdd(w, b2, c12);
            w = Vector256.Create(Unsafe.Add(ref a, s2));
            c20 = Fma.MultiplyAdd(w, b0, c20); c21 = Fma.MultiplyAdd(w, b1, c21); c22 = Fma.MultiplyAdd(w, b2, c22);
            w = Vector256.Create(Unsafe.Add(ref a, s3));
            c30 = Fma.MultiplyAdd(w, b0, c30); c31 = Fma.MultiplyAdd(w, b1, c31); c32 = Fma.MultiplyAdd(w, b2, c32);
            a = ref Unsafe.Add(ref a, 1);
        }
        Store3(ref c, c00, c01, c02);
        Store3(ref Unsafe.Add(ref c, ldc), c10, c11, c12);
        Store3(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, c22);
        Store3(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, c32);
    }

    // a resumed tile's row of sums, read back into its accumulators
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<float>, Vector512<float>) Row512(ref float c, nint offset) =>
        (Vector512.LoadUnsafe(ref Unsafe.Add(ref c, offset)), Vector512.LoadUnsafe(ref Unsafe.Add(ref c, offset), 16));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float>, Vector256<float>) Row256(ref float c, nint offset) =>
        (Vector256.LoadUnsafe(ref Unsafe.Add(ref c, offset)), Vector256.LoadUnsafe(ref Unsafe.Add(ref c, offset), 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float>, Vector256<float>, Vector256<float>) Row3(ref float c, nint offset) =>
        (Vector256.LoadUnsafe(ref Unsafe.Add(ref c, offset)), Vector256.LoadUnsafe(ref Unsafe.Add(ref c, offset), 8), Vector256.LoadUnsafe(ref Unsafe.Add(ref c, offset), 16));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store3(ref float row, Vector256<float> left, Vector256<float> middle, Vector256<float> right)
    {
        left.StoreUnsafe(ref row);
        middle.StoreUnsafe(ref row, 8);
        right.StoreUnsafe(ref row, 16);
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>The micro-kernels <see cref="Gemm"/> can run, each an MR×NR tile of C kept in registers. The fastest one
/// the processor supports is the default; <see cref="CpuArithmetic.Reference"/> picks the widest one that rounds every
/// product. Tests run every supported one against <see cref="Gemm.Reference"/>.</summary>
internal enum GemmKernel
{
    /// <summary>6×16 in plain loops: any processor. Products rounded.</summary>
    Scalar,
    /// <summary>6 rows × four 128-bit vectors (SSE, NEON). Products rounded.</summary>
    Vector128,
    /// <summary>6 rows × two 256-bit vectors (AVX). Products rounded before they are added, as the GL shaders do.</summary>
    Vector256,
    /// <summary>6 rows × two 256-bit vectors with fused multiply-add (AVX2 + FMA3: x64 since Haswell and Zen).</summary>
    Vector256Fma,
    /// <summary>8 rows × two 512-bit vectors with fused multiply-add (AVX-512F: 16 accumulators of 16 floats).</summary>
    Vector512Fma,
}

internal sealed partial class Gemm
{
    /// <summary>Floats in the largest register tile (8×32), the size of the scratch tile for partial tiles.</summary>
    const int MaxTile = 8 * 32;

    /// <summary>The fastest supported kernel.</summary>
    public static GemmKernel FastestKernel =>
        IsSupported(GemmKernel.Vector512Fma) ? GemmKernel.Vector512Fma
        : IsSupported(GemmKernel.Vector256Fma) ? GemmKernel.Vector256Fma
        : ReferenceKernel;

    /// <summary>The fastest supported kernel that rounds every product before adding it (the GL backend's arithmetic).</summary>
    public static GemmKernel ReferenceKernel =>
        IsSupported(GemmKernel.Vector256) ? GemmKernel.Vector256
        : IsSupported(GemmKernel.Vector128) ? GemmKernel.Vector128
        : GemmKernel.Scalar;

    public static bool IsSupported(GemmKernel kernel) => kernel switch
    {
        GemmKernel.Vector512Fma => Avx512F.IsSupported && Vector512.IsHardwareAccelerated,
        GemmKernel.Vector256Fma => Fma.IsSupported && Avx2.IsSupported && Vector256.IsHardwareAccelerated,
        GemmKernel.Vector256 => Avx.IsSupported && Vector256.IsHardwareAccelerated,
        GemmKernel.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };

    /// <summary>The kernel's register tile: MR rows by NR columns.</summary>
    static (int Rows, int Columns) TileOf(GemmKernel kernel) => kernel == GemmKernel.Vector512Fma ? (8, 32) : (6, 16);

    void RunKernel(ref float aPanel, ref float bPanel, int depth, ref float c, int ldc, bool add)
    {
        switch (kernel)
        {
            case GemmKernel.Vector512Fma: KernelRows512<EightRows>(ref aPanel, ref bPanel, depth, ref c, ldc, add); break;
            case GemmKernel.Vector256Fma: KernelVector256<FusedProducts>(ref aPanel, ref bPanel, depth, ref c, ldc, add); break;
            case GemmKernel.Vector256: KernelVector256<RoundedProducts>(ref aPanel, ref bPanel, depth, ref c, ldc, add); break;
            case GemmKernel.Vector128: KernelVector128(ref aPanel, ref bPanel, depth, ref c, ldc, add); break;
            default: KernelScalar(ref aPanel, ref bPanel, depth, ref c, ldc, add); break;
        }
    }

    /// <summary>How a 256-bit kernel adds a product to its sum: <c>c + a·b</c> rounded once (fused) or twice.</summary>
    internal interface IMultiplyAdd
    {
        static abstract Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> c);
    }

    /// <summary><c>round(round(a·b) + c)</c>: the GL shaders' arithmetic on llvmpipe.</summary>
    internal readonly struct RoundedProducts : IMultiplyAdd
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> c) => c + a * b;
    }

    /// <summary><c>round(a·b + c)</c> (FMA3).</summary>
    internal readonly struct FusedProducts : IMultiplyAdd
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.MultiplyAdd(a, b, c);
    }

    // The register tiles stay one unrolled method per vector width (here and in DirectConvolution): each keeps its 12–16
    // accumulators in named locals, which the JIT holds in registers; a loop over an array of vectors or a generic width
    // (no ISimdVector in .NET 8) spills them to memory and loses most of the speed.

    /// <summary>How many rows of the 512-bit tile <see cref="KernelRows512{TRows}"/> computes: one type a count, so that the
    /// JIT compiles each count with just its accumulators (and the full tile, <see cref="EightRows"/>, with all 16).</summary>
    internal interface IRowCount
    {
        static abstract int Count { get; }
    }
    internal readonly struct OneRow : IRowCount { public static int Count => 1; }
    internal readonly struct TwoRows : IRowCount { public static int Count => 2; }
    internal readonly struct FourRows : IRowCount { public static int Count => 4; }
    internal readonly struct FiveRows : IRowCount { public static int Count => 5; }
    internal readonly struct SixRows : IRowCount { public static int Count => 6; }
    internal readonly struct EightRows : IRowCount { public static int Count => 8; }

    /// <summary>
    /// The register tile with 512-bit vectors and FMA, its first <c>TRows.Count</c> rows:
    /// <c>C[r, 0..32) [+]= Σ_p a[p·8 + r]·b[p·32 + 0..32)</c> for r &lt; Count (A's panels are 8 rows whatever the count),
    /// up to sixteen 16-float accumulators, one broadcast of A per row and two loads of B per step of p (16 FMAs for 10
    /// loads at 8 rows, which keeps both FMA pipes of a Zen 4/5 or Skylake-X core busy). Fewer rows serve a partial tile
    /// (a 7×7 plane's 49 pixels are 6 tiles and one row) at the cost of its rows only; each row is the same chain of
    /// fused multiply-adds whatever the count, so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelRows512<TRows>(ref float a, ref float b, int depth, ref float c, int ldc, bool add) where TRows : struct, IRowCount
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < depth; p++)
        {
            Vector512<float> b0 = Vector512.LoadUnsafe(ref b), b1 = Vector512.LoadUnsafe(ref b, 16);
            Vector512<float> x = Vector512.Create(a);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            if (TRows.Count > 1)
            {
                x = Vector512.Create(Unsafe.Add(ref a, 1));
                c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            }
            if (TRows.Count > 2)
            {
                x = Vector512.Create(Unsafe.Add(ref a, 2));
                c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
                x = Vector512.Create(Unsafe.Add(ref a, 3));
                c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            }
            if (TRows.Count > 4)
            {
                x = Vector512.Create(Unsafe.Add(ref a, 4));
                c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
                x = Vector512.Create(Unsafe.Add(ref a, 5));
                c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            }
            if (TRows.Count > 6)
            {
                x = Vector512.Create(Unsafe.Add(ref a, 6));
                c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
                x = Vector512.Create(Unsafe.Add(ref a, 7));
                c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
            }
            a = ref Unsafe.Add(ref a, 8);
            b = ref Unsafe.Add(ref b, 32);
        }
        Store512(ref c, c00, c01, add);
        if (TRows.Count > 1) Store512(ref Unsafe.Add(ref c, ldc), c10, c11, add);
        if (TRows.Count > 2)
        {
            Store512(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, add);
            Store512(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, add);
        }
        if (TRows.Count > 4)
        {
            Store512(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, add);
            Store512(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, add);
        }
        if (TRows.Count > 6)
        {
            Store512(ref Unsafe.Add(ref c, 6 * ldc), c60, c61, add);
            Store512(ref Unsafe.Add(ref c, 7 * ldc), c70, c71, add);
        }
    }

    /// <summary>Rows [0, <paramref name="rows"/>) of the AVX-512 tile by the smallest <see cref="KernelRows512{TRows}"/>
    /// that holds them (rows it computes past <paramref name="rows"/> land in <paramref name="c"/>'s rows there, which
    /// the caller provides).</summary>
    static void RunRows512(int rows, ref float aPanel, ref float bPanel, int depth, ref float c, int ldc, bool add)
    {
        if (rows == 1) KernelRows512<OneRow>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
        else if (rows == 2) KernelRows512<TwoRows>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
        else if (rows <= 4) KernelRows512<FourRows>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
        else if (rows <= 6) KernelRows512<SixRows>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
        else KernelRows512<EightRows>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
    }

    /// <summary>Stores a register tile's row of two vectors, added to what is there with <paramref name="add"/> (also the
    /// direct convolution's kernels' store).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store512(ref float row, Vector512<float> left, Vector512<float> right, bool add)
    {
        if (add)
        {
            left += Vector512.LoadUnsafe(ref row);
            right += Vector512.LoadUnsafe(ref row, 16);
        }
        left.StoreUnsafe(ref row);
        right.StoreUnsafe(ref row, 16);
    }

    /// <summary>
    /// The register tile with 256-bit vectors: <c>C[r, 0..16) [+]= Σ_p a[p·6 + r]·b[p·16 + 0..16)</c> for r &lt; 6,
    /// twelve 8-float accumulators, one broadcast of A and two loads of B per step of p. <typeparamref name="TMultiplyAdd"/>
    /// says whether each product is rounded before it is added (<see cref="RoundedProducts"/>, the GL shaders' arithmetic
    /// on llvmpipe) or fused into the sum (<see cref="FusedProducts"/>); the JIT compiles one loop for each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelVector256<TMultiplyAdd>(ref float a, ref float b, int depth, ref float c, int ldc, bool add)
        where TMultiplyAdd : struct, IMultiplyAdd
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < depth; p++)
        {
            Vector256<float> b0 = Vector256.LoadUnsafe(ref b), b1 = Vector256.LoadUnsafe(ref b, 8);
            Vector256<float> x = Vector256.Create(a);
            c00 = TMultiplyAdd.Apply(x, b0, c00); c01 = TMultiplyAdd.Apply(x, b1, c01);
            x = Vector256.Create(Unsafe.Add(ref a, 1));
            c10 = TMultiplyAdd.Apply(x, b0, c10); c11 = TMultiplyAdd.Apply(x, b1, c11);
            x = Vector256.Create(Unsafe.Add(ref a, 2));
            c20 = TMultiplyAdd.Apply(x, b0, c20); c21 = TMultiplyAdd.Apply(x, b1, c21);
            x = Vector256.Create(Unsafe.Add(ref a, 3));
            c30 = TMultiplyAdd.Apply(x, b0, c30); c31 = TMultiplyAdd.Apply(x, b1, c31);
            x = Vector256.Create(Unsafe.Add(ref a, 4));
            c40 = TMultiplyAdd.Apply(x, b0, c40); c41 = TMultiplyAdd.Apply(x, b1, c41);
            x = Vector256.Create(Unsafe.Add(ref a, 5));
            c50 = TMultiplyAdd.Apply(x, b0, c50); c51 = TMultiplyAdd.Apply(x, b1, c51);
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 16);
        }
        Store256(ref c, c00, c01, add);
        Store256(ref Unsafe.Add(ref c, ldc), c10, c11, add);
        Store256(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, add);
        Store256(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, add);
        Store256(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, add);
        Store256(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, add);
    }

    /// <summary>
    /// The AVX2 tile's first <c>TRows.Count</c> rows for a partial tile (A's panels are 6 rows whatever the count): up to
    /// twelve 8-float accumulators, as <see cref="KernelVector256{T}"/> with fused products, each row the same chain of fused
    /// multiply-adds, so the same bits as that row in a whole tile. A 7×7 plane's 49 pixels are 8 whole tiles and a row,
    /// which the whole tile computed as six (10 % of such a layer's products).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelRows256<TRows>(ref float a, ref float b, int depth, ref float c, int ldc, bool add) where TRows : struct, IRowCount
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default;
        for (int p = 0; p < depth; p++)
        {
            Vector256<float> b0 = Vector256.LoadUnsafe(ref b), b1 = Vector256.LoadUnsafe(ref b, 8);
            Vector256<float> x = Vector256.Create(a);
            c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            if (TRows.Count > 1)
            {
                x = Vector256.Create(Unsafe.Add(ref a, 1));
                c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            }
            if (TRows.Count > 2)
            {
                x = Vector256.Create(Unsafe.Add(ref a, 2));
                c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
                x = Vector256.Create(Unsafe.Add(ref a, 3));
                c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            }
            if (TRows.Count > 4)
            {
                x = Vector256.Create(Unsafe.Add(ref a, 4));
                c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            }
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 16);
        }
        Store256(ref c, c00, c01, add);
        if (TRows.Count > 1) Store256(ref Unsafe.Add(ref c, ldc), c10, c11, add);
        if (TRows.Count > 2)
        {
            Store256(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, add);
            Store256(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, add);
        }
        if (TRows.Count > 4) Store256(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, add);
    }

    /// <summary>Rows [0, <paramref name="rows"/>) of the AVX2 fused tile, as <see cref="RunRows512"/>.</summary>
    static void RunRows256(int rows, ref float aPanel, ref float bPanel, int depth, ref float c, int ldc, bool add)
    {
        if (rows == 1) KernelRows256<OneRow>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
        else if (rows == 2) KernelRows256<TwoRows>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
        else if (rows <= 4) KernelRows256<FourRows>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
        else if (rows == 5) KernelRows256<FiveRows>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
        else KernelVector256<FusedProducts>(ref aPanel, ref bPanel, depth, ref c, ldc, add);
    }

    /// <summary>The 256-bit <see cref="Store512"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store256(ref float row, Vector256<float> left, Vector256<float> right, bool add)
    {
        if (add)
        {
            left += Vector256.LoadUnsafe(ref row);
            right += Vector256.LoadUnsafe(ref row, 8);
        }
        left.StoreUnsafe(ref row);
        right.StoreUnsafe(ref row, 8);
    }

    /// <summary>The 6×16 tile with 128-bit vectors (the same sums as <see cref="KernelVector256{T}"/> with rounded
    /// products, 24 accumulators of 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KernelVector128(ref float a, ref float b, int depth, ref float c, int ldc, bool add)
    {
        Span<Vector128<float>> sums = stackalloc Vector128<float>[6 * 4];
        sums.Clear();
        for (int p = 0; p < depth; p++)
        {
            Vector128<float> b0 = Vector128.LoadUnsafe(ref b), b1 = Vector128.LoadUnsafe(ref b, 4);
            Vector128<float> b2 = Vector128.LoadUnsafe(ref b, 8), b3 = Vector128.LoadUnsafe(ref b, 12);
            for (int r = 0; r < 6; r++)
            {
                Vector128<float> x = Vector128.Create(Unsafe.Add(ref a, r));
                sums[4 * r] += x * b0;
                sums[4 * r + 1] += x * b1;
                sums[4 * r + 2] += x * b2;
                sums[4 * r + 3] += x * b3;
            }
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 16);
        }
        for (int r = 0; r < 6; r++)
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

    /// <summary>The 6×16 tile in plain loops (any processor): <c>C[r,j] [+]= Σ_p a[p·6 + r]·b[p·16 + j]</c>.</summary>
    static void KernelScalar(ref float a, ref float b, int depth, ref float c, int ldc, bool add)
    {
        Span<float> sums = stackalloc float[6 * 16];
        sums.Clear();
        for (int p = 0; p < depth; p++)
            for (int r = 0; r < 6; r++)
            {
                float x = Unsafe.Add(ref a, p * 6 + r);
                for (int j = 0; j < 16; j++)
                    sums[r * 16 + j] += x * Unsafe.Add(ref b, p * 16 + j);
            }
        for (int r = 0; r < 6; r++)
            for (int j = 0; j < 16; j++)
            {
                ref float target = ref Unsafe.Add(ref c, r * ldc + j);
                target = add ? target + sums[r * 16 + j] : sums[r * 16 + j];
            }
    }
}

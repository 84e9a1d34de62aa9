using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// A convolution's weight gradient when the weights are few (O·K up to <see cref="MaxOutputs"/>) and the sum is long
/// (N·V virtual columns): <c>dW[o, k] += Σ_v dY[o, v]·X[k, v]</c>, with dY the output gradient in virtual columns
/// (zeros in the dropped ones) and X's rows read in place from a <see cref="DirectConvolution"/>'s phase planes. Each dW
/// element is a dot product of two long rows, so instead of packing both for a GEMM whose C is tiny, blocks of 4 rows of
/// dY and 6 rows of X are multiplied in registers (24 accumulators of 16 lanes, 10 loads per 24 fused multiply-adds); with
/// AVX2, which has 16 vector registers, not 32, blocks of 4 rows and 3 taps (12 accumulators of 8 lanes, 7 loads per 12:
/// a task's 16 rows are four whole blocks and a 3×3 kernel's taps whole blocks of 3, where blocks of 3 rows computed 18
/// rows, 2 of them dropped).
/// Each image's columns are padded to a multiple of 16 (<see cref="ImageColumns"/>, zeros in dY), so no loop has a tail.
/// <para>The sum is cut into parts of whole images, about <see cref="PartLength"/> columns each — a number fixed by the
/// sizes, not by the thread count — summed separately (lanes, then the horizontal sum) and added to dW in part order, so
/// the result does not depend on <see cref="CpuBackend.Threads"/>. A task is one part's sums for a group of
/// <see cref="RowGroup"/> rows (rows are independent sums, so how they are grouped changes no bits); a block's 24
/// accumulators stay in registers across all the part's images. AVX-512 or AVX2 with FMA (the two widths sum in different
/// orders, so their bits differ; on one processor they are fixed); elsewhere the weight gradient goes through
/// <see cref="Gemm"/>. (AVX-512 only until the AVX2 blocks: on a processor without it, the GEMM's packing and kernel
/// took 18 % of a ResNet-20 training step.)</para>
/// </summary>
internal sealed class WeightGradient : IParallelWork
{
    /// <summary>Columns per part of the sum, at least one image: a block of 4 + 6 rows of a part (80 KiB) stays in L2.</summary>
    public const int PartLength = 2048;
    /// <summary>Largest O·K this runs for (the parts' sums are O·K floats each).</summary>
    public const int MaxOutputs = 1 << 16;
    /// <summary>Rows of dW per task: small layers with few parts (8×8 planes: 3 parts of 64 images) still make enough
    /// tasks for every thread, and a task's rows of dY for one part (128 KiB) stay in L2 while its taps sweep them.</summary>
    public const int RowGroup = 16;
    /// <summary>Whether the blocks are AVX-512's 4 × 6 (else AVX2's 4 × 3).</summary>
    static readonly bool Wide = Avx512F.IsSupported && Vector512.IsHardwareAccelerated;
    const int BlockRows = 4;
    static readonly int BlockTaps = Wide ? 6 : 3;

    public static bool IsSupported => Wide || (Fma.IsSupported && Vector256.IsHardwareAccelerated);

    float[] gradient = [], parts = [];
    DirectConvolution? planes;
    int rows, taps, images, imageColumns, imagesPerPart, partCount, rowGroups;

    /// <summary>Columns of one image in dY: the virtual columns rounded up to 16, the extra ones 0 like the dropped ones.</summary>
    public static int ImageColumns(DirectConvolution built) => Gemm.RoundUp(built.VirtualColumns, 16);

    /// <summary>Adds <c>dY (rows × N·V') · Xᵀ</c> to <c>dw[dwOffset + o·K + k]</c>. <paramref name="outputGradient"/> is dY: row o
    /// at <c>o·N·V'</c>, image n's columns from <c>n·V'</c>, V' = <see cref="ImageColumns"/>; <paramref name="built"/> holds X
    /// (its last Build, of <paramref name="imageCount"/> images).</summary>
    public void Run(float[] outputGradient, int rowCount, DirectConvolution built, int imageCount, float[] dw, int dwOffset, int threads)
    {
        (gradient, planes, rows, taps, images, imageColumns) = (outputGradient, built, rowCount, built.Depth, imageCount, ImageColumns(built));
        imagesPerPart = Math.Max(1, PartLength / imageColumns);
        partCount = (images + imagesPerPart - 1) / imagesPerPart;
        if (parts.Length < partCount * rows * taps) parts = new float[partCount * rows * taps];
        rowGroups = (rows + RowGroup - 1) / RowGroup;
        CpuWorkers.Shared.Run(this, partCount * rowGroups, (long)rows * taps * images * imageColumns >= 1 << 20 ? threads : 1);
        for (int o = 0; o < rows; o++)
        {
            Span<float> target = dw.AsSpan(dwOffset + o * taps, taps);
            for (int part = 0; part < partCount; part++) TensorPrimitives.Add(target, parts.AsSpan((part * rows + o) * taps, taps), target);
        }
        (gradient, planes) = ([], null);
    }

    void IParallelWork.Run(int task, int participant)
    {
        var source = planes!;
        int part = task / rowGroups, firstRow = task % rowGroups * RowGroup, endRow = Math.Min(rows, firstRow + RowGroup);
        int first = part * imagesPerPart, count = Math.Min(images, first + imagesPerPart) - first;
        Span<float> sums = parts.AsSpan(part * rows * taps, rows * taps);
        Span<float> blockSums = stackalloc float[BlockRows * BlockTaps];
        for (int k0 = 0; k0 < taps; k0 += BlockTaps)
            for (int o0 = firstRow; o0 < endRow; o0 += BlockRows)
            {
                int height = Math.Min(BlockRows, endRow - o0), width = Math.Min(BlockTaps, taps - k0);
                Block(source, first, count, o0, height - 1, k0, width - 1, blockSums, sums, taps);
            }
    }

    /// <summary>
    /// <c>sums[(o0 + r)·K + k0 + t] = Σ_v dY[o0 + r, v]·X[k0 + t, v]</c> over the columns of images [first, first + count),
    /// for r ≤ <paramref name="lastRow"/> and t ≤ <paramref name="lastTap"/>; rows and taps past those repeat the last
    /// (summed and dropped), so every read is in bounds.
    /// </summary>
    void Block(DirectConvolution source, int first, int count, int o0, int lastRow, int k0, int lastTap, Span<float> blockSums,
        Span<float> sums, int stride)
    {
        int[] offsets = source.Offsets;
        nint rowStride = (nint)images * imageColumns;
        nint t1 = offsets[k0 + Math.Min(1, lastTap)] - offsets[k0], t2 = offsets[k0 + Math.Min(2, lastTap)] - offsets[k0];
        nint t3 = offsets[k0 + Math.Min(3, lastTap)] - offsets[k0], t4 = offsets[k0 + Math.Min(4, lastTap)] - offsets[k0];
        nint t5 = offsets[k0 + Math.Min(5, lastTap)] - offsets[k0];
        nint r1 = Math.Min(1, lastRow) * rowStride, r2 = Math.Min(2, lastRow) * rowStride, r3 = Math.Min(3, lastRow) * rowStride;
        // the images' dY columns follow each other in a row; their X rows (the taps' offsets into each image's planes)
        // are SampleSize apart. Indexing the last element read of the first and last images checks that all lie inside
        // the arrays (offsets only grow with the image).
        int last = first + count - 1;
        nint farthest = Math.Max(Math.Max(t1, t2), Math.Max(Math.Max(t3, t4), t5)) + imageColumns - 1;
        _ = source.Planes[(nint)last * source.SampleSize + offsets[k0] + farthest];
        _ = gradient[o0 * rowStride + r3 + (nint)last * imageColumns + imageColumns - 1];
        ref float x = ref source.Planes[first * source.SampleSize + offsets[k0]];
        ref float d = ref gradient[o0 * rowStride + (nint)first * imageColumns];
        if (Wide) Dot4x6(ref d, r1, r2, r3, ref x, t1, t2, t3, t4, t5, (nuint)imageColumns, count, source.SampleSize, blockSums);
        else Dot4x3(ref d, r1, r2, r3, ref x, t1, t2, (nuint)imageColumns, count, source.SampleSize, blockSums);
        for (int r = 0; r <= lastRow; r++)
            for (int t = 0; t <= lastTap; t++) sums[(o0 + r) * stride + k0 + t] = blockSums[r * BlockTaps + t];
    }

    /// <summary><c>acc[r·6 + t] = Σ_n Σ_i d[rᵣ + n·C + i]·x[tₜ + n·S + i]</c> for <paramref name="imageCount"/> images n and
    /// i &lt; C = <paramref name="columns"/> (a multiple of 16), 16 lanes at a time: rows of d at offsets 0, r1, r2, r3 (an image's
    /// columns follow the previous one's), rows of x at 0, t1 … t5 from each image's start S = <paramref name="imageStride"/>
    /// apart; the 24 accumulators stay in registers for all the images, and their lane sums go to
    /// <paramref name="sums"/>[r·6 + t].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dot4x6(ref float d, nint r1, nint r2, nint r3, ref float x, nint t1, nint t2, nint t3, nint t4, nint t5, nuint columns,
        int imageCount, int imageStride, Span<float> sums)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a24 = default, a25 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default, a34 = default, a35 = default;
        for (int n = 0; n < imageCount; n++)
        {
            ref float d1 = ref Unsafe.Add(ref d, r1), d2 = ref Unsafe.Add(ref d, r2), d3 = ref Unsafe.Add(ref d, r3);
            ref float x1 = ref Unsafe.Add(ref x, t1), x2 = ref Unsafe.Add(ref x, t2), x3 = ref Unsafe.Add(ref x, t3), x4 = ref Unsafe.Add(ref x, t4), x5 = ref Unsafe.Add(ref x, t5);
            for (nuint i = 0; i < columns; i += 16)
            {
                Vector512<float> y0 = Vector512.LoadUnsafe(ref d, i), y1 = Vector512.LoadUnsafe(ref d1, i), y2 = Vector512.LoadUnsafe(ref d2, i), y3 = Vector512.LoadUnsafe(ref d3, i);
                Vector512<float> p = Vector512.LoadUnsafe(ref x, i);
                a00 = Avx512F.FusedMultiplyAdd(y0, p, a00); a10 = Avx512F.FusedMultiplyAdd(y1, p, a10); a20 = Avx512F.FusedMultiplyAdd(y2, p, a20); a30 = Avx512F.FusedMultiplyAdd(y3, p, a30);
                p = Vector512.LoadUnsafe(ref x1, i);
                a01 = Avx512F.FusedMultiplyAdd(y0, p, a01); a11 = Avx512F.FusedMultiplyAdd(y1, p, a11); a21 = Avx512F.FusedMultiplyAdd(y2, p, a21); a31 = Avx512F.FusedMultiplyAdd(y3, p, a31);
                p = Vector512.LoadUnsafe(ref x2, i);
                a02 = Avx512F.FusedMultiplyAdd(y0, p, a02); a12 = Avx512F.FusedMultiplyAdd(y1, p, a12); a22 = Avx512F.FusedMultiplyAdd(y2, p, a22); a32 = Avx512F.FusedMultiplyAdd(y3, p, a32);
                p = Vector512.LoadUnsafe(ref x3, i);
                a03 = Avx512F.FusedMultiplyAdd(y0, p, a03); a13 = Avx512F.FusedMultiplyAdd(y1, p, a13); a23 = Avx512F.FusedMultiplyAdd(y2, p, a23); a33 = Avx512F.FusedMultiplyAdd(y3, p, a33);
                p = Vector512.LoadUnsafe(ref x4, i);
                a04 = Avx512F.FusedMultiplyAdd(y0, p, a04); a14 = Avx512F.FusedMultiplyAdd(y1, p, a14); a24 = Avx512F.FusedMultiplyAdd(y2, p, a24); a34 = Avx512F.FusedMultiplyAdd(y3, p, a34);
                p = Vector512.LoadUnsafe(ref x5, i);
                a05 = Avx512F.FusedMultiplyAdd(y0, p, a05); a15 = Avx512F.FusedMultiplyAdd(y1, p, a15); a25 = Avx512F.FusedMultiplyAdd(y2, p, a25); a35 = Avx512F.FusedMultiplyAdd(y3, p, a35);
            }
            d = ref Unsafe.Add(ref d, columns);
            x = ref Unsafe.Add(ref x, imageStride);
        }
        (sums[0], sums[1], sums[2], sums[3], sums[4], sums[5]) = (Vector512.Sum(a00), Vector512.Sum(a01), Vector512.Sum(a02), Vector512.Sum(a03), Vector512.Sum(a04), Vector512.Sum(a05));
        (sums[6], sums[7], sums[8], sums[9], sums[10], sums[11]) = (Vector512.Sum(a10), Vector512.Sum(a11), Vector512.Sum(a12), Vector512.Sum(a13), Vector512.Sum(a14), Vector512.Sum(a15));
        (sums[12], sums[13], sums[14], sums[15], sums[16], sums[17]) = (Vector512.Sum(a20), Vector512.Sum(a21), Vector512.Sum(a22), Vector512.Sum(a23), Vector512.Sum(a24), Vector512.Sum(a25));
        (sums[18], sums[19], sums[20], sums[21], sums[22], sums[23]) = (Vector512.Sum(a30), Vector512.Sum(a31), Vector512.Sum(a32), Vector512.Sum(a33), Vector512.Sum(a34), Vector512.Sum(a35));
    }

    /// <summary><see cref="Dot4x6"/>'s sums with AVX2's 16 registers: rows of d at 0, r1, r2, r3 and rows of x at 0, t1, t2,
    /// 8 lanes at a time; the 12 accumulators' lane sums go to <paramref name="sums"/>[r·3 + t].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dot4x3(ref float d, nint r1, nint r2, nint r3, ref float x, nint t1, nint t2, nuint columns, int imageCount, int imageStride,
        Span<float> sums)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        for (int n = 0; n < imageCount; n++)
        {
            ref float d1 = ref Unsafe.Add(ref d, r1), d2 = ref Unsafe.Add(ref d, r2), d3 = ref Unsafe.Add(ref d, r3);
            ref float x1 = ref Unsafe.Add(ref x, t1), x2 = ref Unsafe.Add(ref x, t2);
            for (nuint i = 0; i < columns; i += 8)
            {
                Vector256<float> p0 = Vector256.LoadUnsafe(ref x, i), p1 = Vector256.LoadUnsafe(ref x1, i), p2 = Vector256.LoadUnsafe(ref x2, i);
                Vector256<float> y = Vector256.LoadUnsafe(ref d, i);
                a00 = Fma.MultiplyAdd(y, p0, a00); a01 = Fma.MultiplyAdd(y, p1, a01); a02 = Fma.MultiplyAdd(y, p2, a02);
                y = Vector256.LoadUnsafe(ref d1, i);
                a10 = Fma.MultiplyAdd(y, p0, a10); a11 = Fma.MultiplyAdd(y, p1, a11); a12 = Fma.MultiplyAdd(y, p2, a12);
                y = Vector256.LoadUnsafe(ref d2, i);
                a20 = Fma.MultiplyAdd(y, p0, a20); a21 = Fma.MultiplyAdd(y, p1, a21); a22 = Fma.MultiplyAdd(y, p2, a22);
                y = Vector256.LoadUnsafe(ref d3, i);
                a30 = Fma.MultiplyAdd(y, p0, a30); a31 = Fma.MultiplyAdd(y, p1, a31); a32 = Fma.MultiplyAdd(y, p2, a32);
            }
            d = ref Unsafe.Add(ref d, columns);
            x = ref Unsafe.Add(ref x, imageStride);
        }
        (sums[0], sums[1], sums[2]) = (Vector256.Sum(a00), Vector256.Sum(a01), Vector256.Sum(a02));
        (sums[3], sums[4], sums[5]) = (Vector256.Sum(a10), Vector256.Sum(a11), Vector256.Sum(a12));
        (sums[6], sums[7], sums[8]) = (Vector256.Sum(a20), Vector256.Sum(a21), Vector256.Sum(a22));
        (sums[9], sums[10], sums[11]) = (Vector256.Sum(a30), Vector256.Sum(a31), Vector256.Sum(a32));
    }
}

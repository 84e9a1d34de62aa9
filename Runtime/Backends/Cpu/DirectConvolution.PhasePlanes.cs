using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>The direct convolution's input side: the zero-padded phase planes of a plane (<see cref="PhasePlanes"/>), the
/// row mover they and the kernels' row buffers share (<see cref="CopyRows"/>), stride 2's column phases
/// (<see cref="DeinterleavePair"/>) and where each tap starts in the planes (<see cref="TapOffset"/>).</summary>
internal sealed partial class DirectConvolution
{
    /// <summary>
    /// The zero-padded (H×W) <paramref name="plane"/> split into the window's stride phases: phase (φh, φw), at
    /// <c>(φh·sw + φw)·Hq·Wq</c> in <paramref name="target"/>, holds the padded pixels (φh + sh·r, φw + sw·s) at r·Wq + s.
    /// Each padded row is laid out once between the padding's zeros, then dealt to the column phases (stride 2: even and
    /// odd lanes of 32 floats at a time with AVX-512, 16 with AVX2). With <paramref name="used"/> only those phases are made, one after
    /// another in the same order (phase (φh, φw) at <c>used.Slot(φh, φw, sw)·Hq·Wq</c>).
    /// </summary>
    internal static void PhasePlanes(ReadOnlySpan<float> plane, int height, int width, in Window2d w, int planeHeight, int planeWidth, Span<float> target,
        UsedPhases used = default)
    {
        int strideHeight = w.StrideHeight, strideWidth = w.StrideWidth;
        int paddedHeight = height + w.PadTop + w.PadBottom;
        if (strideHeight == 1 && strideWidth == 1)
        {
            // one phase: the padded plane itself, each row written once in place
            if (planeWidth == width && planeHeight == height && w.PadTop == 0 && w.PadLeft == 0)
            {
                plane[..(height * width)].CopyTo(target);
                return;
            }
            // rows [first, end) of the plane hold input rows, the others are padding
            int first = Math.Min(w.PadTop, planeHeight), end = Math.Clamp(Math.Min(paddedHeight, height + w.PadTop), first, planeHeight);
            target[..(first * planeWidth)].Clear();
            target[(end * planeWidth)..(planeHeight * planeWidth)].Clear();
            int left = Math.Min(w.PadLeft, planeWidth), count = Math.Clamp(planeWidth - left, 0, width), right = planeWidth - left - count;
            if (end == first) return;
            // a feature map's rows are short (7 to a few hundred floats): their pads are written in place and the rows
            // copied by CopyRows' inline vectors, not by three calls per row
            for (int rq = first; rq < end; rq++)
            {
                for (int s = 0; s < left; s++) target[rq * planeWidth + s] = 0f;
                for (int s = planeWidth - right; s < planeWidth; s++) target[rq * planeWidth + s] = 0f;
            }
            CopyRows(plane[((first - w.PadTop) * width)..], width, target[(first * planeWidth + left)..], planeWidth, count, end - first);
            return;
        }
        int paddedLength = strideWidth * planeWidth + 32;
        Span<float> padded = paddedLength <= 2048 ? stackalloc float[paddedLength] : WideRow(paddedLength);
        // the padded row: [padLeft zeros, the input row, zeros] (cut at Wq·sw); its zeros sit in the same places for
        // every row, so they are written once and each row only copies its values in between
        int zerosLeft = Math.Min(w.PadLeft, padded.Length), values = Math.Clamp(strideWidth * planeWidth - zerosLeft, 0, width);
        padded.Clear();
        bool bothColumns = strideWidth == 2 && used.Columns == 0;
        // the two column phases are dealt through refs (a few hundred short rows a plane: no per-row span checks), so the
        // phase rows must all lie inside the target
        if (target.Length < used.Count(strideHeight, strideWidth) * planeHeight * planeWidth)
            throw new ArgumentException($"{target.Length} floats cannot hold the phase planes ({planeHeight}×{planeWidth} each)", nameof(target));
        ref float phases = ref MemoryMarshal.GetReference(target);
        for (int phaseRow = 0; phaseRow < strideHeight; phaseRow++)
        {
            if (!UsedPhases.Has(used.Rows, phaseRow)) continue;
            for (int rq = 0; rq < planeHeight; rq++)
            {
                int ih = rq * strideHeight + phaseRow - w.PadTop;
                bool inside = (uint)ih < (uint)height && rq * strideHeight + phaseRow < paddedHeight;
                if (inside) CopyRows(plane.Slice(ih * width, values), 0, padded[zerosLeft..], 0, values, 1);
                if (inside && bothColumns)
                {
                    int first = (used.Slot(phaseRow, 0, strideWidth) * planeHeight + rq) * planeWidth;
                    DeinterleavePair(ref MemoryMarshal.GetReference(padded), ref Unsafe.Add(ref phases, first), ref Unsafe.Add(ref phases, first + planeHeight * planeWidth), planeWidth);
                    continue;
                }
                for (int phaseColumn = 0; phaseColumn < strideWidth; phaseColumn++)
                {
                    if (!UsedPhases.Has(used.Columns, phaseColumn)) continue;
                    Span<float> row = target.Slice((used.Slot(phaseRow, phaseColumn, strideWidth) * planeHeight + rq) * planeWidth, planeWidth);
                    if (!inside) row.Clear();
                    else if (strideWidth == 1) padded[..planeWidth].CopyTo(row);
                    else Deinterleave(padded, strideWidth, phaseColumn, row);
                }
            }
        }
    }

    /// <summary>
    /// <c>target[r·targetStride + s] = source[r·sourceStride + s]</c> for r &lt; <paramref name="rows"/>, s &lt;
    /// <paramref name="width"/>: a block of rows moved between two row strides (a plane into its padded phase plane, a
    /// kernel's virtual rows into output rows). Rows of a feature map are short (7 to a few hundred floats), so each row
    /// is moved with inline vectors, the last one overlapping the one before, rather than by a call per row; the spans
    /// must not overlap.
    /// </summary>
    internal static void CopyRows(ReadOnlySpan<float> source, int sourceStride, Span<float> target, int targetStride, int width, int rows)
    {
        if (rows <= 0 || width <= 0) return;
        if (sourceStride == width && targetStride == width) (width, rows) = (rows * width, 1); // contiguous: one long row
        if (source.Length < (rows - 1) * (long)sourceStride + width || target.Length < (rows - 1) * (long)targetStride + width)
            throw new ArgumentException($"{rows} rows of {width} floats do not fit the spans ({source.Length} and {target.Length} floats)");
        ref float from = ref MemoryMarshal.GetReference(source);
        ref float to = ref MemoryMarshal.GetReference(target);
        for (int r = 0; r < rows; r++, from = ref Unsafe.Add(ref from, sourceStride), to = ref Unsafe.Add(ref to, targetStride))
        {
            if (Vector512.IsHardwareAccelerated && width >= 16)
            {
                for (int s = 0; s < width - 16; s += 16) Vector512.LoadUnsafe(ref from, (nuint)s).StoreUnsafe(ref to, (nuint)s);
                Vector512.LoadUnsafe(ref from, (nuint)(width - 16)).StoreUnsafe(ref to, (nuint)(width - 16));
            }
            else if (Vector256.IsHardwareAccelerated && width >= 8)
            {
                for (int s = 0; s < width - 8; s += 8) Vector256.LoadUnsafe(ref from, (nuint)s).StoreUnsafe(ref to, (nuint)s);
                Vector256.LoadUnsafe(ref from, (nuint)(width - 8)).StoreUnsafe(ref to, (nuint)(width - 8));
            }
            else if (Vector128.IsHardwareAccelerated && width >= 4)
            {
                for (int s = 0; s < width - 4; s += 4) Vector128.LoadUnsafe(ref from, (nuint)s).StoreUnsafe(ref to, (nuint)s);
                Vector128.LoadUnsafe(ref from, (nuint)(width - 4)).StoreUnsafe(ref to, (nuint)(width - 4));
            }
            else
                for (int s = 0; s < width; s++) Unsafe.Add(ref to, s) = Unsafe.Add(ref from, s);
        }
    }

    /// <summary>A row buffer for images too wide for the stack, one per thread, grown once.</summary>
    static Span<float> WideRow(int length)
    {
        if ((wideRow?.Length ?? 0) < length) wideRow = new float[length];
        return wideRow.AsSpan(0, length);
    }
    [ThreadStatic] static float[]? wideRow;

    /// <summary><c>row[s] = padded[s·stride + phase]</c>; <paramref name="padded"/> holds 32 floats past the last one read.</summary>
    static void Deinterleave(ReadOnlySpan<float> padded, int stride, int phase, Span<float> row)
    {
        int s = 0;
        if (stride == 2 && Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
        {
            var lanes = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) + Vector512.Create(phase);
            for (; s + 16 <= row.Length; s += 16)
                Avx512F.PermuteVar16x32x2(Vector512.Create(padded.Slice(2 * s, 16)), lanes, Vector512.Create(padded.Slice(2 * s + 16, 16))).CopyTo(row.Slice(s, 16));
        }
        else if (stride == 2 && Avx2.IsSupported)
            for (; s + 8 <= row.Length; s += 8)
            {
                var (even, odd) = Halves256(Vector256.Create(padded.Slice(2 * s, 8)), Vector256.Create(padded.Slice(2 * s + 8, 8)));
                (phase == 0 ? even : odd).CopyTo(row.Slice(s, 8));
            }
        for (; s < row.Length; s++) row[s] = padded[s * stride + phase];
    }

    /// <summary><c>even[s] = padded[2s]</c> and <c>odd[s] = padded[2s + 1]</c> for s &lt; <paramref name="length"/> (stride 2's
    /// two column phases in one pass: each pair of loads serves both; the last 16 values overlap the vector before, so no
    /// scalar tail; rows of 8–15 floats store two overlapping halves; with AVX2 only, 8 values a step, the last 8
    /// overlapping likewise). The caller guarantees <c>2·length + 32</c> readable
    /// floats at <paramref name="padded"/> and <paramref name="length"/> writable ones at <paramref name="even"/> and
    /// <paramref name="odd"/>.</summary>
    static void DeinterleavePair(ref float padded, ref float even, ref float odd, int length)
    {
        int s = 0;
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated && length >= 8)
        {
            var evenLanes = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var oddLanes = evenLanes + Vector512<int>.One;
            if (length < 16)
            {
                // the first 8 of each phase, then the last 8 (overlapping): lanes from 2·(length − 8) on
                Vector512<float> low = Vector512.LoadUnsafe(ref padded), high = Vector512.LoadUnsafe(ref padded, 16);
                var shift = Vector512.Create(2 * (length - 8));
                Avx512F.PermuteVar16x32x2(low, evenLanes, high).GetLower().StoreUnsafe(ref even);
                Avx512F.PermuteVar16x32x2(low, oddLanes, high).GetLower().StoreUnsafe(ref odd);
                Avx512F.PermuteVar16x32x2(low, evenLanes + shift, high).GetLower().StoreUnsafe(ref even, (nuint)(length - 8));
                Avx512F.PermuteVar16x32x2(low, oddLanes + shift, high).GetLower().StoreUnsafe(ref odd, (nuint)(length - 8));
                return;
            }
            while (true)
            {
                s = Math.Min(s, length - 16);
                Vector512<float> low = Vector512.LoadUnsafe(ref padded, (nuint)(2 * s)), high = Vector512.LoadUnsafe(ref padded, (nuint)(2 * s + 16));
                Avx512F.PermuteVar16x32x2(low, evenLanes, high).StoreUnsafe(ref even, (nuint)s);
                Avx512F.PermuteVar16x32x2(low, oddLanes, high).StoreUnsafe(ref odd, (nuint)s);
                if (s + 16 >= length) return;
                s += 16;
            }
        }
        if (Avx2.IsSupported && length >= 8)
            while (true)
            {
                // the last 8 of each phase overlap the vector before, as above
                s = Math.Min(s, length - 8);
                var (evenLanes, oddLanes) = Halves256(Vector256.LoadUnsafe(ref padded, (nuint)(2 * s)), Vector256.LoadUnsafe(ref padded, (nuint)(2 * s + 8)));
                evenLanes.StoreUnsafe(ref even, (nuint)s);
                oddLanes.StoreUnsafe(ref odd, (nuint)s);
                if (s + 8 >= length) return;
                s += 8;
            }
        for (; s < length; s++) (Unsafe.Add(ref even, s), Unsafe.Add(ref odd, s)) = (Unsafe.Add(ref padded, 2 * s), Unsafe.Add(ref padded, 2 * s + 1));
    }

    /// <summary>The even and the odd lanes of 16 consecutive floats (<paramref name="low"/> then <paramref name="high"/>):
    /// a shuffle per 128-bit half gives (0 2 8 10 | 4 6 12 14), and a swap of the middle 64-bit quarters puts them in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float> Even, Vector256<float> Odd) Halves256(Vector256<float> low, Vector256<float> high)
    {
        Vector256<float> even = Avx.Shuffle(low, high, 0b10_00_10_00), odd = Avx.Shuffle(low, high, 0b11_01_11_01);
        return (Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle(), Avx2.Permute4x64(odd.AsDouble(), 0b11_01_10_00).AsSingle());
    }

    /// <summary>Where tap (p, q) of a plane's window starts in its phase planes (see <see cref="PhasePlanes"/>; those of
    /// <paramref name="used"/> phases only where given).</summary>
    internal static int TapOffset(int p, int q, in Window2d w, int planeHeight, int planeWidth, UsedPhases used = default)
    {
        int row = p * w.DilationHeight, column = q * w.DilationWidth;
        int phase = used.Slot(row % w.StrideHeight, column % w.StrideWidth, w.StrideWidth);
        return phase * planeHeight * planeWidth + row / w.StrideHeight * planeWidth + column / w.StrideWidth;
    }
}

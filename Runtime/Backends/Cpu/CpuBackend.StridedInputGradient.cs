using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// The input gradient of a strided convolution as one stride-1 convolution per stride phase of dx, on the direct path.
/// <para>
/// In the forward pass, input row h met output row i through tap p where <c>h = s·i − pad + p</c>. So the rows of one
/// phase, <c>h = s·u + a</c>, meet only the taps <c>p ≡ a + pad (mod s)</c> — every s-th tap — through output rows
/// <c>i = u + (a + pad − p)/s</c>, consecutive for consecutive taps: phase a of dx is a stride-1 correlation of dy with
/// those taps (flipped) over a window of ⌈(KH − first)/s⌉ rows, and likewise for the columns. A 3×3 stride-2 layer's
/// four phases take 1×1, 1×2, 2×1 and 2×2 taps of the kernel: together its nine taps, the products of the forward pass
/// and no more, where col2im (the GEMM <c>Wᵀ·dy</c>, K = O short, then nine scatter-adds per input) ran at a third of the
/// forward pass's speed (ResNet-20's 16 → 32 layer, batch 64: 4.4 ms against 2.1 ms on one thread).
/// </para>
/// <para>
/// Each phase runs through <see cref="DirectConvolution"/> on dy's planes into a phase buffer; then each (sample, channel)
/// plane of dx is written row by row from its phases' rows (two column phases interleaved in registers at stride 2).
/// Each input's sum is one fused multiply-add chain over (o, tap) ascending, from +0 (the bits of a dx zeroed first),
/// whatever the work slice or thread count. Dilated and grouped layers, and paddings that would need dy cropped (a pad
/// past the kernel), keep col2im.
/// </para>
/// </summary>
public sealed partial class CpuBackend
{
    /// <summary>The taps of one axis that reach phase <c>a</c> of dx, as a stride-1 window over dy: <see cref="Count"/> taps,
    /// the first of them the kernel's <see cref="Last"/> (the window's taps t are kernel taps Last − t·s), padded before and
    /// after; <see cref="Outputs"/> dx positions of the phase.</summary>
    readonly record struct PhaseTaps(int Count, int Last, int PadBefore, int PadAfter, int Outputs);

    /// <summary>The taps of phase <paramref name="phase"/> of an axis, or null where dy would have to be cropped.</summary>
    static PhaseTaps? TapsOfPhase(int phase, int stride, int kernel, int padBefore, int inputSize, int outputSize)
    {
        int outputs = inputSize > phase ? (inputSize - phase + stride - 1) / stride : 0;
        int first = (phase + padBefore) % stride, count = first < kernel ? (kernel - 1 - first) / stride + 1 : 0;
        if (count == 0 || outputs == 0) return new PhaseTaps(0, 0, 0, 0, outputs);
        int last = first + (count - 1) * stride;
        // output row u of the window reads dy rows u + δ … u + δ + count − 1, δ = (phase + pad − last)/s (exact)
        int before = -(phase + padBefore - last) / stride, after = outputs + count - 1 - before - outputSize;
        return before < 0 || after < 0 ? null : new PhaseTaps(count, last, before, after, outputs);
    }

    /// <summary>Whether the block's input gradient ran by stride phases (see the type's remarks); false leaves it to col2im.</summary>
    bool InputGradientByPhases(float[] w, float[] dy, float[] dx, in ConvGeometry g, in Window2d window, in ChannelTileBlocks.Block block, bool accumulate)
    {
        int sh = window.StrideHeight, sw = window.StrideWidth;
        if (g.Groups != 1 || window.DilationHeight != 1 || window.DilationWidth != 1 || (sh == 1 && sw == 1) || sh > MaxPhaseStride || sw > MaxPhaseStride)
            return false;
        Span<PhaseTaps> rows = stackalloc PhaseTaps[sh], columns = stackalloc PhaseTaps[sw];
        for (int a = 0; a < sh; a++)
            if (TapsOfPhase(a, sh, g.KernelHeight, window.PadTop, g.InputHeight, g.OutputHeight) is { } taps) rows[a] = taps;
            else return false;
        for (int b = 0; b < sw; b++)
            if (TapsOfPhase(b, sw, g.KernelWidth, window.PadLeft, g.InputWidth, g.OutputWidth) is { } taps) columns[b] = taps;
            else return false;
        var work = phaseGradient;
        int channels = block.Channels;
        for (int a = 0; a < sh; a++)
            for (int b = 0; b < sw; b++)
            {
                var (r, c) = (rows[a], columns[b]);
                int phase = a * sw + b, plane = r.Outputs * c.Outputs;
                (work.Present[phase], work.Widths[phase]) = (r.Count > 0 && c.Count > 0, c.Outputs);
                if (!work.Present[phase] || plane == 0) continue;
                FlippedTaps(w, g, block.FirstChannel, channels, r, c, sh, sw);
                if ((work.Buffers[phase]?.Length ?? 0) < block.Samples * channels * plane) work.Buffers[phase] = new float[block.Samples * channels * plane];
                var phaseWindow = new Window2d(r.Count, c.Count, 1, 1, r.PadBefore, c.PadBefore, r.PadAfter, c.PadAfter);
                directConvolution.Build(new ImageBatch(dy, g.OutputPlaneSize, 0, g.OutputHeight, g.OutputWidth, block.FirstSample),
                    block.Samples, g.OutChannels, r.Count, c.Count, phaseWindow, Threads, capacity: g.Batch);
                directConvolution.Run(flippedWeights, 0, channels, new ImageBatch(work.Buffers[phase]!, channels * plane, 0, r.Outputs, c.Outputs),
                    accumulate: false, null, gemm.Kernel, Threads);
            }
        work.Run(dx, g, block, sh, sw, accumulate, Threads);
        return true;
    }

    /// <summary>Strides up to this many phases an axis run by phases (the phases' bookkeeping lives on the stack).</summary>
    const int MaxPhaseStride = 4;

    /// <summary>
    /// <c>W'[c, (o·Tr + t)·Tc + t'] = W[o, firstChannel + c, rows.Last − t·sh, columns.Last − t'·sw]</c> for c &lt;
    /// <paramref name="channels"/> into <see cref="flippedWeights"/>: the taps one stride phase of dx meets, flipped, with
    /// dx's channels as the rows (with stride 1, every tap: the stride-1 input gradient's flipped, transposed kernel).
    /// </summary>
    void FlippedTaps(float[] w, in ConvGeometry g, int firstChannel, int channels, in PhaseTaps rows, in PhaseTaps columns, int sh, int sw)
    {
        int length = channels * g.OutChannels * rows.Count * columns.Count;
        if (flippedWeights.Length < length) flippedWeights = new float[length];
        for (int c = 0; c < channels; c++)
            for (int o = 0; o < g.OutChannels; o++)
                for (int t = 0; t < rows.Count; t++)
                    for (int u = 0; u < columns.Count; u++)
                        flippedWeights[((c * g.OutChannels + o) * rows.Count + t) * columns.Count + u] =
                            w[((o * g.InChannels + firstChannel + c) * g.KernelHeight + rows.Last - t * sh) * g.KernelWidth + columns.Last - u * sw];
    }
    readonly PhaseGradientWork phaseGradient = new();

    /// <summary>
    /// dx's planes written from the phase buffers: task = one (sample, channel) plane of the block, row h from phase
    /// row h mod sh, its columns from the column phases in turn (at stride 2 with both phases there, 16 of each
    /// interleaved in registers per step). Tap-less phases give zeros (or leave dx as it is, when adding).
    /// </summary>
    sealed class PhaseGradientWork : IParallelWork
    {
        /// <summary>Per phase (a·sw + b): its planes (sample, channel) of the block, whether it has taps, its row length.</summary>
        public readonly float[]?[] Buffers = new float[MaxPhaseStride * MaxPhaseStride][];
        public readonly bool[] Present = new bool[MaxPhaseStride * MaxPhaseStride];
        public readonly int[] Widths = new int[MaxPhaseStride * MaxPhaseStride];
        float[] dx = [];
        int sh, sw, height, width, channels, firstChannel, firstSample, planeSize;
        bool accumulate;

        public void Run(float[] dx, in ConvGeometry g, in ChannelTileBlocks.Block block, int sh, int sw, bool accumulate, int threads)
        {
            (this.dx, this.sh, this.sw, height, width, this.accumulate) = (dx, sh, sw, g.InputHeight, g.InputWidth, accumulate);
            (channels, firstChannel, firstSample, planeSize) = (block.Channels, block.FirstChannel, block.FirstSample, g.InputPlaneSize);
            int planes = block.Samples * channels;
            CpuWorkers.Shared.Run(this, planes, (long)planes * height * width >= 1 << 16 ? threads : 1);
            this.dx = [];
        }

        void IParallelWork.Run(int task, int participant)
        {
            int n = task / channels, c = task % channels;
            Span<float> plane = dx.AsSpan((firstSample + n) * planeSize + (firstChannel + c) * height * width, height * width);
            for (int h = 0; h < height; h++)
            {
                int a = h % sh, u = h / sh, rowsOfPhase = (height - a + sh - 1) / sh;
                Span<float> row = plane.Slice(h * width, width);
                if (sw == 2 && Present[a * 2] && Present[a * 2 + 1])
                {
                    // both column phases: rows of ⌈W/2⌉ and ⌊W/2⌋ values interleaved
                    ReadOnlySpan<float> even = PhaseRow(a * 2, rowsOfPhase, n, c, u), odd = PhaseRow(a * 2 + 1, rowsOfPhase, n, c, u);
                    Interleave(even, odd, row, accumulate);
                    continue;
                }
                for (int b = 0; b < sw; b++)
                {
                    int phase = a * sw + b;
                    if (!Present[phase])
                    {
                        if (!accumulate)
                            for (int x = b; x < width; x += sw) row[x] = 0f;
                        continue;
                    }
                    ReadOnlySpan<float> values = PhaseRow(phase, rowsOfPhase, n, c, u);
                    for (int v = 0, x = b; v < values.Length; v++, x += sw) row[x] = accumulate ? row[x] + values[v] : values[v];
                }
            }
        }

        /// <summary>Row u of phase <paramref name="phase"/>'s plane of (sample n, channel c) in the buffer.</summary>
        ReadOnlySpan<float> PhaseRow(int phase, int rowsOfPhase, int n, int c, int u)
        {
            int columns = Widths[phase], plane = rowsOfPhase * columns;
            return Buffers[phase].AsSpan((n * channels + c) * plane + u * columns, columns);
        }

        /// <summary><c>row[2v] (+)= even[v]</c>, <c>row[2v + 1] (+)= odd[v]</c>.</summary>
        static void Interleave(ReadOnlySpan<float> even, ReadOnlySpan<float> odd, Span<float> row, bool accumulate)
        {
            int v = 0;
            if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated)
            {
                var low = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
                var high = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
                for (; v + 16 <= odd.Length; v += 16)
                {
                    Vector512<float> e = Vector512.Create(even.Slice(v, 16)), o = Vector512.Create(odd.Slice(v, 16));
                    Vector512<float> first = Avx512F.PermuteVar16x32x2(e, low, o), second = Avx512F.PermuteVar16x32x2(e, high, o);
                    Span<float> target = row.Slice(2 * v, 32);
                    if (accumulate)
                    {
                        first += Vector512.Create(target[..16]);
                        second += Vector512.Create(target[16..]);
                    }
                    first.CopyTo(target);
                    second.CopyTo(target[16..]);
                }
            }
            for (; v < even.Length; v++)
            {
                row[2 * v] = accumulate ? row[2 * v] + even[v] : even[v];
                if (v < odd.Length) row[2 * v + 1] = accumulate ? row[2 * v + 1] + odd[v] : odd[v];
            }
        }
    }
}

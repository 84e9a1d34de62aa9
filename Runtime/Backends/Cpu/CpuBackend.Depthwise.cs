using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    readonly DepthwiseWork depthwiseWork = new();

    /// <summary>
    /// The forward pass of a convolution with one input channel per group (depthwise: MobileNet, Xception; any channel
    /// multiplier O/G): <c>y[n,o,i,j] = Σ_{p,q} W[o,0,p,q]·x[n, o/(O/G), i·sh − padTop + p·dh, j·sw − padLeft + q·dw]</c>.
    /// im2col would make a (KH·KW, P) matrix per channel for a GEMM with one row; here the input plane is copied once into
    /// its zero-padded stride phases (<see cref="DirectConvolution.PhasePlanes"/>), where every tap of 8 consecutive
    /// outputs (virtual columns <c>i·Wq + j</c>, the few j ≥ OW dropped) is 8 consecutive floats: each output vector
    /// (256 bits, also on AVX-512: a 512-bit version measured only 3–5 % faster on these layers alone, bound by moving
    /// the planes rather than by the products) is Σ_taps W·(one load). Taps run in the GEMM's k order (p, then q) with the GEMM's rounding (fused or not), products
    /// with the padding's zeros included, so the sums are the GEMM's bit for bit. One task per (sample, channel) plane,
    /// so the result does not depend on the thread count, nor on which block of samples × channels a call computes (a work
    /// slice's, <see cref="ChannelTileBlocks"/>). The valid columns then go to the output, through the epilogue in the same
    /// pass where it is a batch norm and a piecewise-linear activation (<see cref="ConvolutionEpilogue.CopyRowsAndApply"/>).
    /// </summary>
    sealed class DepthwiseWork : IParallelWork
    {
        float[] x = [], w = [], y = [];
        ConvGeometry g;
        Window2d window;
        ConvolutionEpilogue? epilogue;
        ChannelTileBlocks.Block block;
        bool fused;
        int planeHeight, planeWidth, phaseSize, virtualColumns, virtualStride, outputStart, outputPlaneStride;
        int[] offsets = [];
        /// <summary>Per participant: the plane's phases (with slack for the dropped columns' reads) and the virtual rows.</summary>
        readonly float[][] phases = new float[CpuWorkers.Shared.MaxParticipants][], sums = new float[CpuWorkers.Shared.MaxParticipants][];

        /// <summary>The outputs of <paramref name="block"/>'s samples and output channels. Output plane (n, o) starts at
        /// <c>y[outputStart + (n·O + o)·outputPlaneStride]</c> (by default 0 and OH·OW: y is (N,O,OH,OW); a band of rows of a
        /// larger output passes its first row's index and the whole plane's size) and holds OH rows of OW.</summary>
        public void Forward(float[] x, float[] w, float[] y, in ConvGeometry g, in Window2d window, ConvolutionEpilogue epilogue, bool fused, int threads,
            in ChannelTileBlocks.Block block, int outputStart = 0, int outputPlaneStride = -1)
        {
            Aim(x, w, y, g, window, epilogue, fused, block, outputStart, outputPlaneStride);
            bool large = (long)block.Samples * block.Channels * g.OutputPixels * g.KernelHeight * g.KernelWidth >= 1 << 15;
            CpuWorkers.Shared.Run(this, block.Samples * block.Channels, large ? threads : 1);
            Release();
        }

        /// <summary><see cref="Forward"/> on the calling thread alone, with participant <paramref name="participant"/>'s
        /// buffers: for a task of a parallel run (each participant its own instance).</summary>
        public void ForwardAlone(float[] x, float[] w, float[] y, in ConvGeometry g, in Window2d window, ConvolutionEpilogue epilogue, bool fused,
            in ChannelTileBlocks.Block block, int outputStart, int outputPlaneStride, int participant)
        {
            Aim(x, w, y, g, window, epilogue, fused, block, outputStart, outputPlaneStride);
            for (int task = 0; task < block.Samples * block.Channels; task++) ((IParallelWork)this).Run(task, participant);
            Release();
        }

        void Aim(float[] x, float[] w, float[] y, in ConvGeometry g, in Window2d window, ConvolutionEpilogue epilogue, bool fused,
            in ChannelTileBlocks.Block block, int outputStart, int outputPlaneStride)
        {
            (this.x, this.w, this.y, this.g, this.window, this.epilogue, this.fused, this.block) = (x, w, y, g, window, epilogue.IsEmpty ? null : epilogue, fused, block);
            (this.outputStart, this.outputPlaneStride) = (outputStart, outputPlaneStride < 0 ? g.OutputPixels : outputPlaneStride);
            planeHeight = (g.InputHeight + window.PadTop + window.PadBottom + window.StrideHeight - 1) / window.StrideHeight;
            planeWidth = (g.InputWidth + window.PadLeft + window.PadRight + window.StrideWidth - 1) / window.StrideWidth;
            phaseSize = window.StrideHeight * window.StrideWidth * planeHeight * planeWidth;
            virtualColumns = (g.OutputHeight - 1) * planeWidth + g.OutputWidth;
            virtualStride = Gemm.RoundUp(virtualColumns, 8);
            int taps = g.KernelHeight * g.KernelWidth;
            if (offsets.Length < taps) offsets = new int[taps];
            for (int p = 0, k = 0; p < g.KernelHeight; p++)
                for (int q = 0; q < g.KernelWidth; q++, k++) offsets[k] = DirectConvolution.TapOffset(p, q, window, planeHeight, planeWidth);
            for (int p = 0; p < phases.Length; p++)
            {
                // the last vector of a tap reads up to 7 dropped columns past the virtual ones
                if ((phases[p]?.Length ?? 0) < phaseSize + 8 + planeWidth) phases[p] = new float[phaseSize + 8 + planeWidth];
                if ((sums[p]?.Length ?? 0) < virtualStride) sums[p] = new float[virtualStride];
            }
        }

        void Release() => (x, w, y, epilogue) = ([], [], [], null);

        void IParallelWork.Run(int task, int participant)
        {
            int n = block.FirstSample + task / block.Channels, o = block.FirstChannel + task % block.Channels;
            int c = o / g.GroupOutputs, taps = g.KernelHeight * g.KernelWidth;
            float[] planes = phases[participant], virtualRows = sums[participant];
            DirectConvolution.PhasePlanes(x.AsSpan(n * g.InputPlaneSize + c * g.InputPixels, g.InputPixels), g.InputHeight, g.InputWidth, window,
                planeHeight, planeWidth, planes.AsSpan(0, phaseSize));
            planes.AsSpan(phaseSize, 8 + planeWidth).Clear(); // read by dropped columns only; kept finite (the array may be longer, from a larger layer)
            ReadOnlySpan<float> kernel = w.AsSpan(o * taps, taps);
            ReadOnlySpan<int> taken = offsets.AsSpan(0, taps);
            int planeStart = outputStart + (n * g.OutChannels + o) * outputPlaneStride, width = g.OutputWidth;
            // blocks of output rows (about BlockColumns virtual columns): each block's sums, copy and epilogue stay in L1
            int blockRows = Math.Clamp(BlockColumns / planeWidth, 1, g.OutputHeight);
            for (int firstRow = 0; firstRow < g.OutputHeight; firstRow += blockRows)
            {
                int rows = Math.Min(blockRows, g.OutputHeight - firstRow), start = firstRow * planeWidth, columns = (rows - 1) * planeWidth + width;
                if (Vector256.IsHardwareAccelerated)
                {
                    if (fused) Taps<Gemm.FusedProducts>(planes, start, taken, kernel, columns, virtualRows);
                    else Taps<Gemm.RoundedProducts>(planes, start, taken, kernel, columns, virtualRows);
                }
                else
                    for (int v = 0; v < columns; v++)
                    {
                        float sum = 0f;
                        for (int k = 0; k < taps; k++)
                            sum = fused ? MathF.FusedMultiplyAdd(kernel[k], planes[start + taken[k] + v], sum) : sum + kernel[k] * planes[start + taken[k] + v];
                        virtualRows[v] = sum;
                    }
                Span<float> output = y.AsSpan(planeStart + firstRow * width, rows * width);
                if (epilogue?.CopyRowsAndApply(o, virtualRows, planeWidth, output, width, rows) == true) continue;
                DirectConvolution.CopyRows(virtualRows, planeWidth, output, width, width, rows);
                epilogue?.ApplyToChannel(o, planeStart + firstRow * width, output);
            }
        }

        /// <summary>Virtual columns summed at once at most (whole output rows, at least one).</summary>
        const int BlockColumns = 512;

        /// <summary>
        /// <c>sums[v] = Σ_k kernel[k]·planes[start + offsets[k] + v]</c> for v in [0, <paramref name="columns"/> rounded up to 8),
        /// starting from 0, k ascending, each step rounded as <typeparamref name="TMultiplyAdd"/> says. A 3×3 window keeps
        /// its nine weights and offsets in registers and sums 32 columns (four independent vectors) at a time, then 8; the planes
        /// hold at least 8 readable floats past the last virtual column of every tap.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        static void Taps<TMultiplyAdd>(float[] planes, int start, ReadOnlySpan<int> offsets, ReadOnlySpan<float> kernel, int columns, float[] sums)
            where TMultiplyAdd : struct, Gemm.IMultiplyAdd
        {
            int taps = offsets.Length, v = 0, farthest = 0;
            foreach (int offset in offsets) farthest = Math.Max(farthest, offset);
            if (start < 0 || planes.Length < start + farthest + Gemm.RoundUp(columns, 8) || sums.Length < Gemm.RoundUp(columns, 8))
                throw new ArgumentException("the depthwise planes or sums are too short");
            ref float x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(planes), start);
            ref float y = ref MemoryMarshal.GetArrayDataReference(sums);
            if (taps == 9)
            {
                nint o0 = offsets[0], o1 = offsets[1], o2 = offsets[2], o3 = offsets[3], o4 = offsets[4], o5 = offsets[5], o6 = offsets[6], o7 = offsets[7], o8 = offsets[8];
                Vector256<float> w0 = Vector256.Create(kernel[0]), w1 = Vector256.Create(kernel[1]), w2 = Vector256.Create(kernel[2]);
                Vector256<float> w3 = Vector256.Create(kernel[3]), w4 = Vector256.Create(kernel[4]), w5 = Vector256.Create(kernel[5]);
                Vector256<float> w6 = Vector256.Create(kernel[6]), w7 = Vector256.Create(kernel[7]), w8 = Vector256.Create(kernel[8]);
                for (; v + 32 <= columns; v += 32)
                {
                    ref float at = ref Unsafe.Add(ref x, v);
                    Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
                    Step(ref Unsafe.Add(ref at, o0), w0, ref s0, ref s1, ref s2, ref s3);
                    Step(ref Unsafe.Add(ref at, o1), w1, ref s0, ref s1, ref s2, ref s3);
                    Step(ref Unsafe.Add(ref at, o2), w2, ref s0, ref s1, ref s2, ref s3);
                    Step(ref Unsafe.Add(ref at, o3), w3, ref s0, ref s1, ref s2, ref s3);
                    Step(ref Unsafe.Add(ref at, o4), w4, ref s0, ref s1, ref s2, ref s3);
                    Step(ref Unsafe.Add(ref at, o5), w5, ref s0, ref s1, ref s2, ref s3);
                    Step(ref Unsafe.Add(ref at, o6), w6, ref s0, ref s1, ref s2, ref s3);
                    Step(ref Unsafe.Add(ref at, o7), w7, ref s0, ref s1, ref s2, ref s3);
                    Step(ref Unsafe.Add(ref at, o8), w8, ref s0, ref s1, ref s2, ref s3);
                    ref float target = ref Unsafe.Add(ref y, v);
                    s0.StoreUnsafe(ref target);
                    s1.StoreUnsafe(ref target, 8);
                    s2.StoreUnsafe(ref target, 16);
                    s3.StoreUnsafe(ref target, 24);
                }
                // the rest 8 columns at a time with the same registers (up to 3 vectors: a row's tail in every block)
                for (; v < columns; v += 8)
                {
                    ref float at = ref Unsafe.Add(ref x, v);
                    Vector256<float> sum = TMultiplyAdd.Apply(w0, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, o0)), Vector256<float>.Zero);
                    sum = TMultiplyAdd.Apply(w1, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, o1)), sum);
                    sum = TMultiplyAdd.Apply(w2, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, o2)), sum);
                    sum = TMultiplyAdd.Apply(w3, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, o3)), sum);
                    sum = TMultiplyAdd.Apply(w4, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, o4)), sum);
                    sum = TMultiplyAdd.Apply(w5, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, o5)), sum);
                    sum = TMultiplyAdd.Apply(w6, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, o6)), sum);
                    sum = TMultiplyAdd.Apply(w7, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, o7)), sum);
                    sum = TMultiplyAdd.Apply(w8, Vector256.LoadUnsafe(ref Unsafe.Add(ref at, o8)), sum);
                    sum.StoreUnsafe(ref y, (nuint)v);
                }
            }
            for (; v < columns; v += 8)
            {
                Vector256<float> sum = Vector256<float>.Zero;
                for (int k = 0; k < taps; k++)
                    sum = TMultiplyAdd.Apply(Vector256.Create(kernel[k]), Vector256.LoadUnsafe(ref x, (nuint)(offsets[k] + v)), sum);
                sum.StoreUnsafe(ref y, (nuint)v);
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            static void Step(ref float values, Vector256<float> weight, ref Vector256<float> s0, ref Vector256<float> s1, ref Vector256<float> s2, ref Vector256<float> s3)
            {
                s0 = TMultiplyAdd.Apply(weight, Vector256.LoadUnsafe(ref values), s0);
                s1 = TMultiplyAdd.Apply(weight, Vector256.LoadUnsafe(ref values, 8), s1);
                s2 = TMultiplyAdd.Apply(weight, Vector256.LoadUnsafe(ref values, 16), s2);
                s3 = TMultiplyAdd.Apply(weight, Vector256.LoadUnsafe(ref values, 24), s3);
            }
        }
    }
}

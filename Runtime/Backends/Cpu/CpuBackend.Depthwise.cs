using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    /// (256 bits, also on AVX-512 machines: Zen 4 runs a 512-bit FMA as two halves) is Σ_taps W·(one load). Taps run in the GEMM's k order (p, then q) with the GEMM's rounding (fused or not), products
    /// with the padding's zeros included, so the sums are the GEMM's bit for bit. One task per (sample, channel) plane,
    /// so the result does not depend on the thread count, nor on which block of samples × channels a call computes (a work
    /// slice's, <see cref="ChannelTileBlocks"/>).
    /// </summary>
    sealed class DepthwiseWork : IParallelWork
    {
        float[] x = [], w = [], y = [];
        ConvGeometry g;
        Window2d window;
        ConvolutionEpilogue? epilogue;
        ChannelTileBlocks.Block block;
        bool fused;
        int planeHeight, planeWidth, phaseSize, virtualColumns, virtualStride;
        int[] offsets = [];
        /// <summary>Per participant: the plane's phases (with slack for the dropped columns' reads) and the virtual rows.</summary>
        readonly float[][] phases = new float[CpuWorkers.Shared.MaxParticipants][], sums = new float[CpuWorkers.Shared.MaxParticipants][];

        /// <summary>The outputs of <paramref name="block"/>'s samples and output channels.</summary>
        public void Forward(float[] x, float[] w, float[] y, in ConvGeometry g, in Window2d window, ConvolutionEpilogue epilogue, bool fused, int threads,
            in ChannelTileBlocks.Block block)
        {
            (this.x, this.w, this.y, this.g, this.window, this.epilogue, this.fused, this.block) = (x, w, y, g, window, epilogue.IsEmpty ? null : epilogue, fused, block);
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
            bool large = (long)block.Samples * block.Channels * g.OutputPixels * taps >= 1 << 15;
            CpuWorkers.Shared.Run(this, block.Samples * block.Channels, large ? threads : 1);
            (this.x, this.w, this.y, this.epilogue) = ([], [], [], null);
        }

        void IParallelWork.Run(int task, int participant)
        {
            int n = block.FirstSample + task / block.Channels, o = block.FirstChannel + task % block.Channels;
            int c = o / g.GroupOutputs, taps = g.KernelHeight * g.KernelWidth;
            float[] planes = phases[participant], virtualRows = sums[participant];
            DirectConvolution.PhasePlanes(x.AsSpan(n * g.InputPlaneSize + c * g.InputPixels, g.InputPixels), g.InputHeight, g.InputWidth, window,
                planeHeight, planeWidth, planes.AsSpan(0, phaseSize));
            planes.AsSpan(phaseSize).Clear(); // read by dropped columns only; kept finite
            ReadOnlySpan<float> kernel = w.AsSpan(o * taps, taps);
            ReadOnlySpan<int> taken = offsets.AsSpan(0, taps);
            int v = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; v < virtualColumns; v += 8)
                {
                    Vector256<float> sum = Vector256<float>.Zero;
                    for (int k = 0; k < taps; k++)
                    {
                        var values = Vector256.Create(planes.AsSpan(taken[k] + v, 8));
                        sum = fused ? Fma.MultiplyAdd(Vector256.Create(kernel[k]), values, sum) : sum + Vector256.Create(kernel[k]) * values;
                    }
                    sum.CopyTo(virtualRows.AsSpan(v, 8));
                }
            for (; v < virtualColumns; v++)
            {
                float sum = 0f;
                for (int k = 0; k < taps; k++) sum = fused ? MathF.FusedMultiplyAdd(kernel[k], planes[taken[k] + v], sum) : sum + kernel[k] * planes[taken[k] + v];
                virtualRows[v] = sum;
            }
            int outputStart = (n * g.OutChannels + o) * g.OutputPixels;
            Span<float> output = y.AsSpan(outputStart, g.OutputPixels);
            for (int i = 0; i < g.OutputHeight; i++)
                virtualRows.AsSpan(i * planeWidth, g.OutputWidth).CopyTo(output.Slice(i * g.OutputWidth, g.OutputWidth));
            epilogue?.ApplyToChannel(o, outputStart, output);
        }
    }
}

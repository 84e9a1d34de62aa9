using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    readonly DepthwiseWork depthwiseWork = new();

    /// <summary>
    /// The forward pass of a convolution with one input channel per group (depthwise: MobileNet, Xception; any channel
    /// multiplier O/G): <c>y[n,o,i,j] = Σ_{p,q} W[o,0,p,q]·x[n, o/(O/G), i·sh − padTop + p·dh, j·sw − padLeft + q·dw]</c>.
    /// im2col would make a (KH·KW, P) matrix per channel for a GEMM with one row; here each output row is instead summed
    /// in place from the input row of each tap: the input row is copied once into a zero-padded row buffer (split into
    /// <c>stride</c> phases when the stride is above 1, so that every tap reads a contiguous run), then each tap adds
    /// <c>W[o,0,p,q]·row</c> to the output row with vector multiply-adds. Taps run in the GEMM's k order (p, then q) with
    /// the GEMM's rounding (fused or not), and taps that fall in the padding add nothing (a product with 0), so the sums
    /// are the GEMM's bit for bit. One task per (sample, channel) plane, so the result does not depend on the thread count.
    /// </summary>
    sealed class DepthwiseWork : IParallelWork
    {
        float[] x = [], w = [], y = [];
        ConvGeometry g;
        Window2d window;
        ConvolutionEpilogue? epilogue;
        bool fused;
        /// <summary>Per participant: the padded input row and its stride phases (grown once, then reused).</summary>
        readonly float[][] rows = new float[CpuWorkers.Shared.MaxParticipants][], phases = new float[CpuWorkers.Shared.MaxParticipants][];

        public void Forward(float[] x, float[] w, float[] y, in ConvGeometry g, in Window2d window, ConvolutionEpilogue epilogue, bool fused, int threads)
        {
            (this.x, this.w, this.y, this.g, this.window, this.epilogue, this.fused) = (x, w, y, g, window, epilogue.IsEmpty ? null : epilogue, fused);
            int rowLength = PaddedRowLength(g, window);
            for (int p = 0; p < rows.Length; p++)
            {
                if ((rows[p]?.Length ?? 0) < rowLength) rows[p] = new float[rowLength];
                if ((phases[p]?.Length ?? 0) < rowLength + window.StrideWidth) phases[p] = new float[rowLength + window.StrideWidth];
            }
            bool large = (long)g.Batch * g.OutChannels * g.OutputPixels * g.KernelLength >= 1 << 15;
            CpuWorkers.Shared.Run(this, g.Batch * g.OutChannels, large ? threads : 1);
            (this.x, this.w, this.y, this.epilogue) = ([], [], [], null);
        }

        /// <summary>Input columns −padLeft … that the output row's windows reach: <c>(OW − 1)·sw + (KW − 1)·dw + 1</c>.</summary>
        static int PaddedRowLength(in ConvGeometry g, in Window2d w) => (g.OutputWidth - 1) * w.StrideWidth + (g.KernelWidth - 1) * w.DilationWidth + 1;

        void IParallelWork.Run(int task, int participant)
        {
            int n = task / g.OutChannels, o = task % g.OutChannels, c = o / g.GroupOutputs;
            var win = window;
            int sw = win.StrideWidth, rowLength = PaddedRowLength(g, win), width = g.OutputWidth;
            ReadOnlySpan<float> plane = x.AsSpan(n * g.InputPlaneSize + c * g.InputPixels, g.InputPixels);
            ReadOnlySpan<float> kernel = w.AsSpan(o * g.KernelHeight * g.KernelWidth, g.KernelHeight * g.KernelWidth);
            int outputStart = (n * g.OutChannels + o) * g.OutputPixels;
            Span<float> output = y.AsSpan(outputStart, g.OutputPixels);
            Span<float> row = rows[participant].AsSpan(0, rowLength), phase = phases[participant];
            int phaseLength = (rowLength + sw - 1) / sw;
            // the padded row's valid part: input columns [0, W) sit at [padLeft, padLeft + W) ∩ [0, rowLength)
            int validStart = Math.Min(win.PadLeft, rowLength), validEnd = Math.Clamp(win.PadLeft + g.InputWidth, validStart, rowLength);
            row[..validStart].Clear();
            row[validEnd..].Clear();
            for (int i = 0; i < g.OutputHeight; i++)
            {
                Span<float> sum = output.Slice(i * width, width);
                sum.Clear();
                for (int p = 0; p < g.KernelHeight; p++)
                {
                    int ih = i * win.StrideHeight - win.PadTop + p * win.DilationHeight;
                    if ((uint)ih >= (uint)g.InputHeight) continue; // a row of padding: every product is 0
                    plane.Slice(ih * g.InputWidth + validStart - win.PadLeft, validEnd - validStart).CopyTo(row[validStart..validEnd]);
                    if (sw > 1)
                        // phase φ holds row[φ + sw·t] at φ·phaseLength + t: tap offset s reads phase s % sw from s / sw on
                        for (int t = 0; t < rowLength; t++) phase[t % sw * phaseLength + t / sw] = row[t];
                    for (int q = 0; q < g.KernelWidth; q++)
                    {
                        int start = q * win.DilationWidth;
                        ReadOnlySpan<float> source = sw == 1 ? row.Slice(start, width) : phase.Slice(start % sw * phaseLength + start / sw, width);
                        float weight = kernel[p * g.KernelWidth + q];
                        if (fused) TensorPrimitives.FusedMultiplyAdd(source, weight, sum, sum);
                        else TensorPrimitives.MultiplyAdd(source, weight, sum, sum);
                    }
                }
            }
            epilogue?.ApplyToChannel(o, outputStart, output);
        }
    }
}

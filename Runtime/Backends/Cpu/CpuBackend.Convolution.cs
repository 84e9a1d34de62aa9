using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    // Workspaces, grown once to the largest layer and then reused: im2col columns for a chunk of samples,
    // their gradients, and the GEMM result (or the output gradient) in (O, samples·OH·OW) order.
    float[] columns = [];
    float[] columnGrads = [];
    float[] gemmResult = [];

    /// <summary>Upper bound on the im2col workspace, in floats (16 MiB): samples are processed in chunks that fit.</summary>
    const int ColumnBudget = 4 << 20;

    readonly ConvolutionEpilogue convolutionEpilogue = new();

    /// <inheritdoc/>
    public void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window, int groups = 1)
    {
        var g = new ConvGeometry(input.Shape, weight.Shape, output.Shape, groups);
        ConvolutionForward(input, weight, output, window, g, convolutionEpilogue.For(bias is null ? null : ArrayOf(bias), g.OutChannels, g.OutputPixels));
    }

    /// <summary>
    /// The convolution's sum followed by <paramref name="epilogue"/>, by the fastest method that applies:
    /// a depthwise kernel (one input channel per group), Winograd F(4,3) for 3×3 stride-1 layers with enough channels
    /// (<see cref="CpuArithmetic.Fast"/> only), a GEMM on the input itself for 1×1 stride-1 layers without padding, and
    /// im2col + GEMM otherwise (the course's method, and the reference).
    /// </summary>
    void ConvolutionForward(Tensor input, Tensor weight, Tensor output, in Window2d window, in ConvGeometry g, ConvolutionEpilogue epilogue)
    {
        // input (N,C,H,W), weight (O,C/G,KH,KW), output (N,O,OH,OW).
        // For a chunk of S samples and one group: col = im2col(x's channels of the group) is (K, S·P) with
        // K = C/G·KH·KW and P = OH·OW, so one GEMM y' = W_g·col gives the group's (O/G, S·P) with long rows
        // (the course's im2col, batched); then y[n,o,:] = epilogue(y'[o, n·P…]).
        float[] x = ArrayOf(input), w = ArrayOf(weight), y = ArrayOf(output);
        try
        {
            if (g.InChannels == 1 && g.Groups > 1)
            {
                depthwiseWork.Forward(x, w, y, g, window, epilogue, FusedProducts, Threads);
                return;
            }
            var active = epilogue.IsEmpty ? null : epilogue;
            int chunk = g.IsPointwise(window) ? 1 : g.ChunkSize;
            for (int first = 0; first < g.Batch; first += chunk)
                for (int group = 0; group < g.Groups; group++)
                {
                    int count = Math.Min(chunk, g.Batch - first), width = count * g.OutputPixels;
                    var weights = new GemmOperand(w, group * g.GroupOutputs * g.KernelLength, g.KernelLength);
                    (epilogue.RowOffset, epilogue.SampleOffset) = (group * g.GroupOutputs, first * g.OutputPlaneSize);
                    int yOffset = first * g.OutputPlaneSize + group * g.GroupOutputs * g.OutputPixels;
                    if (g.IsPointwise(window))
                    {
                        // a 1×1 stride-1 convolution is a GEMM on the input plane itself: (O/G, C/G)·(C/G, P)
                        var plane = new GemmOperand(x, first * g.InputPlaneSize + group * g.GroupPlaneSize, g.OutputPixels);
                        gemm.Multiply(g.GroupOutputs, g.OutputPixels, g.KernelLength, weights, plane, y, yOffset, g.OutputPixels, false, active);
                        continue;
                    }
                    ChunkColumns(x, first, count, group, g, window);
                    if (count == 1)
                    {
                        // one sample: its GEMM result is already in y's layout
                        gemm.Multiply(g.GroupOutputs, width, g.KernelLength, weights, new GemmOperand(columns, 0, width), y, yOffset, g.OutputPixels, false, active);
                        continue;
                    }
                    Workspace(ref gemmResult, g.GroupOutputs * width);
                    gemm.Multiply(g.GroupOutputs, width, g.KernelLength, weights, new GemmOperand(columns, 0, width), gemmResult, 0, width, accumulate: false);
                    for (int r = 0; r < g.GroupOutputs; r++)
                    {
                        int o = group * g.GroupOutputs + r;
                        for (int t = 0; t < count; t++)
                        {
                            int target = ((first + t) * g.OutChannels + o) * g.OutputPixels;
                            Span<float> values = y.AsSpan(target, g.OutputPixels);
                            gemmResult.AsSpan(r * width + t * g.OutputPixels, g.OutputPixels).CopyTo(values);
                            active?.ApplyToChannel(o, target, values);
                        }
                    }
                }
        }
        finally
        {
            epilogue.Clear();
        }
    }

    /// <inheritdoc/>
    public void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad, Window2d window, int groups = 1)
    {
        // in the forward pass this was y' = W_g·col + b with col = im2col(x_g), per chunk of samples and group;
        // so with dy' the group's output gradient in (O/G, S·P) order: dW_g += dy'·colᵀ, db += Σ dy',
        // dcol = W_gᵀ·dy', dx_g += col2im(dcol)
        var g = new ConvGeometry(input.Shape, weight.Shape, outputGrad.Shape, groups);
        float[] x = ArrayOf(input);
        Span<float> dy = Data(outputGrad), db = DataOrEmpty(biasGrad);
        float[]? dx = inputGrad is null ? null : ArrayOf(inputGrad);
        float[] w = ArrayOf(weight), dw = ArrayOf(weightGrad);
        int chunk = g.ChunkSize;
        for (int first = 0; first < g.Batch; first += chunk)
            for (int group = 0; group < groups; group++)
            {
                int count = Math.Min(chunk, g.Batch - first), width = count * g.OutputPixels;
                int weightOffset = group * g.GroupOutputs * g.KernelLength;
                ChunkColumns(x, first, count, group, g, window);
                Span<float> dyT = Workspace(ref gemmResult, g.GroupOutputs * width);
                for (int t = 0; t < count; t++)
                    for (int r = 0; r < g.GroupOutputs; r++)
                        dy.Slice(((first + t) * g.OutChannels + group * g.GroupOutputs + r) * g.OutputPixels, g.OutputPixels)
                            .CopyTo(dyT.Slice(r * width + t * g.OutputPixels, g.OutputPixels));
                if (!db.IsEmpty)
                    for (int r = 0; r < g.GroupOutputs; r++)
                        db[group * g.GroupOutputs + r] += TensorPrimitives.Sum(dyT.Slice(r * width, width));
                // dW_g (O/G, K) += dy' (O/G, S·P) · colᵀ (S·P, K)
                gemm.Multiply(g.GroupOutputs, g.KernelLength, width, new GemmOperand(gemmResult, 0, width),
                    new GemmOperand(columns, 0, width, transposed: true), dw, weightOffset, g.KernelLength, accumulate: true);
                if (dx is null) continue;
                // dcol (K, S·P) = W_gᵀ (K, O/G) · dy' (O/G, S·P)
                Workspace(ref columnGrads, g.KernelLength * width);
                gemm.Multiply(g.KernelLength, width, g.GroupOutputs, new GemmOperand(w, weightOffset, g.KernelLength, transposed: true),
                    new GemmOperand(gemmResult, 0, width), columnGrads, 0, width, accumulate: false);
                columnWork.RunChunk(dx, columnGrads, first, count, group, g, window, backward: true, Threads);
            }
    }

    /// <summary>im2col of one group's channels of samples [first, first + count) side by side: (K, count·P),
    /// sample t in columns t·P….</summary>
    void ChunkColumns(float[] x, int first, int count, int group, in ConvGeometry g, in Window2d window)
    {
        Workspace(ref columns, g.KernelLength * count * g.OutputPixels);
        columnWork.RunChunk(x, columns, first, count, group, g, window, backward: false, Threads);
    }

    static Span<float> Workspace(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }

    /// <summary>Sizes of one convolution, read from the tensors' shapes. <see cref="InChannels"/> counts the
    /// channels of one group (the im2col rows come from one group at a time).</summary>
    internal readonly struct ConvGeometry(TensorShape input, TensorShape weight, TensorShape output, int groups)
    {
        public readonly int Batch = input.N, InChannels = input.C / groups, InputHeight = input.H, InputWidth = input.W;
        public readonly int OutChannels = weight.N, GroupOutputs = weight.N / groups, KernelHeight = weight.H, KernelWidth = weight.W;
        public readonly int OutputHeight = output.H, OutputWidth = output.W, Groups = groups;
        public readonly int InputPlaneSize = input.C * input.H * input.W;
        public int OutputPixels => OutputHeight * OutputWidth;
        public int InputPixels => InputHeight * InputWidth;
        public int KernelLength => InChannels * KernelHeight * KernelWidth;
        /// <summary>One group's channels of one sample: (C/G)·H·W.</summary>
        public int GroupPlaneSize => InChannels * InputHeight * InputWidth;
        public int OutputPlaneSize => OutChannels * OutputPixels;
        /// <summary>Samples per im2col chunk: as many as fit <see cref="ColumnBudget"/>, at least one.</summary>
        public int ChunkSize => (int)Math.Clamp(ColumnBudget / Math.Max(1L, (long)KernelLength * OutputPixels), 1, Batch);

        /// <summary>A 1×1 window with stride 1 and no padding: the input plane is its own im2col matrix.</summary>
        public bool IsPointwise(in Window2d w) => KernelHeight == 1 && KernelWidth == 1 && w.StrideHeight == 1 && w.StrideWidth == 1
            && w.PadTop == 0 && w.PadLeft == 0 && OutputHeight == InputHeight && OutputWidth == InputWidth;
    }
}

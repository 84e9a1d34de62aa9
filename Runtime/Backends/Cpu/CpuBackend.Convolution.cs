using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend : IFusedConvolution
{
    readonly ConvolutionEpilogue convolutionEpilogue = new();

    /// <inheritdoc/>
    public void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window, int groups = 1)
    {
        var g = new ConvGeometry(input.Shape, weight.Shape, output.Shape, groups);
        ConvolutionForward(input, weight, output, window, g, convolutionEpilogue.For(bias is null ? null : ArrayOf(bias), g.OutChannels, g.OutputPixels));
    }

    /// <inheritdoc/>
    public void Conv2dFusedForward(Tensor input, Tensor weight, Tensor? bias, FoldedBatchNorm? batchNorm, Tensor? residual,
        ActivationKind? activation, float alpha, Tensor output, Window2d window, int groups = 1)
    {
        var g = new ConvGeometry(input.Shape, weight.Shape, output.Shape, groups);
        float[]? shift = null, scale = null, offset = null;
        if (batchNorm is { } bn)
        {
            // batch norm's eval-mode coefficients, as BatchNormForward computes them
            (shift, scale, offset) = (Workspace(ref foldedShift, g.OutChannels), Workspace(ref foldedScale, g.OutChannels), ArrayOf(bn.Bias));
            ReadOnlySpan<float> mean = Data(bn.RunningMean), variance = Data(bn.RunningVar), gamma = Data(bn.Weight);
            for (int o = 0; o < g.OutChannels; o++)
            {
                var (m, invStd) = EvalStatistics(mean[o], variance[o], bn.Epsilon);
                (shift[o], scale[o]) = (m, invStd * gamma[o]);
            }
        }
        ConvolutionForward(input, weight, output, window, g, convolutionEpilogue.For(bias is null ? null : ArrayOf(bias), shift, scale, offset,
            residual is null ? null : ArrayOf(residual), activation, alpha, g.OutChannels, g.OutputPixels));
    }

    float[] foldedShift = [], foldedScale = [];

    static float[] Workspace(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer;
    }

    /// <summary>
    /// The convolution's sum followed by <paramref name="epilogue"/>, by the fastest method that applies: a depthwise
    /// kernel (one input channel per group), the direct convolution (<see cref="UsesDirectConvolution"/>; for 1×1 stride-1
    /// layers without padding where <see cref="PointwiseIsDirect"/>), a GEMM on the input itself for other such layers, and
    /// otherwise one GEMM per group over the whole batch, <c>y'_g (O/G, N·P) = W_g (O/G, K) · col_g (K, N·P)</c> with
    /// K = C/G·KH·KW and P = OH·OW, where col_g = im2col(x's channels of group g) is packed block by block straight from
    /// x (<see cref="Im2ColSource"/>) and y' goes straight into y's (N,O,OH,OW) order (<see cref="ChannelMajorTarget"/>):
    /// the course's im2col + GEMM, the same sums, without the im2col matrix.
    /// </summary>
    void ConvolutionForward(Tensor input, Tensor weight, Tensor output, in Window2d window, in ConvGeometry g, ConvolutionEpilogue epilogue)
    {
        // input (N,C,H,W), weight (O,C/G,KH,KW), output (N,O,OH,OW)
        float[] x = ArrayOf(input), w = ArrayOf(weight), y = ArrayOf(output);
        var active = epilogue.IsEmpty ? null : epilogue;
        try
        {
            if (g.InChannels == 1 && g.Groups > 1)
            {
                if (Skips) return; // a work slice's unit: the whole depthwise convolution
                depthwiseWork.Forward(x, w, y, g, window, epilogue, FusedProducts, Threads);
                return;
            }
            bool direct = UsesDirectConvolution && (!g.IsPointwise(window) || PointwiseIsDirect(g));
            for (int group = 0; group < g.Groups; group++)
            {
                if (Skips) continue; // a work slice's unit: one group over the whole batch
                var weights = new GemmOperand(w, group * g.GroupOutputs * g.KernelLength, g.KernelLength);
                if (direct)
                {
                    directConvolution.Build(new ImageBatch(x, g.InputPlaneSize, group * g.InChannels, g.InputHeight, g.InputWidth),
                        g.Batch, g.InChannels, g.KernelHeight, g.KernelWidth, window, Threads);
                    directConvolution.Run(w, weights.Offset, g.GroupOutputs, new ImageBatch(y, g.OutputPlaneSize, group * g.GroupOutputs, g.OutputHeight, g.OutputWidth),
                        accumulate: false, active, gemm.Kernel, Threads);
                    continue;
                }
                if (g.IsPointwise(window))
                {
                    // a 1×1 stride-1 convolution is a GEMM on each input plane itself: (O/G, C/G)·(C/G, P)
                    for (int n = 0; n < g.Batch; n++)
                    {
                        (epilogue.RowOffset, epilogue.SampleOffset) = (group * g.GroupOutputs, n * g.OutputPlaneSize);
                        var plane = new GemmOperand(x, n * g.InputPlaneSize + group * g.GroupPlaneSize, g.OutputPixels);
                        gemm.Multiply(g.GroupOutputs, g.OutputPixels, g.KernelLength, weights, plane, y,
                            n * g.OutputPlaneSize + group * g.GroupOutputs * g.OutputPixels, g.OutputPixels, false, active);
                    }
                    continue;
                }
                gemm.Multiply(g.GroupOutputs, g.Batch * g.OutputPixels, g.KernelLength, weightSource.Set(weights),
                    im2col.Aim(x, g, window, group, transposed: false), outputTarget.Aim(y, g.OutChannels, g.OutputPixels, group * g.GroupOutputs, active));
            }
        }
        finally
        {
            epilogue.Clear();
            weightSource.Clear();
            im2col.Clear();
            outputTarget.Clear();
        }
    }

    // The convolution's GEMM operands, made once and aimed at each call's tensors.
    readonly DenseSource weightSource = new();
    readonly Im2ColSource im2col = new();
    readonly ChannelMajorSource gradientSource = new();
    readonly ChannelMajorTarget outputTarget = new();
    readonly Col2ImTarget col2im = new();

    /// <inheritdoc/>
    public void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, Window2d window, int groups = 1) =>
        ConvolutionBackward(input, weight, outputGrad, inputGrad, weightGrad, biasGrad, window, groups, sliced: true);

    /// <summary><see cref="Conv2dBackward"/>; <paramref name="sliced"/>: each group is a unit of a work slice (false when
    /// the caller is one unit itself: <see cref="ConvTranspose2dForward"/>).</summary>
    void ConvolutionBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad,
        in Window2d window, int groups, bool sliced)
    {
        // in the forward pass this was y'_g = W_g·col_g + b with col_g = im2col(x_g) over the whole batch; so with
        // dy'_g the group's output gradient seen as (O/G, N·P): dW_g += dy'_g·col_gᵀ, db += Σ dy', and
        // dx_g += col2im(W_gᵀ·dy'_g), each GEMM reading its operands in place and col2im taking the tiles as they finish
        var g = new ConvGeometry(input.Shape, weight.Shape, outputGrad.Shape, groups);
        float[] x = ArrayOf(input), dy = ArrayOf(outputGrad), w = ArrayOf(weight);
        float[]? dx = inputGrad is null ? null : ArrayOf(inputGrad), dw = OptionalArray(weightGrad);
        float[]? db = OptionalArray(biasGrad);
        try
        {
            for (int group = 0; group < groups; group++)
            {
                if (sliced && Skips) continue; // a work slice's unit: one group over the whole batch (its weight gradient sums the batch in one pass)
                int rowOffset = group * g.GroupOutputs, weightOffset = rowOffset * g.KernelLength;
                if (db is not null)
                    for (int o = rowOffset; o < rowOffset + g.GroupOutputs; o++) db[o] += ChannelSum(dy, g.Batch, g.OutChannels, g.OutputPixels, o);
                if (dw is not null) denseWeightGrad.Set(dw, weightOffset, g.KernelLength, accumulate: true, epilogue: null);
                if (UsesDirectConvolution)
                {
                    var images = new ImageBatch(x, g.InputPlaneSize, group * g.InChannels, g.InputHeight, g.InputWidth);
                    if (dw is not null)
                    {
                        // dW_g (O/G, K) += dY_g (O/G, N·V) · X_gᵀ (N·V, K): the input's phase planes and dy in their virtual columns
                        directConvolution.Build(images, g.Batch, g.InChannels, g.KernelHeight, g.KernelWidth, window, Threads);
                        int columns = g.Batch * WeightGradient.ImageColumns(directConvolution);
                        VirtualOutputGradient(dy, g, rowOffset, directConvolution);
                        if (WeightGradient.IsSupported && g.GroupOutputs * g.KernelLength <= WeightGradient.MaxOutputs)
                            weightGradient.Run(virtualGradient, g.GroupOutputs, directConvolution, g.Batch, dw, weightOffset, Threads);
                        else
                            gemm.Multiply(g.GroupOutputs, g.KernelLength, columns, weightSource.Set(new GemmOperand(virtualGradient, 0, columns)),
                                planeSource.Aim(directConvolution), denseWeightGrad);
                    }
                    if (dx is not null && TransposedWindow(g, window) is { } transposed)
                    {
                        // dx_g += conv(dy_g padded, W_g flipped and transposed): (C/G, O/G·KH·KW) weights over dy's phase planes
                        FlippedTransposedWeights(w, g, weightOffset);
                        directConvolution.Build(new ImageBatch(dy, g.OutputPlaneSize, rowOffset, g.OutputHeight, g.OutputWidth),
                            g.Batch, g.GroupOutputs, g.KernelHeight, g.KernelWidth, transposed, Threads);
                        directConvolution.Run(flippedWeights, 0, g.InChannels, images with { Data = dx }, accumulate: true, null, gemm.Kernel, Threads);
                        continue;
                    }
                }
                else if (dw is not null)
                    // dW_g (O/G, K) += dy'_g (O/G, N·P) · col_gᵀ (N·P, K)
                    gemm.Multiply(g.GroupOutputs, g.KernelLength, g.Batch * g.OutputPixels, gradientSource.Aim(dy, g.OutChannels, g.OutputPixels, rowOffset),
                        im2col.Aim(x, g, window, group, transposed: true), denseWeightGrad);
                if (dx is null) continue;
                // dx_g += col2im(W_gᵀ (K, O/G) · dy'_g (O/G, N·P))
                gemm.Multiply(g.KernelLength, g.Batch * g.OutputPixels, g.GroupOutputs, weightSource.Set(new GemmOperand(w, weightOffset, g.KernelLength, transposed: true)),
                    gradientSource.Aim(dy, g.OutChannels, g.OutputPixels, rowOffset), col2im.Aim(dx, g, window, group));
            }
        }
        finally
        {
            weightSource.Clear();
            gradientSource.Clear();
            im2col.Clear();
            col2im.Clear();
            planeSource.Clear();
            denseWeightGrad.Clear();
        }
    }

    /// <summary>
    /// Whether a pointwise layer runs as a direct convolution rather than as a GEMM on its input planes: when its planes
    /// are small (at most 256 pixels) or its input channels many (at least 256). The GEMM packs the weights on every call
    /// (M·K floats, as large as the product's work is small there); the direct kernel reads them in place. Measured on
    /// MobileNet v2 at batch 1 (one thread, Zen 4): the 7×7 layers and the 14×14 projections 15–40 % faster direct (the
    /// 14×14 expansions about even), 28×28 and larger ones 10–35 % faster as a GEMM (which streams its packed input
    /// panels where the direct kernel reads K planes at once).
    /// </summary>
    static bool PointwiseIsDirect(in ConvGeometry g) => g.OutputPixels <= 256 || g.InChannels >= 256;

    /// <summary>The direct convolution (<see cref="DirectConvolution"/>) runs in <see cref="CpuArithmetic.Fast"/> arithmetic
    /// when the GEMM kernel in use has its fused multiply-add twin; <see cref="CpuArithmetic.Reference"/> keeps im2col + GEMM.</summary>
    bool UsesDirectConvolution => Arithmetic == CpuArithmetic.Fast && DirectConvolution.Supports(gemm.Kernel);

    readonly DirectConvolution directConvolution = new();
    readonly PhasePlaneSource planeSource = new();
    readonly WeightGradient weightGradient = new();
    float[] virtualGradient = [], flippedWeights = [];

    /// <summary>dy's channels [rowOffset, rowOffset + O/G) in the virtual columns of <paramref name="planes"/>' last Build,
    /// (O/G, N·V') with V' = <see cref="WeightGradient.ImageColumns"/>: <c>dY[o, n·V' + i·Wq + j] = dy[n, rowOffset + o, i, j]</c>,
    /// 0 in the dropped columns j ≥ OW and in the padding up to V'.</summary>
    void VirtualOutputGradient(float[] dy, in ConvGeometry g, int rowOffset, DirectConvolution planes)
    {
        int columns = WeightGradient.ImageColumns(planes), stride = planes.PlaneWidth, width = g.OutputWidth;
        if (virtualGradient.Length < g.GroupOutputs * g.Batch * columns) virtualGradient = new float[g.GroupOutputs * g.Batch * columns];
        for (int o = 0; o < g.GroupOutputs; o++)
            for (int n = 0; n < g.Batch; n++)
            {
                Span<float> target = virtualGradient.AsSpan((o * g.Batch + n) * columns, columns);
                ReadOnlySpan<float> plane = dy.AsSpan((n * g.OutChannels + rowOffset + o) * g.OutputPixels, g.OutputPixels);
                for (int i = 0; i < g.OutputHeight; i++)
                {
                    plane.Slice(i * width, width).CopyTo(target.Slice(i * stride, width));
                    int end = i < g.OutputHeight - 1 ? (i + 1) * stride : columns;
                    target[(i * stride + width)..end].Clear();
                }
            }
    }

    /// <summary>
    /// The window of the input gradient as a convolution of the output gradient, for stride-1 layers: the same dilation,
    /// padding <c>d·(K − 1) − pad</c> on each side (so the result is H×W). Null when the stride is above 1 or a padding
    /// exceeds <c>d·(K − 1)</c> (the input gradient then goes through col2im).
    /// </summary>
    static Window2d? TransposedWindow(in ConvGeometry g, in Window2d w)
    {
        int spanHeight = w.DilationHeight * (g.KernelHeight - 1), spanWidth = w.DilationWidth * (g.KernelWidth - 1);
        if (w.StrideHeight != 1 || w.StrideWidth != 1 || g.Groups != 1) return null;
        if (w.PadTop > spanHeight || w.PadBottom > spanHeight || w.PadLeft > spanWidth || w.PadRight > spanWidth) return null;
        if (g.OutputHeight + 2 * spanHeight - w.PadTop - w.PadBottom - spanHeight != g.InputHeight) return null;
        if (g.OutputWidth + 2 * spanWidth - w.PadLeft - w.PadRight - spanWidth != g.InputWidth) return null;
        return new Window2d(g.KernelHeight, g.KernelWidth, 1, 1, spanHeight - w.PadTop, spanWidth - w.PadLeft,
            spanHeight - w.PadBottom, spanWidth - w.PadRight, w.DilationHeight, w.DilationWidth);
    }

    /// <summary><c>W'[c, (o·KH + p)·KW + q] = W[o, c, KH − 1 − p, KW − 1 − q]</c> for the group's (O/G, C/G, KH, KW) weights.</summary>
    void FlippedTransposedWeights(float[] w, in ConvGeometry g, int weightOffset)
    {
        int taps = g.KernelHeight * g.KernelWidth, length = g.InChannels * g.GroupOutputs * taps;
        if (flippedWeights.Length < length) flippedWeights = new float[length];
        for (int o = 0; o < g.GroupOutputs; o++)
            for (int c = 0; c < g.InChannels; c++)
            {
                ReadOnlySpan<float> kernel = w.AsSpan(weightOffset + (o * g.InChannels + c) * taps, taps);
                Span<float> target = flippedWeights.AsSpan((c * g.GroupOutputs + o) * taps, taps);
                for (int t = 0; t < taps; t++) target[t] = kernel[taps - 1 - t];
            }
    }

    readonly DenseTarget denseWeightGrad = new();

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

        /// <summary>A 1×1 window with stride 1 and no padding: the input plane is its own im2col matrix.</summary>
        public bool IsPointwise(in Window2d w) => KernelHeight == 1 && KernelWidth == 1 && w.StrideHeight == 1 && w.StrideWidth == 1
            && w.PadTop == 0 && w.PadLeft == 0 && OutputHeight == InputHeight && OutputWidth == InputWidth;
    }
}

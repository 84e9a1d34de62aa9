namespace NeuroPlugin.Backends.OpenGL;

// 2-D convolution (conv2d.comp): direct convolution, register-blocked, forward (alone or with a fused epilogue) and the
// three gradients.
public sealed partial class GLBackend : IFusedForward, IFusedPoolForward
{
    /// <summary>Largest register blocks per invocation (up to 8 channels × 16 columns of accumulators): every
    /// weight a kernel loads is used once per column, every input once per channel and tap.</summary>
    const int ConvMaxBlockChannels = 8, ConvMaxBlockColumns = 16;
    /// <summary>Largest column block of the weight gradient: half the forward's, because each invocation keeps the input
    /// segment of its columns in registers (<c>(BLOCK_COLUMNS − 1)·SW + (KW − 1)·DW + 1</c> floats) next to
    /// BLOCK_CHANNELS × KW accumulators. Measured on llvmpipe at batch 32 (2026-12-05, best of 7 on a loaded machine): 8
    /// columns 1.6 ms (LeNet conv1, OW 28, blocks of 7) and 59 ms (16→16 channels 3×3, OW 32) against 1.8 ms and 80 ms
    /// with 16; at OW 10 (LeNet conv2) 10-column blocks were faster, 4.5 against 5.7 ms. (This limit was written as
    /// <see cref="ConvMaxBlockChannels"/>, which has the same value, where a column limit was meant.) The block changes no result: columns past OW count
    /// as zero and the columns are summed in order whatever the block.</summary>
    const int ConvWeightGradMaxBlockColumns = 8;
    /// <summary>Invocations a split weight-gradient pass aims for, so a small kernel (LeNet's 150 weights)
    /// still keeps every core or shader unit busy.</summary>
    const int ConvWeightGradTargetInvocations = 4096;

    ComputeProgram? convBiasGradProgram;

    /// <summary>The channel block of a convolution with <paramref name="groups"/> groups: as
    /// <see cref="ChooseBlock"/> without groups; with groups the largest divisor of the per-group channel
    /// count up to the maximum, so that a block never straddles two groups (depthwise: 1).</summary>
    static int GroupBlock(int channels, int groups)
    {
        if (groups == 1) return ChooseBlock(channels, ConvMaxBlockChannels);
        int perGroup = channels / groups;
        for (int block = Math.Min(perGroup, ConvMaxBlockChannels); block > 1; block--)
            if (perGroup % block == 0) return block;
        return 1;
    }

    /// <summary><c>y[n,o,i,j] = b[o] + Σ_{c,p,q} x[n,c, i·s − pad + p·d, j·s − pad + q·d]·W[o,c,p,q]</c>:
    /// input (N,C,H,W), weight (O,C,KH,KW), bias (O) or null, output (N,O,OH,OW).</summary>
    public void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window, int groups = 1) =>
        FusedConvolutionForward(input, new FusedConvolution(weight, bias, null, null, null, 0, window, groups), output.Shape, null, output);

    /// <summary>
    /// <c>y = act(bn(conv(x) + b) + r)</c> in one dispatch: conv2d.comp's forward with the epilogue compiled in
    /// (FUSED_BATCH_NORM, FUSED_RESIDUAL, ACTIVATION), each part repeating its own kernel's arithmetic, so the output has
    /// the bits of <see cref="Conv2dForward"/>, <see cref="BatchNormForward"/> (eval), the Add and
    /// <see cref="ActivationForward"/> run one after another. Shapes as <see cref="Conv2dForward"/>; the residual has the
    /// output's shape.
    /// </summary>
    /// <exception cref="ArgumentException">A bias, a batch norm and a residual together (see <see cref="CanFuse"/>).</exception>
    public void Conv2dFusedForward(Tensor input, Tensor weight, Tensor? bias, FoldedBatchNorm? batchNorm, Tensor? residual,
        ActivationKind? activation, float alpha, Tensor output, Window2d window, int groups = 1) =>
        FusedConvolutionForward(input, new FusedConvolution(weight, bias, batchNorm, residual, activation, alpha, window, groups), output.Shape, null, output);

    /// <summary>Whether <see cref="Conv2dMaxPoolFusedForward"/> takes the pooling: one pooled column's window spans at
    /// most <see cref="ConvMaxBlockColumns"/> convolution columns (the register block the kernel holds).</summary>
    public bool CanFusePool(TensorShape convolutionOutput, Window2d pool) => PoolSpan(pool, 1) <= ConvMaxBlockColumns;

    /// <summary>
    /// <c>y = maxpool(act(bn(conv(x) + b) + r))</c> in one dispatch: conv2d.comp's fused forward with FUSED_MAX_POOL, where
    /// each invocation computes the convolution rows and columns its pooled block's windows cover (overlapping windows
    /// compute theirs again) and takes their maximum as pool2d.comp's MAX_FORWARD does: the bits of
    /// <see cref="Conv2dFusedForward"/> then <see cref="MaxPool2dForward"/>, without writing the convolution's output.
    /// Input (N,C,H,W), <paramref name="intermediate"/> the convolution's output shape (N,O,OH,OW) (not written), output
    /// (N,O,POH,POW); no argmax is written.
    /// </summary>
    public void Conv2dMaxPoolFusedForward(Tensor input, in FusedConvolution convolution, Tensor intermediate, Window2d pool, Tensor argmax, Tensor output)
    {
        if (!CanFusePool(intermediate.Shape, pool))
            throw new ArgumentException($"a pooling window {pool} spans more than {ConvMaxBlockColumns} convolution columns", nameof(pool));
        FusedConvolutionForward(input, convolution, intermediate.Shape, pool, output);
    }

    /// <summary>The convolution columns that <paramref name="columns"/> neighbouring pooled columns' windows cover.</summary>
    static int PoolSpan(Window2d pool, int columns) => (columns - 1) * pool.StrideWidth + (pool.KernelWidth - 1) * pool.DilationWidth + 1;

    /// <summary>The pooled columns an invocation of FUSED_MAX_POOL computes: as many as keep <see cref="PoolSpan"/> within
    /// <see cref="ConvMaxBlockColumns"/>, the fewest idle in the last block (<see cref="ChooseBlock"/>).</summary>
    static int PooledColumnBlock(Window2d pool, int pooledWidth) =>
        ChooseBlock(pooledWidth, (ConvMaxBlockColumns - PoolSpan(pool, 1)) / pool.StrideWidth + 1);

    /// <summary>Multiply-adds per invocation that one dispatch of a forward under a work slice aims at: above it the sum
    /// over input channels runs in ranges (<see cref="ForwardChannelRanges"/>), so that a unit of work (a group, or a piece
    /// of one: <see cref="ComputeProgram.PiecesPerGroup"/>) of a 3×3 convolution over 512 channels, whose whole invocation is
    /// 8× this, still fits a frame budget of a millisecond or two on llvmpipe.</summary>
    const long ForwardRangeWork = 1 << 15;

    /// <summary>The ranges of a group's <paramref name="groupChannels"/> input channels the unpooled forward sums in, one
    /// dispatch each, under a work slice (<see cref="Slice"/>): enough to bring an invocation's work
    /// (<paramref name="rowCost"/>) to <see cref="ForwardRangeWork"/>; 1 without a slice (one dispatch, as always).</summary>
    int ForwardChannelRanges(int groupChannels, long rowCost) =>
        Device.Slice is null ? 1 : (int)Math.Clamp((rowCost + ForwardRangeWork - 1) / ForwardRangeWork, 1, groupChannels);

    /// <summary>conv2d.comp's fused forward into <paramref name="output"/>: the convolution's output (shape
    /// <paramref name="convolutionOutput"/>) itself, or its max pooling by <paramref name="pool"/>. Under a work slice an
    /// unpooled forward with much work per invocation sums its input channels in ranges, one dispatch each (the first
    /// writes raw sums, the next ones resume from them, the last applies the epilogue: the bits of one dispatch), so its
    /// units of work stay small enough for a frame.</summary>
    void FusedConvolutionForward(Tensor input, in FusedConvolution c, TensorShape convolutionOutput, Window2d? pool, Tensor output)
    {
        if (!CanFuse(c.Bias is not null, c.BatchNorm is not null, c.Residual is not null))
            throw new ArgumentException("a GL kernel has 8 storage bindings: a convolution with a bias, a batch norm and a residual needs 9; end the fused chain before the Add", "residual");
        if (c.Residual is not null && c.Residual.Shape != convolutionOutput)
            throw new ArgumentException($"the residual {c.Residual.Shape} must have the convolution output's shape {convolutionOutput}", "residual");
        // the residual takes a binding point the variant leaves free: Output1 without a batch norm, else the bias's
        int residualBinding = c.BatchNorm is null ? Output1 : Input2;
        var y = output.Shape;
        int channels = GroupBlock(y.C, c.Groups), groupChannels = input.Shape.C / c.Groups;
        int columns = pool is { } p ? PooledColumnBlock(p, y.W) : ChooseBlock(y.W, ConvMaxBlockColumns);
        // an invocation: one output row of `columns` columns (pooled: the PKH convolution rows of its windows)
        long rowCost = (long)groupChannels * c.Window.KernelHeight * c.Window.KernelWidth * channels *
            (pool is { } window ? PoolSpan(window, columns) * window.KernelHeight : columns);
        int ranges = pool is null ? ForwardChannelRanges(groupChannels, rowCost) : 1;
        for (int range = 0; range < ranges; range++)
        {
            var program = BindConvolutionForward(FusedVariant(c.BatchNorm is not null, c.Residual is null ? -1 : residualBinding, c.Activation, pool,
                    resume: range > 0, partial: range < ranges - 1),
                input, c.Weight, c.Bias, output, c.Window, channels, columns, c.Groups);
            if (c.BatchNorm is { } bn)
            {
                Bind(Input3, bn.Weight);
                Bind(Input4, bn.Bias);
                Bind(Output1, bn.RunningMean);
                Bind(Output2, bn.RunningVar);
                program.SetUniform("epsilon", bn.Epsilon);
            }
            if (c.Residual is not null) Bind(residualBinding, c.Residual);
            if (c.Activation is not null) program.SetUniform("alpha", c.Alpha);
            if (pool is not null) program.SetUniform("convolutionSize", convolutionOutput.H, convolutionOutput.W);
            if (ranges > 1) program.SetUniform("channelRange", groupChannels * range / ranges, groupChannels * (range + 1) / ranges);
            program.Dispatch(y.N * y.H * DivideRoundingUp(y.W, columns), DivideRoundingUp(y.C, channels), rowCost / ranges);
        }
    }

    /// <summary>Whether <see cref="Conv2dFusedForward"/> takes these parts in one kernel: all but a bias, a batch norm and
    /// a residual together (nine buffers; OpenGL 4.3 promises 8 storage bindings).</summary>
    public bool CanFuse(bool bias, bool batchNorm, bool residual) => !(bias && batchNorm && residual);

    readonly Dictionary<(bool BatchNorm, int ResidualBinding, ActivationKind? Activation, Window2d? Pool, bool Resume, bool Partial), string> fusedVariants = [];

    /// <summary>The define list of a forward variant (FORWARD, with its fused parts, and for a range of the input channels
    /// RESUME_SUMS and/or PARTIAL_SUMS), made once per combination (a call allocates nothing after).</summary>
    string FusedVariant(bool batchNorm, int residualBinding, ActivationKind? activation, Window2d? pool, bool resume = false, bool partial = false)
    {
        var key = (batchNorm, residualBinding, activation, pool, resume, partial);
        if (!fusedVariants.TryGetValue(key, out string? variant))
            fusedVariants[key] = variant = "FORWARD" + (resume ? ";RESUME_SUMS" : "") + (partial ? ";PARTIAL_SUMS" : "") + (batchNorm ? ";FUSED_BATCH_NORM" : "") +
                (residualBinding >= 0 ? $";FUSED_RESIDUAL={residualBinding}" : "") +
                (activation is { } kind ? ";ACTIVATION;" + kind.ToString().ToUpperInvariant() : "") +
                (pool is { } p ? $";FUSED_MAX_POOL;PKH={p.KernelHeight};PKW={p.KernelWidth};PSH={p.StrideHeight};PSW={p.StrideWidth};" +
                    $"PPT={p.PadTop};PPL={p.PadLeft};PDH={p.DilationHeight};PDW={p.DilationWidth}" : "");
        return variant;
    }

    /// <summary>Binds conv2d.comp's forward (<paramref name="variant"/>: FORWARD or a fused one) with its register block
    /// (<paramref name="channels"/> × <paramref name="columns"/>): input, weights, bias, output, shapes; a fused variant
    /// binds its own tensors after this.</summary>
    ComputeProgram BindConvolutionForward(string variant, Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window,
        int channels, int columns, int groups)
    {
        EnsureUsable();
        var program = WindowProgram("conv2d.comp", variant, window, channels, columns, groups);
        Bind(Input0, input);
        Bind(Input1, weight);
        BindOptional(Input2, bias);
        Bind(Output0, output);
        SetShapes(program, input.Shape, output.Shape);
        program.SetUniform("hasBias", bias is null ? 0 : 1);
        return program;
    }

    /// <summary>Adds the gradients of <see cref="Conv2dForward"/>: dx (N,C,H,W) by gathering over the outputs each
    /// input element reached, dW (O,C,KH,KW) and db (O) by two-pass reductions over N·OH·OW.</summary>
    public void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, Window2d window, int groups = 1,
        bool accumulate = true)
    {
        EnsureUsable();
        var x = input.Shape; var y = outputGrad.Shape;
        int kernelArea = window.KernelHeight * window.KernelWidth;

        if (inputGrad is not null) ConvolutionInputGrad(outputGrad, weight, inputGrad, window, groups, transposed: false, bias: null, accumulate);

        if (weightGrad is not null)
        {
            // Split the sum over the N·OH output rows into slices: pass 1 writes partial[slice, o, c, p, q],
            // pass 2 adds the slices into dW. An invocation covers one slice and one kernel row (c, p).
            int channels = GroupBlock(y.C, groups), columns = ChooseBlock(y.W, ConvWeightGradMaxBlockColumns);
            var program = WindowProgram("conv2d.comp", "WEIGHT_GRAD", window, channels, columns, groups);
            int rows = y.N * y.H, kernelRows = x.C / groups * window.KernelHeight;
            int slices = Math.Clamp(DivideRoundingUp(ConvWeightGradTargetInvocations, kernelRows), 1, rows);
            int rowsPerSlice = DivideRoundingUp(rows, slices);
            slices = DivideRoundingUp(rows, rowsPerSlice);
            int weightCount = y.C * (x.C / groups) * kernelArea;
            var partial = Scratch(checked(slices * weightCount));
            Bind(Input0, input);
            Bind(Input1, outputGrad);
            Bind(Output0, partial);
            SetShapes(program, x, y);
            program.SetUniform("rowsPerSlice", rowsPerSlice);
            program.Dispatch(slices * kernelRows, DivideRoundingUp(y.C, channels),
                (long)rowsPerSlice * y.W * channels * window.KernelWidth);
            ReduceSlices(partial, slices, weightCount, RangeOf(weightGrad), accumulate: true);
        }

        if (biasGrad is not null) AddChannelSums(outputGrad, biasGrad);
    }

    /// <summary>The convolution's input gradient by gathering: dx (N,C,H,W) += Σ over the outputs each input element reached of
    /// dy·w (or, with <paramref name="accumulate"/> false, dx = 0 + that sum without reading dx), one invocation per input
    /// row, column block and channel block. <paramref name="transposed"/>: the same sum is a
    /// transposed convolution's output, which it overwrites with the sum plus <paramref name="bias"/> (conv2d.comp's
    /// INPUT_GRAD with TRANSPOSED).</summary>
    void ConvolutionInputGrad(Tensor outputGrad, Tensor weight, Tensor inputGrad, Window2d window, int groups, bool transposed, Tensor? bias,
        bool accumulate = true)
    {
        var x = inputGrad.Shape; var y = outputGrad.Shape;
        int channels = GroupBlock(x.C, groups), columns = ChooseBlock(x.W, ConvMaxBlockColumns);
        var program = WindowProgram("conv2d.comp", transposed ? "INPUT_GRAD;TRANSPOSED" : "INPUT_GRAD", window, channels, columns, groups);
        Bind(Input0, outputGrad);
        Bind(Input1, weight);
        Bind(Output0, inputGrad);
        if (transposed)
        {
            BindOptional(Input2, bias);
            program.SetUniform("hasBias", bias is null ? 0 : 1);
        }
        else program.SetUniform("accumulate", accumulate ? 1 : 0);
        SetShapes(program, x, y);
        program.Dispatch(x.N * x.H * DivideRoundingUp(x.W, columns), DivideRoundingUp(x.C, channels),
            (long)(y.C / groups) * window.KernelHeight * window.KernelWidth * channels * columns);
    }

    /// <summary>The transposed convolution is the input gradient of the convolution from O to C channels whose input is
    /// our output: one INPUT_GRAD;TRANSPOSED dispatch that writes every output element once (no clear needed).</summary>
    public void ConvTranspose2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window, int groups = 1)
    {
        EnsureUsable();
        ConvolutionInputGrad(input, weight, output, window, groups, transposed: true, bias);
    }

    /// <summary><c>sums[c] += Σ_{n,h,w} x[n,c,h,w]</c> in two passes: partial[n, c] = Σ_{h,w} x[n,c,h,w] (conv2d.comp's
    /// BIAS_GRAD, one invocation per (n, c)), then reduce.comp adds the N partials into the sums.</summary>
    public void AddChannelSums(Tensor input, Tensor sums)
    {
        EnsureUsable();
        var x = input.Shape;
        int planes = x.N * x.C, plane = input.Length / planes;
        var program = Program(ref convBiasGradProgram, "conv2d.comp", "BIAS_GRAD");
        var partial = Scratch(planes);
        Bind(Input1, input);
        Bind(Output0, partial);
        program.SetUniform("outputShape", x.N, x.C, plane, 1);
        program.Dispatch(planes, 1, plane);
        ReduceSlices(partial, x.N, x.C, RangeOf(sums), accumulate: true);
    }
}

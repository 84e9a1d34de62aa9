using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend : IFusedForward
{
    readonly ConvolutionEpilogue convolutionEpilogue = new();
    readonly WinogradConvolution winograd = new();

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
        ConvolutionForward(input, weight, output, window, g,
            FusedEpilogue(convolutionEpilogue, ref foldedShift, ref foldedScale, bias, batchNorm, residual, activation, alpha, g));
    }

    /// <summary><paramref name="epilogue"/> set for a fused convolution of geometry <paramref name="g"/>: its bias, the
    /// batch norm's eval-mode coefficients (as BatchNormForward computes them, into <paramref name="shift"/> and
    /// <paramref name="scale"/>), the residual and the activation.</summary>
    ConvolutionEpilogue FusedEpilogue(ConvolutionEpilogue epilogue, ref float[] shift, ref float[] scale, Tensor? bias, FoldedBatchNorm? batchNorm,
        Tensor? residual, ActivationKind? activation, float alpha, in ConvGeometry g)
    {
        float[]? shifts = null, scales = null, offset = null;
        if (batchNorm is { } bn)
        {
            (shifts, scales, offset) = (Workspace(ref shift, g.OutChannels), Workspace(ref scale, g.OutChannels), ArrayOf(bn.Bias));
            EvalCoefficients(Data(bn.RunningMean), Data(bn.RunningVar), Data(bn.Weight), bn.Epsilon, shifts.AsSpan(0, g.OutChannels), scales.AsSpan(0, g.OutChannels));
        }
        return epilogue.For(bias is null ? null : ArrayOf(bias), shifts, scales, offset, residual is null ? null : ArrayOf(residual),
            activation, alpha, g.OutChannels, g.OutputPixels);
    }

    float[] foldedShift = [], foldedScale = [];

    static float[] Workspace(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer;
    }

    /// <summary>
    /// Whether 3×3 stride-1 convolutions with many channels on large planes use Winograd's F(2×2, 3×3) in
    /// <see cref="CpuArithmetic.Fast"/> arithmetic (<c>WinogradConvolution</c>; other bits than the direct sum, within a
    /// few units in the last place of the inputs' magnitude). On by default: with AVX-512 on Zen 4 it takes ResNet-18's
    /// 56×56 and 28×28 layers from 2.13 and 2.22 ms to 1.39 and 1.32 ms (batch 1, one thread), and since its input
    /// transform is kept per sample while the input stands, a frame budget's parts no longer redo it: budgeted ResNet-18
    /// inference at 2 ms a frame (<c>InGameLearning --inference-model resnet18 --inference-budget-ms 2 --frames 2000
    /// --cpu</c>) made 160–170 passes with it against 133–152 without (2026-12-07). Turn it off where every convolution must
    /// be the direct sum.
    /// </summary>
    public bool UseWinograd { get; set; } = true;

    /// <summary>
    /// The convolution's sum followed by <paramref name="epilogue"/>, by the fastest method that applies: a depthwise
    /// kernel (one input channel per group), Winograd's F(2×2, 3×3) for 3×3 stride-1 layers in <see cref="CpuArithmetic.Fast"/>
    /// arithmetic when <see cref="UseWinograd"/> (<c>WinogradConvolution.Applies</c>), a GEMM with the pixels as its rows
    /// for small planes (<see cref="PointwiseIsPixelMajor"/>, <see cref="WindowIsPixelMajor"/>), the direct convolution (<see cref="UsesDirectConvolution"/>; for 1×1 stride-1
    /// layers without padding where <see cref="PointwiseIsDirect"/>), a GEMM on the input itself for other such layers, and
    /// otherwise one GEMM per group over the whole batch, <c>y'_g (O/G, N·P) = W_g (O/G, K) · col_g (K, N·P)</c> with
    /// K = C/G·KH·KW and P = OH·OW, where col_g = im2col(x's channels of group g) is packed block by block straight from
    /// x (<see cref="Im2ColSource"/>) and y' goes straight into y's (N,O,OH,OW) order (<see cref="ChannelMajorTarget"/>):
    /// the course's im2col + GEMM, the same sums, without the im2col matrix.
    /// <para>Under a <see cref="Slice"/> the units are, group by group, (sample, tile of <see cref="ChannelTile"/> output
    /// channels) (<see cref="ChannelTileBlocks"/>; tiles of the GEMM's panel width where the pixels are its rows, so each
    /// unit's channels start a panel of the packed weights; the depthwise kernel numbers all channels at once): each unit
    /// computes its outputs whole, in the same order as the unsliced op, so any windows give its bits.</para>
    /// </summary>
    void ConvolutionForward(Tensor input, Tensor weight, Tensor output, in Window2d window, in ConvGeometry g, ConvolutionEpilogue epilogue)
    {
        // input (N,C,H,W), weight (O,C/G,KH,KW), output (N,O,OH,OW)
        // the input and weights are only read: their versions stay, so what was made from them stays valid (the packed
        // weights, Winograd's transforms)
        float[] x = ReadOnlyArrayOf(input), w = ReadOnlyArrayOf(weight), y = ArrayOf(output);
        var active = epilogue.IsEmpty ? null : epilogue;
        try
        {
            if (g.InChannels == 1 && g.Groups > 1)
            {
                var (from, to) = Units((long)g.Batch * ChannelTiles(g.OutChannels));
                var depthwise = new ChannelTileBlocks(from, to, g.OutChannels);
                while (depthwise.Next(out var block))
                    depthwiseWork.Forward(x, w, y, g, window, epilogue, FusedProducts, Threads, block);
                return;
            }
            if (UseWinograd && UsesDirectConvolution && WinogradConvolution.Applies(g, window))
            {
                var (from, to) = Units((long)g.Batch * ChannelTiles(g.OutChannels));
                var tiles = new ChannelTileBlocks(from, to, g.OutChannels);
                while (tiles.Next(out var block))
                    winograd.Forward(x, w, y, g, window, active, gemm.Kernel, Threads, block, StorageOf(weight).Version, StorageOf(input).Version);
                return;
            }
            bool pointwise = g.IsPointwise(window), pixelMajor = IsPixelMajor(g, window);
            bool direct = UsesDirectConvolution && !pixelMajor && (!pointwise || PointwiseIsDirect(g));
            var packed = pixelMajor ? PackedWeights.Find(weight, g.OutChannels, g.KernelLength, gemm.PanelColumns, g.GroupOutputs, Threads) : default;
            int tile = ForwardTile(g, window);
            for (int group = 0; group < g.Groups; group++)
            {
                int rowOffset = group * g.GroupOutputs;
                var weights = new GemmOperand(w, rowOffset * g.KernelLength, g.KernelLength);
                var (from, to) = Units((long)g.Batch * ((g.GroupOutputs + tile - 1) / tile));
                var blocks = new ChannelTileBlocks(from, to, g.GroupOutputs, tile);
                while (blocks.Next(out var block))
                {
                    // samples [block.FirstSample, block.EndSample) × the group's output channels [block.FirstChannel, block.EndChannel)
                    int channel = rowOffset + block.FirstChannel;
                    if (direct)
                    {
                        directConvolution.Build(new ImageBatch(x, g.InputPlaneSize, group * g.InChannels, g.InputHeight, g.InputWidth, block.FirstSample),
                            block.Samples, g.InChannels, g.KernelHeight, g.KernelWidth, window, Threads, capacity: g.Batch);
                        directConvolution.Run(w, channel * g.KernelLength, block.Channels,
                            new ImageBatch(y, g.OutputPlaneSize, channel, g.OutputHeight, g.OutputWidth, block.FirstSample), accumulate: false, active, gemm.Kernel, Threads);
                    }
                    else if (pixelMajor)
                    {
                        // a small plane's pixels as the rows: (P, K)·(K, O/G) = col_nᵀ·W_gᵀ, where col_n is the group's
                        // input planes themselves for a pointwise layer (read in place), else their im2col packed into
                        // the GEMM's row panels from the direct convolution's phase planes, and kept for the next call on
                        // the same image (a frame budget's parts, a few channels of one image each, pack it once); each
                        // finished tile stored transposed into y
                        var source = (x, StorageOf(input).Version, block.FirstSample, group, g.InputPlaneSize, g.InChannels, g.InputHeight, g.InputWidth, g.KernelHeight,
                            g.KernelWidth, window, gemm.PanelRows);
                        bool kept = !pointwise && block.Samples == 1 && pixelPanelsOf == source;
                        pixelPanelsOf = default;
                        if (!pointwise && !kept)
                            directConvolution.Build(new ImageBatch(x, g.InputPlaneSize, group * g.InChannels, g.InputHeight, g.InputWidth, block.FirstSample),
                                block.Samples, g.InChannels, g.KernelHeight, g.KernelWidth, window, Threads, capacity: g.Batch);
                        for (int n = block.FirstSample; n < block.EndSample; n++)
                        {
                            GemmSource columns = pointwise ? pixelSource.Set(new GemmOperand(x, n * g.InputPlaneSize + group * g.GroupPlaneSize, g.OutputPixels, transposed: true))
                                : pixelPanels.Set(kept ? directConvolution.PixelPanels : directConvolution.PackPixelPanels(n - block.FirstSample, gemm.PanelRows),
                                    Gemm.RoundUp(g.OutputPixels, gemm.PanelRows), gemm.PanelRows);
                            gemm.Multiply(g.OutputPixels, block.Channels, g.KernelLength, columns,
                                weightSource.Set(new GemmOperand(w, channel * g.KernelLength, g.KernelLength, transposed: true), packed),
                                pixelTarget.Aim(y, n * g.OutputPlaneSize, g.OutputPixels, channel, active));
                        }
                        if (!pointwise && block.Samples == 1) pixelPanelsOf = source;
                    }
                    else if (pointwise)
                        // a 1×1 stride-1 convolution is a GEMM on each input plane itself: (O/G, C/G)·(C/G, P)
                        for (int n = block.FirstSample; n < block.EndSample; n++)
                        {
                            (epilogue.RowOffset, epilogue.SampleOffset) = (rowOffset, n * g.OutputPlaneSize);
                            var plane = new GemmOperand(x, n * g.InputPlaneSize + group * g.GroupPlaneSize, g.OutputPixels);
                            gemm.Multiply(g.GroupOutputs, g.OutputPixels, g.KernelLength, weights, plane, y,
                                n * g.OutputPlaneSize + rowOffset * g.OutputPixels, g.OutputPixels, false, active, block.FirstChannel, block.EndChannel);
                        }
                    else
                        gemm.Multiply(g.GroupOutputs, block.Samples * g.OutputPixels, g.KernelLength, weightSource.Set(weights),
                            im2col.Aim(x, g, window, group, transposed: false, block.FirstSample),
                            outputTarget.Aim(y, g.OutChannels, g.OutputPixels, rowOffset, active, block.FirstSample), block.FirstChannel, block.EndChannel);
                }
            }
        }
        finally
        {
            epilogue.Clear();
            weightSource.Clear();
            pixelSource.Clear();
            pixelPanels.Clear();
            im2col.Clear();
            outputTarget.Clear();
            pixelTarget.Clear();
        }
    }

    // The convolution's GEMM operands, made once and aimed at each call's tensors.
    readonly DenseSource weightSource = new();
    readonly Im2ColSource im2col = new();
    readonly ChannelMajorSource gradientSource = new();
    readonly ChannelMajorTarget outputTarget = new();
    readonly DenseSource pixelSource = new();
    readonly PixelPanelSource pixelPanels = new();
    /// <summary>What the direct convolution's pixel panels (<see cref="DirectConvolution.PixelPanels"/>) were last packed
    /// from: the input array and its tensor's version, the sample and group, the input's and window's geometry and the panel height (null
    /// input: nothing kept; one image's panels only).</summary>
    (float[]? Input, long Version, int Sample, int Group, int SampleSize, int Channels, int Height, int Width, int KernelHeight, int KernelWidth, Window2d Window,
        int Rows) pixelPanelsOf;
    readonly PixelMajorTarget pixelTarget = new();
    /// <summary>The weights of the layers whose GEMM reads them as op(B), packed once per change of the weights.</summary>
    internal PackedWeights PackedWeights { get; } = new();
    readonly Col2ImTarget col2im = new();

    /// <inheritdoc/>
    /// <remarks>Under a <see cref="Slice"/> the units are, group by group, the weight and bias gradients by tiles of
    /// <see cref="ChannelTile"/> output channels (each tile summing the whole batch, as the unsliced op does), then the
    /// input gradient by (sample, tile of input channels); every unit computes its outputs whole, in the unsliced op's
    /// order, so any windows give its bits.</remarks>
    public void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, Window2d window, int groups = 1,
        bool accumulate = true) =>
        ConvolutionBackward(input, weight, outputGrad, inputGrad, weightGrad, biasGrad, window, groups, sliced: true, accumulate);

    /// <summary><see cref="Conv2dBackward"/>; <paramref name="sliced"/>: its units are a work slice's (false when the caller
    /// is one unit itself, <see cref="ConvTranspose2dForward"/>: then it runs whole whatever the slice); <paramref name="accumulate"/>
    /// false sets dx (<c>0 + …</c>) rather than adding into it.</summary>
    void ConvolutionBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad,
        in Window2d window, int groups, bool sliced, bool accumulate = true)
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
                var (from, to) = sliced ? Units(ChannelTiles(g.GroupOutputs)) : (0, ChannelTiles(g.GroupOutputs));
                if (from < to)
                    WeightGradientRows(x, dy, dw, db, g, window, group, (int)from * ChannelTile, (int)Math.Min(g.GroupOutputs, to * ChannelTile));
                if (dx is null) continue;
                long inputUnits = (long)g.Batch * ChannelTiles(g.InChannels);
                (from, to) = sliced ? Units(inputUnits) : (0, inputUnits);
                var blocks = new ChannelTileBlocks(from, to, g.InChannels);
                bool flipped = false;
                while (blocks.Next(out var block)) InputGradientBlock(w, dy, dx, g, window, group, block, accumulate, ref flipped);
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

    /// <summary>
    /// Whether a pointwise layer's GEMM takes its pixels as rows and its channels as columns (<see cref="PixelMajorTarget"/>)
    /// instead of the direct kernel: on planes of at most 64 pixels, and on planes of at most 256 where the layer does not
    /// widen (a projection). There the direct kernel's vector lanes run along a plane's few pixels (a 7×7 plane's 49
    /// columns fill 4 tiles of 16: a quarter of the lanes idle), while the channels fill them; packing the weights (C·O
    /// floats, 1/P of the products) costs little, and the transposed store of the output (P·O floats) is small against
    /// the products where C is large. Measured on MobileNet v2's layers alone (one thread, this project's AVX2 machine,
    /// tiered compilation off, the best of 600 runs): 7×7 layers 245–654 → 207–563 µs (−13 to −17 %), the 14×14
    /// projections 150–340 → 136–284 µs; the 14×14 expansions gained 2–4 % there but lost 6 % in whole passes with tiered
    /// compilation (`neuro-bench profile mobilenet_v2 infer 1 1`), so they stay direct.
    /// </summary>
    static bool PointwiseIsPixelMajor(in ConvGeometry g) => g.OutputPixels <= 64 || (g.OutputPixels <= 256 && g.InChannels >= g.GroupOutputs);

    /// <summary>
    /// Whether a convolution with a window (not pointwise) takes its pixels as the GEMM's rows too, its im2col matrix
    /// packed into the GEMM's row panels: where the direct kernel computes many virtual columns for few pixels and the
    /// output channels fill the GEMM's column panels. The direct kernel's lanes run along virtual
    /// columns, whole tiles of 16: a 7×7 plane's 61 (of which 49 pixels) take 64, a 14×14 plane's 222 take 224 (87.5 %
    /// useful); as rows of 8, 49 pixels are 6 whole tiles and a row (<c>Gemm</c>'s partial-row kernels) and 196 take 200,
    /// while 64 or more channels a group fill the columns. The GEMM packs the image's pixel panels once
    /// (<see cref="DirectConvolution.PackPixelPanels"/>, from the direct kernel's phase planes), a cost that K ≥ 1024
    /// amortizes; with a smaller K, or at batch 64 where the direct kernel shares whole images among threads (ResNet-20's
    /// 8×8 layers: 1.8 ms direct, 2.5 ms as per-image GEMMs at 2 threads), it would lose. Measured at batch 1, one thread
    /// (Zen 4, AVX-512; ResNet-18's layers alone): 7×7×512 2.63–2.69 → 2.11–2.33 ms, 14×14×256 2.30–2.34 → 2.01–2.12 ms,
    /// 14→7 stride 2 1.36–1.37 → 1.13 ms, 28→14 stride 2 1.21–1.22 → 1.11 ms; even at 2 threads on 14×14. The GEMM sums K in
    /// blocks of 256, each block's sum added to the last, so its bits differ from the direct kernel's by rounding; the
    /// choice depends on the geometry alone, so a sample's bits depend neither on its batch nor on the thread count.
    /// </summary>
    static bool WindowIsPixelMajor(in ConvGeometry g) => g.OutputPixels <= 256 && g.GroupOutputs >= 64 && g.GroupOutputs % 16 == 0 && g.KernelLength >= 1024;

    /// <summary>Whether <see cref="WindowIsPixelMajor"/> may choose the pixel-major GEMM (benchmarks turn it off to compare
    /// with the direct kernel).</summary>
    internal bool WindowedPixelMajor { get; set; } = true;

    /// <summary>Whether a (non-depthwise, non-Winograd) forward convolution takes its pixels as a GEMM's rows.</summary>
    bool IsPixelMajor(in ConvGeometry g, in Window2d window) =>
        UsesDirectConvolution && (g.IsPointwise(window) ? PointwiseIsPixelMajor(g) : WindowedPixelMajor && WindowIsPixelMajor(g));

    /// <summary>Channels per unit of a (non-depthwise, non-Winograd) forward convolution under a <see cref="Slice"/>:
    /// <see cref="ChannelTile"/>, or the GEMM's panel width where the channels are its columns, so that every unit's
    /// columns start a panel of the packed weights (a unit of 8 would compute a panel of 32 for 8 channels).</summary>
    internal int ForwardTile(in ConvGeometry g, in Window2d window) => IsPixelMajor(g, window) ? gemm.PanelColumns : ChannelTile;

    /// <summary>Rows [<paramref name="firstRow"/>, <paramref name="endRow"/>) of group <paramref name="group"/>'s weight
    /// gradient, <c>dW_g += dy'_g·col_gᵀ</c>, and the same channels' bias gradient, each summed over the whole batch.</summary>
    void WeightGradientRows(float[] x, float[] dy, float[]? dw, float[]? db, in ConvGeometry g, in Window2d window, int group, int firstRow, int endRow)
    {
        int rowOffset = group * g.GroupOutputs, weightOffset = rowOffset * g.KernelLength;
        if (db is not null)
            for (int o = rowOffset + firstRow; o < rowOffset + endRow; o++) db[o] += ChannelSum(dy, g.Batch, g.OutChannels, g.OutputPixels, o);
        if (dw is null) return;
        denseWeightGrad.Set(dw, weightOffset, g.KernelLength, accumulate: true, epilogue: null);
        if (UsesDirectConvolution)
        {
            // dW_g (O/G, K) += dY_g (O/G, N·V) · X_gᵀ (N·V, K): the input's phase planes and dy in their virtual columns
            directConvolution.Build(new ImageBatch(x, g.InputPlaneSize, group * g.InChannels, g.InputHeight, g.InputWidth),
                g.Batch, g.InChannels, g.KernelHeight, g.KernelWidth, window, Threads);
            int columns = g.Batch * WeightGradient.ImageColumns(directConvolution);
            VirtualOutputGradient(dy, g, rowOffset + firstRow, endRow - firstRow, directConvolution);
            if (WeightGradient.IsSupported && g.GroupOutputs * g.KernelLength <= WeightGradient.MaxOutputs)
                weightGradient.Run(virtualGradient, endRow - firstRow, directConvolution, g.Batch, dw, weightOffset + firstRow * g.KernelLength, Threads);
            else
                // the virtual gradient holds the rows from firstRow on: row r of the group's product sits at (r − firstRow)·columns
                gemm.Multiply(g.GroupOutputs, g.KernelLength, columns, weightSource.Set(new GemmOperand(virtualGradient, -firstRow * columns, columns)),
                    planeSource.Aim(directConvolution), denseWeightGrad, firstRow, endRow);
        }
        else
            // dW_g (O/G, K) += dy'_g (O/G, N·P) · col_gᵀ (N·P, K)
            gemm.Multiply(g.GroupOutputs, g.KernelLength, g.Batch * g.OutputPixels, gradientSource.Aim(dy, g.OutChannels, g.OutputPixels, rowOffset),
                im2col.Aim(x, g, window, group, transposed: true), denseWeightGrad, firstRow, endRow);
    }

    /// <summary>The input gradient of <paramref name="block"/>'s samples and group <paramref name="group"/>'s input channels:
    /// <c>dx_g += col2im(W_gᵀ·dy'_g)</c>, or for stride-1 layers on the direct path a convolution of dy with the flipped,
    /// transposed kernel (made once per call: <paramref name="flipped"/>).</summary>
    void InputGradientBlock(float[] w, float[] dy, float[] dx, in ConvGeometry g, in Window2d window, int group, in ChannelTileBlocks.Block block,
        bool accumulate, ref bool flipped)
    {
        int rowOffset = group * g.GroupOutputs, weightOffset = rowOffset * g.KernelLength, taps = g.KernelHeight * g.KernelWidth;
        if (UsesDirectConvolution && TransposedWindow(g, window) is { } transposed)
        {
            // dx_g += conv(dy_g padded, W_g flipped and transposed): (C/G, O/G·KH·KW) weights over dy's phase planes
            // W'[c, (o·KH + p)·KW + q] = W[o, c, KH − 1 − p, KW − 1 − q]: every tap, flipped (one stride phase of stride 1)
            if (!flipped) FlippedTaps(w, g, 0, g.InChannels, new PhaseTaps(g.KernelHeight, g.KernelHeight - 1, 0, 0, 0),
                new PhaseTaps(g.KernelWidth, g.KernelWidth - 1, 0, 0, 0), 1, 1);
            flipped = true;
            directConvolution.Build(new ImageBatch(dy, g.OutputPlaneSize, rowOffset, g.OutputHeight, g.OutputWidth, block.FirstSample),
                block.Samples, g.GroupOutputs, g.KernelHeight, g.KernelWidth, transposed, Threads, capacity: g.Batch);
            directConvolution.Run(flippedWeights, block.FirstChannel * g.GroupOutputs * taps, block.Channels,
                new ImageBatch(dx, g.InputPlaneSize, group * g.InChannels + block.FirstChannel, g.InputHeight, g.InputWidth, block.FirstSample),
                accumulate, null, gemm.Kernel, Threads);
            // stored without accumulate, the sums are already 0 + sum: they start at +0 and fused multiply-adds never
            // round to −0 from there, so the stored bits are those of adding them to a zeroed dx
            return;
        }
        // a strided layer: a stride-1 convolution per stride phase of dx (CpuBackend.StridedInputGradient.cs)
        if (UsesDirectConvolution && InputGradientByPhases(w, dy, dx, g, window, block, accumulate)) return;
        // col2im adds tiles that overlap (and skips the inputs no window reached): to set dx, zero the block's planes first
        if (!accumulate)
            for (int n = block.FirstSample; n < block.FirstSample + block.Samples; n++)
                dx.AsSpan(n * g.InputPlaneSize + (group * g.InChannels + block.FirstChannel) * g.InputHeight * g.InputWidth,
                    block.Channels * g.InputHeight * g.InputWidth).Clear();
        // dx_g += col2im(W_gᵀ (K, O/G) · dy'_g (O/G, N·P)), rows k = (c·KH + p)·KW + q of the block's channels c
        gemm.Multiply(g.KernelLength, block.Samples * g.OutputPixels, g.GroupOutputs, weightSource.Set(new GemmOperand(w, weightOffset, g.KernelLength, transposed: true)),
            gradientSource.Aim(dy, g.OutChannels, g.OutputPixels, rowOffset, block.FirstSample), col2im.Aim(dx, g, window, group, block.FirstSample),
            block.FirstChannel * taps, block.EndChannel * taps);
    }

    /// <summary>The direct convolution (<see cref="DirectConvolution"/>) runs in <see cref="CpuArithmetic.Fast"/> arithmetic
    /// when the GEMM kernel in use has its fused multiply-add twin; <see cref="CpuArithmetic.Reference"/> keeps im2col + GEMM.</summary>
    bool UsesDirectConvolution => Arithmetic == CpuArithmetic.Fast && DirectConvolution.Supports(gemm.Kernel);

    readonly DirectConvolution directConvolution = new();
    readonly PhasePlaneSource planeSource = new();
    readonly WeightGradient weightGradient = new();
    float[] virtualGradient = [], flippedWeights = [];

    /// <summary>dy's channels [rowOffset, rowOffset + rows) in the virtual columns of <paramref name="planes"/>' last Build,
    /// (rows, N·V') with V' = <see cref="WeightGradient.ImageColumns"/>: <c>dY[o, n·V' + i·Wq + j] = dy[n, rowOffset + o, i, j]</c>,
    /// 0 in the dropped columns j ≥ OW and in the padding up to V'. A task per row o (a copy: any split gives the same bits).</summary>
    void VirtualOutputGradient(float[] dy, in ConvGeometry g, int rowOffset, int rows, DirectConvolution planes)
    {
        int columns = WeightGradient.ImageColumns(planes);
        if (virtualGradient.Length < rows * g.Batch * columns) virtualGradient = new float[g.GroupOutputs * g.Batch * columns];
        virtualGradientWork.Run(dy, virtualGradient, g, rowOffset, rows, columns, planes.PlaneWidth, Threads);
    }

    readonly VirtualGradientWork virtualGradientWork = new();

    /// <summary>The tasks of <see cref="VirtualOutputGradient"/>: row o of dY from channel rowOffset + o of every image.</summary>
    sealed class VirtualGradientWork : IParallelWork
    {
        float[] dy = [], target = [];
        int batch, channels, height, width, rowOffset, columns, stride;

        public void Run(float[] outputGradient, float[] virtualGradient, in ConvGeometry g, int firstRow, int rows, int imageColumns, int planeWidth, int threads)
        {
            (dy, target, batch, channels, height, width) = (outputGradient, virtualGradient, g.Batch, g.OutChannels, g.OutputHeight, g.OutputWidth);
            (rowOffset, columns, stride) = (firstRow, imageColumns, planeWidth);
            CpuWorkers.Shared.Run(this, rows, (long)rows * batch * columns >= 1 << 15 ? threads : 1);
            (dy, target) = ([], []);
        }

        void IParallelWork.Run(int o, int participant)
        {
            for (int n = 0; n < batch; n++)
            {
                Span<float> row = target.AsSpan((o * batch + n) * columns, columns);
                ReadOnlySpan<float> plane = dy.AsSpan(((n * channels + rowOffset + o) * height) * width, height * width);
                for (int i = 0; i < height; i++)
                {
                    plane.Slice(i * width, width).CopyTo(row.Slice(i * stride, width));
                    int end = i < height - 1 ? (i + 1) * stride : columns;
                    row[(i * stride + width)..end].Clear();
                }
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

    readonly DenseTarget denseWeightGrad = new();

    /// <summary>Channels per unit of a convolution's work under a <see cref="Slice"/> (see <see cref="ChannelTileBlocks"/>):
    /// the rows of the AVX-512 register tile, so windows of whole tiles waste no rows of it.</summary>
    internal const int ChannelTile = 8;

    /// <summary>Tiles of <see cref="ChannelTile"/> channels that cover <paramref name="channels"/>.</summary>
    internal static int ChannelTiles(int channels) => (channels + ChannelTile - 1) / ChannelTile;

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

/// <summary>
/// A convolution's work as units (sample n, tile t of <paramref name="tile"/> channels: <see cref="CpuBackend.ChannelTile"/>,
/// or a GEMM's panel width where the channels are its columns), numbered <c>n·tiles + t</c>, and a work slice's window
/// [from, to) of them cut into at most three rectangles of samples × channels: the rest of the first sample's tiles, the
/// whole samples, the first tiles of the last sample. Unsliced, the window is everything: one rectangle, the whole op.
/// </summary>
internal struct ChannelTileBlocks(long from, long to, int channels, int tile = CpuBackend.ChannelTile)
{
    /// <summary>Samples [FirstSample, EndSample) × channels [FirstChannel, EndChannel).</summary>
    public readonly record struct Block(int FirstSample, int EndSample, int FirstChannel, int EndChannel)
    {
        public int Samples => EndSample - FirstSample;
        public int Channels => EndChannel - FirstChannel;
    }

    readonly int tiles = (channels + tile - 1) / tile;
    long next = from;

    /// <summary>The next rectangle of the window; false when none is left.</summary>
    public bool Next(out Block block)
    {
        block = default;
        if (next >= to) return false;
        int sample = (int)(next / tiles), first = (int)(next % tiles);
        if (first == 0 && to - next >= tiles)
        {
            // whole samples
            int samples = (int)((to - next) / tiles);
            block = new Block(sample, sample + samples, 0, channels);
            next += (long)samples * tiles;
            return true;
        }
        // part of one sample's tiles
        int endTile = (int)Math.Min(tiles, to - (long)sample * tiles);
        block = new Block(sample, sample + 1, first * tile, Math.Min(channels, endTile * tile));
        next = (long)sample * tiles + endTile;
        return true;
    }
}

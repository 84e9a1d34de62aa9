namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend : IFusedPairForward
{
    readonly ConvolutionEpilogue secondEpilogue = new();
    float[] secondShift = [], secondScale = [];

    /// <summary>Bytes of the intermediate tensor one band holds at most (all its channels, the rows one band of the second
    /// convolution's output reads): small enough to stay in L2 while the second convolution reads it. Tests set it lower
    /// to make many bands of small shapes.</summary>
    internal int BandBytes { get; set; } = 512 * 1024;

    /// <inheritdoc/>
    public bool CanFusePair(TensorShape input, TensorShape firstWeight, Window2d firstWindow, int firstGroups,
        TensorShape secondWeight, Window2d secondWindow, int secondGroups) =>
        firstGroups == 1 && firstWeight.H == 1 && firstWeight.W == 1 && firstWindow.StrideHeight == 1 && firstWindow.StrideWidth == 1 &&
        firstWindow is { PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0 } && firstWeight.C == input.C &&
        secondWeight.C == 1 && secondGroups == firstWeight.N && secondGroups > 1;

    /// <inheritdoc/>
    /// <remarks>
    /// Strided pairs and pairs on small planes run channels-last where <see cref="RunsChannelsLast"/> (see
    /// <see cref="ChannelsLastPair"/>). Otherwise, where the first convolution is a GEMM on its input planes (see <see cref="ConvolutionForward"/>), the second a
    /// depthwise one, and the intermediate tensor of one sample is larger than 2·<see cref="BandBytes"/>, the second's output
    /// rows are cut into bands of R rows: for each (sample, band) the rows of the intermediate that the band reads,
    /// <c>[i0·sh − padTop, (i1 − 1)·sh − padTop + dh·(KH − 1)]</c> clipped to the image (a band shares its halo rows with
    /// the next one and computes them again), are computed into a band buffer (E, rows, W) by the same GEMM on those
    /// columns of the input planes and the first epilogue applied, then the depthwise kernel runs on the band as on an
    /// image whose top and bottom padding is what the band lacks of the window; each (sample, band) is one task of one
    /// thread (<see cref="PairBands"/>), so the band stays in that core's L2. The band count is a multiple of
    /// <see cref="Threads"/>; the bits do not depend on it. Every element is the same sum in the same order as in the two
    /// separate ops (the GEMM's sums do not depend on the columns computed, the depthwise sums on the plane's extent), so
    /// the bits are theirs. Otherwise the two ops run one after the other through <paramref name="intermediate"/>.
    /// <para>Under a <see cref="Slice"/> the units are (sample, band), each computed whole.</para>
    /// </remarks>
    public void Conv2dPairFusedForward(Tensor input, in FusedConvolution first, Tensor intermediate, in FusedConvolution second, Tensor output)
    {
        var a = new ConvGeometry(input.Shape, first.Weight.Shape, intermediate.Shape, first.Groups);
        var b = new ConvGeometry(intermediate.Shape, second.Weight.Shape, output.Shape, second.Groups);
        var window = second.Window;
        if (RunsChannelsLast(a, first, b, second))
        {
            PairChannelsLast(input, first, output, second, a, b);
            return;
        }
        int span = window.DilationHeight * (b.KernelHeight - 1), rows = BandRows(a, b, window, span, a.OutChannels);
        if (!InBands(a, first.Window, b, window, span) || rows >= b.OutputHeight)
        {
            Conv2dFusedForward(input, first.Weight, first.Bias, first.BatchNorm, first.Residual, first.Activation, first.Alpha, intermediate, first.Window, first.Groups);
            Conv2dFusedForward(intermediate, second.Weight, second.Bias, second.BatchNorm, second.Residual, second.Activation, second.Alpha, output, window, second.Groups);
            return;
        }
        int bands = (b.OutputHeight + rows - 1) / rows;
        var (from, to) = Units((long)a.Batch * bands);
        if (from >= to) return;
        var expansion = FusedEpilogue(convolutionEpilogue, ref foldedShift, ref foldedScale, first.Bias, first.BatchNorm, first.Residual, first.Activation, first.Alpha, a);
        var depthwise = FusedEpilogue(secondEpilogue, ref secondShift, ref secondScale, second.Bias, second.BatchNorm, second.Residual, second.Activation, second.Alpha, b);
        try
        {
            pairBands.Run(this, ArrayOf(input), ReadOnlyArrayOf(first.Weight), ReadOnlyArrayOf(second.Weight), ArrayOf(output), a, b, window, rows, bands,
                expansion, depthwise, from, to);
        }
        finally
        {
            expansion.Clear();
            depthwise.Clear();
        }
    }

    /// <summary>The pair channels-last (<see cref="ChannelsLastPair"/>).</summary>
    void PairChannelsLast(Tensor input, in FusedConvolution first, Tensor output, in FusedConvolution second, in ConvGeometry a, in ConvGeometry b)
    {
        var (from, to) = Units(channelsLastPair.Plan(this, a, b, second.Window));
        if (from >= to) return;
        var expansion = FusedEpilogue(convolutionEpilogue, ref foldedShift, ref foldedScale, first.Bias, first.BatchNorm, first.Residual, first.Activation, first.Alpha, a);
        try
        {
            var depthwise = FusedEpilogue(secondEpilogue, ref secondShift, ref secondScale, second.Bias, second.BatchNorm, second.Residual, second.Activation, second.Alpha, b);
            var packed = PackedWeights.Find(first.Weight, a.OutChannels, a.KernelLength, gemm.PanelColumns, channelsLastPair.BlockWidth, Threads);
            channelsLastPair.Run(this, ArrayOf(input), ReadOnlyArrayOf(first.Weight), packed, ReadOnlyArrayOf(second.Weight), ArrayOf(output), a, b, second.Window,
                expansion, depthwise, from, to);
        }
        finally
        {
            expansion.Clear();
            secondEpilogue.Clear();
        }
    }

    readonly PairBands pairBands = new();

    /// <summary>
    /// The (sample, band) units of a fused pair, one task each, every participant computing its own bands whole: the
    /// intermediate rows into its own band buffer (a GEMM on the calling thread alone), the first epilogue on them, then
    /// the depthwise kernel on the band, so the band stays in that core's L2 and no unit waits for another.
    /// </summary>
    sealed class PairBands : IParallelWork
    {
        CpuBackend backend = null!;
        float[] x = [], w1 = [], w2 = [], y = [];
        ConvGeometry a, b;
        Window2d window;
        int rows, bands;
        long first;
        ConvolutionEpilogue? expansion, depthwise;
        readonly float[][] buffers = new float[CpuWorkers.Shared.MaxParticipants][];
        readonly DenseSource weights = new();
        readonly DenseSource[] inputs = new DenseSource[CpuWorkers.Shared.MaxParticipants];
        readonly DepthwiseWork[] kernels = new DepthwiseWork[CpuWorkers.Shared.MaxParticipants];

        public PairBands()
        {
            for (int p = 0; p < inputs.Length; p++) (inputs[p], kernels[p]) = (new DenseSource(), new DepthwiseWork());
        }

        /// <summary>Units [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="bands"/> bands of
        /// <paramref name="rows"/> output rows per sample.</summary>
        public void Run(CpuBackend backend, float[] x, float[] w1, float[] w2, float[] y, in ConvGeometry a, in ConvGeometry b, in Window2d window,
            int rows, int bands, ConvolutionEpilogue expansion, ConvolutionEpilogue depthwise, long from, long to)
        {
            (this.backend, this.x, this.w1, this.w2, this.y, this.a, this.b, this.window) = (backend, x, w1, w2, y, a, b, window);
            (this.rows, this.bands, first, this.expansion, this.depthwise) = (rows, bands, from, expansion.IsEmpty ? null : expansion, depthwise);
            int length = a.OutChannels * ((rows - 1) * window.StrideHeight + window.DilationHeight * (b.KernelHeight - 1) + 1) * a.OutputWidth;
            for (int p = 0; p < buffers.Length; p++)
                if ((buffers[p]?.Length ?? 0) < length) buffers[p] = new float[length];
            weights.Set(new GemmOperand(w1, 0, a.KernelLength));
            try
            {
                CpuWorkers.Shared.Run(this, (int)(to - from), backend.Threads);
            }
            finally
            {
                weights.Clear();
                (this.x, this.w1, this.w2, this.y, this.expansion, this.depthwise) = ([], [], [], [], null, null);
            }
        }

        void IParallelWork.Run(int task, int participant)
        {
            long unit = first + task;
            int n = (int)(unit / bands), i0 = (int)(unit % bands) * rows, i1 = Math.Min(b.OutputHeight, i0 + rows), width = a.OutputWidth;
            // padded input rows [top, bottom) of output rows [i0, i1); the image's rows [firstRow, endRow) among them
            int span = window.DilationHeight * (b.KernelHeight - 1);
            int top = i0 * window.StrideHeight - window.PadTop, bottom = (i1 - 1) * window.StrideHeight - window.PadTop + span + 1;
            int firstRow = Math.Max(top, 0), endRow = Math.Min(bottom, b.InputHeight), pixels = (endRow - firstRow) * width;
            float[] band = buffers[participant];
            var input = inputs[participant].Set(new GemmOperand(x, n * a.InputPlaneSize + firstRow * width, a.InputPixels));
            backend.gemm.MultiplyAlone(a.OutChannels, pixels, a.KernelLength, weights, input, band, 0, pixels, participant);
            input.Clear();
            if (expansion is not null)
                for (int e = 0; e < a.OutChannels; e++)
                    expansion.ApplyToChannel(e, n * a.OutputPlaneSize + e * a.OutputPixels + firstRow * width, band.AsSpan(e * pixels, pixels));
            var g = new ConvGeometry(new TensorShape(1, a.OutChannels, endRow - firstRow, width), new TensorShape(b.OutChannels, 1, b.KernelHeight, b.KernelWidth),
                new TensorShape(1, b.OutChannels, i1 - i0, b.OutputWidth), b.Groups);
            kernels[participant].ForwardAlone(band, w2, y, g, window with { PadTop = firstRow - top, PadBottom = bottom - endRow }, depthwise!,
                backend.FusedProducts, new ChannelTileBlocks.Block(0, 1, 0, b.OutChannels), n * b.OutputPlaneSize + i0 * b.OutputWidth, b.OutputPixels,
                participant);
        }
    }

    /// <summary>Whether the pair runs in bands: the first convolution is the GEMM on its input planes (ungrouped, pointwise,
    /// not the direct kernel's, k short enough never to be cut into parts), the second the depthwise kernel's, and its
    /// vertical padding at most its window's span (so every band reads rows of the image).</summary>
    bool InBands(in ConvGeometry a, in Window2d first, in ConvGeometry b, in Window2d second, int span) =>
        a.Groups == 1 && a.IsPointwise(first) && !(UsesDirectConvolution && PointwiseIsDirect(a)) && a.KernelLength < 2 * Gemm.SplitDepth &&
        b.InChannels == 1 && b.Groups > 1 && second.PadTop <= span && second.PadBottom <= span;

    /// <summary>Output rows of the second convolution per band: as many as keep the intermediate rows they read (of
    /// <paramref name="channels"/> channels: all, or a channels-last block) within
    /// <see cref="BandBytes"/> (at least one), evened out over a multiple of <see cref="Threads"/> bands; all of them
    /// (no bands) when one sample's intermediate tensor is at most 2·<see cref="BandBytes"/> (it stays in L2 anyway: on
    /// MobileNet v2's 28×28 layers bands measured no faster).</summary>
    int BandRows(in ConvGeometry a, in ConvGeometry b, in Window2d second, int span, int channels)
    {
        long rowBytes = 4L * channels * a.OutputWidth;
        if (rowBytes * a.OutputHeight <= 2L * BandBytes) return b.OutputHeight;
        int inputRows = (int)Math.Min(BandBytes / Math.Max(rowBytes, 1), int.MaxValue);
        int rows = Math.Max(1, (inputRows - span - 1) / second.StrideHeight + 1);
        if (inputRows <= span) rows = 1;
        int bands = (b.OutputHeight + rows - 1) / rows;
        if (bands > 1) bands = Gemm.RoundUp(bands, Threads); // a share for every thread
        return (b.OutputHeight + bands - 1) / bands;
    }
}

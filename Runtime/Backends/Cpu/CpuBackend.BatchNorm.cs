using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NeuroPlugin.Backends.Cpu;

// Batch normalization: per-channel statistics over N·H·W, forward and backward side by side.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void BatchNormForward(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
        Tensor saveMean, Tensor saveInvStd, Tensor output, bool training, float momentum, float epsilon)
    {
        var w = batchNormWork;
        (w.Batch, w.Channels, w.Spatial) = BatchNormAxes.Of(input, weight);
        if (!w.TakeChannels(this)) return;
        (w.Backward, w.Training, w.Momentum, w.Epsilon) = (false, training, momentum, epsilon);
        (w.X, w.Y, w.Gamma, w.Beta) = (ArrayOf(input), ArrayOf(output), ArrayOf(weight), ArrayOf(bias));
        (w.Mean, w.InvStd, w.RunningMean, w.RunningVar) = (ArrayOf(saveMean), ArrayOf(saveInvStd), ArrayOf(runningMean), ArrayOf(runningVar));
        w.RunChannels(Threads);
    }

    /// <summary>Channel c of the forward pass. Input is (N,C,S) with S = H·W (1 for (N,C)); channel c's M = N·S values
    /// are x[n, c, 0..S). Training: μ and σ² over them (two passes in double: no cancellation; the reference for GL),
    /// the running statistics updated with σ² unbiased (M − 1), then <c>y = (x − μ)·invStd·γ + β</c>.</summary>
    static void BatchNormForwardChannel(BatchNormWork w, int c)
    {
        int batch = w.Batch, channels = w.Channels, spatial = w.Spatial, count = batch * spatial;
        float[] x = w.X;
        if (w.Training)
        {
            double sum = 0;
            for (int n = 0; n < batch; n++) sum += DoubleSums.Sum(x.AsSpan((n * channels + c) * spatial, spatial));
            double mean = sum / count, squares = 0;
            for (int n = 0; n < batch; n++) squares += DoubleSums.SquaredDeviations(x.AsSpan((n * channels + c) * spatial, spatial), mean);
            w.Mean[c] = (float)mean;
            w.InvStd[c] = (float)(1 / Math.Sqrt(squares / count + w.Epsilon));
            w.RunningMean[c] = (1 - w.Momentum) * w.RunningMean[c] + w.Momentum * (float)mean;
            w.RunningVar[c] = (1 - w.Momentum) * w.RunningVar[c] + w.Momentum * (float)(squares / (count - 1));
        }
        else
            (w.Mean[c], w.InvStd[c]) = EvalStatistics(w.RunningMean[c], w.RunningVar[c], w.Epsilon);
        float shift = w.Mean[c], scale = w.InvStd[c] * w.Gamma[c], offset = w.Beta[c];
        for (int n = 0; n < batch; n++)
        {
            int start = (n * channels + c) * spatial;
            ActivationMath.Normalize(x.AsSpan(start, spatial), w.Y.AsSpan(start, spatial), shift, scale, offset);
        }
    }

    /// <summary>Eval mode's mean and 1/√(σ² + ε) of a channel, from its running statistics (in double, then rounded):
    /// the one formula that <c>BatchNormForward</c> and the convolution's folded batch norm share.</summary>
    internal static (float Mean, float InvStd) EvalStatistics(float runningMean, float runningVar, float epsilon) =>
        (runningMean, (float)(1 / Math.Sqrt(runningVar + (double)epsilon)));

    /// <summary>A folded batch norm's coefficients for every channel: <c>shift = μ</c>, <c>scale = γ·invStd</c> with
    /// invStd from <see cref="EvalStatistics"/>, 8 channels at a time (widened to double, square root and division, each
    /// correctly rounded at any width, then narrowed: <see cref="EvalStatistics"/>' bits). A network's channels all pass
    /// here on every inference (MobileNet v2: 17 K), where one square root and division at a time took 1.8 % of a pass.</summary>
    internal static void EvalCoefficients(ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, ReadOnlySpan<float> gamma, float epsilon,
        Span<float> shifts, Span<float> scales)
    {
        mean[..scales.Length].CopyTo(shifts);
        int c = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var eps = Vector256.Create((double)epsilon);
            for (; c + 8 <= scales.Length; c += 8)
            {
                var (lower, upper) = Vector256.Widen(Vector256.Create(variance.Slice(c, 8)));
                var invStd = Vector256.Narrow(Vector256<double>.One / Vector256.Sqrt(lower + eps), Vector256<double>.One / Vector256.Sqrt(upper + eps));
                (invStd * Vector256.Create(gamma.Slice(c, 8))).CopyTo(scales.Slice(c, 8));
            }
        }
        for (; c < scales.Length; c++) scales[c] = EvalStatistics(mean[c], variance[c], epsilon).InvStd * gamma[c];
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor input, Tensor weight, Tensor saveMean, Tensor saveInvStd, Tensor outputGrad,
        Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, bool training, bool accumulate = true)
    {
        var w = batchNormWork;
        (w.Batch, w.Channels, w.Spatial) = BatchNormAxes.Of(input, weight);
        if (!w.TakeChannels(this)) return;
        (w.Backward, w.Training, w.Accumulate) = (true, training, accumulate);
        (w.X, w.Dy, w.Gamma, w.Mean, w.InvStd) = (ArrayOf(input), ArrayOf(outputGrad), ArrayOf(weight), ArrayOf(saveMean), ArrayOf(saveInvStd));
        (w.Dx, w.GammaGrad, w.BetaGrad) = (OptionalArray(inputGrad), OptionalArray(weightGrad), OptionalArray(biasGrad));
        w.RunChannels(Threads);
    }

    /// <summary>Channel c of the backward pass. In the forward pass this was y = γ·x̂ + β, x̂ = (x − μ)·invStd, with μ
    /// and invStd saved per channel: dβ += Σdy, dγ += Σdy·x̂ (in double), dx += k·(dy − a − x̂·b) (or, to set dx, the
    /// same added to +0: the bits of a dx zeroed at the step's start).</summary>
    static void BatchNormBackwardChannel(BatchNormWork w, int c)
    {
        int batch = w.Batch, channels = w.Channels, spatial = w.Spatial, count = batch * spatial;
        float[] x = w.X, dy = w.Dy;
        float mean = w.Mean[c], invStd = w.InvStd[c];
        double sumDy = 0, sumDyXHat = 0;
        for (int n = 0; n < batch; n++)
        {
            int start = (n * channels + c) * spatial;
            var (sum, products) = DoubleSums.SumAndProductsWithNormalized(dy.AsSpan(start, spatial), x.AsSpan(start, spatial), mean, invStd);
            (sumDy, sumDyXHat) = (sumDy + sum, sumDyXHat + products);
        }
        if (w.BetaGrad is { } dBeta) dBeta[c] += (float)sumDy;
        if (w.GammaGrad is { } dGamma) dGamma[c] += (float)sumDyXHat;
        if (w.Dx is not { } dx) return;
        var (scale, meanDy, meanDyXHat) = BatchNormInputGradCoefficients(w.Gamma[c], invStd, sumDy, sumDyXHat, count, w.Training);
        for (int n = 0; n < batch; n++)
        {
            int start = (n * channels + c) * spatial;
            BatchNormInputGrad(dx.AsSpan(start, spatial), dy.AsSpan(start, spatial), x.AsSpan(start, spatial), mean, invStd, scale, meanDy, meanDyXHat, w.Accumulate);
        }
    }

    /// <summary><c>dx += k·(dy − a − (x − μ)·invStd·b)</c>, each operation rounded in that order (no fused multiply-add),
    /// on 256-bit vectors where the processor has them (AVX2, and every AVX-512 processor): the same bits at every width.
    /// Without <paramref name="accumulate"/>, <c>dx = 0 + …</c>: the bits of adding into a zeroed dx, without reading it.</summary>
    static void BatchNormInputGrad(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean, float invStd, float scale, float meanDy, float meanDyXHat,
        bool accumulate)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> m = Vector256.Create(mean), s = Vector256.Create(invStd), k = Vector256.Create(scale), a = Vector256.Create(meanDy), b = Vector256.Create(meanDyXHat);
            for (; i + 8 <= dx.Length; i += 8)
            {
                var xhat = (Vector256.Create(x.Slice(i, 8)) - m) * s;
                var target = accumulate ? Vector256.Create(dx.Slice(i, 8)) : Vector256<float>.Zero;
                (target + k * (Vector256.Create(dy.Slice(i, 8)) - a - xhat * b)).CopyTo(dx.Slice(i, 8));
            }
        }
        for (; i < dx.Length; i++) dx[i] = (accumulate ? dx[i] : 0f) + scale * (dy[i] - meanDy - (x[i] - mean) * invStd * meanDyXHat);
    }

    static float[]? OptionalArray(Tensor? tensor) => tensor is null ? null : ArrayOf(tensor);

    readonly BatchNormWork batchNormWork = new();

    /// <summary>One batch-norm call's operands; its tasks are the channels, which touch disjoint values (and their own
    /// statistics), so the result does not depend on the thread count; under a work slice its units are tiles of
    /// <see cref="ChannelTile"/> channels. Made once per backend: a call allocates nothing.</summary>
    sealed class BatchNormWork : IParallelWork
    {
        /// <summary>Below this many values (N·C·S) a call runs on the calling thread.</summary>
        const long ParallelThreshold = 1 << 15;

        public int Batch, Channels, Spatial;
        public bool Backward, Training, Accumulate;
        public float Momentum, Epsilon;
        public float[] X = [], Y = [], Dy = [], Gamma = [], Beta = [], Mean = [], InvStd = [], RunningMean = [], RunningVar = [];
        public float[]? Dx, GammaGrad, BetaGrad;

        /// <summary>The channels [FirstChannel, EndChannel) to run now: all, or under a work slice those of its window,
        /// numbered in tiles of <see cref="ChannelTile"/> (a channel's statistics and values are computed whole by the same
        /// code whatever tile it is in, so any windows give the op's bits); false when there are none.</summary>
        public bool TakeChannels(CpuBackend backend)
        {
            var (from, to) = backend.Units(ChannelTiles(Channels));
            (FirstChannel, EndChannel) = ((int)Math.Min(from * ChannelTile, Channels), (int)Math.Min(to * ChannelTile, Channels));
            return FirstChannel < EndChannel;
        }

        public int FirstChannel, EndChannel;

        public void RunChannels(int threads)
        {
            bool large = (long)Batch * (EndChannel - FirstChannel) * Spatial >= ParallelThreshold;
            CpuWorkers.Shared.Run(this, EndChannel - FirstChannel, large ? threads : 1);
            X = Y = Dy = Gamma = Beta = Mean = InvStd = RunningMean = RunningVar = [];
            Dx = GammaGrad = BetaGrad = null;
        }

        void IParallelWork.Run(int task, int participant)
        {
            int c = FirstChannel + task;
            if (Backward) BatchNormBackwardChannel(this, c);
            else BatchNormForwardChannel(this, c);
        }
    }

    /// <summary>The per-channel factors of <c>dx += k·(dy − a − x̂·b)</c>: <c>k = γ·invStd</c>, and in training
    /// <c>a = Σdy/M</c>, <c>b = Σ(dy·x̂)/M</c> (the paths through μ and σ); in eval a = b = 0. batchnorm.comp's
    /// GRAD_FINALIZE computes the same three numbers.</summary>
    static (float Scale, float MeanDy, float MeanDyXHat) BatchNormInputGradCoefficients(
        float gamma, float invStd, double sumDy, double sumDyXHat, int count, bool training) =>
        training ? (gamma * invStd, (float)(sumDy / count), (float)(sumDyXHat / count)) : (gamma * invStd, 0f, 0f);
}

/// <summary>
/// Sums of float values in double, in blocks of 16 values on 256-bit vectors where the processor has them (AVX2 and
/// every AVX-512 processor: one path, so one set of bits on all of them): a block's 16 values widen into four vectors of
/// 4 doubles, each added to its own accumulator (<see cref="Lanes16"/>), which are summed in a fixed order at the end;
/// then the tail, one value at a time. The order of the additions is fixed by the length alone. (They were 512-bit vectors,
/// with no path for a processor without AVX-512, where batch norm then spent 12 % of a ResNet-20 training step in these
/// scalar loops.)
/// </summary>
internal static class DoubleSums
{
    /// <summary>Σ v.</summary>
    public static double Sum(ReadOnlySpan<float> values)
    {
        int i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= 16)
        {
            var sums = new Lanes16();
            for (; i + 16 <= values.Length; i += 16) sums.Add(Vector256.Create(values.Slice(i, 8)), Vector256.Create(values.Slice(i + 8, 8)));
            sum = sums.Total();
        }
        for (; i < values.Length; i++) sum += values[i];
        return sum;
    }

    /// <summary>Σ (v − mean)², the deviations and squares in double.</summary>
    public static double SquaredDeviations(ReadOnlySpan<float> values, double mean)
    {
        int i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && values.Length >= 16)
        {
            var sums = new Lanes16();
            var center = Vector256.Create(mean);
            for (; i + 16 <= values.Length; i += 16) sums.AddSquaredDeviations(Vector256.Create(values.Slice(i, 8)), Vector256.Create(values.Slice(i + 8, 8)), center);
            sum = sums.Total();
        }
        for (; i < values.Length; i++) sum += (values[i] - mean) * (values[i] - mean);
        return sum;
    }

    /// <summary>Σ dy and Σ dy·x̂ with x̂ = (x − mean)·invStd rounded to float, the product and the sums in double (batch norm's
    /// dβ and dγ) in one pass over dy; each sum in the order of <see cref="Sum"/>.</summary>
    public static (double Sum, double Products) SumAndProductsWithNormalized(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, float mean, float invStd)
    {
        int i = 0;
        double sum = 0, products = 0;
        if (Vector256.IsHardwareAccelerated && dy.Length >= 16)
        {
            var (sums, productSums) = (new Lanes16(), new Lanes16());
            Vector256<float> m = Vector256.Create(mean), s = Vector256.Create(invStd);
            for (; i + 16 <= dy.Length; i += 16)
            {
                Vector256<float> low = Vector256.Create(dy.Slice(i, 8)), high = Vector256.Create(dy.Slice(i + 8, 8));
                sums.Add(low, high);
                productSums.AddProducts(low, high, (Vector256.Create(x.Slice(i, 8)) - m) * s, (Vector256.Create(x.Slice(i + 8, 8)) - m) * s);
            }
            (sum, products) = (sums.Total(), productSums.Total());
        }
        for (; i < dy.Length; i++) (sum, products) = (sum + dy[i], products + dy[i] * (double)((x[i] - mean) * invStd));
        return (sum, products);
    }

    /// <summary>Four accumulators of 4 doubles, one per quarter of a block of 16 values (given as two vectors of 8
    /// floats, each widened to two of doubles in order).</summary>
    struct Lanes16
    {
        Vector256<double> a, b, c, d;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(Vector256<float> low, Vector256<float> high)
        {
            Vector256<double> v0 = Vector256.WidenLower(low), v1 = Vector256.WidenUpper(low), v2 = Vector256.WidenLower(high), v3 = Vector256.WidenUpper(high);
            (a, b, c, d) = (a + v0, b + v1, c + v2, d + v3);
        }

        /// <summary>Adds (v − center)² of each value.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void AddSquaredDeviations(Vector256<float> low, Vector256<float> high, Vector256<double> center)
        {
            Vector256<double> v0 = Vector256.WidenLower(low), v1 = Vector256.WidenUpper(low), v2 = Vector256.WidenLower(high), v3 = Vector256.WidenUpper(high);
            (v0, v1, v2, v3) = (v0 - center, v1 - center, v2 - center, v3 - center);
            (a, b, c, d) = (a + v0 * v0, b + v1 * v1, c + v2 * v2, d + v3 * v3);
        }

        /// <summary>Adds the products of the values of (<paramref name="low"/>, <paramref name="high"/>) and of
        /// (<paramref name="otherLow"/>, <paramref name="otherHigh"/>), in double.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void AddProducts(Vector256<float> low, Vector256<float> high, Vector256<float> otherLow, Vector256<float> otherHigh)
        {
            Vector256<double> v0 = Vector256.WidenLower(low), v1 = Vector256.WidenUpper(low), v2 = Vector256.WidenLower(high), v3 = Vector256.WidenUpper(high);
            Vector256<double> w0 = Vector256.WidenLower(otherLow), w1 = Vector256.WidenUpper(otherLow), w2 = Vector256.WidenLower(otherHigh), w3 = Vector256.WidenUpper(otherHigh);
            (a, b, c, d) = (a + v0 * w0, b + v1 * w1, c + v2 * w2, d + v3 * w3);
        }

        /// <summary>The sum of the 16 lanes: <c>(a + c) + (b + d)</c> lane by lane, then its four lanes in order.</summary>
        public readonly double Total()
        {
            var t = (a + c) + (b + d);
            return t.GetElement(0) + t.GetElement(1) + t.GetElement(2) + t.GetElement(3);
        }
    }
}

namespace NeuroPlugin.Backends.Cpu;

// Row normalization (layer, group and instance norm): statistics per row of contiguous values, forward and backward side by side.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void RowNormForward(Tensor input, Tensor? weight, Tensor? bias, Tensor saveMean, Tensor saveInvStd, Tensor output, int affineStride, float epsilon)
    {
        if (Skips) return;
        var w = rowNormWork;
        w.Axes = RowNormAxes.Of(input, saveMean, weight, bias, affineStride);
        (w.Mode, w.Epsilon) = (RowNormWork.Pass.Forward, epsilon);
        (w.X, w.Y, w.Mean, w.InvStd) = (ArrayOf(input), ArrayOf(output), ArrayOf(saveMean), ArrayOf(saveInvStd));
        (w.Gamma, w.Beta) = (OptionalArray(weight), OptionalArray(bias));
        w.Run(w.Axes.Rows, Threads);
    }

    /// <summary>Row r of the forward pass: μ and σ² of its L values (two passes in double, as batch norm), then
    /// <c>y = (x − μ)·invStd·γ[k] + β[k]</c>, each operation rounded in that order (the GL kernel's).</summary>
    static void RowNormForwardRow(RowNormWork w, int r)
    {
        var a = w.Axes;
        int start = r * a.RowLength;
        var row = w.X.AsSpan(start, a.RowLength);
        double mean = DoubleSums.Sum(row) / a.RowLength;
        double variance = DoubleSums.SquaredDeviations(row, mean) / a.RowLength;
        float m = (float)mean, invStd = (float)(1 / Math.Sqrt(variance + w.Epsilon));
        (w.Mean[r], w.InvStd[r]) = (m, invStd);
        float[] x = w.X, y = w.Y;
        for (int i = start; i < start + a.RowLength; i++)
        {
            float value = (x[i] - m) * invStd;
            if (a.AffineCount > 0)
            {
                int k = i / a.AffineStride % a.AffineCount;
                if (w.Gamma is { } gamma) value *= gamma[k];
                if (w.Beta is { } beta) value += beta[k];
            }
            y[i] = value;
        }
    }

    /// <inheritdoc/>
    public void RowNormBackward(Tensor input, Tensor? weight, Tensor saveMean, Tensor saveInvStd, Tensor outputGrad,
        Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, int affineStride)
    {
        if (Skips) return;
        var w = rowNormWork;
        w.Axes = RowNormAxes.Of(input, saveMean, weight, weightGrad ?? biasGrad, affineStride);
        (w.X, w.Dy, w.Mean, w.InvStd, w.Gamma) = (ArrayOf(input), ArrayOf(outputGrad), ArrayOf(saveMean), ArrayOf(saveInvStd), OptionalArray(weight));
        (w.Dx, w.GammaGrad, w.BetaGrad) = (OptionalArray(inputGrad), OptionalArray(weightGrad), OptionalArray(biasGrad));
        if (w.Dx is not null)
        {
            w.Mode = RowNormWork.Pass.InputGrad;
            w.Run(w.Axes.Rows, Threads);
        }
        if (w.GammaGrad is not null || w.BetaGrad is not null)
        {
            w.Mode = RowNormWork.Pass.AffineGrad;
            w.Run(w.Axes.AffineCount, Threads);
        }
        w.Clear();
    }

    /// <summary>Row r's input gradient. In the forward pass this was y = γ[k]·x̂ + β[k], x̂ = (x − μ)·invStd over the row:
    /// with g = dy·γ[k], <c>dx += invStd·(g − a − x̂·b)</c>, a = Σg/L and b = Σ(g·x̂)/L summed in double.</summary>
    static void RowNormInputGradRow(RowNormWork w, int r)
    {
        var ax = w.Axes;
        int start = r * ax.RowLength, end = start + ax.RowLength;
        float mean = w.Mean[r], invStd = w.InvStd[r];
        float[] x = w.X, dy = w.Dy, dx = w.Dx!;
        double sumG = 0, sumGXHat = 0;
        for (int i = start; i < end; i++)
        {
            float g = Scaled(w, dy[i], i), xHat = (x[i] - mean) * invStd;
            sumG += g;
            sumGXHat += g * (double)xHat;
        }
        float a = (float)(sumG / ax.RowLength), b = (float)(sumGXHat / ax.RowLength);
        for (int i = start; i < end; i++)
        {
            float xHat = (x[i] - mean) * invStd;
            dx[i] += invStd * (Scaled(w, dy[i], i) - a - xHat * b);
        }
    }

    /// <summary>dy·γ[k(i)] (dy without a weight).</summary>
    static float Scaled(RowNormWork w, float dy, int i) =>
        w.Gamma is { } gamma ? dy * gamma[i / w.Axes.AffineStride % w.Axes.AffineCount] : dy;

    /// <summary>The gradients of γ[k] and β[k]: <c>dγ[k] += Σ dy·x̂</c>, <c>dβ[k] += Σ dy</c> over the elements
    /// <c>i = (o·K + k)·stride + s</c> that use them, in the order of i, summed in double.</summary>
    static void RowNormAffineGrad(RowNormWork w, int k)
    {
        var a = w.Axes;
        int period = a.AffineCount * a.AffineStride, blocks = a.Length / period;
        float[] x = w.X, dy = w.Dy;
        double sumDy = 0, sumDyXHat = 0;
        for (int o = 0; o < blocks; o++)
        {
            int first = (o * a.AffineCount + k) * a.AffineStride;
            for (int i = first; i < first + a.AffineStride; i++)
            {
                int r = i / a.RowLength;
                sumDy += dy[i];
                sumDyXHat += dy[i] * (double)((x[i] - w.Mean[r]) * w.InvStd[r]);
            }
        }
        if (w.GammaGrad is { } dGamma) dGamma[k] += (float)sumDyXHat;
        if (w.BetaGrad is { } dBeta) dBeta[k] += (float)sumDy;
    }

    readonly RowNormWork rowNormWork = new();

    /// <summary>One row-normalization call's operands. Its tasks are rows (forward, input gradient) or affine indices (the
    /// parameter gradients), which touch disjoint values, so the result does not depend on the thread count. Made once per
    /// backend: a call allocates nothing.</summary>
    sealed class RowNormWork : IParallelWork
    {
        /// <summary>Below this many values a call runs on the calling thread.</summary>
        const long ParallelThreshold = 1 << 15;

        public enum Pass { Forward, InputGrad, AffineGrad }

        public Pass Mode;
        public RowNormAxes Axes;
        public float Epsilon;
        public float[] X = [], Y = [], Dy = [], Mean = [], InvStd = [];
        public float[]? Gamma, Beta, Dx, GammaGrad, BetaGrad;

        public void Run(int tasks, int threads)
        {
            CpuWorkers.Shared.Run(this, tasks, Axes.Length >= ParallelThreshold ? threads : 1);
            if (Mode == Pass.Forward) Clear();
        }

        public void Clear()
        {
            X = Y = Dy = Mean = InvStd = [];
            Gamma = Beta = Dx = GammaGrad = BetaGrad = null;
        }

        void IParallelWork.Run(int task, int participant)
        {
            switch (Mode)
            {
                case Pass.Forward: RowNormForwardRow(this, task); break;
                case Pass.InputGrad: RowNormInputGradRow(this, task); break;
                default: RowNormAffineGrad(this, task); break;
            }
        }
    }
}

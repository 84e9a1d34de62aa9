using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

// Batch normalization: per-channel statistics over N·H·W, forward and backward side by side.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void BatchNormForward(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
        Tensor saveMean, Tensor saveInvStd, Tensor output, bool training, float momentum, float epsilon)
    {
        if (Skips) return;
        var w = batchNormWork;
        (w.Batch, w.Channels, w.Spatial) = BatchNormAxes.Of(input, weight);
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
            for (int n = 0; n < batch; n++)
                foreach (float v in x.AsSpan((n * channels + c) * spatial, spatial)) sum += v;
            double mean = sum / count, squares = 0;
            for (int n = 0; n < batch; n++)
                foreach (float v in x.AsSpan((n * channels + c) * spatial, spatial)) squares += (v - mean) * (v - mean);
            w.Mean[c] = (float)mean;
            w.InvStd[c] = (float)(1 / Math.Sqrt(squares / count + w.Epsilon));
            w.RunningMean[c] = (1 - w.Momentum) * w.RunningMean[c] + w.Momentum * (float)mean;
            w.RunningVar[c] = (1 - w.Momentum) * w.RunningVar[c] + w.Momentum * (float)(squares / (count - 1));
        }
        else
        {
            w.Mean[c] = w.RunningMean[c];
            w.InvStd[c] = (float)(1 / Math.Sqrt(w.RunningVar[c] + (double)w.Epsilon));
        }
        float shift = w.Mean[c], scale = w.InvStd[c] * w.Gamma[c], offset = w.Beta[c];
        for (int n = 0; n < batch; n++)
        {
            int start = (n * channels + c) * spatial;
            for (int j = start; j < start + spatial; j++) w.Y[j] = (x[j] - shift) * scale + offset;
        }
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor input, Tensor weight, Tensor saveMean, Tensor saveInvStd, Tensor outputGrad,
        Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, bool training)
    {
        if (Skips) return;
        var w = batchNormWork;
        (w.Batch, w.Channels, w.Spatial) = BatchNormAxes.Of(input, weight);
        (w.Backward, w.Training) = (true, training);
        (w.X, w.Dy, w.Gamma, w.Mean, w.InvStd) = (ArrayOf(input), ArrayOf(outputGrad), ArrayOf(weight), ArrayOf(saveMean), ArrayOf(saveInvStd));
        (w.Dx, w.GammaGrad, w.BetaGrad) = (OptionalArray(inputGrad), OptionalArray(weightGrad), OptionalArray(biasGrad));
        w.RunChannels(Threads);
    }

    /// <summary>Channel c of the backward pass. In the forward pass this was y = γ·x̂ + β, x̂ = (x − μ)·invStd, with μ
    /// and invStd saved per channel: dβ += Σdy, dγ += Σdy·x̂ (in double), dx += k·(dy − a − x̂·b).</summary>
    static void BatchNormBackwardChannel(BatchNormWork w, int c)
    {
        int batch = w.Batch, channels = w.Channels, spatial = w.Spatial, count = batch * spatial;
        float[] x = w.X, dy = w.Dy;
        float mean = w.Mean[c], invStd = w.InvStd[c];
        double sumDy = 0, sumDyXHat = 0;
        for (int n = 0; n < batch; n++)
        {
            int start = (n * channels + c) * spatial;
            for (int j = start; j < start + spatial; j++)
            {
                sumDy += dy[j];
                sumDyXHat += dy[j] * (double)((x[j] - mean) * invStd);
            }
        }
        if (w.BetaGrad is { } dBeta) dBeta[c] += (float)sumDy;
        if (w.GammaGrad is { } dGamma) dGamma[c] += (float)sumDyXHat;
        if (w.Dx is not { } dx) return;
        var (scale, meanDy, meanDyXHat) = BatchNormInputGradCoefficients(w.Gamma[c], invStd, sumDy, sumDyXHat, count, w.Training);
        for (int n = 0; n < batch; n++)
        {
            int start = (n * channels + c) * spatial;
            for (int j = start; j < start + spatial; j++)
                dx[j] += scale * (dy[j] - meanDy - (x[j] - mean) * invStd * meanDyXHat);
        }
    }

    static float[]? OptionalArray(Tensor? tensor) => tensor is null ? null : ArrayOf(tensor);

    readonly BatchNormWork batchNormWork = new();

    /// <summary>One batch-norm call's operands; its tasks are the channels, which touch disjoint values (and their own
    /// statistics), so the result does not depend on the thread count. Made once per backend: a call allocates nothing.</summary>
    sealed class BatchNormWork : IParallelWork
    {
        /// <summary>Below this many values (N·C·S) a call runs on the calling thread.</summary>
        const long ParallelThreshold = 1 << 15;

        public int Batch, Channels, Spatial;
        public bool Backward, Training;
        public float Momentum, Epsilon;
        public float[] X = [], Y = [], Dy = [], Gamma = [], Beta = [], Mean = [], InvStd = [], RunningMean = [], RunningVar = [];
        public float[]? Dx, GammaGrad, BetaGrad;

        public void RunChannels(int threads)
        {
            bool large = (long)Batch * Channels * Spatial >= ParallelThreshold;
            CpuWorkers.Shared.Run(this, Channels, large ? threads : 1);
            X = Y = Dy = Gamma = Beta = Mean = InvStd = RunningMean = RunningVar = [];
            Dx = GammaGrad = BetaGrad = null;
        }

        void IParallelWork.Run(int c, int participant)
        {
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

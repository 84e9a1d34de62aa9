using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

// Batch normalization: per-channel statistics over N·H·W, forward and backward side by side.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void BatchNormForward(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
        Tensor saveMean, Tensor saveInvStd, Tensor output, bool training, float momentum, float epsilon)
    {
        // input is (N,C,S) with S = H·W (1 for (N,C)); channel c's M = N·S values are x[n, c, 0..S)
        var (batch, channels, spatial) = BatchNormAxes.Of(input, weight);
        int count = batch * spatial;
        Span<float> x = Data(input), y = Data(output), gamma = Data(weight), beta = Data(bias);
        Span<float> meanOut = Data(saveMean), invStdOut = Data(saveInvStd), runMean = Data(runningMean), runVar = Data(runningVar);
        for (int c = 0; c < channels; c++)
        {
            if (training)
            {
                // Two passes (mean, then squared deviations) in double: no cancellation, the reference for GL.
                double sum = 0;
                for (int n = 0; n < batch; n++)
                    foreach (float v in x.Slice((n * channels + c) * spatial, spatial)) sum += v;
                double mean = sum / count, squares = 0;
                for (int n = 0; n < batch; n++)
                    foreach (float v in x.Slice((n * channels + c) * spatial, spatial)) squares += (v - mean) * (v - mean);
                meanOut[c] = (float)mean;
                invStdOut[c] = (float)(1 / Math.Sqrt(squares / count + epsilon));
                runMean[c] = (1 - momentum) * runMean[c] + momentum * (float)mean;
                runVar[c] = (1 - momentum) * runVar[c] + momentum * (float)(squares / (count - 1));
            }
            else
            {
                meanOut[c] = runMean[c];
                invStdOut[c] = (float)(1 / Math.Sqrt(runVar[c] + (double)epsilon));
            }
            float shift = meanOut[c], scale = invStdOut[c] * gamma[c], offset = beta[c];
            for (int n = 0; n < batch; n++)
            {
                int start = (n * channels + c) * spatial;
                for (int j = start; j < start + spatial; j++) y[j] = (x[j] - shift) * scale + offset;
            }
        }
    }

    /// <inheritdoc/>
    public void BatchNormBackward(Tensor input, Tensor weight, Tensor saveMean, Tensor saveInvStd, Tensor outputGrad,
        Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, bool training)
    {
        // in the forward pass this was y = γ·x̂ + β, x̂ = (x − μ)·invStd, with μ and invStd saved per channel
        var (batch, channels, spatial) = BatchNormAxes.Of(input, weight);
        int count = batch * spatial;
        Span<float> x = Data(input), dy = Data(outputGrad), gamma = Data(weight), mean = Data(saveMean), invStd = Data(saveInvStd);
        Span<float> dx = DataOrEmpty(inputGrad), dGamma = DataOrEmpty(weightGrad), dBeta = DataOrEmpty(biasGrad);
        for (int c = 0; c < channels; c++)
        {
            double sumDy = 0, sumDyXHat = 0;
            for (int n = 0; n < batch; n++)
            {
                int start = (n * channels + c) * spatial;
                for (int j = start; j < start + spatial; j++)
                {
                    sumDy += dy[j];
                    sumDyXHat += dy[j] * (double)((x[j] - mean[c]) * invStd[c]);
                }
            }
            if (!dBeta.IsEmpty) dBeta[c] += (float)sumDy;
            if (!dGamma.IsEmpty) dGamma[c] += (float)sumDyXHat;
            if (dx.IsEmpty) continue;
            var (scale, meanDy, meanDyXHat) = BatchNormInputGradCoefficients(gamma[c], invStd[c], sumDy, sumDyXHat, count, training);
            for (int n = 0; n < batch; n++)
            {
                int start = (n * channels + c) * spatial;
                for (int j = start; j < start + spatial; j++)
                    dx[j] += scale * (dy[j] - meanDy - (x[j] - mean[c]) * invStd[c] * meanDyXHat);
            }
        }
    }

    /// <summary>The per-channel factors of <c>dx += k·(dy − a − x̂·b)</c>: <c>k = γ·invStd</c>, and in training
    /// <c>a = Σdy/M</c>, <c>b = Σ(dy·x̂)/M</c> (the paths through μ and σ); in eval a = b = 0. batchnorm.comp's
    /// GRAD_FINALIZE computes the same three numbers.</summary>
    static (float Scale, float MeanDy, float MeanDyXHat) BatchNormInputGradCoefficients(
        float gamma, float invStd, double sumDy, double sumDyXHat, int count, bool training) =>
        training ? (gamma * invStd, (float)(sumDy / count), (float)(sumDyXHat / count)) : (gamma * invStd, 0f, 0f);
}

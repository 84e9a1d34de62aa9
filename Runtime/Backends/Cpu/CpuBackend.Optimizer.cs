using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

// Optimizer update rules, the L1/L2 penalty and gradient clipping. Each rule is one loop over the elements,
// written in the order PyTorch's torch.optim evaluates it, so float rounding follows the same path. Under a work
// slice a rule runs only its window's element blocks (ElementRange): each element's update is independent.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SgdUpdate(Tensor parameter, Tensor gradient, Tensor? velocity, float learningRate, float momentum, float weightDecay = 0f, bool nesterov = false)
    {
        var (first, end) = ElementRange(parameter.Length); // numbered first, so every run numbers the same units
        if (UpdateBlocked || first == end) return;
        Span<float> w = Data(parameter), dw = Data(gradient), v = DataOrEmpty(velocity);
        bool hasVelocity = velocity is not null;
        for (int i = first; i < end; i++)
        {
            float g = dw[i] + weightDecay * w[i];
            if (hasVelocity)
            {
                v[i] = momentum * v[i] + g;
                g = nesterov ? g + momentum * v[i] : v[i];
            }
            w[i] -= learningRate * g;
        }
    }

    /// <inheritdoc/>
    public void AdaGradUpdate(Tensor parameter, Tensor gradient, Tensor sum, float learningRate, float epsilon, float weightDecay)
    {
        var (first, end) = ElementRange(parameter.Length); // numbered first, so every run numbers the same units
        if (UpdateBlocked || first == end) return;
        Span<float> w = Data(parameter), dw = Data(gradient), h = Data(sum);
        for (int i = first; i < end; i++)
        {
            float g = dw[i] + weightDecay * w[i];
            h[i] += g * g;
            w[i] -= learningRate * (g / (MathF.Sqrt(h[i]) + epsilon));
        }
    }

    /// <inheritdoc/>
    public void RmsPropUpdate(Tensor parameter, Tensor gradient, Tensor squareAverage, Tensor? velocity, float learningRate, float alpha, float epsilon, float momentum, float weightDecay)
    {
        var (first, end) = ElementRange(parameter.Length); // numbered first, so every run numbers the same units
        if (UpdateBlocked || first == end) return;
        Span<float> w = Data(parameter), dw = Data(gradient), h = Data(squareAverage), v = DataOrEmpty(velocity);
        bool hasVelocity = velocity is not null;
        for (int i = first; i < end; i++)
        {
            float g = dw[i] + weightDecay * w[i];
            h[i] = alpha * h[i] + (1f - alpha) * (g * g);
            float step = g / (MathF.Sqrt(h[i]) + epsilon);
            if (hasVelocity) step = v[i] = momentum * v[i] + step;
            w[i] -= learningRate * step;
        }
    }

    /// <inheritdoc/>
    public void AdamUpdate(Tensor parameter, Tensor gradient, Tensor firstMoment, Tensor secondMoment, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, long step)
    {
        var (first, end) = ElementRange(parameter.Length); // numbered first, so every run numbers the same units
        if (UpdateBlocked || first == end) return;
        Span<float> w = Data(parameter), dw = Data(gradient), m = Data(firstMoment), v = Data(secondMoment);
        var c = AdamCorrection.At(learningRate, beta1, beta2, step);
        float coupled = decoupledWeightDecay ? 0f : weightDecay;
        float shrink = decoupledWeightDecay ? 1f - learningRate * weightDecay : 1f;
        for (int i = first; i < end; i++)
        {
            float g = dw[i] + coupled * w[i];
            w[i] *= shrink;
            m[i] = beta1 * m[i] + (1f - beta1) * g;
            v[i] = beta2 * v[i] + (1f - beta2) * (g * g);
            w[i] -= c.StepSize * (m[i] / (MathF.Sqrt(v[i]) / c.SecondMomentScale + epsilon));
        }
    }

    /// <inheritdoc/>
    public void NormPenaltyForward(Tensor input, Tensor total, float l1, float l2)
    {
        if (Skips) return;
        ReadOnlySpan<float> x = Data(input);
        // float sums, like the GL kernel's partial sums and torch's float32 reductions
        float sum = 0f;
        if (l1 != 0f) sum += l1 * TensorPrimitives.SumOfMagnitudes(x);
        if (l2 != 0f) sum += 0.5f * l2 * TensorPrimitives.SumOfSquares(x);
        Data(total)[0] += sum;
    }

    /// <inheritdoc/>
    public void NormPenaltyBackward(Tensor input, Tensor inputGrad, float l1, float l2)
    {
        if (Skips) return;
        ReadOnlySpan<float> x = Data(input);
        Span<float> dx = Data(inputGrad);
        for (int i = 0; i < x.Length; i++)
        {
            float sign = x[i] > 0f ? 1f : x[i] < 0f ? -1f : 0f; // MathF.Sign would throw on NaN
            dx[i] += l1 * sign + l2 * x[i];
        }
    }

    /// <inheritdoc/>
    public void ClipByTotalNorm(Tensor gradient, Tensor sumOfSquares, float maxNorm)
    {
        if (Skips) return;
        float factor = MathF.Min(1f, maxNorm / (MathF.Sqrt(Data(sumOfSquares)[0]) + 1e-6f));
        Span<float> g = Data(gradient);
        TensorPrimitives.Multiply(g, factor, g);
    }
}

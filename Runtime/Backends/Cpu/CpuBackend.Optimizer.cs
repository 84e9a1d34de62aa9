using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Backends.Cpu;

// Optimizer update rules, the L1/L2 penalty and gradient clipping. Each rule is one loop over the elements,
// written in the order PyTorch's torch.optim evaluates it, so float rounding follows the same path. Under a work
// slice a rule runs only its window's element blocks (ElementRange): each element's update is independent, and every
// element is computed by the same code whatever its chunk or block, so parts give the bits of the whole.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SgdUpdate(Tensor parameter, Tensor gradient, Tensor? velocity, float learningRate, float momentum, float weightDecay = 0f, bool nesterov = false)
    {
        var (first, end) = ElementRange(parameter.Length); // numbered first, so every run numbers the same units
        if (UpdateBlocked || first == end) return;
        var w = optimizerWork.Aim(OptimizerWork.Rule.Sgd, parameter, gradient, velocity, null);
        (w.LearningRate, w.Momentum, w.WeightDecay, w.Nesterov) = (learningRate, momentum, weightDecay, nesterov);
        w.Run(first, end, Threads);
    }

    /// <summary>SGD on elements [start, start + count): <c>g = dw + λ·w; v = μ·v + g; g = nesterov ? g + μ·v : v; w −= lr·g</c>,
    /// torch.optim.SGD's order, on vectors with the same roundings.</summary>
    static void SgdRange(OptimizerWork o, int start, int count)
    {
        Span<float> w = o.Parameter.AsSpan(start, count), v = o.State1.Length == 0 ? default : o.State1.AsSpan(start, count);
        ReadOnlySpan<float> dw = o.Gradient.AsSpan(start, count);
        bool hasVelocity = !v.IsEmpty;
        float lr = o.LearningRate, momentum = o.Momentum, decay = o.WeightDecay;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> rate = Vector512.Create(lr), mu = Vector512.Create(momentum), lambda = Vector512.Create(decay);
            for (; i + 16 <= w.Length; i += 16)
            {
                var weight = Vector512.Create(w.Slice(i, 16));
                var g = Vector512.Create(dw.Slice(i, 16)) + lambda * weight;
                if (hasVelocity)
                {
                    var velocity = mu * Vector512.Create(v.Slice(i, 16)) + g;
                    velocity.CopyTo(v.Slice(i, 16));
                    g = o.Nesterov ? g + mu * velocity : velocity;
                }
                (weight - rate * g).CopyTo(w.Slice(i, 16));
            }
        }
        for (; i < w.Length; i++)
        {
            float g = dw[i] + decay * w[i];
            if (hasVelocity)
            {
                v[i] = momentum * v[i] + g;
                g = o.Nesterov ? g + momentum * v[i] : v[i];
            }
            w[i] -= lr * g;
        }
    }

    /// <inheritdoc/>
    public void AdaGradUpdate(Tensor parameter, Tensor gradient, Tensor sum, float learningRate, float epsilon, float weightDecay)
    {
        var (first, end) = ElementRange(parameter.Length); // numbered first, so every run numbers the same units
        if (UpdateBlocked || first == end) return;
        var w = optimizerWork.Aim(OptimizerWork.Rule.AdaGrad, parameter, gradient, sum, null);
        (w.LearningRate, w.Epsilon, w.WeightDecay) = (learningRate, epsilon, weightDecay);
        w.Run(first, end, Threads);
    }

    static void AdaGradRange(OptimizerWork o, int start, int count)
    {
        Span<float> w = o.Parameter.AsSpan(start, count), h = o.State1.AsSpan(start, count);
        ReadOnlySpan<float> dw = o.Gradient.AsSpan(start, count);
        for (int i = 0; i < w.Length; i++)
        {
            float g = dw[i] + o.WeightDecay * w[i];
            h[i] += g * g;
            w[i] -= o.LearningRate * (g / (MathF.Sqrt(h[i]) + o.Epsilon));
        }
    }

    /// <inheritdoc/>
    public void RmsPropUpdate(Tensor parameter, Tensor gradient, Tensor squareAverage, Tensor? velocity, float learningRate, float alpha, float epsilon, float momentum, float weightDecay)
    {
        var (first, end) = ElementRange(parameter.Length); // numbered first, so every run numbers the same units
        if (UpdateBlocked || first == end) return;
        var w = optimizerWork.Aim(OptimizerWork.Rule.RmsProp, parameter, gradient, squareAverage, velocity);
        (w.LearningRate, w.Alpha, w.Epsilon, w.Momentum, w.WeightDecay) = (learningRate, alpha, epsilon, momentum, weightDecay);
        w.Run(first, end, Threads);
    }

    static void RmsPropRange(OptimizerWork o, int start, int count)
    {
        Span<float> w = o.Parameter.AsSpan(start, count), h = o.State1.AsSpan(start, count), v = o.State2.Length == 0 ? default : o.State2.AsSpan(start, count);
        ReadOnlySpan<float> dw = o.Gradient.AsSpan(start, count);
        bool hasVelocity = !v.IsEmpty;
        for (int i = 0; i < w.Length; i++)
        {
            float g = dw[i] + o.WeightDecay * w[i];
            h[i] = o.Alpha * h[i] + (1f - o.Alpha) * (g * g);
            float step = g / (MathF.Sqrt(h[i]) + o.Epsilon);
            if (hasVelocity) step = v[i] = o.Momentum * v[i] + step;
            w[i] -= o.LearningRate * step;
        }
    }

    /// <inheritdoc/>
    public void UpdateParameters(in UpdateRule rule, ReadOnlySpan<Tensor> parameters, ReadOnlySpan<Tensor> gradients, ReadOnlySpan<Tensor[]> state,
        ReadOnlySpan<float> weightDecays) => rule.ApplyEach(this, parameters, gradients, state, weightDecays);

    /// <inheritdoc/>
    public void AdamUpdate(Tensor parameter, Tensor gradient, Tensor firstMoment, Tensor secondMoment, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, long step)
    {
        var (first, end) = ElementRange(parameter.Length); // numbered first, so every run numbers the same units
        if (UpdateBlocked || first == end) return;
        var w = optimizerWork.Aim(OptimizerWork.Rule.Adam, parameter, gradient, firstMoment, secondMoment);
        (w.Correction, w.Beta1, w.Beta2, w.Epsilon) = (AdamCorrection.At(learningRate, beta1, beta2, step), beta1, beta2, epsilon);
        w.WeightDecay = decoupledWeightDecay ? 0f : weightDecay;
        w.Shrink = decoupledWeightDecay ? 1f - learningRate * weightDecay : 1f;
        w.Run(first, end, Threads);
    }

    static void AdamRange(OptimizerWork o, int start, int count)
    {
        Span<float> w = o.Parameter.AsSpan(start, count), m = o.State1.AsSpan(start, count), v = o.State2.AsSpan(start, count);
        ReadOnlySpan<float> dw = o.Gradient.AsSpan(start, count);
        var c = o.Correction;
        for (int i = 0; i < w.Length; i++)
        {
            float g = dw[i] + o.WeightDecay * w[i];
            w[i] *= o.Shrink;
            m[i] = o.Beta1 * m[i] + (1f - o.Beta1) * g;
            v[i] = o.Beta2 * v[i] + (1f - o.Beta2) * (g * g);
            w[i] -= c.StepSize * (m[i] / (MathF.Sqrt(v[i]) / c.SecondMomentScale + o.Epsilon));
        }
    }

    readonly OptimizerWork optimizerWork = new();

    /// <summary>One update rule's call: its tensors and hyperparameters, run in chunks over the worker pool (each element
    /// updated by the same code whatever its chunk: the result does not depend on the thread count).</summary>
    sealed class OptimizerWork : ChunkedWork
    {
        public enum Rule { Sgd, AdaGrad, RmsProp, Adam }

        public Rule Kind;
        public float[] Parameter = [], Gradient = [], State1 = [], State2 = [];
        public float LearningRate, Momentum, WeightDecay, Epsilon, Alpha, Beta1, Beta2, Shrink;
        public bool Nesterov;
        public AdamCorrection Correction;

        public OptimizerWork Aim(Rule rule, Tensor parameter, Tensor gradient, Tensor? state1, Tensor? state2)
        {
            Kind = rule;
            (Parameter, Gradient) = (ArrayOf(parameter), ArrayOf(gradient));
            (State1, State2) = (state1 is null ? [] : ArrayOf(state1), state2 is null ? [] : ArrayOf(state2));
            return this;
        }

        /// <summary>Updates elements [<paramref name="first"/>, <paramref name="end"/>).</summary>
        public void Run(int first, int end, int threads)
        {
            RunChunks(first, end, threads);
            Parameter = Gradient = State1 = State2 = [];
        }

        protected override void RunRange(int start, int count)
        {
            switch (Kind)
            {
                case Rule.Sgd: SgdRange(this, start, count); break;
                case Rule.AdaGrad: AdaGradRange(this, start, count); break;
                case Rule.RmsProp: RmsPropRange(this, start, count); break;
                default: AdamRange(this, start, count); break;
            }
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
    public void AddNormPenalties(ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> inputGrads, Tensor total, ReadOnlySpan<float> l1, ReadOnlySpan<float> l2) =>
        MultiTensor.AddNormPenaltiesEach(this, inputs, inputGrads, total, l1, l2);

    /// <inheritdoc/>
    public void ClipGradientsByTotalNorm(ReadOnlySpan<Tensor> gradients, Tensor sumOfSquares, float maxNorm) =>
        MultiTensor.ClipGradientsByTotalNormEach(this, gradients, sumOfSquares, maxNorm);

    /// <inheritdoc/>
    public void ClipByTotalNorm(Tensor gradient, Tensor sumOfSquares, float maxNorm)
    {
        if (Skips) return;
        float factor = MathF.Min(1f, maxNorm / (MathF.Sqrt(Data(sumOfSquares)[0]) + 1e-6f));
        Span<float> g = Data(gradient);
        TensorPrimitives.Multiply(g, factor, g);
    }
}

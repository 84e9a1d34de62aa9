using NeuroPlugin.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    const double InverseSqrt2 = 0.70710678118654752, InverseSqrt2Pi = 0.39894228040143268;
    const float SqrtTwoOverPi = 0.7978845608f, GeluCubic = 0.044715f;

    /// <summary>GELU's tanh form's argument <c>u = √(2/π)·(x + 0.044715·x³)</c>.</summary>
    static float GeluTanhArgument(float x) => SqrtTwoOverPi * (x + GeluCubic * x * x * x);

    /// <inheritdoc/>
    public void ActivationForward(ActivationKind kind, Tensor input, Tensor output, float alpha = 0.01f)
    {
        if (Skips) return;
        Span<float> x = Data(input), y = Data(output);
        switch (kind)
        {
            // TensorPrimitives evaluates exactly these formulas, with SIMD
            case ActivationKind.ReLU:        // y = max(0, x)
                TensorPrimitives.Max(x, 0f, y);
                break;
            case ActivationKind.Sigmoid:     // y = 1 / (1 + e^−x)
                TensorPrimitives.Sigmoid(x, y);
                break;
            case ActivationKind.Tanh:        // y = tanh x
                TensorPrimitives.Tanh(x, y);
                break;
            case ActivationKind.LeakyReLU:   // y = x if x > 0 else α·x
                for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0f ? x[i] : alpha * x[i];
                break;
            case ActivationKind.ReLU6:       // y = min(max(0, x), 6)
                for (int i = 0; i < x.Length; i++) y[i] = Math.Clamp(x[i], 0f, 6f);
                break;
            case ActivationKind.SiLU:        // y = x·σ(x), written x / (1 + e^−x) as PyTorch does
                for (int i = 0; i < x.Length; i++) y[i] = x[i] / (1f + MathF.Exp(-x[i]));
                break;
            case ActivationKind.HardSigmoid: // y = relu6(x + 3) / 6
                for (int i = 0; i < x.Length; i++) y[i] = Math.Clamp(x[i] + 3f, 0f, 6f) / 6f;
                break;
            case ActivationKind.HardSwish:   // y = x·relu6(x + 3) / 6
                for (int i = 0; i < x.Length; i++) y[i] = x[i] * Math.Clamp(x[i] + 3f, 0f, 6f) / 6f;
                break;
            case ActivationKind.GELU:        // y = x·Φ(x) = x/2·(1 + erf(x/√2))
                for (int i = 0; i < x.Length; i++) y[i] = (float)(0.5 * x[i] * (1.0 + Erf(x[i] * InverseSqrt2)));
                break;
            case ActivationKind.GELUTanh:    // y = x/2·(1 + tanh u), u = √(2/π)·(x + 0.044715·x³)
                for (int i = 0; i < x.Length; i++) y[i] = 0.5f * x[i] * (1f + MathF.Tanh(GeluTanhArgument(x[i])));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        }
    }

    /// <inheritdoc/>
    public void ActivationBackward(ActivationKind kind, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad, float alpha = 0.01f)
    {
        if (Skips) return;
        // In the forward pass this was y = f(x): dx += f′·dy. At the kinks f′ takes PyTorch's side (see ActivationKind).
        Span<float> x = Data(input), y = Data(output), dy = Data(outputGrad), dx = Data(inputGrad);
        switch (kind)
        {
            case ActivationKind.ReLU:        // f′ = 1 where x > 0
                for (int i = 0; i < x.Length; i++) if (x[i] > 0f) dx[i] += dy[i];
                break;
            case ActivationKind.Sigmoid:     // f′ = y(1 − y)
                for (int i = 0; i < x.Length; i++) dx[i] += dy[i] * y[i] * (1f - y[i]);
                break;
            case ActivationKind.Tanh:        // f′ = 1 − y²
                for (int i = 0; i < x.Length; i++) dx[i] += dy[i] * (1f - y[i] * y[i]);
                break;
            case ActivationKind.LeakyReLU:   // f′ = 1 where x > 0, else α
                for (int i = 0; i < x.Length; i++) dx[i] += x[i] > 0f ? dy[i] : alpha * dy[i];
                break;
            case ActivationKind.ReLU6:       // f′ = 1 where 0 < x < 6
                for (int i = 0; i < x.Length; i++) if (x[i] > 0f && x[i] < 6f) dx[i] += dy[i];
                break;
            case ActivationKind.SiLU:        // f′ = σ(x)·(1 + x·(1 − σ(x)))
                for (int i = 0; i < x.Length; i++)
                {
                    float s = 1f / (1f + MathF.Exp(-x[i]));
                    dx[i] += dy[i] * s * (1f + x[i] * (1f - s));
                }
                break;
            case ActivationKind.HardSigmoid: // f′ = 1/6 where −3 < x < 3
                for (int i = 0; i < x.Length; i++) if (x[i] > -3f && x[i] < 3f) dx[i] += dy[i] / 6f;
                break;
            case ActivationKind.HardSwish:   // f′ = 0 below −3, x/3 + 1/2 from −3 (inclusive) to 3, 1 from 3 on
                for (int i = 0; i < x.Length; i++)
                    dx[i] += x[i] < -3f ? 0f : x[i] < 3f ? dy[i] * (x[i] / 3f + 0.5f) : dy[i];
                break;
            case ActivationKind.GELU:        // f′ = Φ(x) + x·φ(x)
                for (int i = 0; i < x.Length; i++)
                {
                    double v = x[i], cdf = 0.5 * (1.0 + Erf(v * InverseSqrt2)), pdf = Math.Exp(-0.5 * v * v) * InverseSqrt2Pi;
                    dx[i] += (float)(dy[i] * (cdf + v * pdf));
                }
                break;
            case ActivationKind.GELUTanh:    // f′ = (1 + t)/2 + x/2·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), t = tanh u
                for (int i = 0; i < x.Length; i++)
                {
                    float v = x[i], t = MathF.Tanh(GeluTanhArgument(v));
                    dx[i] += dy[i] * (0.5f * (1f + t) + 0.5f * v * (1f - t * t) * SqrtTwoOverPi * (1f + 3f * GeluCubic * v * v));
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        }
    }
}

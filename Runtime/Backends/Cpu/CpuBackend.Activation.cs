using NeuroPlugin.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void ActivationForward(ActivationKind kind, Tensor input, Tensor output)
    {
        Span<float> x = Data(input), y = Data(output);
        switch (kind)
        {
            // TensorPrimitives evaluates exactly these formulas, with SIMD
            case ActivationKind.ReLU:      // y = max(0, x)
                TensorPrimitives.Max(x, 0f, y);
                break;
            case ActivationKind.Sigmoid:   // y = 1 / (1 + e^−x)
                TensorPrimitives.Sigmoid(x, y);
                break;
            case ActivationKind.Tanh:      // y = tanh x
                TensorPrimitives.Tanh(x, y);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        }
    }

    /// <inheritdoc/>
    public void ActivationBackward(ActivationKind kind, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad)
    {
        Span<float> x = Data(input), y = Data(output), dy = Data(outputGrad), dx = Data(inputGrad);
        switch (kind)
        {
            case ActivationKind.ReLU:      // y = max(0, x): dy/dx = 1 where x > 0
                for (int i = 0; i < x.Length; i++) if (x[i] > 0f) dx[i] += dy[i];
                break;
            case ActivationKind.Sigmoid:   // dy/dx = y(1 − y)
                for (int i = 0; i < x.Length; i++) dx[i] += dy[i] * y[i] * (1f - y[i]);
                break;
            case ActivationKind.Tanh:      // dy/dx = 1 − y²
                for (int i = 0; i < x.Length; i++) dx[i] += dy[i] * (1f - y[i] * y[i]);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        }
    }
}

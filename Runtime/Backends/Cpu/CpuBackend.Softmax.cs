using NeuroPlugin.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SoftmaxForward(Tensor input, Tensor output)
    {
        if (Skips) return;
        // input and output (N,K): one softmax per row
        int rows = input.Shape.N, k = input.Length / rows;
        Span<float> x = Data(input), y = Data(output);
        for (int n = 0; n < rows; n++)
        {
            Span<float> xRow = x.Slice(n * k, k), yRow = y.Slice(n * k, k);
            // shifting by the row's maximum keeps every exponent ≤ 0: no overflow, and the sum is ≥ 1
            float max = TensorPrimitives.Max(xRow);
            float sum = 0f;
            for (int j = 0; j < k; j++) sum += yRow[j] = MathF.Exp(xRow[j] - max);
            TensorPrimitives.Divide(yRow, sum, yRow);
        }
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor output, Tensor outputGrad, Tensor inputGrad)
    {
        if (Skips) return;
        // In the forward pass this was y = softmax(x): ∂y_j/∂x_k = y_j(δ_jk − y_k), so
        // dx_k = Σ_j dy_j·y_j(δ_jk − y_k) = y_k·(dy_k − Σ_j dy_j·y_j).
        int rows = output.Shape.N, k = output.Length / rows;
        Span<float> y = Data(output), dy = Data(outputGrad), dx = Data(inputGrad);
        for (int n = 0; n < rows; n++)
        {
            Span<float> yRow = y.Slice(n * k, k), dyRow = dy.Slice(n * k, k), dxRow = dx.Slice(n * k, k);
            float dot = TensorPrimitives.Dot(dyRow, yRow);
            for (int j = 0; j < k; j++) dxRow[j] += yRow[j] * (dyRow[j] - dot);
        }
    }
}

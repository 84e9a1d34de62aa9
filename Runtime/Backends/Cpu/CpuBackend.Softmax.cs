namespace NeuroPlugin.Backends.Cpu;

// Softmax and log-softmax over any axis, forward and backward: each (outer, inner) pair is one row of K elements,
// inner apart.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SoftmaxForward(Tensor input, Tensor output, int axis = 1, bool logarithm = false)
    {
        if (Skips) return;
        var (outer, k, inner) = input.Shape.AroundAxis(axis);
        Span<float> x = Data(input), y = Data(output);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int start = o * k * inner + i;
                // shifting by the row's maximum keeps every exponent ≤ 0: no overflow, and the sum is ≥ 1
                float max = x[start];
                for (int j = 1; j < k; j++) max = MathF.Max(max, x[start + j * inner]);
                float sum = 0f;
                for (int j = 0; j < k; j++) sum += MathF.Exp(x[start + j * inner] - max);
                if (logarithm)
                {
                    float shift = max + MathF.Log(sum);
                    for (int j = 0; j < k; j++) y[start + j * inner] = x[start + j * inner] - shift;
                }
                else
                    for (int j = 0; j < k; j++) y[start + j * inner] = MathF.Exp(x[start + j * inner] - max) / sum;
            }
    }

    /// <inheritdoc/>
    public void SoftmaxBackward(Tensor output, Tensor outputGrad, Tensor inputGrad, int axis = 1, bool logarithm = false)
    {
        if (Skips) return;
        // In the forward pass this was y = softmax(x) along the row: ∂y_j/∂x_k = y_j(δ_jk − y_k), so
        // dx_k = Σ_j dy_j·y_j(δ_jk − y_k) = y_k·(dy_k − Σ_j dy_j·y_j). For y = log softmax(x): ∂y_j/∂x_k = δ_jk − p_k with
        // p = e^y, so dx_k = dy_k − p_k·Σ_j dy_j.
        var (outer, k, inner) = output.Shape.AroundAxis(axis);
        Span<float> y = Data(output), dy = Data(outputGrad), dx = Data(inputGrad);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int start = o * k * inner + i;
                float sum = 0f;
                for (int j = 0; j < k; j++) sum += logarithm ? dy[start + j * inner] : dy[start + j * inner] * y[start + j * inner];
                for (int j = 0; j < k; j++)
                {
                    int e = start + j * inner;
                    dx[e] += logarithm ? dy[e] - MathF.Exp(y[e]) * sum : y[e] * (dy[e] - sum);
                }
            }
    }
}

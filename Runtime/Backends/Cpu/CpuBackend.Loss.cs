namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor target, Tensor probabilities, Tensor loss)
    {
        if (Skips) return;
        // logits, target, probabilities are (N,K); loss is (1)
        int n = logits.Shape.N, k = logits.Shape[1];
        Span<float> z = Data(logits), t = Data(target), p = Data(probabilities);
        double total = 0;
        for (int s = 0; s < n; s++)
        {
            Span<float> zRow = z.Slice(s * k, k), tRow = t.Slice(s * k, k), pRow = p.Slice(s * k, k);
            float max = float.NegativeInfinity;
            foreach (float v in zRow) max = MathF.Max(max, v);
            float sum = 0f;
            for (int j = 0; j < k; j++) { pRow[j] = MathF.Exp(zRow[j] - max); sum += pRow[j]; }
            float logSum = MathF.Log(sum);
            for (int j = 0; j < k; j++)
            {
                pRow[j] /= sum;
                // log p = z − max − log Σ e^(z − max): never log(0), even when p underflows
                if (tRow[j] != 0f) total -= tRow[j] * (zRow[j] - max - logSum);
            }
        }
        Data(loss)[0] = (float)(total / n);
    }

    /// <inheritdoc/>
    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor target, Tensor logitsGrad, float scale)
    {
        if (Skips) return;
        // in the forward pass this was loss = −(1/N) Σ t·log softmax(z); d loss/dz = (p − t)/N
        int n = probabilities.Shape.N;
        Span<float> p = Data(probabilities), t = Data(target), dz = Data(logitsGrad);
        float factor = scale / n;
        for (int i = 0; i < p.Length; i++) dz[i] += factor * (p[i] - t[i]);
    }
}

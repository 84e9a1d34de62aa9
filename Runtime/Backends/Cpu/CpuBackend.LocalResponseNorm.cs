namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void LocalResponseNormForward(Tensor input, Tensor output, Tensor scale, int size, float alpha, float beta, float k)
    {
        if (Skips) return;
        // input, output, scale (N,C,H,W) or (N,C); element (n,c,p) with p the flat spatial position
        var g = new ChannelWindow(input.Shape, size);
        Span<float> x = Data(input), y = Data(output), s = Data(scale);
        for (int n = 0; n < g.Batch; n++)
            for (int c = 0; c < g.Channels; c++)
            {
                // PyTorch zero-pads the channel axis by ⌊size/2⌋ before and ⌊(size−1)/2⌋ after, then averages
                // over `size` channels: the clipped window below with the full `size` as divisor
                int first = Math.Max(c - g.Before, 0), last = Math.Min(c + g.After, g.Channels - 1);
                for (int p = 0; p < g.Inner; p++)
                {
                    float sum = 0f;
                    for (int cc = first; cc <= last; cc++)
                    {
                        float v = x[g.Index(n, cc, p)];
                        sum += v * v;
                    }
                    int i = g.Index(n, c, p);
                    s[i] = k + alpha / size * sum;
                    y[i] = x[i] * MathF.Pow(s[i], -beta);
                }
            }
    }

    /// <inheritdoc/>
    public void LocalResponseNormBackward(Tensor input, Tensor output, Tensor scale, Tensor outputGrad, Tensor inputGrad, int size, float alpha, float beta)
    {
        if (Skips) return;
        // In the forward pass this was y[c] = x[c]·s[c]^−β with s[c] = k + (α/size)·Σ_{c′ ∈ window(c)} x[c′]²:
        //   ∂y[c]/∂x[j] = δ_cj·s[c]^−β − β·x[c]·s[c]^(−β−1)·(2α/size)·x[j]   for j ∈ window(c),
        // and x[c]·s[c]^(−β−1) = y[c]/s[c]. Channel j lies in window(c) for c ∈ [j − After, j + Before]:
        // each dx element gathers over those channels.
        var g = new ChannelWindow(input.Shape, size);
        Span<float> x = Data(input), y = Data(output), s = Data(scale), dy = Data(outputGrad), dx = Data(inputGrad);
        float factor = 2f * alpha * beta / size;
        for (int n = 0; n < g.Batch; n++)
            for (int j = 0; j < g.Channels; j++)
            {
                int first = Math.Max(j - g.After, 0), last = Math.Min(j + g.Before, g.Channels - 1);
                for (int p = 0; p < g.Inner; p++)
                {
                    float sum = 0f;
                    for (int c = first; c <= last; c++)
                    {
                        int at = g.Index(n, c, p);
                        sum += dy[at] * y[at] / s[at];
                    }
                    int i = g.Index(n, j, p);
                    dx[i] += dy[i] * MathF.Pow(s[i], -beta) - factor * x[i] * sum;
                }
            }
    }

    /// <summary>The layout of a channel-window op: (N, C, Inner) with Inner = H·W (1 for (N,C)), and the window
    /// reaching <see cref="Before"/> channels back and <see cref="After"/> forward.</summary>
    readonly struct ChannelWindow(TensorShape shape, int size)
    {
        public readonly int Batch = shape.N, Channels = shape[1], Inner = shape.Length / (shape.N * shape[1]);
        public readonly int Before = size / 2, After = (size - 1) / 2;
        public int Index(int n, int c, int p) => (n * Channels + c) * Inner + p;
    }
}

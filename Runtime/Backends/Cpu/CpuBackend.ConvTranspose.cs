using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

// Transposed convolution: the convolution's input gradient (GEMM + col2im, or the direct convolution at stride 1) run as a
// forward pass. Its backward pass is made of convolution ops by the layer (Layers/ConvTranspose2d).
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void ConvTranspose2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window, int groups = 1)
    {
        if (Skips) return; // a work slice's unit: the whole op
        // y is the input gradient of the convolution from O to C channels that maps y's (OH,OW) to x's (H,W), whose weight
        // (C, O/G, KH, KW) is ours: y = 0, y += convᵀ(x), then the bias
        float[] y = ArrayOf(output);
        y.AsSpan(0, output.Length).Clear();
        ConvolutionBackward(output, weight, input, output, null, null, window, groups, sliced: false);
        if (bias is null) return;
        float[] b = ArrayOf(bias);
        int batch = output.Shape.N, channels = bias.Length, plane = output.Length / (batch * channels);
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < channels; o++)
            {
                var row = y.AsSpan((n * channels + o) * plane, plane);
                TensorPrimitives.Add(row, b[o], row);
            }
    }

    /// <inheritdoc/>
    public void AddChannelSums(Tensor input, Tensor sums)
    {
        if (Skips) return;
        float[] x = ArrayOf(input), s = ArrayOf(sums);
        int batch = input.Shape.N, channels = sums.Length, plane = input.Length / (batch * channels);
        for (int c = 0; c < channels; c++) s[c] += ChannelSum(x, batch, channels, plane, c);
    }

    /// <summary>Σ_{n,j} x[(n·C + c)·P + j] in float, plane by plane: a bias gradient (the convolution's and AddChannelSums).</summary>
    static float ChannelSum(float[] x, int batch, int channels, int plane, int c)
    {
        float sum = 0f;
        for (int n = 0; n < batch; n++) sum += TensorPrimitives.Sum(x.AsSpan((n * channels + c) * plane, plane));
        return sum;
    }
}

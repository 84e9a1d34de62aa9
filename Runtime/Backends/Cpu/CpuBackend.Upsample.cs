using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

// Bilinear resizing (PyTorch's upsample_bilinear2d, align_corners=False): forward gathers four neighbours per output
// element, backward scatters each dy to the same four with the same weights.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void UpsampleBilinear2dForward(Tensor input, Tensor output, float ratioHeight, float ratioWidth)
    {
        if (Skips) return;
        // input (N,C,H,W), output (N,C,OH,OW)
        Span<float> x = Data(input), y = Data(output);
        int H = input.Shape.H, W = input.Shape.W, OH = output.Shape.H, OW = output.Shape.W;
        for (int plane = 0; plane < input.Shape.N * input.Shape.C; plane++)
        {
            var source = x.Slice(plane * H * W, H * W);
            for (int i = 0; i < OH; i++)
            {
                var (h0, h1, lh) = BilinearSource(i, ratioHeight, H);
                for (int j = 0; j < OW; j++)
                {
                    var (w0, w1, lw) = BilinearSource(j, ratioWidth, W);
                    float top = (1f - lw) * source[h0 * W + w0] + lw * source[h0 * W + w1];
                    float bottom = (1f - lw) * source[h1 * W + w0] + lw * source[h1 * W + w1];
                    y[(plane * OH + i) * OW + j] = (1f - lh) * top + lh * bottom;
                }
            }
        }
    }

    /// <inheritdoc/>
    public void UpsampleBilinear2dBackward(Tensor outputGrad, Tensor inputGrad, float ratioHeight, float ratioWidth)
    {
        if (Skips) return;
        // in the forward pass this was y[i,j] = Σ (row weight)·(column weight)·x[h,w] over the four neighbours
        Span<float> dy = Data(outputGrad), dx = Data(inputGrad);
        int H = inputGrad.Shape.H, W = inputGrad.Shape.W, OH = outputGrad.Shape.H, OW = outputGrad.Shape.W;
        for (int plane = 0; plane < inputGrad.Shape.N * inputGrad.Shape.C; plane++)
        {
            var target = dx.Slice(plane * H * W, H * W);
            for (int i = 0; i < OH; i++)
            {
                var (h0, h1, lh) = BilinearSource(i, ratioHeight, H);
                for (int j = 0; j < OW; j++)
                {
                    var (w0, w1, lw) = BilinearSource(j, ratioWidth, W);
                    float g = dy[(plane * OH + i) * OW + j];
                    target[h0 * W + w0] += (1f - lh) * (1f - lw) * g;
                    target[h0 * W + w1] += (1f - lh) * lw * g;
                    target[h1 * W + w0] += lh * (1f - lw) * g;
                    target[h1 * W + w1] += lh * lw * g;
                }
            }
        }
    }

    /// <summary>PyTorch's source of output <paramref name="index"/> along one axis (align_corners=False):
    /// <c>s = max(0, ratio·(index + ½) − ½)</c>, neighbours <c>⌊s⌋</c> and <c>min(⌊s⌋ + 1, size − 1)</c>, weight λ = s − ⌊s⌋
    /// on the second (1 − λ on the first).</summary>
    static (int First, int Second, float Lambda) BilinearSource(int index, float ratio, int size)
    {
        // as PyTorch's CPU kernel: s in double from the float ratio (the product is exact), λ rounded once to float;
        // rounding s to float first would move λ by up to an ulp of s (2e-6 at s ≈ 20), or turn 2.99999988 into 3
        double s = Math.Max(ratio * (index + 0.5) - 0.5, 0.0);
        int first = Math.Min((int)s, size - 1);
        return (first, first < size - 1 ? first + 1 : first, (float)Math.Clamp(s - first, 0.0, 1.0));
    }
}

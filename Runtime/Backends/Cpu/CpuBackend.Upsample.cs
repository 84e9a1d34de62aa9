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
        BilinearNeighbours<GatherNeighbours>(Data(input), input.Shape, Data(output), output.Shape, ratioHeight, ratioWidth);
    }

    /// <inheritdoc/>
    public void UpsampleBilinear2dBackward(Tensor outputGrad, Tensor inputGrad, float ratioHeight, float ratioWidth)
    {
        if (Skips) return;
        // in the forward pass this was y[i,j] = Σ (row weight)·(column weight)·x[h,w] over the four neighbours
        BilinearNeighbours<ScatterToNeighbours>(Data(inputGrad), inputGrad.Shape, Data(outputGrad), outputGrad.Shape, ratioHeight, ratioWidth);
    }

    /// <summary>What one pass does between an output element and its four neighbours in the input plane.</summary>
    interface INeighbourPass
    {
        /// <summary><paramref name="plane"/> is the input plane (width <paramref name="width"/>), the neighbours rows h0, h1
        /// (weights 1 − lh, lh) × columns w0, w1 (1 − lw, lw), <paramref name="value"/> the output element (y forward, dy backward).</summary>
        static abstract void Apply(Span<float> plane, int width, int h0, int h1, float lh, int w0, int w1, float lw, ref float value);
    }

    /// <summary>Forward: <c>y = (1 − lh)·top + lh·bottom</c>, each row <c>(1 − lw)·x[·, w0] + lw·x[·, w1]</c>.</summary>
    readonly struct GatherNeighbours : INeighbourPass
    {
        public static void Apply(Span<float> plane, int width, int h0, int h1, float lh, int w0, int w1, float lw, ref float value)
        {
            float top = (1f - lw) * plane[h0 * width + w0] + lw * plane[h0 * width + w1];
            float bottom = (1f - lw) * plane[h1 * width + w0] + lw * plane[h1 * width + w1];
            value = (1f - lh) * top + lh * bottom;
        }
    }

    /// <summary>Backward: each neighbour <c>+= (row weight)·(column weight)·dy</c>.</summary>
    readonly struct ScatterToNeighbours : INeighbourPass
    {
        public static void Apply(Span<float> plane, int width, int h0, int h1, float lh, int w0, int w1, float lw, ref float value)
        {
            float g = value;
            plane[h0 * width + w0] += (1f - lh) * (1f - lw) * g;
            plane[h0 * width + w1] += (1f - lh) * lw * g;
            plane[h1 * width + w0] += lh * (1f - lw) * g;
            plane[h1 * width + w1] += lh * lw * g;
        }
    }

    /// <summary>Every output element (plane, i, j) of a bilinear resize from <paramref name="inShape"/> to
    /// <paramref name="outShape"/>, with its neighbours (<see cref="BilinearSource"/>), handed to <typeparamref name="TPass"/>.</summary>
    static void BilinearNeighbours<TPass>(Span<float> input, TensorShape inShape, Span<float> output, TensorShape outShape, float ratioHeight, float ratioWidth)
        where TPass : struct, INeighbourPass
    {
        int H = inShape.H, W = inShape.W, OH = outShape.H, OW = outShape.W;
        for (int plane = 0; plane < inShape.N * inShape.C; plane++)
        {
            Span<float> source = input.Slice(plane * H * W, H * W);
            for (int i = 0; i < OH; i++)
            {
                var (h0, h1, lh) = BilinearSource(i, ratioHeight, H);
                for (int j = 0; j < OW; j++)
                {
                    var (w0, w1, lw) = BilinearSource(j, ratioWidth, W);
                    TPass.Apply(source, W, h0, h1, lh, w0, w1, lw, ref output[(plane * OH + i) * OW + j]);
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

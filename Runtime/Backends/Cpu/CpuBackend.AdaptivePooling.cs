namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void AdaptiveAvgPool2dForward(Tensor input, Tensor output)
    {
        if (Skips) return;
        // input (N,C,H,W), output (N,C,OH,OW); window (i,j) = rows [⌊iH/OH⌋, ⌈(i+1)H/OH⌉) × columns likewise: y = its mean
        AdaptiveWindows<AverageOfWindow>(Data(input), input.Shape, Data(output), output.Shape);
    }

    /// <inheritdoc/>
    public void AdaptiveAvgPool2dBackward(Tensor outputGrad, Tensor inputGrad)
    {
        if (Skips) return;
        // in the forward pass this was y[i,j] = mean of window (i,j): each element of it gets dy[i,j] / |window|
        AdaptiveWindows<SpreadOverWindow>(Data(inputGrad), inputGrad.Shape, Data(outputGrad), outputGrad.Shape);
    }

    /// <summary>What one pass does between an output element and its window of the input plane.</summary>
    interface IWindowPass
    {
        /// <summary><paramref name="plane"/> is the input plane (width <paramref name="width"/>), the window rows [h0, h1) ×
        /// columns [w0, w1), <paramref name="value"/> the output element (y forward, dy backward).</summary>
        static abstract void Apply(Span<float> plane, int width, int h0, int h1, int w0, int w1, ref float value);
    }

    /// <summary>Forward: <c>y = Σ window / |window|</c>, rows then columns.</summary>
    readonly struct AverageOfWindow : IWindowPass
    {
        public static void Apply(Span<float> plane, int width, int h0, int h1, int w0, int w1, ref float value)
        {
            float sum = 0f;
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++)
                    sum += plane[h * width + w];
            value = sum / ((h1 - h0) * (w1 - w0));
        }
    }

    /// <summary>Backward: every element of the window <c>+= dy / |window|</c>.</summary>
    readonly struct SpreadOverWindow : IWindowPass
    {
        public static void Apply(Span<float> plane, int width, int h0, int h1, int w0, int w1, ref float value)
        {
            float share = value / ((h1 - h0) * (w1 - w0));
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++)
                    plane[h * width + w] += share;
        }
    }

    /// <summary>Every output element (plane, i, j) of an adaptive pooling from <paramref name="inShape"/> to
    /// <paramref name="outShape"/>, with its window (<see cref="AdaptiveWindow"/>), handed to <typeparamref name="TPass"/>.</summary>
    static void AdaptiveWindows<TPass>(Span<float> input, TensorShape inShape, Span<float> output, TensorShape outShape) where TPass : struct, IWindowPass
    {
        int H = inShape.H, W = inShape.W, OH = outShape.H, OW = outShape.W;
        for (int plane = 0; plane < inShape.N * inShape.C; plane++)
        {
            Span<float> source = input.Slice(plane * H * W, H * W);
            for (int i = 0; i < OH; i++)
            {
                var (h0, h1) = AdaptiveWindow(i, H, OH);
                for (int j = 0; j < OW; j++)
                {
                    var (w0, w1) = AdaptiveWindow(j, W, OW);
                    TPass.Apply(source, W, h0, h1, w0, w1, ref output[(plane * OH + i) * OW + j]);
                }
            }
        }
    }

    /// <summary>PyTorch's adaptive window along one axis: output <paramref name="index"/> of <paramref name="outputSize"/>
    /// covers input positions [⌊index·in/out⌋, ⌈(index+1)·in/out⌉).</summary>
    static (int Start, int End) AdaptiveWindow(int index, int inputSize, int outputSize) =>
        ((int)((long)index * inputSize / outputSize), (int)(((long)(index + 1) * inputSize + outputSize - 1) / outputSize));
}

using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void AdaptiveAvgPool2dForward(Tensor input, Tensor output)
    {
        if (Skips) return;
        // input (N,C,H,W), output (N,C,OH,OW); window (i,j) = rows [⌊iH/OH⌋, ⌈(i+1)H/OH⌉) × columns likewise
        Span<float> x = Data(input), y = Data(output);
        var (inShape, outShape) = (input.Shape, output.Shape);
        int H = inShape.H, W = inShape.W, OH = outShape.H, OW = outShape.W;
        for (int plane = 0; plane < inShape.N * inShape.C; plane++)
            for (int i = 0; i < OH; i++)
            {
                var (h0, h1) = AdaptiveWindow(i, H, OH);
                for (int j = 0; j < OW; j++)
                {
                    var (w0, w1) = AdaptiveWindow(j, W, OW);
                    float sum = 0f;
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            sum += x[(plane * H + h) * W + w];
                    y[(plane * OH + i) * OW + j] = sum / ((h1 - h0) * (w1 - w0));
                }
            }
    }

    /// <inheritdoc/>
    public void AdaptiveAvgPool2dBackward(Tensor outputGrad, Tensor inputGrad)
    {
        if (Skips) return;
        // in the forward pass this was y[i,j] = mean of window (i,j): each element of it gets dy[i,j] / |window|
        Span<float> dy = Data(outputGrad), dx = Data(inputGrad);
        var (inShape, outShape) = (inputGrad.Shape, outputGrad.Shape);
        int H = inShape.H, W = inShape.W, OH = outShape.H, OW = outShape.W;
        for (int plane = 0; plane < inShape.N * inShape.C; plane++)
            for (int i = 0; i < OH; i++)
            {
                var (h0, h1) = AdaptiveWindow(i, H, OH);
                for (int j = 0; j < OW; j++)
                {
                    var (w0, w1) = AdaptiveWindow(j, W, OW);
                    float share = dy[(plane * OH + i) * OW + j] / ((h1 - h0) * (w1 - w0));
                    for (int h = h0; h < h1; h++)
                        for (int w = w0; w < w1; w++)
                            dx[(plane * H + h) * W + w] += share;
                }
            }
    }

    /// <summary>PyTorch's adaptive window along one axis: output <paramref name="index"/> of <paramref name="outputSize"/>
    /// covers input positions [⌊index·in/out⌋, ⌈(index+1)·in/out⌉).</summary>
    static (int Start, int End) AdaptiveWindow(int index, int inputSize, int outputSize) =>
        ((int)((long)index * inputSize / outputSize), (int)(((long)(index + 1) * inputSize + outputSize - 1) / outputSize));
}

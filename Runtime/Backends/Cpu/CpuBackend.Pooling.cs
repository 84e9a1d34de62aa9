using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void MaxPool2dForward(Tensor input, Tensor output, Tensor argmax, Window2d window)
    {
        if (Skips) return;
        // input (N,C,H,W); output and argmax (N,C,OH,OW)
        var g = new PoolGeometry(input.Shape, output.Shape);
        Span<float> x = Data(input), y = Data(output), index = Data(argmax);
        for (int plane = 0; plane < g.Planes; plane++)
        {
            ReadOnlySpan<float> xPlane = x.Slice(plane * g.InputPixels, g.InputPixels);
            for (int i = 0; i < g.OutputHeight; i++)
                for (int j = 0; j < g.OutputWidth; j++)
                {
                    float best = float.NegativeInfinity;
                    int bestIndex = -1;
                    for (int p = 0; p < window.KernelHeight; p++)
                    {
                        int ih = i * window.StrideHeight - window.PadTop + p * window.DilationHeight;
                        if ((uint)ih >= (uint)g.InputHeight) continue;
                        for (int q = 0; q < window.KernelWidth; q++)
                        {
                            int iw = j * window.StrideWidth - window.PadLeft + q * window.DilationWidth;
                            if ((uint)iw >= (uint)g.InputWidth) continue;
                            float v = xPlane[ih * g.InputWidth + iw];
                            if (v > best || bestIndex < 0) { best = v; bestIndex = ih * g.InputWidth + iw; }
                        }
                    }
                    int o = plane * g.OutputPixels + i * g.OutputWidth + j;
                    y[o] = best;
                    index[o] = bestIndex;
                }
        }
    }

    /// <inheritdoc/>
    public void MaxPool2dBackward(Tensor argmax, Tensor outputGrad, Tensor inputGrad, Window2d window)
    {
        if (Skips) return;
        // in the forward pass this was y = x[argmax]: the gradient flows only to the chosen element
        var g = new PoolGeometry(inputGrad.Shape, outputGrad.Shape);
        Span<float> index = Data(argmax), dy = Data(outputGrad), dx = Data(inputGrad);
        for (int plane = 0; plane < g.Planes; plane++)
            for (int o = 0; o < g.OutputPixels; o++)
            {
                int k = plane * g.OutputPixels + o;
                int position = (int)index[k];
                if (position >= 0) dx[plane * g.InputPixels + position] += dy[k]; // −1: the window held no input element
            }
    }

    /// <inheritdoc/>
    public void AvgPool2dForward(Tensor input, Tensor output, Window2d window, bool countIncludePad)
    {
        if (Skips) return;
        var g = new PoolGeometry(input.Shape, output.Shape);
        Span<float> x = Data(input), y = Data(output);
        for (int plane = 0; plane < g.Planes; plane++)
            for (int i = 0; i < g.OutputHeight; i++)
                for (int j = 0; j < g.OutputWidth; j++)
                {
                    float sum = 0f;
                    foreach (int position in new WindowPositions(g, window, i, j))
                        sum += x[plane * g.InputPixels + position];
                    y[plane * g.OutputPixels + i * g.OutputWidth + j] = sum / AverageDivisor(g, window, i, j, countIncludePad);
                }
    }

    /// <inheritdoc/>
    public void AvgPool2dBackward(Tensor outputGrad, Tensor inputGrad, Window2d window, bool countIncludePad)
    {
        if (Skips) return;
        // in the forward pass this was y = Σ window / count: each element of the window receives dy / count
        var g = new PoolGeometry(inputGrad.Shape, outputGrad.Shape);
        Span<float> dy = Data(outputGrad), dx = Data(inputGrad);
        for (int plane = 0; plane < g.Planes; plane++)
            for (int i = 0; i < g.OutputHeight; i++)
                for (int j = 0; j < g.OutputWidth; j++)
                {
                    float share = dy[plane * g.OutputPixels + i * g.OutputWidth + j] / AverageDivisor(g, window, i, j, countIncludePad);
                    foreach (int position in new WindowPositions(g, window, i, j))
                        dx[plane * g.InputPixels + position] += share;
                }
    }

    /// <summary>
    /// The divisor of average pooling at output (i,j): with <paramref name="countIncludePad"/>, the window's
    /// cells inside the padded input (PyTorch clips the window to input + padding); otherwise the in-bounds cells only.
    /// </summary>
    static float AverageDivisor(in PoolGeometry g, in Window2d w, int i, int j, bool countIncludePad)
    {
        int rows = 0, cols = 0;
        for (int p = 0; p < w.KernelHeight; p++)
        {
            int ih = i * w.StrideHeight - w.PadTop + p * w.DilationHeight;
            if (countIncludePad ? ih < g.InputHeight + w.PadBottom : (uint)ih < (uint)g.InputHeight) rows++;
        }
        for (int q = 0; q < w.KernelWidth; q++)
        {
            int iw = j * w.StrideWidth - w.PadLeft + q * w.DilationWidth;
            if (countIncludePad ? iw < g.InputWidth + w.PadRight : (uint)iw < (uint)g.InputWidth) cols++;
        }
        return rows * cols;
    }

    /// <summary>Sizes of one pooling, read from the input and output shapes; a plane is one (n,c) pair.</summary>
    readonly struct PoolGeometry(TensorShape input, TensorShape output)
    {
        public readonly int Planes = input.N * input.C, InputHeight = input.H, InputWidth = input.W;
        public readonly int OutputHeight = output.H, OutputWidth = output.W;
        public int InputPixels => InputHeight * InputWidth;
        public int OutputPixels => OutputHeight * OutputWidth;
    }

    /// <summary>Enumerates, without allocating, the in-bounds flat positions <c>h·W + w</c> of the window at output (i,j).</summary>
    ref struct WindowPositions(in PoolGeometry g, in Window2d w, int i, int j)
    {
        readonly int height = g.InputHeight, width = g.InputWidth;
        readonly Window2d win = w;
        readonly int i = i, j = j;
        int p, q = -1;

        public readonly WindowPositions GetEnumerator() => this;
        public int Current { get; private set; }

        public bool MoveNext()
        {
            while (true)
            {
                if (++q >= win.KernelWidth) { q = 0; p++; }
                if (p >= win.KernelHeight) return false;
                int ih = i * win.StrideHeight - win.PadTop + p * win.DilationHeight;
                int iw = j * win.StrideWidth - win.PadLeft + q * win.DilationWidth;
                if ((uint)ih < (uint)height && (uint)iw < (uint)width)
                {
                    Current = ih * width + iw;
                    return true;
                }
            }
        }
    }
}

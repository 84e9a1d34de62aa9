using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    // im2col workspace for one sample: (C·KH·KW, OH·OW). Grows once to the largest layer, then is reused.
    float[] columns = [];
    float[] columnGrads = [];

    /// <inheritdoc/>
    public void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window)
    {
        // input (N,C,H,W), weight (O,C,KH,KW), output (N,O,OH,OW); per sample: y = W·im2col(x) + b
        var g = new ConvGeometry(input.Shape, weight.Shape, output.Shape);
        Span<float> x = Data(input), w = Data(weight), b = DataOrEmpty(bias), y = Data(output);
        Span<float> col = Workspace(ref columns, g.ColumnLength);
        for (int s = 0; s < g.Batch; s++)
        {
            Im2Col(x.Slice(s * g.InputPlaneSize, g.InputPlaneSize), col, g, window);
            Span<float> ySample = y.Slice(s * g.OutputPlaneSize, g.OutputPlaneSize);
            for (int o = 0; o < g.OutChannels; o++)
            {
                Span<float> yRow = ySample.Slice(o * g.OutputPixels, g.OutputPixels);
                yRow.Fill(b.IsEmpty ? 0f : b[o]);
                Span<float> wRow = w.Slice(o * g.KernelLength, g.KernelLength);
                for (int k = 0; k < g.KernelLength; k++)
                    if (wRow[k] != 0f)
                        TensorPrimitives.MultiplyAdd(col.Slice(k * g.OutputPixels, g.OutputPixels), wRow[k], yRow, yRow);
            }
        }
    }

    /// <inheritdoc/>
    public void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad, Window2d window)
    {
        // in the forward pass this was y = W·col + b with col = im2col(x); so
        // dW += dy·colᵀ, db += Σ_pixels dy, dcol = Wᵀ·dy and dx += col2im(dcol)
        var g = new ConvGeometry(input.Shape, weight.Shape, outputGrad.Shape);
        Span<float> x = Data(input), w = Data(weight), dy = Data(outputGrad);
        Span<float> dx = DataOrEmpty(inputGrad), dw = Data(weightGrad), db = DataOrEmpty(biasGrad);
        Span<float> col = Workspace(ref columns, g.ColumnLength);
        Span<float> dcol = dx.IsEmpty ? default : Workspace(ref columnGrads, g.ColumnLength);
        for (int s = 0; s < g.Batch; s++)
        {
            Im2Col(x.Slice(s * g.InputPlaneSize, g.InputPlaneSize), col, g, window);
            Span<float> dySample = dy.Slice(s * g.OutputPlaneSize, g.OutputPlaneSize);
            if (!dx.IsEmpty) dcol.Clear();
            for (int o = 0; o < g.OutChannels; o++)
            {
                Span<float> dyRow = dySample.Slice(o * g.OutputPixels, g.OutputPixels);
                if (!db.IsEmpty) db[o] += TensorPrimitives.Sum(dyRow);
                Span<float> dwRow = dw.Slice(o * g.KernelLength, g.KernelLength);
                Span<float> wRow = w.Slice(o * g.KernelLength, g.KernelLength);
                for (int k = 0; k < g.KernelLength; k++)
                {
                    dwRow[k] += TensorPrimitives.Dot(dyRow, col.Slice(k * g.OutputPixels, g.OutputPixels));
                    if (!dx.IsEmpty && wRow[k] != 0f)
                    {
                        Span<float> dcolRow = dcol.Slice(k * g.OutputPixels, g.OutputPixels);
                        TensorPrimitives.MultiplyAdd(dyRow, wRow[k], dcolRow, dcolRow);
                    }
                }
            }
            if (!dx.IsEmpty) Col2ImAdd(dcol, dx.Slice(s * g.InputPlaneSize, g.InputPlaneSize), g, window);
        }
    }

    /// <summary>
    /// im2col for one sample: <c>col[(c·KH + p)·KW + q, i·OW + j] = x[c, i·sh − padTop + p·dh, j·sw − padLeft + q·dw]</c>,
    /// zero where that position falls in the padding. x is (C,H,W), col is (C·KH·KW, OH·OW).
    /// </summary>
    static void Im2Col(ReadOnlySpan<float> x, Span<float> col, in ConvGeometry g, in Window2d win)
    {
        for (int c = 0; c < g.InChannels; c++)
            for (int p = 0; p < g.KernelHeight; p++)
                for (int q = 0; q < g.KernelWidth; q++)
                {
                    Span<float> row = col.Slice(((c * g.KernelHeight + p) * g.KernelWidth + q) * g.OutputPixels, g.OutputPixels);
                    for (int i = 0; i < g.OutputHeight; i++)
                    {
                        int ih = i * win.StrideHeight - win.PadTop + p * win.DilationHeight;
                        Span<float> segment = row.Slice(i * g.OutputWidth, g.OutputWidth);
                        if ((uint)ih >= (uint)g.InputHeight) { segment.Clear(); continue; }
                        ReadOnlySpan<float> inputRow = x.Slice((c * g.InputHeight + ih) * g.InputWidth, g.InputWidth);
                        for (int j = 0; j < g.OutputWidth; j++)
                        {
                            int iw = j * win.StrideWidth - win.PadLeft + q * win.DilationWidth;
                            segment[j] = (uint)iw < (uint)g.InputWidth ? inputRow[iw] : 0f;
                        }
                    }
                }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: adds every column entry back into the input position it came from.</summary>
    static void Col2ImAdd(ReadOnlySpan<float> col, Span<float> dx, in ConvGeometry g, in Window2d win)
    {
        for (int c = 0; c < g.InChannels; c++)
            for (int p = 0; p < g.KernelHeight; p++)
                for (int q = 0; q < g.KernelWidth; q++)
                {
                    ReadOnlySpan<float> row = col.Slice(((c * g.KernelHeight + p) * g.KernelWidth + q) * g.OutputPixels, g.OutputPixels);
                    for (int i = 0; i < g.OutputHeight; i++)
                    {
                        int ih = i * win.StrideHeight - win.PadTop + p * win.DilationHeight;
                        if ((uint)ih >= (uint)g.InputHeight) continue;
                        Span<float> inputRow = dx.Slice((c * g.InputHeight + ih) * g.InputWidth, g.InputWidth);
                        for (int j = 0; j < g.OutputWidth; j++)
                        {
                            int iw = j * win.StrideWidth - win.PadLeft + q * win.DilationWidth;
                            if ((uint)iw < (uint)g.InputWidth) inputRow[iw] += row[i * g.OutputWidth + j];
                        }
                    }
                }
    }

    static Span<float> Workspace(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
        return buffer.AsSpan(0, length);
    }

    /// <summary>Sizes of one convolution, read from the tensors' shapes.</summary>
    readonly struct ConvGeometry(TensorShape input, TensorShape weight, TensorShape output)
    {
        public readonly int Batch = input.N, InChannels = input.C, InputHeight = input.H, InputWidth = input.W;
        public readonly int OutChannels = weight.N, KernelHeight = weight.H, KernelWidth = weight.W;
        public readonly int OutputHeight = output.H, OutputWidth = output.W;
        public int OutputPixels => OutputHeight * OutputWidth;
        public int KernelLength => InChannels * KernelHeight * KernelWidth;
        public int InputPlaneSize => InChannels * InputHeight * InputWidth;
        public int OutputPlaneSize => OutChannels * OutputPixels;
        public int ColumnLength => KernelLength * OutputPixels;
    }
}

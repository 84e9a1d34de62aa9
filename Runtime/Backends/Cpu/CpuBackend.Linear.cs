using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void LinearForward(Tensor input, Tensor weight, Tensor? bias, Tensor output)
    {
        // input is (N,I), weight (O,I), bias (O), output (N,O)
        int n = input.Shape.N, inFeatures = weight.Shape[1], outFeatures = weight.Shape[0];
        Span<float> x = Data(input), w = Data(weight), b = DataOrEmpty(bias), y = Data(output);
        for (int s = 0; s < n; s++)
        {
            ReadOnlySpan<float> xRow = x.Slice(s * inFeatures, inFeatures);
            for (int o = 0; o < outFeatures; o++)
                y[s * outFeatures + o] = TensorPrimitives.Dot(xRow, w.Slice(o * inFeatures, inFeatures)) + (b.IsEmpty ? 0f : b[o]);
        }
    }

    /// <inheritdoc/>
    public void LinearBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad)
    {
        // in the forward pass this was y[n,o] = Σ_i x[n,i]·W[o,i] + b[o]
        int n = input.Shape.N, inFeatures = weight.Shape[1], outFeatures = weight.Shape[0];
        Span<float> x = Data(input), w = Data(weight), dy = Data(outputGrad);
        Span<float> dx = DataOrEmpty(inputGrad), dw = Data(weightGrad), db = DataOrEmpty(biasGrad);
        for (int s = 0; s < n; s++)
        {
            Span<float> xRow = x.Slice(s * inFeatures, inFeatures);
            Span<float> dxRow = dx.IsEmpty ? default : dx.Slice(s * inFeatures, inFeatures);
            for (int o = 0; o < outFeatures; o++)
            {
                float g = dy[s * outFeatures + o];
                if (g == 0f) continue; // ReLU makes many output gradients exactly zero
                Span<float> dwRow = dw.Slice(o * inFeatures, inFeatures);
                TensorPrimitives.MultiplyAdd(xRow, g, dwRow, dwRow);           // dW[o,:] += dy[n,o]·x[n,:]
                if (!dx.IsEmpty)
                    TensorPrimitives.MultiplyAdd(w.Slice(o * inFeatures, inFeatures), g, dxRow, dxRow); // dx[n,:] += dy[n,o]·W[o,:]
                if (!db.IsEmpty) db[o] += g;                                   // db[o] += dy[n,o]
            }
        }
    }
}

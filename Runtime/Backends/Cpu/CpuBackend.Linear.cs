using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void LinearForward(Tensor input, Tensor weight, Tensor? bias, Tensor output)
    {
        if (Skips) return;
        // input is (N,I), weight (O,I), bias (O), output (N,O): y = x·Wᵀ + b, one GEMM on rows of y preset to b
        int n = input.Shape.N, inFeatures = weight.Shape[1], outFeatures = weight.Shape[0];
        Span<float> b = DataOrEmpty(bias), y = Data(output);
        if (!b.IsEmpty)
            for (int s = 0; s < n; s++) b.CopyTo(y.Slice(s * outFeatures, outFeatures));
        gemm.Multiply(n, outFeatures, inFeatures, new GemmOperand(ArrayOf(input), 0, inFeatures),
            new GemmOperand(ArrayOf(weight), 0, inFeatures, transposed: true), ArrayOf(output), 0, outFeatures, accumulate: !b.IsEmpty);
    }

    /// <inheritdoc/>
    public void LinearFusedForward(Tensor input, Tensor weight, Tensor? bias, ActivationKind activation, float alpha, Tensor output)
    {
        // the activation runs in place over the GEMM's output, most of it still in cache: the two ops' bits
        LinearForward(input, weight, bias, output);
        ActivationForward(activation, output, output, alpha);
    }

    /// <inheritdoc/>
    public void LinearBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad)
    {
        if (Skips) return;
        // in the forward pass this was y[n,o] = Σ_i x[n,i]·W[o,i] + b[o]
        int n = input.Shape.N, inFeatures = weight.Shape[1], outFeatures = weight.Shape[0];
        float[] dy = ArrayOf(outputGrad);
        Span<float> db = DataOrEmpty(biasGrad);
        // dx (N,I) += dy (N,O) · W (O,I)
        if (inputGrad is not null)
            gemm.Multiply(n, inFeatures, outFeatures, new GemmOperand(dy, 0, outFeatures),
                new GemmOperand(ArrayOf(weight), 0, inFeatures), ArrayOf(inputGrad), 0, inFeatures, accumulate: true);
        // dW (O,I) += dyᵀ (O,N) · x (N,I)
        gemm.Multiply(outFeatures, inFeatures, n, new GemmOperand(dy, 0, outFeatures, transposed: true),
            new GemmOperand(ArrayOf(input), 0, inFeatures), ArrayOf(weightGrad), 0, inFeatures, accumulate: true);
        // db[o] += Σ_n dy[n,o]
        if (!db.IsEmpty)
            for (int s = 0; s < n; s++) TensorPrimitives.Add(db, dy.AsSpan(s * outFeatures, outFeatures), db);
    }
}

namespace NeuroPlugin.Backends.OpenGL;

// Fully connected layer (linear.comp): the forward pass and both backward products are one strided GEMM.
public sealed partial class GLBackend
{
    ComputeProgram? gemmProgram;

    /// <summary><c>y[n,o] = Σ_i x[n,i]·W[o,i] + b[o]</c>: input (N,I), weight (O,I), bias (O) or null, output (N,O).</summary>
    public void LinearForward(Tensor input, Tensor weight, Tensor? bias, Tensor output)
    {
        EnsureUsable();
        int batch = input.Shape.N, inFeatures = input.Length / batch, outFeatures = weight.Shape.N;
        // C (N,O) = A (N,I) · B (I,O) with A = x (row stride I) and B[i,o] = W[o,i] (row stride 1, column stride I).
        Gemm(input, inFeatures, 1, weight, 1, inFeatures, bias, output, batch, outFeatures, inFeatures, accumulate: false);
    }

    /// <summary><c>y = act(x·Wᵀ + b)</c> in one dispatch: linear.comp with activation.glsl's formula applied to each
    /// finished value, the bits of <see cref="LinearForward"/> then <see cref="ActivationForward"/>. Shapes as
    /// <see cref="LinearForward"/>.</summary>
    public void LinearFusedForward(Tensor input, Tensor weight, Tensor? bias, ActivationKind activation, float alpha, Tensor output)
    {
        EnsureUsable();
        int batch = input.Shape.N, inFeatures = input.Length / batch, outFeatures = weight.Shape.N;
        var program = OpProgram(gemmActivationPrograms, activation, (int)activation, "linear.comp", "ACTIVATION", nameof(activation), "unknown activation");
        program.SetUniform("alpha", alpha);
        Gemm(input, inFeatures, 1, weight, 1, inFeatures, bias, output, batch, outFeatures, inFeatures, accumulate: false, program);
    }

    readonly ComputeProgram?[] gemmActivationPrograms = new ComputeProgram?[Enum.GetValues<ActivationKind>().Length];

    /// <summary>In the forward pass this was <c>y = x·Wᵀ + b</c>. Adds <c>dx += dy·W</c> (N,I),
    /// <c>dW += dyᵀ·x</c> (O,I), <c>db += Σ_n dy</c> (O).</summary>
    public void LinearBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad)
    {
        EnsureUsable();
        int batch = input.Shape.N, inFeatures = input.Length / batch, outFeatures = weight.Shape.N;
        if (inputGrad is not null) // dx (N,I) += dy (N,O) · W (O,I)
            Gemm(outputGrad, outFeatures, 1, weight, inFeatures, 1, null, inputGrad, batch, inFeatures, outFeatures, accumulate: true);
        // dW (O,I) += dyᵀ (O,N) · x (N,I): A[o,n] = dy[n,o] (row stride 1, column stride O)
        Gemm(outputGrad, 1, outFeatures, input, inFeatures, 1, null, weightGrad, outFeatures, inFeatures, batch, accumulate: true);
        if (biasGrad is not null) // db[o] += Σ_n dy[n,o]: dy is already N slices of O partial sums
            ReduceSlices(RangeOf(outputGrad), batch, outFeatures, RangeOf(biasGrad), accumulate: true);
    }

    /// <summary>
    /// <c>C[m,n] (+)= Σ_k A[m,k]·B[k,n] (+ bias[n])</c> for C (M,N) row-major, where
    /// <c>A[m,k] = a[m·aRowStride + k·aColumnStride]</c> and <c>B[k,n] = b[k·bRowStride + n·bColumnStride]</c>.
    /// </summary>
    /// <paramref name="program"/>: linear.comp's plain variant unless given (a fused forward's).
    void Gemm(Tensor a, int aRowStride, int aColumnStride, Tensor b, int bRowStride, int bColumnStride,
        Tensor? bias, Tensor c, int m, int n, int k, bool accumulate, ComputeProgram? program = null)
    {
        const int Tile = 4; // linear.comp's TILE: each invocation computes a 4×4 block of C
        program ??= Program(ref gemmProgram, "linear.comp", "");
        Bind(Input0, a);
        Bind(Input1, b);
        BindOptional(Input2, bias);
        Bind(Output0, c);
        program.SetUniform("size", m, n, k, 0);
        program.SetUniform("strides", aRowStride, aColumnStride, bRowStride, bColumnStride);
        program.SetUniform("hasBias", bias is null ? 0 : 1);
        program.SetUniform("accumulate", accumulate ? 1 : 0);
        program.Dispatch(DivideRoundingUp(n, Tile), DivideRoundingUp(m, Tile), (long)k * Tile);
    }
}

namespace NeuroPlugin.Backends.OpenGL;

// Fully connected layer (linear.comp): the forward pass and both backward products are one strided GEMM.
public sealed partial class GLBackend
{
    /// <summary>linear.comp's variants: [<see cref="GemmVariant"/>, activation + 1], column 0 without an activation.</summary>
    readonly ComputeProgram?[,] gemmPrograms = new ComputeProgram?[4, Enum.GetValues<ActivationKind>().Length + 1];

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
        if ((uint)activation >= (uint)gemmPrograms.GetLength(1) - 1)
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation");
        Gemm(input, inFeatures, 1, weight, 1, inFeatures, bias, output, batch, outFeatures, inFeatures, accumulate: false,
            (int)activation + 1, alpha);
    }

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
    /// <paramref name="activation"/>: 0, or the fused forward's <see cref="ActivationKind"/> + 1 with its
    /// <paramref name="alpha"/>, applied to each finished value.
    void Gemm(Tensor a, int aRowStride, int aColumnStride, Tensor b, int bRowStride, int bColumnStride,
        Tensor? bias, Tensor c, int m, int n, int k, bool accumulate, int activation = 0, float alpha = 0)
    {
        const int Tile = 4; // linear.comp's TILE: each invocation computes ROWS×4 values of C
        int variant = GemmVariant(aRowStride, aColumnStride, bRowStride, bColumnStride, m, k);
        var program = gemmPrograms[variant, activation] ??= Shaders.Get("linear.comp", GemmDefines(variant, activation));
        if (activation != 0) program.SetUniform("alpha", alpha);
        Bind(Input0, a);
        Bind(Input1, b);
        BindOptional(Input2, bias);
        Bind(Output0, c);
        program.SetUniform("size", m, n, k, 0);
        program.SetUniform("strides", aRowStride, aColumnStride, bRowStride, bColumnStride);
        program.SetUniform("hasBias", bias is null ? 0 : 1);
        program.SetUniform("accumulate", accumulate ? 1 : 0);
        int rows = (variant & SingleRow) != 0 ? 1 : Tile;
        program.Dispatch(DivideRoundingUp(n, Tile), DivideRoundingUp(m, rows), (long)k * Tile * rows); // multiply-adds an invocation
    }

    const int VectorK = 2, SingleRow = 1; // GemmVariant's bits

    /// <summary>Which of linear.comp's variants serves a product (bits <c>VectorK | SingleRow</c>). VECTOR_K where A's rows
    /// and B's columns are contiguous along k (<c>aColumnStride = bRowStride = 1</c>) and every row and column starts on
    /// a vec4 (K and both other strides multiples of 4; kernels index a tensor's range from its start): the forward pass
    /// for <c>in_features</c> a multiple of 4 (the backward products read one operand across k). ROWS=1 where
    /// M &lt; 4, where a 4-row block would load A's one row four times. Every variant sums in the same order: same bits.</summary>
    static int GemmVariant(int aRowStride, int aColumnStride, int bRowStride, int bColumnStride, int m, int k)
    {
        bool vector = aColumnStride == 1 && bRowStride == 1 && k % 4 == 0 && aRowStride % 4 == 0 && bColumnStride % 4 == 0;
        return (vector ? VectorK : 0) | (m < 4 ? SingleRow : 0);
    }

    /// <summary>The defines of a variant (<see cref="GemmVariant"/>; <paramref name="activation"/>: kind + 1, or 0), built
    /// once per variant, when it is compiled.</summary>
    static string GemmDefines(int variant, int activation)
    {
        var defines = new List<string>();
        if ((variant & VectorK) != 0) defines.Add("VECTOR_K");
        if ((variant & SingleRow) != 0) defines.Add("ROWS=1");
        if (activation != 0) defines.Add("ACTIVATION;" + ((ActivationKind)(activation - 1)).ToString().ToUpperInvariant());
        return string.Join(";", defines);
    }
}

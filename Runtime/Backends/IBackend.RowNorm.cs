namespace NeuroPlugin.Backends;

// Row normalization: the statistics of layer, group and instance normalization, one row of contiguous values at a time.
public partial interface IBackend
{
    /// <summary>
    /// Normalization over rows (PyTorch's <c>LayerNorm</c>, <c>GroupNorm</c>, <c>InstanceNorm</c>): the input is read as
    /// R rows of L contiguous values, R = <c>saveMean.Length</c>, L = <c>input.Length / R</c>. Per row r:
    /// <c>μ_r</c> = mean, <c>σ²_r</c> = biased variance, <c>saveMean[r] ← μ_r</c>, <c>saveInvStd[r] ← 1/√(σ²_r + ε)</c>, and
    /// <c>y[i] = (x[i] − μ_r)·invStd_r·γ[k(i)] + β[k(i)]</c> with the affine index <c>k(i) = ⌊i / affineStride⌋ mod K</c>,
    /// K = the length of γ (or β). LayerNorm over D trailing values: L = D, affineStride 1, γ (D); GroupNorm of (N,C,S)
    /// with G groups: L = C/G·S, affineStride S, γ (C). A null weight reads as 1, a null bias as 0.
    /// </summary>
    void RowNormForward(Tensor input, Tensor? weight, Tensor? bias, Tensor saveMean, Tensor saveInvStd, Tensor output, int affineStride, float epsilon);

    /// <summary>In the forward pass this was <c>y = x̂·γ[k] + β[k]</c>, <c>x̂ = (x − μ_r)·invStd_r</c>. Adds
    /// <c>dβ[k] += Σ dy</c> and <c>dγ[k] += Σ dy·x̂</c> (over the elements with affine index k) and, with
    /// <c>g = dy·γ[k]</c>, <c>dx += invStd_r·(g − Σ_row g / L − x̂·Σ_row (g·x̂) / L)</c>. Any gradient may be null.</summary>
    void RowNormBackward(Tensor input, Tensor? weight, Tensor saveMean, Tensor saveInvStd, Tensor outputGrad,
        Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, int affineStride);
}

/// <summary>How every backend reads a row-normalization input (<see cref="IBackend.RowNormForward"/>): R rows of L values,
/// and the affine index <c>k(i) = ⌊i / AffineStride⌋ mod AffineCount</c> (AffineCount 0: no affine map).</summary>
internal readonly record struct RowNormAxes(int Rows, int RowLength, int AffineStride, int AffineCount)
{
    public static RowNormAxes Of(Tensor input, Tensor saveMean, Tensor? weight, Tensor? bias, int affineStride)
    {
        int rows = saveMean.Length;
        return new(rows, input.Length / rows, Math.Max(affineStride, 1), weight?.Length ?? bias?.Length ?? 0);
    }

    /// <summary>Every value, R·L.</summary>
    public int Length => Rows * RowLength;
}

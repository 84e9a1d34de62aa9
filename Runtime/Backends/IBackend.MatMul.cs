namespace NeuroPlugin.Backends;

// ── batched matrix products with NumPy broadcasting of the batch axes (ONNX MatMul) ──
public partial interface IBackend
{
    /// <summary><c>y = a·b</c> as NumPy's <c>matmul</c>: the last two axes are matrices, a (…, M, K) and b (…, K, P), the
    /// axes before them (shapes padded on the left with 1 to four axes) are batch axes that broadcast (equal, or 1 in one
    /// of them); y is (…, M, P) with the broadcast batch axes. <c>y[…,m,p] = Σ_k a[…,m,k]·b[…,k,p]</c>.</summary>
    void MatMulForward(Tensor a, Tensor b, Tensor output);

    /// <summary>In the forward pass this was <c>y = a·b</c> (batched, broadcast): adds <c>da += dy·bᵀ</c> and
    /// <c>db += aᵀ·dy</c>, each summed over the batches its operand was repeated in; a null gradient is skipped.</summary>
    void MatMulBackward(Tensor a, Tensor b, Tensor outputGrad, Tensor? aGrad, Tensor? bGrad);
}

/// <summary>How a batched matrix product walks its operands: a (A0, A1, M, K) and b (B0, B1, K, P), padded on the left to
/// four axes, and y (Y0, Y1, M, P) with each batch size the larger of the two; an operand's batch stride is 0 on an axis
/// where it is repeated.</summary>
internal readonly struct MatMulGeometry
{
    public readonly int Y0, Y1, M, K, P;
    /// <summary>Element strides of a's and b's two batch axes (0 where the operand has size 1 and is repeated).</summary>
    public readonly int A0, A1, B0, B1;
    /// <summary>Whether each operand is repeated along each batch axis (its size 1 where y's is larger).</summary>
    public readonly bool ARepeated0, ARepeated1, BRepeated0, BRepeated1;

    public MatMulGeometry(TensorShape a, TensorShape b)
    {
        Span<int> sa = [1, 1, 1, 1], sb = [1, 1, 1, 1];
        for (int k = 0; k < a.Rank; k++) sa[4 - a.Rank + k] = a[k];
        for (int k = 0; k < b.Rank; k++) sb[4 - b.Rank + k] = b[k];
        (M, K, P) = (sa[2], sa[3], sb[3]);
        (Y0, Y1) = (Math.Max(sa[0], sb[0]), Math.Max(sa[1], sb[1]));
        (ARepeated0, ARepeated1, BRepeated0, BRepeated1) = (sa[0] < Y0, sa[1] < Y1, sb[0] < Y0, sb[1] < Y1);
        A1 = ARepeated1 ? 0 : M * K;
        A0 = ARepeated0 ? 0 : sa[1] * M * K;
        B1 = BRepeated1 ? 0 : K * P;
        B0 = BRepeated0 ? 0 : sb[1] * K * P;
    }
}

namespace NeuroPlugin.Backends.Cpu;

// Batched matrix products with broadcast batch axes (ONNX MatMul), forward and backward: plain loops, each sum over its
// index in increasing order (the GL kernels sum in the same order).
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void MatMulForward(Tensor a, Tensor b, Tensor output)
    {
        if (Skips) return;
        var g = new MatMulGeometry(a.Shape, b.Shape);
        Span<float> x = Data(a), w = Data(b), y = Data(output);
        for (int i0 = 0; i0 < g.Y0; i0++)
            for (int i1 = 0; i1 < g.Y1; i1++)
            {
                int aBase = i0 * g.A0 + i1 * g.A1, bBase = i0 * g.B0 + i1 * g.B1, yBase = (i0 * g.Y1 + i1) * g.M * g.P;
                for (int m = 0; m < g.M; m++)
                    for (int p = 0; p < g.P; p++)
                    {
                        float sum = 0f;
                        for (int k = 0; k < g.K; k++) sum += x[aBase + m * g.K + k] * w[bBase + k * g.P + p];
                        y[yBase + m * g.P + p] = sum;
                    }
            }
    }

    /// <inheritdoc/>
    public void MatMulBackward(Tensor a, Tensor b, Tensor outputGrad, Tensor? aGrad, Tensor? bGrad)
    {
        if (Skips) return;
        // In the forward pass this was y[i,m,p] = Σ_k a[i,m,k]·b[i,k,p] over the broadcast batches i: each element of an
        // operand gathers from every batch that read it, da[m,k] = Σ_i Σ_p dy[i,m,p]·b[i,k,p], db[k,p] = Σ_i Σ_m a[i,m,k]·dy[i,m,p].
        var g = new MatMulGeometry(a.Shape, b.Shape);
        Span<float> x = Data(a), w = Data(b), dy = Data(outputGrad);
        if (aGrad is not null)
        {
            Span<float> dx = Data(aGrad);
            for (int e = 0; e < dx.Length; e++)
            {
                int k = e % g.K, m = e / g.K % g.M, batch = e / (g.M * g.K);
                dx[e] += OperandGradient(g, w, dy, batch, m, k, ofA: true);
            }
        }
        if (bGrad is not null)
        {
            Span<float> dw = Data(bGrad);
            for (int e = 0; e < dw.Length; e++)
            {
                int p = e % g.P, k = e / g.P % g.K, batch = e / (g.K * g.P);
                dw[e] += OperandGradient(g, x, dy, batch, k, p, ofA: false);
            }
        }
    }

    /// <summary>da[batch,m,k] (<paramref name="ofA"/>, <paramref name="other"/> = b) or db[batch,k,p] (other = a, the two
    /// indices k and p): the sum over the output batches that read this operand batch, then over the free index.</summary>
    static float OperandGradient(in MatMulGeometry g, Span<float> other, Span<float> dy, int batch, int r, int c, bool ofA)
    {
        // the operand's own batch index on each axis (its second batch axis has size 1 where it is repeated)
        int own1 = ofA ? (g.ARepeated1 ? 1 : g.Y1) : (g.BRepeated1 ? 1 : g.Y1);
        int c0 = batch / own1, c1 = batch % own1;
        bool repeated0 = ofA ? g.ARepeated0 : g.BRepeated0, repeated1 = ofA ? g.ARepeated1 : g.BRepeated1;
        float sum = 0f;
        for (int i0 = repeated0 ? 0 : c0; i0 < (repeated0 ? g.Y0 : c0 + 1); i0++)
            for (int i1 = repeated1 ? 0 : c1; i1 < (repeated1 ? g.Y1 : c1 + 1); i1++)
            {
                int yBase = (i0 * g.Y1 + i1) * g.M * g.P;
                if (ofA)
                {
                    int bBase = i0 * g.B0 + i1 * g.B1;
                    for (int p = 0; p < g.P; p++) sum += dy[yBase + r * g.P + p] * other[bBase + c * g.P + p];
                }
                else
                {
                    int aBase = i0 * g.A0 + i1 * g.A1;
                    for (int m = 0; m < g.M; m++) sum += other[aBase + m * g.K + r] * dy[yBase + m * g.P + c];
                }
            }
        return sum;
    }
}

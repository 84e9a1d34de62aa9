namespace NeuroPlugin.Backends.Cpu;

// Element-wise binary ops with NumPy broadcasting (BinaryOp), forward and backward.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void BinaryForward(BinaryOp op, Tensor a, Tensor b, TensorShape bShape, Tensor output)
    {
        if (Skips) return; // a work slice's unit: the whole op
        // y (the broadcast shape) walks a and b by their broadcast strides (0 on the axes where they are repeated)
        var g = Broadcast.Of(a.Shape, bShape, output.Shape);
        Span<float> x1 = Data(a), x2 = Data(b), y = Data(output);
        var (sa, sb) = (g.StridesA, g.StridesB);
        int o = 0;
        for (int i0 = 0; i0 < g.OutputDims.D0; i0++)
            for (int i1 = 0; i1 < g.OutputDims.D1; i1++)
                for (int i2 = 0; i2 < g.OutputDims.D2; i2++)
                {
                    int rowA = i0 * sa.D0 + i1 * sa.D1 + i2 * sa.D2, rowB = i0 * sb.D0 + i1 * sb.D1 + i2 * sb.D2;
                    for (int i3 = 0; i3 < g.OutputDims.D3; i3++)
                        y[o++] = BinaryValue(op, x1[rowA + i3 * sa.D3], x2[rowB + i3 * sb.D3]);
                }
    }

    /// <inheritdoc/>
    public void BinaryBackward(BinaryOp op, Tensor a, Tensor b, TensorShape bShape, Tensor output, Tensor outputGrad, Tensor? aGrad, Tensor? bGrad)
    {
        if (Skips) return; // a work slice's unit: both operands' gradients
        if (aGrad is not null) BinaryGradient(op, a, b, bShape, output, outputGrad, aGrad, ofA: true);
        if (bGrad is not null) BinaryGradient(op, a, b, bShape, output, outputGrad, bGrad, ofA: false);
    }

    /// <summary>In the forward pass this was y = a ∘ b, broadcast: each element of the operand (a if
    /// <paramref name="ofA"/>, else b) gathers dy·∂y/∂operand over the output elements that read it, in output order
    /// (the GL kernel sums in the same order).</summary>
    void BinaryGradient(BinaryOp op, Tensor a, Tensor b, TensorShape bShape, Tensor output, Tensor outputGrad, Tensor operandGrad, bool ofA)
    {
        var g = Broadcast.Of(a.Shape, bShape, output.Shape);
        var operand = ofA ? a.Shape : bShape;
        var repeats = Broadcast.Repeats(operand, output.Shape);
        var (sa, sb, od) = (g.StridesA, g.StridesB, g.OutputDims);
        int n1 = Broadcast.Padded(operand, 1), n2 = Broadcast.Padded(operand, 2), n3 = Broadcast.Padded(operand, 3);
        Span<float> x1 = Data(a), x2 = Data(b), y = Data(output), dy = Data(outputGrad), dx = Data(operandGrad);
        for (int i = 0; i < dx.Length; i++)
        {
            int c3 = i % n3, c2 = i / n3 % n2, c1 = i / (n3 * n2) % n1, c0 = i / (n3 * n2 * n1);
            float sum = 0f;
            for (int j0 = 0; j0 < repeats.D0; j0++)
                for (int j1 = 0; j1 < repeats.D1; j1++)
                    for (int j2 = 0; j2 < repeats.D2; j2++)
                        for (int j3 = 0; j3 < repeats.D3; j3++)
                        {
                            // the output coordinate: the operand's own on its full axes, the repeat's on its broadcast ones
                            int o0 = repeats.D0 > 1 ? j0 : c0, o1 = repeats.D1 > 1 ? j1 : c1, o2 = repeats.D2 > 1 ? j2 : c2, o3 = repeats.D3 > 1 ? j3 : c3;
                            int o = ((o0 * od.D1 + o1) * od.D2 + o2) * od.D3 + o3;
                            float va = x1[o0 * sa.D0 + o1 * sa.D1 + o2 * sa.D2 + o3 * sa.D3];
                            float vb = x2[o0 * sb.D0 + o1 * sb.D1 + o2 * sb.D2 + o3 * sb.D3];
                            sum += dy[o] * BinaryPartial(op, ofA, va, vb, y[o]);
                        }
            dx[i] += sum;
        }
    }

    /// <summary><c>a ∘ b</c> (see <see cref="BinaryOp"/>).</summary>
    internal static float BinaryValue(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Pow => b == 2f ? a * a : MathF.Pow(a, b),
        BinaryOp.Minimum => float.IsNaN(a) || float.IsNaN(b) ? float.NaN : MathF.Min(a, b),
        BinaryOp.Maximum => float.IsNaN(a) || float.IsNaN(b) ? float.NaN : MathF.Max(a, b),
        BinaryOp.PReLU => a > 0f ? a : b * a,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
    };

    /// <summary><c>∂(a ∘ b)/∂a</c> if <paramref name="ofA"/>, else <c>∂(a ∘ b)/∂b</c>, at a, b with output y (see <see cref="BinaryOp"/>).</summary>
    internal static float BinaryPartial(BinaryOp op, bool ofA, float a, float b, float y) => op switch
    {
        BinaryOp.Add => 1f,
        BinaryOp.Sub => ofA ? 1f : -1f,
        BinaryOp.Mul => ofA ? b : a,
        BinaryOp.Div => ofA ? 1f / b : -a / (b * b),
        BinaryOp.Pow when ofA => b == 0f ? 0f : b * MathF.Pow(a, b - 1f),
        BinaryOp.Pow => a == 0f && b >= 0f ? 0f : y * MathF.Log(a),
        BinaryOp.Minimum => a == b ? 0.5f : (ofA ? a < b : b < a) ? 1f : 0f,
        BinaryOp.Maximum => a == b ? 0.5f : (ofA ? a > b : b > a) ? 1f : 0f,
        BinaryOp.PReLU => a > 0f ? (ofA ? 1f : 0f) : (ofA ? b : a),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op"),
    };
}

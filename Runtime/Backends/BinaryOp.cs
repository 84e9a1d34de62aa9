namespace NeuroPlugin.Backends;

/// <summary>Element-wise binary ops with NumPy broadcasting, <c>y = a ∘ b</c>, and their partial derivatives as PyTorch
/// takes them (at ties and singular points the side or value PyTorch picks is given after "at").
/// Each member gives its formula and derivatives.</summary>
public enum BinaryOp
{
    /// <summary><c>y = a + b</c>; <c>∂y/∂a = 1</c>, <c>∂y/∂b = 1</c>.</summary>
    Add,
    /// <summary><c>y = a − b</c>; <c>∂y/∂a = 1</c>, <c>∂y/∂b = −1</c>.</summary>
    Sub,
    /// <summary><c>y = a·b</c>; <c>∂y/∂a = b</c>, <c>∂y/∂b = a</c>.</summary>
    Mul,
    /// <summary><c>y = a / b</c>; <c>∂y/∂a = 1/b</c>, <c>∂y/∂b = −a/b²</c>.</summary>
    Div,
    /// <summary><c>y = aᵇ</c> (a negative base needs an integer exponent, else NaN); <c>∂y/∂a = b·aᵇ⁻¹</c> (at b = 0: 0), <c>∂y/∂b = y·ln a</c> (at a = 0 with b ≥ 0: 0).</summary>
    Pow,
    /// <summary><c>y = min(a, b)</c>; the smaller operand gets the whole gradient (at a tie each gets half).</summary>
    Minimum,
    /// <summary><c>y = max(a, b)</c>; the larger operand gets the whole gradient (at a tie each gets half).</summary>
    Maximum,
    /// <summary><c>y = a if a &gt; 0 else b·a</c> (b the slope); <c>∂y/∂a = 1 if a &gt; 0 else b</c>, <c>∂y/∂b = 0 if a &gt; 0 else a</c> (at a = 0: the slope's side).</summary>
    PReLU,
}

/// <summary>
/// How two shapes of rank ≤ 4 broadcast (NumPy's rule: align the last axes; on each axis the sizes are equal or one is
/// 1), padded on the left to four axes: the output's sizes and, for each operand, the element strides that walk it along
/// the output's axes (0 where the operand is broadcast). Kernels take their indices from these, so every backend reads the
/// same geometry.
/// </summary>
public readonly struct Broadcast
{
    /// <summary>Output sizes, padded to 4 axes.</summary>
    public readonly (int D0, int D1, int D2, int D3) OutputDims;
    /// <summary>Strides of operand a and b along the output's axes (0 on broadcast axes).</summary>
    public readonly (int D0, int D1, int D2, int D3) StridesA, StridesB;

    Broadcast((int, int, int, int) output, (int, int, int, int) a, (int, int, int, int) b)
    {
        OutputDims = output; StridesA = a; StridesB = b;
    }

    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/>, or null where they do not broadcast.</summary>
    public static TensorShape? Shape(TensorShape a, TensorShape b)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        Span<int> dims = stackalloc int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = Padded(a, i - rank + 4), db = Padded(b, i - rank + 4);
            if (da != db && da != 1 && db != 1) return null;
            dims[i] = Math.Max(da, db);
        }
        return TensorShape.Of(dims);
    }

    /// <summary>The geometry of <c>y = a ∘ b</c>; <paramref name="output"/> is their broadcast shape.</summary>
    public static Broadcast Of(TensorShape a, TensorShape b, TensorShape output) =>
        new((Padded(output, 0), Padded(output, 1), Padded(output, 2), Padded(output, 3)), Strides(a, output), Strides(b, output));

    /// <summary>The number of output elements that read each element of an operand: the product of the output's sizes on
    /// the axes where that operand is broadcast, as sizes per axis (1 elsewhere). Backward sums over these.</summary>
    public static (int D0, int D1, int D2, int D3) Repeats(TensorShape operand, TensorShape output)
    {
        int Axis(int i) => Padded(operand, i) == 1 ? Padded(output, i) : 1;
        return (Axis(0), Axis(1), Axis(2), Axis(3));
    }

    /// <summary>A per-channel <paramref name="operand"/> (one value, or one per
    /// channel) viewed against <paramref name="input"/> (N,C,…): (C,1,…,1) with an axis of 1 for every axis after C, or (1)
    /// for a single value. PReLU's slope, PyTorch's (C) weight on (N,C,H,W).</summary>
    public static TensorShape ChannelAligned(TensorShape operand, TensorShape input)
    {
        if (operand.Length == 1) return new TensorShape(1);
        Span<int> dims = stackalloc int[input.Rank - 1];
        dims.Fill(1);
        dims[0] = operand.Length;
        return TensorShape.Of(dims);
    }

    /// <summary>Size of axis <paramref name="axis"/> of <paramref name="shape"/> padded on the left to rank 4.</summary>
    public static int Padded(TensorShape shape, int axis)
    {
        int i = axis - (4 - shape.Rank);
        return i < 0 ? 1 : shape[i];
    }

    static (int, int, int, int) Strides(TensorShape operand, TensorShape output)
    {
        // row-major strides of the operand, zeroed where it has size 1 and the output does not
        int d3 = Padded(operand, 3), d2 = Padded(operand, 2), d1 = Padded(operand, 1);
        int s3 = 1, s2 = d3, s1 = d3 * d2, s0 = d3 * d2 * d1;
        int Stride(int axis, int stride) => Padded(operand, axis) == 1 && Padded(output, axis) != 1 ? 0 : stride;
        return (Stride(0, s0), Stride(1, s1), Stride(2, s2), Stride(3, s3));
    }
}

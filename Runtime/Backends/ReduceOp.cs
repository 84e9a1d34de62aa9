namespace NeuroPlugin.Backends;

/// <summary>Reductions over a set of axes, <c>y[o] = ⊕_{i ∈ R(o)} x[i]</c> where R(o) is the set of input elements that
/// differ from output element o only on the reduced axes (ONNX ReduceSum/ReduceMean/ReduceMax/ReduceMin, PyTorch's
/// <c>sum</c>/<c>mean</c>/<c>amax</c>/<c>amin</c> over dims). Each member gives its formula and gradient.</summary>
public enum ReduceOp
{
    /// <summary><c>y = Σ_R x</c>; <c>dx_i += dy</c>.</summary>
    Sum,
    /// <summary><c>y = (Σ_R x) / |R|</c>; <c>dx_i += dy / |R|</c>.</summary>
    Mean,
    /// <summary><c>y = max_R x</c> (NaN if any element is NaN); the gradient is shared evenly by the elements equal to
    /// the maximum, <c>dx_i += dy / #{j : x_j = y}</c> where <c>x_i = y</c>, as PyTorch's <c>amax</c> gives it.</summary>
    Max,
    /// <summary><c>y = min_R x</c> (NaN if any element is NaN); the gradient is shared evenly by the elements equal to the
    /// minimum, as for <see cref="Max"/>.</summary>
    Min,
}

/// <summary>How a reduction walks a tensor of up to four axes (padded on the left): the output elements range over
/// <see cref="Kept"/> (the input's size on kept axes, 1 on reduced ones), each reads the elements of <see cref="Reduced"/>
/// (the input's size on reduced axes, 1 on kept ones) from its first element, along the input's row-major
/// <see cref="Strides"/>. The output's layout is the same whether the reduced axes are kept as size 1 or dropped.</summary>
internal readonly struct ReduceGeometry
{
    public readonly (int D0, int D1, int D2, int D3) Kept, Reduced, Strides;

    /// <summary>The geometry of reducing <paramref name="input"/> over the axes whose bits are set in <paramref name="axes"/>
    /// (bit k: axis k).</summary>
    public ReduceGeometry(TensorShape input, int axes)
    {
        Span<int> kept = [1, 1, 1, 1], reduced = [1, 1, 1, 1], strides = [0, 0, 0, 0];
        int pad = 4 - input.Rank, stride = 1;
        for (int axis = input.Rank - 1; axis >= 0; axis--)
        {
            bool reduce = (axes >> axis & 1) != 0;
            (reduce ? reduced : kept)[pad + axis] = input[axis];
            strides[pad + axis] = stride;
            stride *= input[axis];
        }
        Kept = (kept[0], kept[1], kept[2], kept[3]);
        Reduced = (reduced[0], reduced[1], reduced[2], reduced[3]);
        Strides = (strides[0], strides[1], strides[2], strides[3]);
    }

    /// <summary>The number of output elements.</summary>
    public int Outputs => Kept.D0 * Kept.D1 * Kept.D2 * Kept.D3;
    /// <summary>|R|: the number of input elements each output reduces.</summary>
    public int Count => Reduced.D0 * Reduced.D1 * Reduced.D2 * Reduced.D3;

    /// <summary>The input element that output element <paramref name="o"/> (in the output's row-major order) starts from.</summary>
    public int First(int o)
    {
        int i3 = o % Kept.D3, i2 = o / Kept.D3 % Kept.D2, i1 = o / (Kept.D3 * Kept.D2) % Kept.D1, i0 = o / (Kept.D3 * Kept.D2 * Kept.D1);
        return i0 * Strides.D0 + i1 * Strides.D1 + i2 * Strides.D2 + i3 * Strides.D3;
    }

    /// <summary>The offset from an output's first element of its <paramref name="j"/>-th reduced element (row-major over
    /// <see cref="Reduced"/>).</summary>
    public int Offset(int j)
    {
        int j3 = j % Reduced.D3, j2 = j / Reduced.D3 % Reduced.D2, j1 = j / (Reduced.D3 * Reduced.D2) % Reduced.D1, j0 = j / (Reduced.D3 * Reduced.D2 * Reduced.D1);
        return j0 * Strides.D0 + j1 * Strides.D1 + j2 * Strides.D2 + j3 * Strides.D3;
    }
}

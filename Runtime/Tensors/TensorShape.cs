namespace NeuroPlugin.Tensors;

/// <summary>
/// The shape of a tensor of rank 1 to 4, laid out NCHW (row-major, last axis fastest).
/// A value type without heap storage; every size product is computed with overflow checks,
/// so a hostile or mistaken shape fails with <see cref="ShapeException"/> instead of wrapping.
/// </summary>
public readonly struct TensorShape : IEquatable<TensorShape>
{
    /// <summary>The largest rank a tensor may have.</summary>
    public const int MaxRank = 4;

    readonly int d0, d1, d2, d3;

    /// <summary>Number of axes (1..4).</summary>
    public int Rank { get; }

    /// <summary>A rank-1 shape <c>(n)</c>.</summary>
    public TensorShape(int n) : this(1, n, 0, 0, 0) { }
    /// <summary>A rank-2 shape <c>(n, c)</c>, e.g. a batch of feature vectors.</summary>
    public TensorShape(int n, int c) : this(2, n, c, 0, 0) { }
    /// <summary>A rank-3 shape <c>(c, h, w)</c>, e.g. one image without the batch axis.</summary>
    public TensorShape(int c, int h, int w) : this(3, c, h, w, 0) { }
    /// <summary>A rank-4 shape <c>(n, c, h, w)</c>.</summary>
    public TensorShape(int n, int c, int h, int w) : this(4, n, c, h, w) { }

    TensorShape(int rank, int a, int b, int c, int d)
    {
        Rank = rank;
        d0 = a; d1 = b; d2 = c; d3 = d;
        for (int i = 0; i < rank; i++)
            if (this[i] <= 0)
                throw new ShapeException($"shape {this} has a non-positive size on axis {i}");
        _ = Length; // checks the product for overflow once, here
    }

    /// <summary>Builds a shape from 1 to 4 sizes.</summary>
    public static TensorShape Of(ReadOnlySpan<int> dims) => dims.Length switch
    {
        1 => new TensorShape(dims[0]),
        2 => new TensorShape(dims[0], dims[1]),
        3 => new TensorShape(dims[0], dims[1], dims[2]),
        4 => new TensorShape(dims[0], dims[1], dims[2], dims[3]),
        _ => throw new ShapeException($"a tensor has rank 1 to {MaxRank}, got rank {dims.Length}"),
    };

    /// <summary>The size of one axis.</summary>
    public int this[int axis] => axis switch
    {
        0 when Rank > 0 => d0,
        1 when Rank > 1 => d1,
        2 when Rank > 2 => d2,
        3 when Rank > 3 => d3,
        _ => throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} is outside shape of rank {Rank}"),
    };

    /// <summary>Number of elements: the product of all sizes (checked).</summary>
    public int Length
    {
        get
        {
            long product = 1;
            for (int i = 0; i < Rank; i++)
            {
                product *= this[i];
                if (product > int.MaxValue)
                    throw new ShapeException($"shape {this} has more than {int.MaxValue} elements");
            }
            return (int)product;
        }
    }

    /// <summary>Batch size: axis 0.</summary>
    public int N => this[0];
    /// <summary>Channels of a rank-4 shape (axis 1).</summary>
    public int C => Rank == 4 ? d1 : throw new ShapeException($"shape {this} is not (N,C,H,W)");
    /// <summary>Height of a rank-4 shape (axis 2).</summary>
    public int H => Rank == 4 ? d2 : throw new ShapeException($"shape {this} is not (N,C,H,W)");
    /// <summary>Width of a rank-4 shape (axis 3).</summary>
    public int W => Rank == 4 ? d3 : throw new ShapeException($"shape {this} is not (N,C,H,W)");

    /// <summary>Elements per batch item: <c>Length / N</c>.</summary>
    public int ItemLength => Length / d0;

    /// <summary>The shape read as (outer, size, inner) around <paramref name="axis"/>: outer is the product of the sizes
    /// before the axis, size its own, inner the product of those after; element (o, k, i) sits at <c>(o·size + k)·inner + i</c>.
    /// How softmax over any axis walks a tensor.</summary>
    public (int Outer, int Size, int Inner) AroundAxis(int axis)
    {
        if ((uint)axis >= (uint)Rank) throw new ShapeException($"axis {axis} is outside the {Rank} axes of {this}");
        int outer = 1, inner = 1;
        for (int k = 0; k < axis; k++) outer *= this[k];
        for (int k = axis + 1; k < Rank; k++) inner *= this[k];
        return (outer, this[axis], inner);
    }

    /// <summary>This shape with axis 0 replaced by <paramref name="batch"/>.</summary>
    public TensorShape WithBatch(int batch) => Rank switch
    {
        1 => new TensorShape(batch),
        2 => new TensorShape(batch, d1),
        3 => new TensorShape(batch, d1, d2),
        _ => new TensorShape(batch, d1, d2, d3),
    };

    /// <summary>Prepends a batch axis: <c>(c,h,w)</c> becomes <c>(batch,c,h,w)</c>.</summary>
    public TensorShape PrependBatch(int batch) => Rank switch
    {
        1 => new TensorShape(batch, d0),
        2 => new TensorShape(batch, d0, d1),
        3 => new TensorShape(batch, d0, d1, d2),
        _ => throw new ShapeException($"cannot add a batch axis to {this}: rank would exceed {MaxRank}"),
    };

    /// <summary>Sizes as an array (allocates; for reports and serialization, not hot paths).</summary>
    public int[] ToArray()
    {
        var dims = new int[Rank];
        for (int i = 0; i < Rank; i++) dims[i] = this[i];
        return dims;
    }

    /// <summary>Same rank and the same size on every axis: <c>(2,3)</c> equals <c>(2,3)</c> but not <c>(2,3,1)</c>.</summary>
    public bool Equals(TensorShape other) =>
        Rank == other.Rank && d0 == other.d0 && d1 == other.d1 && d2 == other.d2 && d3 == other.d3;
    /// <summary>True when <paramref name="obj"/> is a <see cref="TensorShape"/> of the same rank and sizes.</summary>
    public override bool Equals(object? obj) => obj is TensorShape s && Equals(s);
    /// <summary>A hash of the rank and the sizes, consistent with <see cref="Equals(TensorShape)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Rank, d0, d1, d2, d3);
    /// <summary>Same rank and sizes (<see cref="Equals(TensorShape)"/>).</summary>
    public static bool operator ==(TensorShape a, TensorShape b) => a.Equals(b);
    /// <summary>Different rank or a different size on some axis.</summary>
    public static bool operator !=(TensorShape a, TensorShape b) => !a.Equals(b);

    /// <summary>PyTorch-like text: <c>(64,6,28,28)</c>.</summary>
    public override string ToString() => Rank switch
    {
        0 => "()",
        1 => $"({d0})",
        2 => $"({d0},{d1})",
        3 => $"({d0},{d1},{d2})",
        _ => $"({d0},{d1},{d2},{d3})",
    };
}

/// <summary>A shape that does not fit: wrong rank, mismatched sizes, or overflowing products.</summary>
public class ShapeException : Exception
{
    /// <summary>A shape error; <paramref name="message"/> names the node or tensor and both shapes, e.g.
    /// <c>conv2: input (N,6,14,14) needs 16 channels, got 6</c>.</summary>
    public ShapeException(string message) : base(message) { }
}

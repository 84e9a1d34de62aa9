namespace NeuroPlugin.Backends;

/// <summary>
/// A copy between the elements of two tensors that walks both in one index space: for every index (i0,i1,i2,i3) below
/// <see cref="Extent"/>, <c>destination[DestinationOffset + Σₖ iₖ·DestinationStrides_k] = source[SourceOffset + Σₖ iₖ·SourceStrides_k]</c>
/// (or <c>+=</c>). Transpose (permuted source strides), slicing (strides times the step, negative for a reversed axis,
/// the offset of the first element), concatenation (a destination offset per input) and index selection (one map per
/// index) are such copies. Every map the shape layers build reads or writes each destination element at most once, so a
/// kernel may write all of them in parallel, and the backward pass is the same copy reversed, accumulated
/// (<see cref="Reversed"/>: <c>dx[source index] += dy[destination index]</c>). Axes are padded on the left to four.
/// </summary>
public readonly struct StridedMap
{
    /// <summary>The index space, padded to four axes.</summary>
    public readonly (int D0, int D1, int D2, int D3) Extent;
    /// <summary>The source's element strides along the index space's axes (0 where it is repeated, negative where reversed).</summary>
    public readonly (int D0, int D1, int D2, int D3) SourceStrides;
    /// <summary>The destination's element strides along the index space's axes.</summary>
    public readonly (int D0, int D1, int D2, int D3) DestinationStrides;
    /// <summary>The element the index (0,0,0,0) reads in the source, and writes in the destination.</summary>
    public readonly int SourceOffset, DestinationOffset;

    StridedMap((int, int, int, int) extent, (int, int, int, int) sourceStrides, int sourceOffset, (int, int, int, int) destinationStrides, int destinationOffset)
    {
        Extent = extent; SourceStrides = sourceStrides; SourceOffset = sourceOffset;
        DestinationStrides = destinationStrides; DestinationOffset = destinationOffset;
    }

    /// <summary>The map over <paramref name="extent"/> (rank 1 to 4, padded on the left) with the given strides and offsets
    /// (one stride per axis of the extent).</summary>
    public static StridedMap Of(ReadOnlySpan<int> extent, ReadOnlySpan<int> sourceStrides, int sourceOffset, ReadOnlySpan<int> destinationStrides, int destinationOffset)
    {
        if (extent.Length is < 1 or > TensorShape.MaxRank || sourceStrides.Length != extent.Length || destinationStrides.Length != extent.Length)
            throw new ArgumentException($"a strided map has 1 to {TensorShape.MaxRank} axes and one stride per axis for each side");
        return new(Pad(extent, 1), Pad(sourceStrides, 0), sourceOffset, Pad(destinationStrides, 0), destinationOffset);
    }

    static (int, int, int, int) Pad(ReadOnlySpan<int> values, int fill)
    {
        Span<int> padded = [fill, fill, fill, fill];
        values.CopyTo(padded[(4 - values.Length)..]);
        return (padded[0], padded[1], padded[2], padded[3]);
    }

    /// <summary>The number of elements copied: the product of the extent.</summary>
    public int Count => Extent.D0 * Extent.D1 * Extent.D2 * Extent.D3;

    /// <summary>The same correspondence with source and destination swapped: the backward pass of this copy.</summary>
    public StridedMap Reversed => new(Extent, DestinationStrides, DestinationOffset, SourceStrides, SourceOffset);

    /// <summary>The element strides of a contiguous (row-major) tensor of <paramref name="shape"/>, written to
    /// <paramref name="strides"/> (one per axis).</summary>
    public static void ContiguousStrides(TensorShape shape, Span<int> strides)
    {
        int stride = 1;
        for (int axis = shape.Rank - 1; axis >= 0; axis--)
        {
            strides[axis] = stride;
            stride *= shape[axis];
        }
    }
}

namespace NeuroPlugin.Backends;

// ── data movement of the shape ops: transpose, slice, concatenate along any axis, index select ──
public partial interface IBackend
{
    /// <summary>Copies <paramref name="source"/>'s elements into <paramref name="destination"/> along
    /// <paramref name="map"/>: <c>destination[d(i)] = source[s(i)]</c> for every index i of the map's extent, or
    /// <c>destination[d(i)] += source[s(i)]</c> when <paramref name="accumulate"/> (a backward pass, with the map
    /// <see cref="StridedMap.Reversed"/>). The map writes each destination element at most once; elements it does not
    /// reach are left as they are.</summary>
    void StridedCopy(StridedMap map, Tensor source, Tensor destination, bool accumulate);
}

namespace NeuroPlugin.Backends.Cpu;

// Data movement of the shape ops (StridedMap): transpose, slice, concatenation along any axis, index select.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void StridedCopy(StridedMap map, Tensor source, Tensor destination, bool accumulate)
    {
        if (Skips) return;
        Span<float> x = Data(source), y = Data(destination);
        var (e, s, d) = (map.Extent, map.SourceStrides, map.DestinationStrides);
        for (int i0 = 0; i0 < e.D0; i0++)
            for (int i1 = 0; i1 < e.D1; i1++)
                for (int i2 = 0; i2 < e.D2; i2++)
                {
                    int from = map.SourceOffset + i0 * s.D0 + i1 * s.D1 + i2 * s.D2;
                    int to = map.DestinationOffset + i0 * d.D0 + i1 * d.D1 + i2 * d.D2;
                    if (accumulate)
                        for (int i3 = 0; i3 < e.D3; i3++) y[to + i3 * d.D3] += x[from + i3 * s.D3];
                    else
                        for (int i3 = 0; i3 < e.D3; i3++) y[to + i3 * d.D3] = x[from + i3 * s.D3];
                }
    }
}

namespace NeuroPlugin.Backends.OpenGL;

// Data movement of the shape ops (strided_copy.comp): one invocation per element of the map's extent.
public sealed partial class GLBackend
{
    ComputeProgram? stridedCopyProgram, stridedAccumulateProgram;

    /// <summary>Copies (or adds, when <paramref name="accumulate"/>) along <paramref name="map"/>: each invocation moves
    /// one element; the map writes each destination element at most once, so no two invocations write the same one.</summary>
    public void StridedCopy(StridedMap map, Tensor source, Tensor destination, bool accumulate)
    {
        var program = accumulate
            ? Kernel(ref stridedAccumulateProgram, "strided_copy.comp", "ACCUMULATE", [source], [destination])
            : Kernel(ref stridedCopyProgram, "strided_copy.comp", "COPY", [source], [destination]);
        var (e, s, d) = (map.Extent, map.SourceStrides, map.DestinationStrides);
        program.SetUniform("extent", e.D0, e.D1, e.D2, e.D3);
        program.SetUniform("sourceStrides", s.D0, s.D1, s.D2, s.D3);
        program.SetUniform("destinationStrides", d.D0, d.D1, d.D2, d.D3);
        program.SetUniform("sourceOffset", map.SourceOffset);
        program.SetUniform("destinationOffset", map.DestinationOffset);
        DispatchElements(program, map.Count);
    }
}

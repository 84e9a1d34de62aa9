using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A staging buffer the host reads without a synchronous readback: immutable storage with
/// <c>GL_MAP_READ_BIT | GL_MAP_PERSISTENT_BIT | GL_MAP_COHERENT_BIT</c>, mapped once for its whole life
/// (<c>glMapNamedBufferRange</c>). A kernel fills it (<see cref="GLBackend.CopyToReadback"/>, followed by a
/// <c>GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT</c> barrier); once a fence inserted after that is signalled
/// (<see cref="GLFence"/>), the values are visible through <see cref="Read"/> with no further GL call. Reading before
/// the fence signals gives stale or partial values (validation mode throws <see cref="GLHazardException"/>).
/// Lifetime as every <see cref="GLObject"/>: deleting the buffer unmaps it.
/// </summary>
public sealed unsafe class GLReadbackBuffer : GLBufferObject
{
    readonly float* mapped;

    /// <summary>Creates and maps a buffer of <paramref name="length"/> floats (at least 1).</summary>
    public GLReadbackBuffer(GLDevice device, int length, string label = "readback")
        : base(device, label, checked((long)Math.Max(length, 1) * sizeof(float)))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        Length = length;
        mapped = (float*)CreatePersistentlyMapped(MapBufferAccessMask.ReadBit, "readback buffer");
    }

    /// <summary>Capacity in floats.</summary>
    public int Length { get; }

    /// <summary>The mapped floats [offset, offset + count): valid once a fence after the copy that wrote them has signalled.</summary>
    public ReadOnlySpan<float> Read(int offset, int count)
    {
        ThrowIfDisposed();
        if (count < 0 || offset < 0 || (long)offset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"[{offset}, {(long)offset + count}) is outside a readback buffer of {Length} floats");
        Device.Validator?.Tracker.HostRead("host read", Handle, Label, (long)offset * sizeof(float), (long)count * sizeof(float));
        return new ReadOnlySpan<float>(mapped + offset, count);
    }
}

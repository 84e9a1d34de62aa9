using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A staging buffer the host reads without a synchronous readback: immutable storage with
/// <c>GL_MAP_READ_BIT | GL_MAP_PERSISTENT_BIT | GL_MAP_COHERENT_BIT</c>, mapped once for its whole life
/// (<c>glMapNamedBufferRange</c>). The GPU fills it by <see cref="CopyFrom"/> (<c>glCopyNamedBufferSubData</c>); once a
/// fence inserted after that copy is signalled (<see cref="GLFence"/>), the values are visible through
/// <see cref="Read"/> with no further GL call. Reading before the fence signals gives stale or partial values.
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
        nuint bytes = (nuint)SizeInBytes;
        var gl = device.GL;
        Adopt(gl.CreateBuffer());
        const BufferStorageMask storage = BufferStorageMask.MapReadBit | BufferStorageMask.MapPersistentBit | BufferStorageMask.MapCoherentBit;
        gl.NamedBufferStorage(Handle, bytes, null, storage);
        mapped = (float*)gl.MapNamedBufferRange(Handle, 0, bytes,
            MapBufferAccessMask.ReadBit | MapBufferAccessMask.PersistentBit | MapBufferAccessMask.CoherentBit);
        if (mapped == null)
        {
            var error = gl.GetError();
            Dispose();
            throw new GLException($"glMapNamedBufferRange of a {length}-float persistent readback buffer failed on {device.Renderer} ({error})");
        }
        TrackCreation(initialized: false);
    }

    /// <summary>Capacity in floats.</summary>
    public int Length { get; }

    /// <summary>Queues a device-side copy of <paramref name="count"/> floats from the start of <paramref name="source"/> to
    /// <paramref name="offset"/> in this buffer. Does not wait.</summary>
    public void CopyFrom(GLBuffer source, int count, int offset)
    {
        Device.EnsureThread();
        ThrowIfDisposed();
        if (count < 0 || count > source.Length || offset < 0 || (long)offset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"copying {count} floats to offset {offset} does not fit a readback buffer of {Length} (source holds {source.Length})");
        if (Device.Validator is { } validator)
        {
            validator.Tracker.BeginCommand();
            validator.Tracker.Transfer("readback copy", source.Handle, source.Label, 0, (long)count * sizeof(float), read: true, write: false);
            validator.Tracker.Transfer("readback copy", Handle, Label, (long)offset * sizeof(float), (long)count * sizeof(float), read: false, write: true);
        }
        Device.GL.CopyNamedBufferSubData(source.Handle, Handle, 0, (nint)offset * sizeof(float), (nuint)count * sizeof(float));
    }

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

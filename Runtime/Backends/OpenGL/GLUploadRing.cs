using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// Host → device staging: one buffer with <c>GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT | GL_MAP_COHERENT_BIT</c> storage,
/// mapped once, used as a ring of <see cref="Segments"/> segments with a <see cref="GLFence"/> each. The host writes an
/// upload into the next free bytes of the current segment and a kernel copies it into the tensor
/// (<see cref="GLBackend.Upload"/>); when the ring moves on to the next segment it fences the one it leaves, and before
/// writing a segment again it waits for that segment's fence, so the host never overwrites staging that a queued copy
/// still reads. An input batch therefore never lands in memory the device is reading: batch t+1 is written into another
/// segment (or further along the same one) while the copies of batch t may still be queued — the double buffering of
/// input batches, with no <c>glBufferSubData</c> anywhere. An upload larger than a segment goes in segment-sized chunks.
/// The fence wait is the only blocking call, and happens only when the device is a whole ring behind the host.
/// Everything is made once; reserving allocates nothing.
/// </summary>
internal sealed unsafe class GLUploadRing : IDisposable
{
    /// <summary>Segments in the ring: the host can be this many segments ahead of the device's copies, less one.</summary>
    public const int Segments = 4;
    /// <summary>Bytes per segment (1 MiB): a LeNet-5 batch of 64 (200 KiB) or a 3×32×32 batch of 64 (768 KiB) fits one.</summary>
    public const int SegmentBytes = 1 << 20;
    /// <summary>Largest chunk one reservation gives, in floats (a whole number of vec4s).</summary>
    public const int ChunkFloats = SegmentBytes / sizeof(float);

    readonly StagingBuffer buffer;
    readonly GLFence[] fences = new GLFence[Segments];
    readonly int alignment; // GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT, at least one vec4
    int segment, cursor;

    public GLUploadRing(GLDevice device)
    {
        Device = device;
        alignment = Math.Max(16, device.GL.GetInteger(GLEnum.ShaderStorageBufferOffsetAlignment));
        buffer = new StagingBuffer(device, (long)Segments * SegmentBytes);
        try
        {
            for (int i = 0; i < Segments; i++) fences[i] = new GLFence(device);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public GLDevice Device { get; }
    /// <summary>GL objects the ring holds now: its buffer and the fences that are armed.</summary>
    public int ObjectCount => 1 + fences.Count(fence => fence is { IsArmed: true });

    /// <summary>The staging buffer, for binding its reserved ranges.</summary>
    public GLBufferObject Buffer => buffer;

    /// <summary>
    /// Reserves room for <paramref name="floats"/> floats (at most <see cref="ChunkFloats"/>), rounded up to a whole
    /// vec4 and to the storage offset alignment, and returns its byte offset in <see cref="Buffer"/> and the mapped
    /// memory to write (the whole vec4s: the caller fills the padding too). Waits only if the segment it moves into
    /// is still being read by the device.
    /// </summary>
    public Span<float> Reserve(int floats, out long offset)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(floats, ChunkFloats);
        int vectorFloats = (floats + 3) & ~3;
        int bytes = vectorFloats * sizeof(float);
        int rounded = (bytes + alignment - 1) / alignment * alignment;
        if (cursor + rounded > SegmentBytes) Advance();
        offset = (long)segment * SegmentBytes + cursor;
        cursor += rounded;
        Device.Validator?.Tracker.HostWrite("upload staging", buffer.Handle, buffer.Label, offset, bytes);
        return new Span<float>((byte*)buffer.Mapped + offset, vectorFloats);
    }

    /// <summary>Fences the current segment (after the copies that read it) and moves to the next, waiting for its fence.</summary>
    void Advance()
    {
        fences[segment].Insert();
        segment = (segment + 1) % Segments;
        cursor = 0;
        var fence = fences[segment];
        if (!fence.IsArmed) return;
        if (!fence.IsSignaled) fence.Wait();
        fence.Release();
    }

    public void Dispose()
    {
        foreach (var fence in fences) fence?.Dispose();
        buffer.Dispose();
    }

    /// <summary>The ring's storage: write-mapped for its whole life (deleting the buffer unmaps it).</summary>
    sealed class StagingBuffer : GLBufferObject
    {
        public StagingBuffer(GLDevice device, long bytes) : base(device, "upload staging", bytes) =>
            Mapped = CreatePersistentlyMapped(MapBufferAccessMask.WriteBit, "upload staging buffer");

        public void* Mapped { get; }
    }
}

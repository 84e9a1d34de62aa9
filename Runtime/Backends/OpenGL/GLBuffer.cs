using System.Runtime.InteropServices;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A shader storage buffer of float32 values with immutable storage (<c>glNamedBufferStorage</c>), written only by
/// kernels after its creation: <see cref="GLBackend"/> uploads, fills and copies through transfer.comp (see
/// Documentation~/ARCHITECTURE.md, "Ordering rules"), never by <c>glBufferSubData</c>, clears or buffer copies, which
/// no memory barrier orders after a kernel's reads. Zero-filled at creation when
/// <c>zeroed</c> (tensor storage, which <see cref="IBackend.Allocate"/> promises zero); otherwise its contents are
/// undefined, which validation mode makes NaN (<see cref="GLValidationOptions.NaNPattern"/>).
/// Lifetime as every <see cref="GLObject"/>: disposed once, on the owner thread, never from a finalizer.
/// </summary>
public sealed class GLBuffer : GLBufferObject
{
    /// <summary>Creates a buffer of <paramref name="length"/> floats (at least 1) labelled <paramref name="label"/>,
    /// zero-filled when <paramref name="zeroed"/>.</summary>
    public unsafe GLBuffer(GLDevice device, int length, string label = "buffer", bool zeroed = true)
        : base(device, label, checked((long)Math.Max(length, 1) * sizeof(float)))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        long bytes = SizeInBytes;
        if (bytes > device.MaxShaderStorageBlockSize)
            throw new ArgumentOutOfRangeException(nameof(length),
                $"a buffer of {length} floats ({bytes / (1024 * 1024)} MiB) exceeds the driver's largest shader storage block ({device.MaxShaderStorageBlockSize / (1024 * 1024)} MiB on {device.Renderer}): use a smaller batch");
        Length = length;
        var gl = device.GL;
        Adopt(gl.CreateBuffer());
        // The contents go in with the storage, not through a later clear or upload: nothing can be queued on a new buffer.
        uint[]? poison = zeroed ? null : PoisonFor(device, bytes);
        void* contents = poison is null ? NativeMemory.AllocZeroed((nuint)bytes) : null;
        try
        {
            fixed (uint* words = poison)
                gl.NamedBufferStorage(Handle, (nuint)bytes, poison is null ? contents : words, BufferStorageMask.None);
        }
        finally
        {
            if (contents != null) NativeMemory.Free(contents);
        }
        TrackCreation(initialized: zeroed);
    }

    /// <summary>Capacity in floats.</summary>
    public int Length { get; }

    /// <summary>Copies the first <c>destination.Length</c> floats to the host; waits for the GPU.</summary>
    public void Download(Span<float> destination) => Download(0, destination);

    /// <summary>Copies <c>destination.Length</c> floats from float <paramref name="offset"/> on to the host; waits for the GPU.</summary>
    public void Download(int offset, Span<float> destination)
    {
        Device.EnsureThread();
        CheckRange(offset, destination.Length);
        long start = (long)offset * sizeof(float), bytes = (long)destination.Length * sizeof(float);
        if (Device.Validator is { } validator)
        {
            validator.Tracker.BeginCommand();
            validator.Tracker.Transfer("download", Handle, Label, start, bytes, read: true, write: false, synchronous: true);
        }
        Device.GL.GetNamedBufferSubData(Handle, (nint)start, destination);
    }

    void CheckRange(int offset, int count)
    {
        ThrowIfDisposed();
        if (offset < 0 || count < 0 || (long)offset + count > Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"floats [{offset}, {(long)offset + count}) do not fit a buffer of {Length}");
    }
}

using System.Runtime.InteropServices;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A shader storage buffer of float32 values with immutable storage (<c>glNamedBufferStorage</c> with
/// <c>GL_DYNAMIC_STORAGE_BIT</c>, so uploads by <c>glNamedBufferSubData</c> are allowed). Zero-filled at creation when
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
                gl.NamedBufferStorage(Handle, (nuint)bytes, poison is null ? contents : words, BufferStorageMask.DynamicStorageBit);
        }
        finally
        {
            if (contents != null) NativeMemory.Free(contents);
        }
        TrackCreation(initialized: zeroed);
    }

    /// <summary>
    /// A clear (<see cref="Fill"/>) may still be queued. NVIDIA's driver (580, measured on an H200) lets a later
    /// <c>glNamedBufferSubData</c> larger than 64 KiB land before a queued <c>glClearNamedBufferData</c>, which
    /// then wipes the upload; <see cref="Upload"/> waits for the GPU first in that case (rare: uploads normally
    /// go to buffers nobody cleared).
    /// </summary>
    bool clearPending;

    /// <summary>Capacity in floats.</summary>
    public int Length { get; }

    /// <summary>Copies <paramref name="source"/> to the start of the buffer.</summary>
    public void Upload(ReadOnlySpan<float> source)
    {
        Device.EnsureThread();
        CheckRange(source.Length);
        if (clearPending)
        {
            Device.Finish();
            clearPending = false;
        }
        Transfer("upload", 0, source.Length, read: false, write: true);
        Device.GL.NamedBufferSubData(Handle, 0, source);
        if (Device.SynchronousCommands) Device.Finish();
    }

    /// <summary>Copies the first <c>destination.Length</c> floats to the host; waits for the GPU.</summary>
    public void Download(Span<float> destination)
    {
        Device.EnsureThread();
        CheckRange(destination.Length);
        if (Device.Validator is { } validator)
        {
            validator.Tracker.BeginCommand();
            validator.Tracker.Transfer("download", Handle, Label, 0, (long)destination.Length * sizeof(float), read: true, write: false, synchronous: true);
        }
        Device.GL.GetNamedBufferSubData(Handle, 0, destination);
    }

    /// <summary>Sets the first <paramref name="count"/> floats to <paramref name="value"/>.</summary>
    public unsafe void Fill(float value, int count)
    {
        Device.EnsureThread();
        CheckRange(count);
        Transfer("clear", 0, count, read: false, write: true);
        var gl = Device.GL;
        if (count == Length)
            gl.ClearNamedBufferData(Handle, SizedInternalFormat.R32f, PixelFormat.Red, PixelType.Float, &value);
        else
            gl.ClearNamedBufferSubData(Handle, SizedInternalFormat.R32f, 0, (nuint)count * sizeof(float), PixelFormat.Red, PixelType.Float, &value);
        if (Device.SynchronousCommands) Device.Finish();
        clearPending = true;
    }

    /// <summary>Copies the first <paramref name="count"/> floats of this buffer into <paramref name="destination"/>.</summary>
    public void CopyTo(GLBuffer destination, int count)
    {
        Device.EnsureThread();
        CheckRange(count);
        destination.CheckRange(count);
        if (Device.Validator is { } validator)
        {
            validator.Tracker.BeginCommand();
            validator.Tracker.Transfer("copy", Handle, Label, 0, (long)count * sizeof(float), read: true, write: false);
            validator.Tracker.Transfer("copy", destination.Handle, destination.Label, 0, (long)count * sizeof(float), read: false, write: true);
        }
        Device.GL.CopyNamedBufferSubData(Handle, destination.Handle, 0, 0, (nuint)count * sizeof(float));
        if (Device.SynchronousCommands) Device.Finish();
    }

    void Transfer(string what, int offset, int count, bool read, bool write)
    {
        if (Device.Validator is not { } validator) return;
        validator.Tracker.BeginCommand();
        validator.Tracker.Transfer(what, Handle, Label, (long)offset * sizeof(float), (long)count * sizeof(float), read, write);
    }

    void CheckRange(int count)
    {
        ThrowIfDisposed();
        if ((uint)count > (uint)Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} floats do not fit a buffer of {Length}");
    }
}

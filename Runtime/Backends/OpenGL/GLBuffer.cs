using System.Runtime.InteropServices;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A shader storage buffer of float32 values with immutable storage (<c>glNamedBufferStorage</c> with
/// <c>GL_DYNAMIC_STORAGE_BIT</c>, so uploads by <c>glNamedBufferSubData</c> are allowed), zero-filled at creation.
/// Lifetime as every <see cref="GLObject"/>: disposed once, on the owner thread, never from a finalizer.
/// </summary>
public sealed class GLBuffer : GLObject
{
    /// <summary>Creates a zero-filled buffer of <paramref name="length"/> floats (at least 1).</summary>
    public unsafe GLBuffer(GLDevice device, int length) : base(device, GLObjectKind.Buffer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        long bytes = checked((long)length * sizeof(float));
        if (bytes > device.MaxShaderStorageBlockSize)
            throw new ArgumentOutOfRangeException(nameof(length),
                $"a buffer of {length} floats ({bytes / (1024 * 1024)} MiB) exceeds the driver's largest shader storage block ({device.MaxShaderStorageBlockSize / (1024 * 1024)} MiB on {device.Renderer}): use a smaller batch");
        Length = length;
        var gl = device.GL;
        Adopt(gl.CreateBuffer());
        // Immutable storage starts undefined and tensors promise zeros. The zeros go in with the storage,
        // not through glClearNamedBufferData: see clearPending.
        void* zeros = NativeMemory.AllocZeroed((nuint)bytes);
        try
        {
            gl.NamedBufferStorage(Handle, (nuint)bytes, zeros, BufferStorageMask.DynamicStorageBit);
        }
        finally
        {
            NativeMemory.Free(zeros);
        }
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
            Device.GL.Finish();
            clearPending = false;
        }
        Device.GL.NamedBufferSubData(Handle, 0, source);
        if (Device.SynchronousCommands) Device.GL.Finish();
    }

    /// <summary>Copies the first <c>destination.Length</c> floats to the host; waits for the GPU.</summary>
    public void Download(Span<float> destination)
    {
        Device.EnsureThread();
        CheckRange(destination.Length);
        Device.GL.GetNamedBufferSubData(Handle, 0, destination);
    }

    /// <summary>Sets the first <paramref name="count"/> floats to <paramref name="value"/>.</summary>
    public unsafe void Fill(float value, int count)
    {
        Device.EnsureThread();
        CheckRange(count);
        var gl = Device.GL;
        if (count == Length)
            gl.ClearNamedBufferData(Handle, SizedInternalFormat.R32f, PixelFormat.Red, PixelType.Float, &value);
        else
            gl.ClearNamedBufferSubData(Handle, SizedInternalFormat.R32f, 0, (nuint)count * sizeof(float), PixelFormat.Red, PixelType.Float, &value);
        if (Device.SynchronousCommands) gl.Finish();
        clearPending = true;
    }

    /// <summary>Copies the first <paramref name="count"/> floats of this buffer into <paramref name="destination"/>.</summary>
    public void CopyTo(GLBuffer destination, int count)
    {
        Device.EnsureThread();
        CheckRange(count);
        destination.CheckRange(count);
        Device.GL.CopyNamedBufferSubData(Handle, destination.Handle, 0, 0, (nuint)count * sizeof(float));
        if (Device.SynchronousCommands) Device.GL.Finish();
    }

    void CheckRange(int count)
    {
        ThrowIfDisposed();
        if ((uint)count > (uint)Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} floats do not fit a buffer of {Length}");
    }
}

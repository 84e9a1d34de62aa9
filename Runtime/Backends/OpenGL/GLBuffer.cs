using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A shader storage buffer of float32 values with immutable storage (<c>glNamedBufferStorage</c> with
/// <c>GL_DYNAMIC_STORAGE_BIT</c>, so uploads by <c>glNamedBufferSubData</c> are allowed), zero-filled at creation.
/// Dispose deletes it on the owner thread (from another thread it is queued for the owner thread);
/// the finalizer never calls GL, it queues the handle on the device. Safe to dispose twice.
/// </summary>
public sealed class GLBuffer : IDisposable
{
    uint handle;

    /// <summary>Creates a zero-filled buffer of <paramref name="length"/> floats (at least 1).</summary>
    public unsafe GLBuffer(GLDevice device, int length)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        device.EnsureThread();
        long bytes = checked((long)length * sizeof(float));
        if (bytes > device.MaxShaderStorageBlockSize)
            throw new ArgumentOutOfRangeException(nameof(length),
                $"a buffer of {length} floats ({bytes / (1024 * 1024)} MiB) exceeds the driver's largest shader storage block ({device.MaxShaderStorageBlockSize / (1024 * 1024)} MiB on {device.Renderer}): use a smaller batch");
        Device = device;
        Length = length;
        var gl = device.GL;
        handle = gl.CreateBuffer();
        gl.NamedBufferStorage(handle, (nuint)bytes, null, BufferStorageMask.DynamicStorageBit);
        device.OnCreated(GLObjectKind.Buffer);
        // Immutable storage starts undefined; tensors promise zeros.
        float zero = 0;
        gl.ClearNamedBufferData(handle, SizedInternalFormat.R32f, PixelFormat.Red, PixelType.Float, &zero);
    }

    ~GLBuffer()
    {
        if (handle != 0) Device.EnqueueDelete(GLObjectKind.Buffer, handle);
    }

    /// <summary>The device whose context holds the buffer.</summary>
    public GLDevice Device { get; }
    /// <summary>Capacity in floats.</summary>
    public int Length { get; }
    /// <summary>The GL name; 0 after Dispose.</summary>
    public uint Handle => handle;
    /// <summary>True once disposed.</summary>
    public bool IsDisposed => handle == 0;

    /// <summary>Copies <paramref name="source"/> to the start of the buffer.</summary>
    public void Upload(ReadOnlySpan<float> source)
    {
        Device.EnsureThread();
        CheckRange(source.Length);
        Device.GL.NamedBufferSubData(handle, 0, source);
    }

    /// <summary>Copies the first <c>destination.Length</c> floats to the host; waits for the GPU.</summary>
    public void Download(Span<float> destination)
    {
        Device.EnsureThread();
        CheckRange(destination.Length);
        Device.GL.GetNamedBufferSubData(handle, 0, destination);
    }

    /// <summary>Sets the first <paramref name="count"/> floats to <paramref name="value"/>.</summary>
    public unsafe void Fill(float value, int count)
    {
        Device.EnsureThread();
        CheckRange(count);
        var gl = Device.GL;
        if (count == Length)
            gl.ClearNamedBufferData(handle, SizedInternalFormat.R32f, PixelFormat.Red, PixelType.Float, &value);
        else
            gl.ClearNamedBufferSubData(handle, SizedInternalFormat.R32f, 0, (nuint)count * sizeof(float), PixelFormat.Red, PixelType.Float, &value);
    }

    /// <summary>Copies the first <paramref name="count"/> floats of this buffer into <paramref name="destination"/>.</summary>
    public void CopyTo(GLBuffer destination, int count)
    {
        Device.EnsureThread();
        CheckRange(count);
        destination.CheckRange(count);
        Device.GL.CopyNamedBufferSubData(handle, destination.handle, 0, 0, (nuint)count * sizeof(float));
    }

    void CheckRange(int count)
    {
        ObjectDisposedException.ThrowIf(handle == 0, this);
        if ((uint)count > (uint)Length)
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} floats do not fit a buffer of {Length}");
    }

    /// <summary>Deletes the buffer (queued if called off the owner thread). Safe to call twice.</summary>
    public void Dispose()
    {
        if (handle == 0) return;
        uint name = handle;
        handle = 0;
        GC.SuppressFinalize(this);
        if (Device.IsOnOwnerThread) Device.Delete(GLObjectKind.Buffer, name);
        else Device.EnqueueDelete(GLObjectKind.Buffer, name);
    }
}

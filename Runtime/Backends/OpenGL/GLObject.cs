namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// The lifetime every GL object wrapper shares: a GL name deleted exactly once, on the owner thread.
/// Dispose deletes at once on the owner thread and queues the name on the device from any other thread;
/// the finalizer never calls GL, it queues the name, and the device deletes it at its next call.
/// Disposing twice is safe. The device counts live objects, so leaks show up in tests.
/// </summary>
public abstract class GLObject : IDisposable
{
    readonly GLObjectKind kind;
    uint handle;

    private protected GLObject(GLDevice device, GLObjectKind kind)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.EnsureThread();
        Device = device;
        this.kind = kind;
    }

    ~GLObject()
    {
        if (handle != 0) Device.EnqueueDelete(kind, handle);
    }

    /// <summary>The device whose context holds the object.</summary>
    public GLDevice Device { get; }
    /// <summary>The GL name; 0 before creation finished and after Dispose.</summary>
    public uint Handle => handle;
    /// <summary>True once disposed.</summary>
    public bool IsDisposed => handle == 0;

    /// <summary>Takes ownership of a freshly created GL name (counted by the device from now on).</summary>
    private protected void Adopt(uint name)
    {
        handle = name;
        Device.OnCreated(kind);
    }

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(handle == 0, this);

    /// <summary>Deletes the object (queued if called off the owner thread). Safe to call twice.</summary>
    public void Dispose()
    {
        if (handle == 0) return;
        uint name = handle;
        handle = 0;
        GC.SuppressFinalize(this);
        if (Device.IsOnOwnerThread)
        {
            OnDeleting(name);
            Device.Delete(kind, name);
        }
        else Device.EnqueueDelete(kind, name);
    }

    /// <summary>Runs on the owner thread right before the object's name is deleted (validation mode poisons buffers here).</summary>
    private protected virtual void OnDeleting(uint name) { }
}

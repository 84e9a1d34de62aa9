using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A reusable slot for one fence sync object (<c>glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE)</c>): <see cref="Insert"/>
/// replaces the slot's previous fence with a new one after every command issued so far, <see cref="IsSignaled"/>
/// polls it without waiting (<c>glClientWaitSync</c> with a zero timeout) and <see cref="Wait"/> blocks until the GPU
/// passed it. GL sync objects cannot be re-armed, so each Insert deletes one and creates one; the wrapper itself is
/// made once, so polling and re-arming allocate nothing on the managed heap.
/// Lifetime as every GL object: the device counts the fence while one exists (<see cref="GLDevice.LiveFenceCount"/>);
/// Dispose deletes it on the owner thread and queues it from any other; the finalizer only queues.
/// </summary>
public sealed class GLFence : IDisposable
{
    /// <summary>The blocking wait's slice: <see cref="Wait"/> loops on waits this long (ns) so a lost context cannot hang it silently.</summary>
    const ulong WaitSliceNanoseconds = 1_000_000_000;

    nint sync;
    long completes; // validation mode: the command sequence number this fence completes
    bool disposed;

    /// <summary>An empty slot on <paramref name="device"/> (no fence until <see cref="Insert"/>).</summary>
    public GLFence(GLDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.EnsureThread();
        Device = device;
    }

    ~GLFence()
    {
        if (sync != 0) Device.EnqueueDelete(GLObjectKind.Fence, sync);
    }

    /// <summary>The device whose context holds the fence.</summary>
    public GLDevice Device { get; }
    /// <summary>True while the slot holds a fence (between <see cref="Insert"/> and <see cref="Release"/>).</summary>
    public bool IsArmed => sync != 0;
    /// <summary>True once disposed.</summary>
    public bool IsDisposed => disposed;

    /// <summary>Replaces the slot's fence with one after every command issued so far, and flushes (<c>glFlush</c>, which does
    /// not wait) so that the fence reaches the GPU and a later zero-timeout poll can see it signalled.</summary>
    public void Insert()
    {
        EnsureUsable();
        Release();
        var gl = Device.GL;
        nint created = gl.FenceSync(SyncCondition.SyncGpuCommandsComplete, SyncBehaviorFlags.None);
        if (created == 0) throw new GLException($"glFenceSync returned no sync object on {Device.Renderer}");
        sync = created;
        completes = Device.Validator?.Tracker.FenceInserted() ?? 0;
        Device.OnCreated(GLObjectKind.Fence);
        gl.Flush();
    }

    /// <summary>True when the GPU has passed the fence; never waits (<c>glClientWaitSync</c>, timeout 0).</summary>
    /// <exception cref="InvalidOperationException">The slot holds no fence.</exception>
    public bool IsSignaled
    {
        get
        {
            EnsureArmed();
            var status = Device.GL.ClientWaitSync(sync, 0u, 0);
            return status switch
            {
                GLEnum.AlreadySignaled or GLEnum.ConditionSatisfied => Passed(),
                GLEnum.TimeoutExpired => false,
                _ => throw new GLException($"glClientWaitSync failed on {Device.Renderer} ({status})"),
            };
        }
    }

    /// <summary>Blocks until the GPU has passed the fence (for a caller that asked to wait).</summary>
    /// <exception cref="InvalidOperationException">The slot holds no fence.</exception>
    public void Wait()
    {
        EnsureArmed();
        while (true)
        {
            var status = Device.GL.ClientWaitSync(sync, (uint)GLEnum.SyncFlushCommandsBit, WaitSliceNanoseconds);
            if (status is GLEnum.AlreadySignaled or GLEnum.ConditionSatisfied)
            {
                Passed();
                return;
            }
            if (status != GLEnum.TimeoutExpired) throw new GLException($"glClientWaitSync failed on {Device.Renderer} ({status})");
        }
    }

    /// <summary>The host saw the fence pass: every command before it is complete (validation mode records it).</summary>
    bool Passed()
    {
        Device.Validator?.Tracker.Completed(completes);
        return true;
    }

    /// <summary>Deletes the slot's fence, if any (the slot stays usable).</summary>
    public void Release()
    {
        EnsureUsable();
        if (sync == 0) return;
        nint old = sync;
        sync = 0;
        Device.Delete(GLObjectKind.Fence, old);
    }

    void EnsureUsable()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        Device.EnsureThread();
    }

    void EnsureArmed()
    {
        EnsureUsable();
        if (sync == 0) throw new InvalidOperationException("the fence slot holds no fence: call Insert first");
    }

    /// <summary>Deletes the fence (queued if called off the owner thread). Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        GC.SuppressFinalize(this);
        if (sync == 0) return;
        nint old = sync;
        sync = 0;
        if (Device.IsOnOwnerThread) Device.Delete(GLObjectKind.Fence, old);
        else Device.EnqueueDelete(GLObjectKind.Fence, old);
    }
}

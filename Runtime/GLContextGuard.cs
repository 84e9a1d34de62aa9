using NeuroPlugin.Backends.OpenGL;
using Silk.NET.OpenGL;

namespace NeuroPlugin;

/// <summary>
/// The context rules of a model on a GL device, checked at the start of every call, before any GL command: the device
/// is alive (else <see cref="ContextLostException"/>), the call comes from its thread (else
/// <see cref="WrongThreadException"/>), its context is the one current on that thread (EGL contexts: the one the device
/// was made with; any context: one is current at all) and the driver has not reset it (<c>glGetGraphicsResetStatus</c>,
/// core since GL 4.5; a context without robustness always answers "no reset"). Three driver queries, no allocation.
/// </summary>
internal sealed class GLContextGuard
{
    readonly GLDevice device;
    readonly nint eglContext;
    readonly bool canQueryReset;

    /// <summary>Watches <paramref name="device"/>, whose context is current on the calling thread now.</summary>
    public GLContextGuard(GLDevice device)
    {
        this.device = device;
        device.EnsureThread();
        // a host's context is recognized again only if it is an EGL one; GLX and WGL hosts get the "any context" check
        eglContext = device.OwnsContext ? device.EglContext : CurrentEglContext();
        canQueryReset = device.MajorVersion > 4 || device.MinorVersion >= 5;
    }

    /// <summary>Throws unless the device's context is usable from this thread now.</summary>
    public void Check()
    {
        if (device.IsDisposed)
            throw new ContextLostException($"{device} was disposed: its context and every GPU object of the model are gone; load the model again on a live context");
        device.EnsureThread();
        if (eglContext != 0 && Egl.GetCurrentContext() != eglContext)
            throw new ContextLostException($"the OpenGL context of {device} is no longer current on thread {Environment.CurrentManagedThreadId}: " +
                "another context (or none) was made current; make it current again before using the model");
        unsafe
        {
            if (device.GL.GetString(StringName.Version) == null)
                throw new ContextLostException($"no OpenGL context is current on thread {Environment.CurrentManagedThreadId} (the game released or destroyed the context of {device})");
        }
        if (canQueryReset && device.GL.GetGraphicsResetStatus() is var status && status != GLEnum.NoError)
            throw new ContextLostException($"the driver reset the OpenGL context of {device} ({status}): every GPU object of the model is gone; load the model again");
    }

    static nint CurrentEglContext()
    {
        try
        {
            return Egl.GetCurrentContext();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0; // no EGL on this platform: the host's context is WGL, GLX or CGL
        }
    }
}

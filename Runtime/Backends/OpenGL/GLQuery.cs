using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A timer query object (<c>glCreateQueries(GL_TIMESTAMP)</c>, core since GL 3.3): <see cref="RecordTimestamp"/>
/// issues <c>glQueryCounter</c>, and the GL writes the time once every earlier command has completed;
/// <see cref="TryReadTimestamp"/> checks <c>GL_QUERY_RESULT_AVAILABLE</c> first, so it never waits for the GPU.
/// Lifetime as every <see cref="GLObject"/>: deleted once, on the owner thread, never from a finalizer.
/// </summary>
public sealed class GLQuery : GLObject
{
    bool recorded;

    /// <summary>Creates a timestamp query on <paramref name="device"/>.</summary>
    public GLQuery(GLDevice device) : base(device, GLObjectKind.Query)
    {
        uint name = 0;
        device.GL.CreateQueries(GLEnum.Timestamp, 1, out name);
        if (name == 0) throw new GLException($"glCreateQueries(GL_TIMESTAMP) returned no query object on {device.Renderer}");
        Adopt(name);
    }

    /// <summary>Records the GL time at which every command issued so far has completed.</summary>
    public void RecordTimestamp()
    {
        Device.EnsureThread();
        ThrowIfDisposed();
        Device.GL.QueryCounter(Handle, QueryCounterTarget.Timestamp);
        recorded = true;
    }

    /// <summary>Non-blocking read: true with the timestamp (ns) when the last <see cref="RecordTimestamp"/> has completed.</summary>
    public bool TryReadTimestamp(out long nanoseconds)
    {
        Device.EnsureThread();
        ThrowIfDisposed();
        nanoseconds = 0;
        if (!recorded) return false;
        var gl = Device.GL;
        gl.GetQueryObject(Handle, QueryObjectParameterName.ResultAvailable, out int available);
        if (available == 0) return false;
        gl.GetQueryObject(Handle, QueryObjectParameterName.Result, out long value);
        nanoseconds = value;
        return true;
    }
}

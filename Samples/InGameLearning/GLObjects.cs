using NeuroPlugin.Backends.OpenGL;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Samples.InGameLearning;

/// <summary>
/// The lifetime of a GL object the game creates for drawing: one GL name, deleted exactly once, on the
/// thread whose context holds it (disposing from another thread throws instead of calling GL there).
/// There is no finalizer: a GL object the game forgets dies with its context, never on the GC's thread.
/// </summary>
public abstract class GameGLObject : IDisposable
{
    uint name;

    /// <summary>Creates the GL object with <paramref name="create"/>, on the context's thread only.</summary>
    private protected GameGLObject(GLDevice device, Func<GL, uint> create, string what)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (Environment.CurrentManagedThreadId != device.OwnerThreadId)
            throw new InvalidOperationException($"a {what} must be created on the GL thread {device.OwnerThreadId}, not {Environment.CurrentManagedThreadId}");
        Device = device;
        name = create(device.GL);
        if (name == 0) throw new GLException($"creating a {what} returned no name");
    }

    /// <summary>The device whose context holds the object.</summary>
    public GLDevice Device { get; }
    /// <summary>The GL name; 0 after Dispose.</summary>
    public uint Handle => name;

    private protected abstract void Delete(GL gl, uint name);

    /// <summary>Deletes the object on the context's thread. Safe to call twice.</summary>
    public void Dispose()
    {
        if (name == 0) return;
        if (Environment.CurrentManagedThreadId != Device.OwnerThreadId)
            throw new InvalidOperationException($"{GetType().Name} {name} must be disposed on the GL thread {Device.OwnerThreadId}, not {Environment.CurrentManagedThreadId}");
        if (!Device.IsDisposed) Delete(Device.GL, name);
        name = 0;
    }
}

/// <summary>An immutable RGBA8 2D texture (<c>glTextureStorage2D</c>, one level, linear filtering, clamped).</summary>
public sealed class GLTexture2D : GameGLObject
{
    public GLTexture2D(GLDevice device, int width, int height)
        : base(device, gl => gl.CreateTexture(TextureTarget.Texture2D), "texture")
    {
        Width = width;
        Height = height;
        var gl = device.GL;
        try
        {
            gl.TextureStorage2D(Handle, 1, SizedInternalFormat.Rgba8, (uint)width, (uint)height);
            gl.TextureParameter(Handle, TextureParameterName.TextureMinFilter, (int)TextureMinFilter.Linear);
            gl.TextureParameter(Handle, TextureParameterName.TextureMagFilter, (int)TextureMagFilter.Linear);
            gl.TextureParameter(Handle, TextureParameterName.TextureWrapS, (int)TextureWrapMode.ClampToEdge);
            gl.TextureParameter(Handle, TextureParameterName.TextureWrapT, (int)TextureWrapMode.ClampToEdge);
            device.CheckErrors($"creating a {width}×{height} RGBA8 texture");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>Copies the texture to <paramref name="rgba"/> (rows bottom-up, 4 bytes a pixel). Waits for the GPU:
    /// for the few frames the sample saves as pictures, never in the frame loop's timed part.</summary>
    public void Read(Span<byte> rgba)
    {
        if (rgba.Length != Width * Height * 4) throw new ArgumentException($"{Width}×{Height} RGBA needs {Width * Height * 4} bytes, got {rgba.Length}", nameof(rgba));
        Device.GL.GetTextureImage(Handle, 0, PixelFormat.Rgba, PixelType.UnsignedByte, (uint)rgba.Length, rgba);
    }

    private protected override void Delete(GL gl, uint name) => gl.DeleteTexture(name);
}

/// <summary>A framebuffer object drawing into one texture (colour attachment 0).</summary>
public sealed class GLFramebuffer : GameGLObject
{
    public GLFramebuffer(GLDevice device, GLTexture2D color) : base(device, gl => gl.CreateFramebuffer(), "framebuffer")
    {
        var gl = device.GL;
        gl.NamedFramebufferTexture(Handle, FramebufferAttachment.ColorAttachment0, color.Handle, 0);
        var status = gl.CheckNamedFramebufferStatus(Handle, FramebufferTarget.Framebuffer);
        Color = color;
        if (status != GLEnum.FramebufferComplete)
        {
            Dispose();
            throw new GLException($"framebuffer on a {color.Width}×{color.Height} RGBA8 texture is incomplete: {status}");
        }
    }

    /// <summary>The texture it draws into.</summary>
    public GLTexture2D Color { get; }

    private protected override void Delete(GL gl, uint name) => gl.DeleteFramebuffer(name);
}

/// <summary>A vertex buffer with immutable storage, updated by <c>glNamedBufferSubData</c>.</summary>
public sealed class GLVertexBuffer : GameGLObject
{
    public GLVertexBuffer(GLDevice device, int floats) : base(device, gl => gl.CreateBuffer(), "vertex buffer")
    {
        device.GL.NamedBufferStorage<float>(Handle, (nuint)(floats * sizeof(float)), new float[floats], BufferStorageMask.DynamicStorageBit);
        Length = floats;
    }

    /// <summary>Capacity in floats.</summary>
    public int Length { get; }

    public void Upload(ReadOnlySpan<float> values) => Device.GL.NamedBufferSubData(Handle, 0, values);

    private protected override void Delete(GL gl, uint name) => gl.DeleteBuffer(name);
}

/// <summary>A vertex array object: which buffers feed which vertex attributes.</summary>
public sealed class GLVertexArray : GameGLObject
{
    public GLVertexArray(GLDevice device) : base(device, gl => gl.CreateVertexArray(), "vertex array") { }

    private protected override void Delete(GL gl, uint name) => gl.DeleteVertexArray(name);
}

/// <summary>A linked vertex + fragment program; compile and link failures throw <see cref="ShaderCompilationException"/>
/// with the driver's log (the shader objects are deleted once linked).</summary>
public sealed class GLDrawProgram : GameGLObject
{
    public GLDrawProgram(GLDevice device, string name, string vertexSource, string fragmentSource)
        : base(device, gl => gl.CreateProgram(), "program")
    {
        var gl = device.GL;
        uint vertex = 0, fragment = 0;
        try
        {
            vertex = Compile(gl, name, ShaderType.VertexShader, vertexSource);
            fragment = Compile(gl, name, ShaderType.FragmentShader, fragmentSource);
            gl.AttachShader(Handle, vertex);
            gl.AttachShader(Handle, fragment);
            gl.LinkProgram(Handle);
            gl.DetachShader(Handle, vertex);
            gl.DetachShader(Handle, fragment);
            if (gl.GetProgram(Handle, ProgramPropertyARB.LinkStatus) == 0)
                throw new ShaderCompilationException(name, gl.GetProgramInfoLog(Handle), $"{name}: link failed: {gl.GetProgramInfoLog(Handle)}");
        }
        catch
        {
            Dispose();
            throw;
        }
        finally
        {
            if (vertex != 0) gl.DeleteShader(vertex);
            if (fragment != 0) gl.DeleteShader(fragment);
        }
    }

    /// <summary>The location of a uniform (-1 when the compiler removed it).</summary>
    public int UniformLocation(string name) => Device.GL.GetUniformLocation(Handle, name);

    static uint Compile(GL gl, string name, ShaderType type, string source)
    {
        uint shader = gl.CreateShader(type);
        gl.ShaderSource(shader, source);
        gl.CompileShader(shader);
        if (gl.GetShader(shader, ShaderParameterName.CompileStatus) != 0) return shader;
        string log = gl.GetShaderInfoLog(shader);
        gl.DeleteShader(shader);
        throw new ShaderCompilationException(name, log, $"{name}: {type} failed to compile: {log}");
    }

    private protected override void Delete(GL gl, uint name) => gl.DeleteProgram(name);
}

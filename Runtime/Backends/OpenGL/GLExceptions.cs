namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// No usable OpenGL: the EGL library is missing, no display or context could be created, or the driver
/// offers less than OpenGL 4.3 with compute shaders. The message says what is missing and how to get it.
/// </summary>
public sealed class GLUnavailableException : Exception
{
    /// <summary>No usable OpenGL; <paramref name="message"/> says what is missing and how to get it.</summary>
    public GLUnavailableException(string message) : base(message) { }
    /// <summary>No usable OpenGL because of <paramref name="inner"/> (e.g. the EGL library failed to load).</summary>
    public GLUnavailableException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The driver reported errors (<c>glGetError</c> or a KHR_debug error message) after a GL call.</summary>
public sealed class GLException : Exception
{
    /// <summary>A driver error; <paramref name="message"/> names the GL call and the error codes or debug messages.</summary>
    public GLException(string message) : base(message) { }
}

/// <summary>
/// A compute shader failed to compile or link. <see cref="FileName"/> names the shader and
/// <see cref="InfoLog"/> holds the driver's log; the message contains both (and which source-string number
/// stands for which included file, since drivers report positions as <c>source:line</c>).
/// </summary>
public sealed class ShaderCompilationException : Exception
{
    /// <summary>Shader <paramref name="fileName"/> failed with driver log <paramref name="infoLog"/>;
    /// <paramref name="message"/> is the full text shown to the user.</summary>
    public ShaderCompilationException(string fileName, string infoLog, string message) : base(message)
    {
        FileName = fileName;
        InfoLog = infoLog;
    }

    /// <summary>The shader's file name, e.g. <c>conv2d.comp</c>.</summary>
    public string FileName { get; }
    /// <summary>The driver's compile or link log.</summary>
    public string InfoLog { get; }
}

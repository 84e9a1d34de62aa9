using System.Runtime.InteropServices;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// The few EGL 1.4/1.5 entry points that headless OpenGL needs, from <c>libEGL.so.1</c> (GLVND or Mesa).
/// Extension functions (<c>eglGetPlatformDisplayEXT</c>, <c>eglQueryDevicesEXT</c>,
/// <c>eglQueryDeviceStringEXT</c>) are not exported by every loader, so they are looked up through
/// <c>eglGetProcAddress</c> and called through unmanaged function pointers.
/// Calls throw <see cref="DllNotFoundException"/> when the library is missing; <see cref="GLDevice"/>
/// turns that into a <see cref="GLUnavailableException"/> that says which packages to install.
/// </summary>
internal static unsafe class Egl
{
    const string Library = "libEGL.so.1";

    public const int None = 0x3038;
    public const int True = 1;
    public const int Extensions = 0x3055;
    public const int RenderableType = 0x3040;
    public const int OpenGLBit = 0x0008;
    public const int OpenGLApi = 0x30A2;
    public const int ContextMajorVersion = 0x3098;
    public const int ContextMinorVersion = 0x30FB;
    public const int ContextOpenGLProfileMask = 0x30FD;
    public const int ContextOpenGLCoreProfileBit = 0x0001;
    public const int ContextOpenGLDebug = 0x31B0;
    public const int PlatformDeviceExt = 0x313F;
    public const int PlatformSurfacelessMesa = 0x31DD;

    [DllImport(Library, EntryPoint = "eglGetProcAddress")]
    public static extern nint GetProcAddress([MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    [DllImport(Library, EntryPoint = "eglGetError")]
    public static extern int GetError();

    [DllImport(Library, EntryPoint = "eglQueryString")]
    public static extern nint QueryStringNative(nint display, int name);

    [DllImport(Library, EntryPoint = "eglInitialize")]
    public static extern int Initialize(nint display, out int major, out int minor);

    [DllImport(Library, EntryPoint = "eglTerminate")]
    public static extern int Terminate(nint display);

    [DllImport(Library, EntryPoint = "eglBindAPI")]
    public static extern int BindApi(int api);

    [DllImport(Library, EntryPoint = "eglChooseConfig")]
    public static extern int ChooseConfig(nint display, int* attributes, nint* configs, int configSize, out int configCount);

    [DllImport(Library, EntryPoint = "eglCreateContext")]
    public static extern nint CreateContext(nint display, nint config, nint shareContext, int* attributes);

    [DllImport(Library, EntryPoint = "eglDestroyContext")]
    public static extern int DestroyContext(nint display, nint context);

    [DllImport(Library, EntryPoint = "eglMakeCurrent")]
    public static extern int MakeCurrent(nint display, nint draw, nint read, nint context);

    [DllImport(Library, EntryPoint = "eglGetCurrentContext")]
    public static extern nint GetCurrentContext();

    /// <summary><c>eglQueryString</c> as a managed string; null when EGL returns NULL.</summary>
    public static string? QueryString(nint display, int name) => Marshal.PtrToStringUTF8(QueryStringNative(display, name));

    /// <summary>True when the space-separated extension list contains <paramref name="extension"/> as a whole word.</summary>
    public static bool HasExtension(string? extensions, string extension)
    {
        if (extensions is null) return false;
        foreach (var word in extensions.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (word == extension) return true;
        return false;
    }

    /// <summary>Calls <c>eglGetPlatformDisplayEXT</c>; returns 0 (EGL_NO_DISPLAY) when the extension is missing.</summary>
    public static nint GetPlatformDisplay(int platform, nint nativeDisplay)
    {
        var function = (delegate* unmanaged<int, nint, int*, nint>)GetProcAddress("eglGetPlatformDisplayEXT");
        if (function == null) return 0;
        int* attributes = stackalloc int[] { None };
        return function(platform, nativeDisplay, attributes);
    }

    /// <summary>Lists the devices of <c>EGL_EXT_device_enumeration</c>; empty when the extension is missing.</summary>
    public static nint[] QueryDevices()
    {
        var function = (delegate* unmanaged<int, nint*, int*, int>)GetProcAddress("eglQueryDevicesEXT");
        if (function == null) return [];
        int count;
        if (function(0, null, &count) == 0 || count <= 0) return [];
        var devices = new nint[count];
        fixed (nint* pointer = devices)
            if (function(count, pointer, &count) == 0) return [];
        return devices.AsSpan(0, count).ToArray();
    }

    /// <summary>Calls <c>eglQueryDeviceStringEXT</c>; null when the extension or the string is missing.</summary>
    public static string? QueryDeviceString(nint device, int name)
    {
        var function = (delegate* unmanaged<nint, int, nint>)GetProcAddress("eglQueryDeviceStringEXT");
        return function == null ? null : Marshal.PtrToStringUTF8(function(device, name));
    }

    /// <summary>The symbolic name of an EGL error code, for messages.</summary>
    public static string ErrorName(int code) => code switch
    {
        0x3000 => "EGL_SUCCESS",
        0x3001 => "EGL_NOT_INITIALIZED",
        0x3002 => "EGL_BAD_ACCESS",
        0x3003 => "EGL_BAD_ALLOC",
        0x3004 => "EGL_BAD_ATTRIBUTE",
        0x3005 => "EGL_BAD_CONFIG",
        0x3006 => "EGL_BAD_CONTEXT",
        0x3007 => "EGL_BAD_CURRENT_SURFACE",
        0x3008 => "EGL_BAD_DISPLAY",
        0x3009 => "EGL_BAD_MATCH",
        0x300A => "EGL_BAD_NATIVE_PIXMAP",
        0x300B => "EGL_BAD_NATIVE_WINDOW",
        0x300C => "EGL_BAD_PARAMETER",
        0x300D => "EGL_BAD_SURFACE",
        0x300E => "EGL_CONTEXT_LOST",
        _ => $"EGL error 0x{code:X4}",
    };
}

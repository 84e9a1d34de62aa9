using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// Headless OpenGL contexts through EGL, for <see cref="GLDevice.CreateHeadless"/>: tries the EGL device platform
/// (<c>EGL_EXT_platform_device</c>, how NVIDIA drivers run headless), then Mesa's surfaceless platform, then Mesa's
/// software device; asks for OpenGL 4.5 core, then 4.3; needs no window and no config where
/// <c>EGL_KHR_no_config_context</c> is offered. Displays are shared by every device of a platform and counted, so
/// destroying one device's context does not terminate another's display.
/// </summary>
internal static class EglHeadless
{
    // eglInitialize/eglTerminate act on the whole display, which every headless device of a platform shares:
    // count the users so that disposing one device does not terminate the others' display.
    static readonly Dictionary<nint, int> displayUsers = new();

    /// <summary>A headless context on the first platform that gives one, current on this thread, wrapped in a device that owns it.</summary>
    public static GLDevice Create(bool debug)
    {
        // Client extensions (queried on EGL_NO_DISPLAY) say which platforms this EGL can open.
        string? clientExtensions = Egl.QueryString(0, Egl.Extensions);
        var attempts = new List<(string Name, int Platform, nint NativeDisplay)>();
        var software = new List<nint>();
        if (Egl.HasExtension(clientExtensions, "EGL_EXT_platform_device"))
            foreach (nint device in Egl.QueryDevices())
            {
                if (Egl.HasExtension(Egl.QueryDeviceString(device, Egl.Extensions), "EGL_MESA_device_software")) software.Add(device);
                else attempts.Add(("EGL device platform", Egl.PlatformDeviceExt, device));
            }
        if (Egl.HasExtension(clientExtensions, "EGL_MESA_platform_surfaceless"))
            attempts.Add(("EGL surfaceless (Mesa)", Egl.PlatformSurfacelessMesa, 0));
        foreach (nint device in software)
            attempts.Add(("EGL device platform (software)", Egl.PlatformDeviceExt, device));

        var failures = new List<string>();
        if (attempts.Count == 0)
            failures.Add($"EGL offers neither EGL_EXT_platform_device with devices nor EGL_MESA_platform_surfaceless (client extensions: {clientExtensions ?? "none"})");
        GLUnavailableException? tooOld = null;
        foreach (var (name, platform, nativeDisplay) in attempts)
        {
            try
            {
                if (TryCreate(name, platform, nativeDisplay, debug, out var device, out var failure)) return device!;
                failures.Add($"{name}: {failure}");
            }
            catch (GLUnavailableException e)
            {
                tooOld ??= e;
                failures.Add($"{name}: {e.Message}");
            }
        }
        if (tooOld is not null && failures.Count == 1) throw tooOld;
        throw new GLUnavailableException(
            $"no headless OpenGL 4.3 context could be created through EGL ({string.Join("; ", failures)}): install the Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri (Mesa's llvmpipe), or a GPU driver with EGL");
    }

    static unsafe bool TryCreate(string name, int platform, nint nativeDisplay, bool debug, out GLDevice? device, out string failure)
    {
        device = null;
        nint display = Egl.GetPlatformDisplay(platform, nativeDisplay);
        if (display == 0) { failure = $"eglGetPlatformDisplayEXT failed ({Egl.ErrorName(Egl.GetError())})"; return false; }
        if (!AcquireDisplay(display, out failure)) return false;
        nint context = 0;
        bool current = false;
        try
        {
            if (Egl.BindApi(Egl.OpenGLApi) == 0) { failure = $"eglBindAPI(EGL_OPENGL_API) failed ({Egl.ErrorName(Egl.GetError())})"; return false; }
            string? extensions = Egl.QueryString(display, Egl.Extensions);
            if (!Egl.HasExtension(extensions, "EGL_KHR_surfaceless_context"))
            {
                failure = "the display lacks EGL_KHR_surfaceless_context (a context without a window)";
                return false;
            }
            nint config = 0; // EGL_NO_CONFIG_KHR
            if (!Egl.HasExtension(extensions, "EGL_KHR_no_config_context"))
            {
                int* configAttributes = stackalloc int[] { Egl.RenderableType, Egl.OpenGLBit, Egl.None };
                if (Egl.ChooseConfig(display, configAttributes, &config, 1, out int count) == 0 || count == 0)
                {
                    failure = $"no EGL config renders OpenGL ({Egl.ErrorName(Egl.GetError())})";
                    return false;
                }
            }
            // 4.5 first (direct state access is core there), 4.3 as the floor; a debug context only if asked,
            // and without one if the driver refuses it.
            int* attributes = stackalloc int[9];
            foreach (int minor in new[] { 5, 3 })
            {
                foreach (bool debugContext in debug ? new[] { true, false } : new[] { false })
                {
                    attributes[0] = Egl.ContextMajorVersion; attributes[1] = 4;
                    attributes[2] = Egl.ContextMinorVersion; attributes[3] = minor;
                    attributes[4] = Egl.ContextOpenGLProfileMask; attributes[5] = Egl.ContextOpenGLCoreProfileBit;
                    attributes[6] = debugContext ? Egl.ContextOpenGLDebug : Egl.None; attributes[7] = Egl.True;
                    attributes[8] = Egl.None;
                    context = Egl.CreateContext(display, config, 0, attributes);
                    if (context != 0) break;
                }
                if (context != 0) break;
            }
            if (context == 0) { failure = $"eglCreateContext refused OpenGL 4.5 and 4.3 core ({Egl.ErrorName(Egl.GetError())})"; return false; }
            if (Egl.MakeCurrent(display, 0, 0, context) == 0) { failure = $"eglMakeCurrent without a surface failed ({Egl.ErrorName(Egl.GetError())})"; return false; }
            current = true;
            var gl = GL.GetApi(Egl.GetProcAddress);
            device = new GLDevice(gl, display, context, ownsContext: true, name);
            if (debug) device.DebugMode = true;
            failure = "";
            return true;
        }
        finally
        {
            if (device is null)
            {
                if (current) Egl.MakeCurrent(display, 0, 0, 0);
                if (context != 0) Egl.DestroyContext(display, context);
                ReleaseDisplay(display);
            }
        }
    }

    static bool AcquireDisplay(nint display, out string failure)
    {
        lock (displayUsers)
        {
            displayUsers.TryGetValue(display, out int users);
            if (users == 0 && Egl.Initialize(display, out _, out _) == 0)
            {
                failure = $"eglInitialize failed ({Egl.ErrorName(Egl.GetError())})";
                return false;
            }
            displayUsers[display] = users + 1;
            failure = "";
            return true;
        }
    }

    static void ReleaseDisplay(nint display)
    {
        lock (displayUsers)
        {
            if (!displayUsers.TryGetValue(display, out int users)) return;
            if (users > 1) { displayUsers[display] = users - 1; return; }
            displayUsers.Remove(display);
            Egl.Terminate(display);
        }
    }

    /// <summary>Destroys a context made by <see cref="Create"/> (detaching it first when it is current on this thread)
    /// and releases its display.</summary>
    public static void Destroy(nint display, nint context, bool current)
    {
        if (current) Egl.MakeCurrent(display, 0, 0, 0);
        Egl.DestroyContext(display, context);
        ReleaseDisplay(display);
    }
}

using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Backends.OpenGL;
using Silk.NET.OpenGL;

namespace NeuroPlugin;

/// <summary>
/// Where a <see cref="NeuroModel"/> runs. A description, not a resource: the model creates (and disposes) what it needs
/// when it loads.
/// <list type="table">
/// <item><term><see cref="Auto"/></term><description>a headless GL context when one can be created, else the CPU.</description></item>
/// <item><term><see cref="Cpu"/></term><description>the CPU backend (every platform; the reference the GPU is tested against).</description></item>
/// <item><term><see cref="HeadlessGL"/></term><description>a GL 4.3+ context of its own through EGL, without a window (Linux:
/// GPU drivers with EGL, or Mesa's llvmpipe).</description></item>
/// <item><term><see cref="CurrentContext"/></term><description>the game's own GL context, current on the calling thread
/// (render thread): the model's buffers live beside the game's textures, so it can read them without a copy.</description></item>
/// </list>
/// A headless context becomes current on the thread that loads the model. In a game that renders with OpenGL, load on
/// the render thread with <see cref="CurrentContext"/> instead (a headless context made current there would replace the
/// game's), or give the headless model a thread of its own.
/// </summary>
public sealed class NeuroDevice
{
    enum Kind { Auto, Cpu, HeadlessGL, CurrentContext, Device, Backend }

    readonly Kind kind;
    readonly GL? gl;
    readonly GLDevice? device;
    readonly IBackend? backend;

    NeuroDevice(Kind kind, GL? gl = null, GLDevice? device = null, IBackend? backend = null)
    {
        this.kind = kind;
        this.gl = gl;
        this.device = device;
        this.backend = backend;
    }

    /// <summary>A headless GL context if one can be created (<see cref="GLUnavailableException"/> otherwise), else the CPU.</summary>
    public static NeuroDevice Auto { get; } = new(Kind.Auto);
    /// <summary>The CPU backend.</summary>
    public static NeuroDevice Cpu { get; } = new(Kind.Cpu);
    /// <summary>A headless GL context of the model's own (<see cref="GLDevice.CreateHeadless"/>), current on the loading thread.</summary>
    public static NeuroDevice HeadlessGL { get; } = new(Kind.HeadlessGL);

    /// <summary>The game's GL context, which must be current on the calling thread (<see cref="GLDevice.FromCurrentContext"/>);
    /// the model never makes another context current and never destroys this one.</summary>
    public static NeuroDevice CurrentContext(GL gl)
    {
        ArgumentNullException.ThrowIfNull(gl);
        return new(Kind.CurrentContext, gl: gl);
    }

    /// <summary>A GL device the game already made (several models can share it); the model does not dispose it.</summary>
    public static NeuroDevice Of(GLDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return new(Kind.Device, device: device);
    }

    /// <summary>A backend the caller already made (to share one backend between models and the game's own tensors); the
    /// model does not dispose it.</summary>
    public static NeuroDevice Of(IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return new(Kind.Backend, backend: backend);
    }

    /// <summary>The backend for a model, and whether the model owns (disposes) it.</summary>
    /// <exception cref="GLUnavailableException"><see cref="HeadlessGL"/> or <see cref="CurrentContext"/> without a usable GL 4.3 context.</exception>
    internal (IBackend Backend, bool Owned) Open()
    {
        switch (kind)
        {
            case Kind.Cpu:
                return (new CpuBackend(), true);
            case Kind.HeadlessGL:
                return (GLBackend.CreateHeadless(), true);
            case Kind.CurrentContext:
                var wrapped = GLDevice.FromCurrentContext(gl!);
                return (new GLBackend(wrapped, ownsDevice: true), true);
            case Kind.Device:
                return (new GLBackend(device!, ownsDevice: false), true);
            case Kind.Backend:
                return (backend!, false);
            default:
                try
                {
                    return (GLBackend.CreateHeadless(), true);
                }
                catch (GLUnavailableException)
                {
                    return (new CpuBackend(), true);
                }
        }
    }

    /// <summary>"auto", "cpu", "headless GL", "current GL context", "GL device …", "backend …".</summary>
    public override string ToString() => kind switch
    {
        Kind.Auto => "auto",
        Kind.Cpu => "cpu",
        Kind.HeadlessGL => "headless GL",
        Kind.CurrentContext => "current GL context",
        Kind.Device => $"GL device {device}",
        _ => $"backend {backend!.Name} ({backend.DeviceName})",
    };
}

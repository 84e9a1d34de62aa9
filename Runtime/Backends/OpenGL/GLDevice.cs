using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// One OpenGL 4.3+ context used for compute: either a headless context this class created through EGL
/// (<see cref="CreateHeadless"/>), or the host game's context (<see cref="FromCurrentContext"/>), which it
/// never destroys. Reports the driver strings and the limits the kernels depend on, counts live GL objects
/// (so tests can assert nothing leaks), checks GL errors, and enforces thread affinity: a GL context is
/// current on one thread, so every GL-touching call checks it is on <see cref="OwnerThreadId"/> and throws
/// <see cref="WrongThreadException"/> otherwise. GL objects whose wrappers were finalized are queued
/// here and deleted on the owner thread at the next call (finalizers never call GL).
/// </summary>
public sealed class GLDevice : IDisposable
{
    const int NoThread = -1;

    readonly nint eglDisplay, eglContext;
    readonly bool ownsContext;
    readonly ConcurrentQueue<PendingDelete> pendingDeletes = new();
    readonly ConcurrentQueue<string> debugMessages = new();
    int pendingDeleteCount;
    int ownerThreadId;
    int liveBuffers, livePrograms, liveQueries, liveSamplers, liveFences;
    bool debugMode, disposed;
    GLValidator? validator;
    BoundStorage[] boundStorage = [];
    long dispatchGeneration; // counts dispatches: a binding belongs to the dispatch whose generation it carries
    DebugProc? debugCallback; // held so the delegate outlives the native pointer the driver keeps

    /// <summary>Wraps a context current on this thread; <see cref="EglHeadless"/> passes the EGL display and context it made.</summary>
    internal GLDevice(GL gl, nint display, nint context, bool ownsContext, string origin)
    {
        GL = gl;
        eglDisplay = display;
        eglContext = context;
        this.ownsContext = ownsContext;
        Origin = origin;
        ownerThreadId = Environment.CurrentManagedThreadId;

        Version = ReadString(StringName.Version) ?? throw new GLUnavailableException(
            "no OpenGL context is current on this thread (glGetString(GL_VERSION) returned NULL): make the host's context current before calling GLDevice.FromCurrentContext");
        Vendor = ReadString(StringName.Vendor) ?? "";
        Renderer = ReadString(StringName.Renderer) ?? "";
        ShadingLanguageVersion = ReadString(StringName.ShadingLanguageVersion) ?? "";
        MajorVersion = gl.GetInteger(GetPName.MajorVersion);
        MinorVersion = gl.GetInteger(GetPName.MinorVersion);
        if (MajorVersion < 4 || (MajorVersion == 4 && MinorVersion < 3))
            throw new GLUnavailableException(
                $"OpenGL 4.3 with compute shaders is required, the driver offers {Version} ({Renderer}): update the GPU driver, or install the Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri for Mesa's llvmpipe");

        MaxShaderStorageBlockSize = gl.GetInteger64(GLEnum.MaxShaderStorageBlockSize);
        MaxShaderStorageBufferBindings = gl.GetInteger(GLEnum.MaxShaderStorageBufferBindings);
        StorageOffsetAlignment = Math.Max(1, gl.GetInteger(GLEnum.ShaderStorageBufferOffsetAlignment));
        MaxWorkGroupCountX = gl.GetInteger(GLEnum.MaxComputeWorkGroupCount, 0);
        MaxWorkGroupCountY = gl.GetInteger(GLEnum.MaxComputeWorkGroupCount, 1);
        MaxWorkGroupCountZ = gl.GetInteger(GLEnum.MaxComputeWorkGroupCount, 2);
        MaxWorkGroupSizeX = gl.GetInteger(GLEnum.MaxComputeWorkGroupSize, 0);
        MaxWorkGroupSizeY = gl.GetInteger(GLEnum.MaxComputeWorkGroupSize, 1);
        MaxWorkGroupSizeZ = gl.GetInteger(GLEnum.MaxComputeWorkGroupSize, 2);
        MaxWorkGroupInvocations = gl.GetInteger(GLEnum.MaxComputeWorkGroupInvocations);
        MaxSharedMemorySize = gl.GetInteger(GLEnum.MaxComputeSharedMemorySize);
        if (MaxWorkGroupCountX <= 0 || MaxWorkGroupInvocations <= 0 || MaxShaderStorageBufferBindings < 8)
            throw new GLUnavailableException(
                $"OpenGL 4.3 with compute shaders is required, the driver ({Version}, {Renderer}) reports no compute work groups or fewer than 8 shader storage bindings");

        boundStorage = new BoundStorage[MaxShaderStorageBufferBindings];
        validator = GLValidationOptions.FromEnvironment() is { } options ? new GLValidator(options) : null;

        // Errors raised before we existed (the host's, or the limit queries on a driver that lacks one)
        // must not be blamed on the first kernel: drain them now.
        for (int i = 0; i < 64 && gl.GetError() != GLEnum.NoError; i++) { }
    }

    /// <summary>The Silk.NET API bound to this context.</summary>
    public GL GL { get; }
    /// <summary><c>GL_VENDOR</c>, e.g. "Mesa" or "NVIDIA Corporation".</summary>
    public string Vendor { get; }
    /// <summary><c>GL_RENDERER</c>, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".</summary>
    public string Renderer { get; }
    /// <summary><c>GL_VERSION</c>, e.g. "4.5 (Core Profile) Mesa 22.3.6".</summary>
    public string Version { get; }
    /// <summary><c>GL_SHADING_LANGUAGE_VERSION</c>.</summary>
    public string ShadingLanguageVersion { get; }
    /// <summary>The context's major version (<c>GL_MAJOR_VERSION</c>; 4 or more).</summary>
    public int MajorVersion { get; }
    /// <summary>The context's minor version (<c>GL_MINOR_VERSION</c>; at least 3 when the major version is 4).</summary>
    public int MinorVersion { get; }
    /// <summary>Where the context came from: "EGL device platform", "EGL surfaceless (Mesa)" or "host context".</summary>
    public string Origin { get; }

    /// <summary><c>GL_MAX_SHADER_STORAGE_BLOCK_SIZE</c> in bytes: the largest tensor a kernel can address.</summary>
    public long MaxShaderStorageBlockSize { get; }
    /// <summary><c>GL_MAX_SHADER_STORAGE_BUFFER_BINDINGS</c>.</summary>
    public int MaxShaderStorageBufferBindings { get; }
    /// <summary><c>GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT</c> in bytes: a range bound to a storage binding starts at a
    /// multiple of it (the tensors of <see cref="GLBackend.AllocateGroup"/> do).</summary>
    public int StorageOffsetAlignment { get; }

    /// <summary>Kernel dispatches issued so far (each <see cref="ComputeProgram.Dispatch"/> that ran work counts once,
    /// however many <c>glDispatchCompute</c> calls it took): what a step costs on a driver with a fixed price per dispatch.</summary>
    public long DispatchCount => dispatchGeneration;
    /// <summary><c>GL_MAX_COMPUTE_WORK_GROUP_COUNT</c> along x: the most work groups one dispatch may launch (at least 65535).</summary>
    public int MaxWorkGroupCountX { get; }
    /// <summary><c>GL_MAX_COMPUTE_WORK_GROUP_COUNT</c> along y (at least 65535).</summary>
    public int MaxWorkGroupCountY { get; }
    /// <summary><c>GL_MAX_COMPUTE_WORK_GROUP_COUNT</c> along z (at least 65535).</summary>
    public int MaxWorkGroupCountZ { get; }
    /// <summary><c>GL_MAX_COMPUTE_WORK_GROUP_SIZE</c> along x: the largest <c>local_size_x</c> a shader may declare (at least 1024).</summary>
    public int MaxWorkGroupSizeX { get; }
    /// <summary><c>GL_MAX_COMPUTE_WORK_GROUP_SIZE</c> along y (at least 1024).</summary>
    public int MaxWorkGroupSizeY { get; }
    /// <summary><c>GL_MAX_COMPUTE_WORK_GROUP_SIZE</c> along z (at least 64).</summary>
    public int MaxWorkGroupSizeZ { get; }
    /// <summary><c>GL_MAX_COMPUTE_WORK_GROUP_INVOCATIONS</c>.</summary>
    public int MaxWorkGroupInvocations { get; }
    /// <summary><c>GL_MAX_COMPUTE_SHARED_MEMORY_SIZE</c> in bytes.</summary>
    public int MaxSharedMemorySize { get; }

    /// <summary>True when this device created (and will destroy) its context.</summary>
    public bool OwnsContext => ownsContext;
    /// <summary>The EGL context this device created (0 for a host's context).</summary>
    internal nint EglContext => eglContext;
    /// <summary>The managed thread id that may call GL through this device; -1 after <see cref="ReleaseCurrent"/>.</summary>
    public int OwnerThreadId => ownerThreadId;
    /// <summary>True once disposed.</summary>
    public bool IsDisposed => disposed;

    /// <summary>GL objects (buffers, programs, queries, samplers, fences) created through this device and not yet deleted.</summary>
    public int LiveObjectCount => Volatile.Read(ref liveBuffers) + Volatile.Read(ref livePrograms) + Volatile.Read(ref liveQueries)
        + Volatile.Read(ref liveSamplers) + Volatile.Read(ref liveFences);
    /// <summary>Live GL buffers (tensor storage, scratch).</summary>
    public int LiveBufferCount => Volatile.Read(ref liveBuffers);
    /// <summary>Live GL programs (compiled kernels).</summary>
    public int LiveProgramCount => Volatile.Read(ref livePrograms);
    /// <summary>Live query objects (<see cref="GLQuery"/>: GPU timestamps of frame budgets and the non-finite guard).</summary>
    public int LiveQueryCount => Volatile.Read(ref liveQueries);
    /// <summary>Live fence sync objects (<see cref="GLFence"/>: pending asynchronous readbacks).</summary>
    public int LiveFenceCount => Volatile.Read(ref liveFences);
    /// <summary>Live sampler objects (<see cref="GLSampler"/>).</summary>
    public int LiveSamplerCount => Volatile.Read(ref liveSamplers);

    /// <summary>
    /// A diagnostic: wait for the GPU (<c>glFinish</c>) after every dispatch, upload, clear and copy, so that no
    /// two commands can overlap or be reordered by the driver. Slow; for finding ordering bugs in drivers (GL
    /// training went wrong on an NVIDIA H200 while llvmpipe and the CPU agreed). On by default when the
    /// environment variable <c>NEURO_GL_SYNC=1</c>.
    /// </summary>
    public bool SynchronousCommands { get; set; } = Environment.GetEnvironmentVariable("NEURO_GL_SYNC") == "1";

    /// <summary>
    /// Validation mode (<see cref="GLValidationOptions"/>): every dispatch as single-work-group dispatches in shuffled or
    /// reversed order, binding checks, NaN-filled new and released buffers, and hazard tracking that throws
    /// <see cref="GLHazardException"/>. Null (off) by default; on for every new device when the environment variable
    /// <c>NEURO_GL_VALIDATE</c> is <c>1</c>, <c>shuffled</c> or <c>reversed</c>. Setting it starts a fresh record:
    /// buffers made before count as written and idle.
    /// </summary>
    public GLValidationOptions? Validation
    {
        get => validator?.Options;
        set
        {
            EnsureThread();
            validator = value is null ? null : new GLValidator(value);
        }
    }

    /// <summary>Validation mode's state, or null when it is off.</summary>
    internal GLValidator? Validator => validator;

    /// <summary>The window of work groups dispatches issue (<see cref="GLBackend.Slice"/>); null: all of them.</summary>
    internal WorkSlice? Slice { get; set; }

    /// <summary>A shader storage binding as last set (<see cref="BindStorage(int, GLBufferObject, long, long)"/>): buffer, byte range, label, and the
    /// dispatch it was set for.</summary>
    internal readonly record struct BoundStorage(uint Handle, long Offset, long Size, string? Label, long Generation);

    /// <summary>Binds the whole of <paramref name="buffer"/> to storage binding <paramref name="binding"/> for the next dispatch.</summary>
    internal void BindStorage(int binding, GLBufferObject buffer)
    {
        GL.BindBufferBase(BufferTargetARB.ShaderStorageBuffer, (uint)binding, buffer.Handle);
        boundStorage[binding] = new BoundStorage(buffer.Handle, 0, buffer.SizeInBytes, buffer.Label, dispatchGeneration);
    }

    /// <summary>Binds bytes [offset, offset + size) of <paramref name="buffer"/> (offset a multiple of
    /// <c>GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT</c>) to storage binding <paramref name="binding"/> for the next dispatch.</summary>
    internal void BindStorage(int binding, GLBufferObject buffer, long offset, long size)
    {
        GL.BindBufferRange(BufferTargetARB.ShaderStorageBuffer, (uint)binding, buffer.Handle, (nint)offset, (nuint)size);
        boundStorage[binding] = new BoundStorage(buffer.Handle, offset, size, buffer.Label, dispatchGeneration);
    }

    /// <summary>Binds the whole of <paramref name="buffer"/> for the next dispatch, whose kernel touches only bytes
    /// [offset, offset + size) of it (an offset uniform, not an aligned range binding): validation mode tracks that range.</summary>
    internal void BindStorageAccessing(int binding, GLBufferObject buffer, long offset, long size)
    {
        GL.BindBufferBase(BufferTargetARB.ShaderStorageBuffer, (uint)binding, buffer.Handle);
        boundStorage[binding] = new BoundStorage(buffer.Handle, offset, size, buffer.Label, dispatchGeneration);
    }

    /// <summary>Called by <see cref="ComputeProgram.Dispatch"/> before it dispatches: validation checks the bindings.</summary>
    internal void BeforeDispatch(ComputeProgram program) => validator?.CheckBindings(program, boundStorage, dispatchGeneration);

    /// <summary>Called after a dispatch: bindings set so far belonged to it.</summary>
    internal void AfterDispatch() => dispatchGeneration++;

    /// <summary><c>glMemoryBarrier</c>, recorded by validation mode.</summary>
    internal void MemoryBarrier(MemoryBarrierMask barriers)
    {
        GL.MemoryBarrier(barriers);
        validator?.Tracker.Barrier(
            (barriers & MemoryBarrierMask.ShaderStorageBarrierBit) != 0,
            (barriers & MemoryBarrierMask.BufferUpdateBarrierBit) != 0,
            (barriers & MemoryBarrierMask.ClientMappedBufferBarrierBit) != 0);
    }

    /// <summary><c>glFinish</c>: every command so far has completed (validation mode records it).</summary>
    internal void Finish()
    {
        GL.Finish();
        validator?.Tracker.Finished();
    }

    /// <summary>
    /// Opt-in error checking for development and tests: after every dispatch the backend calls
    /// <see cref="CheckErrors"/>, and on a context this device owns a synchronous KHR_debug callback
    /// collects the driver's error messages (a host's context keeps its own callback).
    /// </summary>
    public bool DebugMode
    {
        get => debugMode;
        set
        {
            EnsureThread();
            if (value == debugMode) return;
            debugMode = value;
            if (!ownsContext) return;
            if (value)
            {
                debugCallback ??= OnDebugMessage;
                GL.Enable(EnableCap.DebugOutput);
                GL.Enable(EnableCap.DebugOutputSynchronous);
                unsafe { GL.DebugMessageCallback(debugCallback, null); }
            }
            else
            {
                unsafe { GL.DebugMessageCallback(null, null); }
                GL.Disable(EnableCap.DebugOutputSynchronous);
                GL.Disable(EnableCap.DebugOutput);
            }
        }
    }

    /// <summary>
    /// Creates a headless OpenGL 4.5 core context (4.3 if 4.5 is refused) through EGL, without a window:
    /// first on the EGL device platform (<c>EGL_EXT_platform_device</c>, how NVIDIA drivers run headless),
    /// then on Mesa's surfaceless platform, then on Mesa's software device. The context is current on the
    /// calling thread, which becomes the owner thread. <paramref name="debug"/> asks for a debug context
    /// and turns <see cref="DebugMode"/> on.
    /// </summary>
    /// <exception cref="GLUnavailableException">EGL is missing, or no platform gives an OpenGL 4.3 context;
    /// the message lists every attempt and the packages to install.</exception>
    public static GLDevice CreateHeadless(bool debug = false)
    {
        try
        {
            return EglHeadless.Create(debug);
        }
        catch (DllNotFoundException e)
        {
            throw new GLUnavailableException(
                "libEGL.so.1 not found: install the Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri (Mesa's llvmpipe runs on any CPU) or your GPU driver's EGL library", e);
        }
        catch (EntryPointNotFoundException e)
        {
            throw new GLUnavailableException(
                $"libEGL.so.1 lacks an entry point ({e.Message}): install the Debian packages libegl1 libegl-mesa0 libgl1-mesa-dri", e);
        }
    }

    /// <summary>
    /// Wraps the host's OpenGL context, which must be current on the calling thread (the owner thread from
    /// now on). The device never destroys that context, and leaves the host's debug callback alone.
    /// </summary>
    /// <exception cref="GLUnavailableException">No context is current, or it is older than OpenGL 4.3.</exception>
    public static GLDevice FromCurrentContext(GL gl)
    {
        ArgumentNullException.ThrowIfNull(gl);
        return new GLDevice(gl, 0, 0, ownsContext: false, "host context");
    }

    /// <summary>A one-line summary of the context and its limits, for logs and reports.</summary>
    public string Describe() =>
        $"OpenGL {Version} on {Renderer} ({Vendor}), GLSL {ShadingLanguageVersion}, {Origin}; " +
        $"max SSBO block {MaxShaderStorageBlockSize / (1024 * 1024)} MiB, {MaxShaderStorageBufferBindings} SSBO bindings (offsets aligned to {StorageOffsetAlignment} bytes), " +
        $"work groups ≤ ({MaxWorkGroupCountX},{MaxWorkGroupCountY},{MaxWorkGroupCountZ}) of ≤ ({MaxWorkGroupSizeX},{MaxWorkGroupSizeY},{MaxWorkGroupSizeZ}), " +
        $"{MaxWorkGroupInvocations} invocations per group, shared memory {MaxSharedMemorySize / 1024} KiB";

    /// <summary>The renderer and version, e.g. <c>GLDevice(llvmpipe (LLVM 15.0.6, 256 bits), 4.5 (Core Profile) Mesa 22.3.6)</c>;
    /// <see cref="Describe"/> gives the limits too.</summary>
    public override string ToString() => $"GLDevice({Renderer}, {Version})";

    /// <summary>
    /// Makes this device's own context current on the calling thread, which becomes the owner thread
    /// (hand a headless context to another thread: <see cref="ReleaseCurrent"/> on the old one first).
    /// Also restores the context after other code made a different one current on this thread.
    /// </summary>
    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!ownsContext)
            throw new InvalidOperationException("this GLDevice wraps the host's context: the host makes it current, not GLDevice.MakeCurrent");
        if (Egl.MakeCurrent(eglDisplay, 0, 0, eglContext) == 0)
            throw new InvalidOperationException(
                $"eglMakeCurrent failed ({Egl.ErrorName(Egl.GetError())}); a context is current on one thread at a time: call ReleaseCurrent on thread {ownerThreadId} first");
        ownerThreadId = Environment.CurrentManagedThreadId;
    }

    /// <summary>Detaches this device's own context from the owner thread; until <see cref="MakeCurrent"/>,
    /// every call throws.</summary>
    public void ReleaseCurrent()
    {
        EnsureThread();
        if (!ownsContext)
            throw new InvalidOperationException("this GLDevice wraps the host's context: the host decides which context is current");
        Egl.MakeCurrent(eglDisplay, 0, 0, 0);
        ownerThreadId = NoThread;
    }

    /// <summary>
    /// Throws <see cref="GLException"/> naming <paramref name="where"/> and every pending error
    /// (<c>glGetError</c> until it is clean, plus KHR_debug error messages in <see cref="DebugMode"/>).
    /// Allocates nothing when there is no error.
    /// </summary>
    public void CheckErrors(string where)
    {
        EnsureThread();
        var error = (GLEnum)GL.GetError();
        if (error == GLEnum.NoError && debugMessages.IsEmpty) return;
        ThrowErrors(where, error);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void ThrowErrors(string where, GLEnum first)
    {
        var names = new List<string>();
        for (var error = first; error != GLEnum.NoError && names.Count < 32; error = (GLEnum)GL.GetError())
            names.Add(ErrorName(error));
        while (debugMessages.TryDequeue(out var message)) names.Add(message);
        throw new GLException($"OpenGL error after {where}: {string.Join("; ", names)}");
    }

    static string ErrorName(GLEnum error) => error switch
    {
        GLEnum.InvalidEnum => "GL_INVALID_ENUM",
        GLEnum.InvalidValue => "GL_INVALID_VALUE",
        GLEnum.InvalidOperation => "GL_INVALID_OPERATION",
        GLEnum.StackOverflow => "GL_STACK_OVERFLOW",
        GLEnum.StackUnderflow => "GL_STACK_UNDERFLOW",
        GLEnum.OutOfMemory => "GL_OUT_OF_MEMORY",
        GLEnum.InvalidFramebufferOperation => "GL_INVALID_FRAMEBUFFER_OPERATION",
        GLEnum.ContextLost => "GL_CONTEXT_LOST",
        _ => $"GL error 0x{(int)error:X4}",
    };

    void OnDebugMessage(GLEnum source, GLEnum type, int id, GLEnum severity, int length, nint message, nint userParam)
    {
        // Performance and portability notes are not failures; only errors and high-severity messages are.
        // Compiler errors already surface as ShaderCompilationException with the info log.
        if (type != GLEnum.DebugTypeError && severity != GLEnum.DebugSeverityHigh) return;
        if (source == GLEnum.DebugSourceShaderCompiler) return;
        debugMessages.Enqueue(Marshal.PtrToStringUTF8(message, length) ?? $"debug message {id}");
    }

    /// <summary>
    /// The guard at the top of every GL-touching call: right thread, not disposed, then delete whatever
    /// finalizers queued. An int compare and two field reads when nothing is wrong.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void EnsureThread()
    {
        if (Environment.CurrentManagedThreadId != ownerThreadId) ThrowWrongThread();
        if (disposed) ThrowDisposed();
        if (Volatile.Read(ref pendingDeleteCount) != 0) DeletePending();
    }

    /// <summary>True when the calling thread may touch GL right now (used by Dispose paths that defer otherwise).</summary>
    internal bool IsOnOwnerThread => Environment.CurrentManagedThreadId == ownerThreadId && !disposed;

    [MethodImpl(MethodImplOptions.NoInlining)]
    void ThrowWrongThread() => throw new WrongThreadException(
        ownerThreadId == NoThread
            ? $"the OpenGL context of {this} is not current on any thread: call MakeCurrent on the thread that uses it (called from thread {Environment.CurrentManagedThreadId})"
            : $"{this} belongs to thread {ownerThreadId} (the thread whose OpenGL context it is), but was called from thread {Environment.CurrentManagedThreadId}: a GL context is current on one thread, so every GL call must come from thread {ownerThreadId}",
        ownerThreadId, Environment.CurrentManagedThreadId);

    [MethodImpl(MethodImplOptions.NoInlining)]
    void ThrowDisposed() => throw new ObjectDisposedException(nameof(GLDevice), $"{this} was disposed");

    internal void OnCreated(GLObjectKind kind) => Interlocked.Increment(ref LiveCounter(kind));

    /// <summary>The live-object counter of one kind.</summary>
    ref int LiveCounter(GLObjectKind kind)
    {
        if (kind == GLObjectKind.Buffer) return ref liveBuffers;
        if (kind == GLObjectKind.Query) return ref liveQueries;
        if (kind == GLObjectKind.Sampler) return ref liveSamplers;
        if (kind == GLObjectKind.Fence) return ref liveFences;
        return ref livePrograms;
    }

    /// <summary>Deletes a GL object now; the caller is on the owner thread.</summary>
    internal void Delete(GLObjectKind kind, uint handle) => Delete(kind, (nint)handle);

    /// <summary>Deletes a GL object now; a fence's handle is its <c>GLsync</c> pointer, every other kind's its name.</summary>
    internal void Delete(GLObjectKind kind, nint handle)
    {
        if (kind == GLObjectKind.Buffer) GL.DeleteBuffer((uint)handle);
        else if (kind == GLObjectKind.Query) GL.DeleteQuery((uint)handle);
        else if (kind == GLObjectKind.Sampler) GL.DeleteSampler((uint)handle);
        else if (kind == GLObjectKind.Fence) GL.DeleteSync(handle);
        else GL.DeleteProgram((uint)handle);
        Interlocked.Decrement(ref LiveCounter(kind));
    }

    /// <summary>Queues a GL object for deletion on the owner thread (from a finalizer or another thread).
    /// After the device is disposed the object died with the context (or with the host's), so it only stops counting.</summary>
    internal void EnqueueDelete(GLObjectKind kind, uint handle) => EnqueueDelete(kind, (nint)handle);

    /// <summary>As the name overload, for any kind (a fence's handle is its <c>GLsync</c> pointer).</summary>
    internal void EnqueueDelete(GLObjectKind kind, nint handle)
    {
        if (disposed)
        {
            Interlocked.Decrement(ref LiveCounter(kind));
            return;
        }
        pendingDeletes.Enqueue(new PendingDelete(kind, handle));
        Interlocked.Increment(ref pendingDeleteCount);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void DeletePending()
    {
        while (pendingDeletes.TryDequeue(out var pending))
        {
            Interlocked.Decrement(ref pendingDeleteCount);
            Delete(pending.Kind, pending.Handle);
        }
    }

    /// <summary>
    /// Deletes queued objects and, for a headless device, destroys its context (and terminates the EGL
    /// display when no other device uses it). A host's context is left alone. Safe to call twice;
    /// must run on the owner thread (or after <see cref="ReleaseCurrent"/>, on any thread).
    /// </summary>
    public void Dispose()
    {
        if (disposed) return;
        if (ownerThreadId != NoThread)
        {
            EnsureThread();
            DeletePending();
            if (debugMode && ownsContext) DebugMode = false;
        }
        disposed = true;
        if (!ownsContext) return;
        EglHeadless.Destroy(eglDisplay, eglContext, current: ownerThreadId != NoThread);
        ownerThreadId = NoThread;
    }

    string? ReadString(StringName name)
    {
        unsafe { return Marshal.PtrToStringUTF8((nint)GL.GetString(name)); }
    }

    readonly record struct PendingDelete(GLObjectKind Kind, nint Handle);
}

/// <summary>The kinds of GL object the device counts.</summary>
internal enum GLObjectKind
{
    Buffer,
    Program,
    /// <summary>A query object (<see cref="GLQuery"/>).</summary>
    Query,
    /// <summary>A sampler object (<see cref="GLSampler"/>).</summary>
    Sampler,
    /// <summary>A fence sync object (<see cref="GLFence"/>); its handle is a <c>GLsync</c> pointer, not a name.</summary>
    Fence,
}

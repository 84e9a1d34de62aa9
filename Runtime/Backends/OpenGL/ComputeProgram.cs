using System.Text;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// A linked compute program (the shader object is deleted once linked). Compile or link failure throws
/// <see cref="ShaderCompilationException"/> with the file name and the driver's info log. Uniform locations
/// are looked up once and cached, so setting uniforms and dispatching allocate nothing.
/// <see cref="Dispatch"/> splits large grids into several <c>glDispatchCompute</c> calls (the kernels add the
/// <c>groupOffset</c> uniform from <c>common.glsl</c>), so no single dispatch trips a driver watchdog, and ends
/// with a memory barrier so the next dispatch, copy or readback sees the results.
/// Lifetime as every <see cref="GLObject"/>: disposed once, on the owner thread, never from a finalizer.
/// </summary>
public sealed class ComputeProgram : GLObject
{
    /// <summary>Invocations × per-invocation cost allowed in one glDispatchCompute: about 30–60 ms on llvmpipe,
    /// far under a millisecond on a GPU, well below any watchdog.</summary>
    const long WorkPerDispatch = 1L << 26;

    readonly Dictionary<string, int> uniformLocations = new(StringComparer.Ordinal);
    readonly int groupOffsetLocation, groupOffsetYLocation;
    readonly string source;
    ShaderInterface? shaderInterface;
    bool groupOffsetYSet; // groupOffsetY was left non-zero (validation mode, or a work slice's window)

    /// <summary>
    /// Compiles and links <paramref name="source"/> (complete GLSL, <c>#version</c> first) as a compute shader.
    /// <paramref name="name"/> (the file name) appears in error messages; <paramref name="sourceNames"/>, when
    /// given, names the files behind the <c>#line</c> source-string numbers (index = number).
    /// </summary>
    public ComputeProgram(GLDevice device, string name, string source, IReadOnlyList<string>? sourceNames = null)
        : base(device, GLObjectKind.Program)
    {
        Name = name;
        this.source = source;
        var gl = device.GL;

        uint shader = gl.CreateShader(ShaderType.ComputeShader);
        gl.ShaderSource(shader, source);
        gl.CompileShader(shader);
        string? failure = gl.GetShader(shader, ShaderParameterName.CompileStatus) == 0 ? gl.GetShaderInfoLog(shader) : null;
        uint program = 0;
        if (failure is null)
        {
            program = gl.CreateProgram();
            gl.AttachShader(program, shader);
            gl.LinkProgram(program);
            gl.DetachShader(program, shader);
            if (gl.GetProgram(program, ProgramPropertyARB.LinkStatus) == 0)
            {
                failure = gl.GetProgramInfoLog(program);
                gl.DeleteProgram(program);
            }
        }
        gl.DeleteShader(shader);
        if (failure is not null) throw Failure(program == 0 ? "compile" : "link", name, failure, sourceNames);
        Adopt(program);

        unsafe
        {
            int* size = stackalloc int[3];
            gl.GetProgram(program, GLEnum.ComputeWorkGroupSize, size);
            LocalSizeX = size[0];
            LocalSizeY = size[1];
            LocalSizeZ = size[2];
        }
        groupOffsetLocation = UniformLocation("groupOffset");
        groupOffsetYLocation = UniformLocation("groupOffsetY");
    }

    /// <summary>The storage blocks the kernel uses, their access and its in-place pairs (read on first use; validation mode).</summary>
    internal ShaderInterface Interface => shaderInterface ??= ShaderInterface.Read(Device.GL, Handle, Name, source);

    /// <summary>The shader's file name (with its variant's defines when it came from <see cref="ShaderLibrary"/>).</summary>
    public string Name { get; }
    /// <summary>The work group size declared by <c>layout(local_size_x = …)</c>.</summary>
    public int LocalSizeX { get; }
    public int LocalSizeY { get; }
    public int LocalSizeZ { get; }

    /// <summary>The location of uniform <paramref name="name"/> (-1 when the compiler removed it, which GL then
    /// ignores), looked up once.</summary>
    public int UniformLocation(string name)
    {
        if (uniformLocations.TryGetValue(name, out int location)) return location;
        Device.EnsureThread();
        ThrowIfDisposed();
        location = Device.GL.GetUniformLocation(Handle, name);
        uniformLocations.Add(name, location);
        return location;
    }

    /// <summary>Sets an <c>int</c> uniform (<c>glProgramUniform1i</c>: no program binding involved).</summary>
    public void SetUniform(string name, int value) => Device.GL.ProgramUniform1(Handle, LocationForSet(name), value);

    /// <summary>Sets a <c>float</c> uniform.</summary>
    public void SetUniform(string name, float value) => Device.GL.ProgramUniform1(Handle, LocationForSet(name), value);

    /// <summary>Sets an <c>ivec2</c> uniform.</summary>
    public void SetUniform(string name, int x, int y) => Device.GL.ProgramUniform2(Handle, LocationForSet(name), x, y);

    /// <summary>Sets an <c>ivec4</c> uniform.</summary>
    public void SetUniform(string name, int x, int y, int z, int w) => Device.GL.ProgramUniform4(Handle, LocationForSet(name), x, y, z, w);

    /// <summary>Sets a <c>vec4</c> uniform.</summary>
    public void SetUniform(string name, float x, float y, float z, float w) => Device.GL.ProgramUniform4(Handle, LocationForSet(name), x, y, z, w);

    int LocationForSet(string name)
    {
        Device.EnsureThread();
        ThrowIfDisposed();
        return UniformLocation(name);
    }

    /// <summary>
    /// Runs the kernel over <paramref name="invocationsX"/> invocations along x (rounded up to whole groups;
    /// kernels bound-check their flat index) and <paramref name="groupsY"/> work groups along y.
    /// <paramref name="costPerInvocation"/> (roughly the inner-loop trip count) sizes the chunks: each
    /// glDispatchCompute gets at most <c>WorkPerDispatch</c> work and at most the driver's group count limit.
    /// Ends with <c>glMemoryBarrier(SHADER_STORAGE | BUFFER_UPDATE)</c>: the next kernel, copy or readback
    /// depends on what this one wrote. In validation mode (<see cref="GLDevice.Validation"/>) the bindings are checked
    /// first and every work group runs as a dispatch of its own, in shuffled or reversed order. While the device has a
    /// work slice (<see cref="GLBackend.Slice"/>) only the groups in its window run (none: no dispatch, no barrier).
    /// </summary>
    public void Dispatch(int invocationsX, int groupsY, long costPerInvocation)
    {
        Device.EnsureThread();
        ThrowIfDisposed();
        if (invocationsX <= 0 || groupsY <= 0) return;
        if (groupsY > Device.MaxWorkGroupCountY)
            throw new ArgumentOutOfRangeException(nameof(groupsY), $"{Name}: {groupsY} work groups along y exceed the driver's {Device.MaxWorkGroupCountY}");
        var gl = Device.GL;
        long groupsX = ((long)invocationsX + LocalSizeX - 1) / LocalSizeX;
        // The groups to issue, numbered row by row (y·groupsX + x): all of them, or a work slice's window of them.
        (long from, long to) = Device.Slice is { } slice ? slice.Take(groupsX * groupsY) : (0, groupsX * groupsY);
        if (from == to) return;
        long work = Math.Max(1, costPerInvocation) * LocalSizeX;
        Device.BeforeDispatch(this);
        gl.UseProgram(Handle);
        if (Device.Validator is { } validator)
        {
            validator.DispatchEachGroup(gl, Handle, groupOffsetLocation, groupOffsetYLocation, groupsX, from, to);
            groupOffsetYSet = true;
        }
        else if (from == 0 && to == groupsX * groupsY)
            DispatchRows(0, groupsX, 0, groupsY, work);
        else
        {
            // a window: the rest of its first row, the whole rows in between, the start of its last row
            long firstRow = from / groupsX, lastRow = (to - 1) / groupsX;
            if (firstRow == lastRow) DispatchRows(from % groupsX, (to - 1) % groupsX + 1, (int)firstRow, 1, work);
            else
            {
                DispatchRows(from % groupsX, groupsX, (int)firstRow, 1, work);
                if (lastRow > firstRow + 1) DispatchRows(0, groupsX, (int)firstRow + 1, (int)(lastRow - firstRow - 1), work);
                DispatchRows(0, (to - 1) % groupsX + 1, (int)lastRow, 1, work);
            }
        }
        Device.AfterDispatch();
        Device.MemoryBarrier(MemoryBarrierMask.ShaderStorageBarrierBit | MemoryBarrierMask.BufferUpdateBarrierBit);
        if (Device.SynchronousCommands) Device.Finish();
        if (Device.DebugMode) Device.CheckErrors(Name);
    }

    /// <summary>Dispatches groups [<paramref name="firstGroup"/>, <paramref name="endGroup"/>) along x of
    /// <paramref name="rows"/> rows from <paramref name="firstRow"/> on, in glDispatchCompute calls of at most
    /// <c>WorkPerDispatch</c> work (<paramref name="workPerGroup"/> per group and row) and the driver's group count.</summary>
    void DispatchRows(long firstGroup, long endGroup, int firstRow, int rows, long workPerGroup)
    {
        var gl = Device.GL;
        long chunk = Math.Clamp(WorkPerDispatch / (workPerGroup * rows), 1, Device.MaxWorkGroupCountX);
        if (firstRow != 0 || groupOffsetYSet) gl.ProgramUniform1(Handle, groupOffsetYLocation, (uint)firstRow);
        groupOffsetYSet = firstRow != 0;
        for (long first = firstGroup; first < endGroup; first += chunk)
        {
            gl.ProgramUniform1(Handle, groupOffsetLocation, (uint)first);
            gl.DispatchCompute((uint)Math.Min(chunk, endGroup - first), (uint)rows, 1);
        }
    }

    static ShaderCompilationException Failure(string stage, string name, string log, IReadOnlyList<string>? sourceNames)
    {
        var message = new StringBuilder();
        message.Append("compute shader ").Append(name).Append(" failed to ").Append(stage).Append(":\n").Append(log.TrimEnd());
        if (sourceNames is { Count: > 1 })
        {
            // Drivers report positions as source:line; #line directives number the included files.
            message.Append("\n(source numbers:");
            for (int i = 0; i < sourceNames.Count; i++) message.Append(' ').Append(i).Append(" = ").Append(sourceNames[i]).Append(';');
            message.Append(')');
        }
        return new ShaderCompilationException(name, log, message.ToString());
    }
}

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
    /// <summary>The most pieces a work group of a kernel that opts in (<c>laneSkipped()</c>) is cut into for a work slice:
    /// on llvmpipe a piece of a 64-lane group is then one 8-lane vector of its loop, an eighth of the group's time.</summary>
    internal const int LanePieces = 8;
    /// <summary>The least work (invocations × cost per invocation) a piece of a group is cut to: a group cheaper than
    /// twice this stays whole. On llvmpipe this much work takes a few tenths of a millisecond. It was set when a window's
    /// end pieces were dispatches of their own (tens of microseconds each on llvmpipe, more than a cheap group's work):
    /// with 2¹⁷ the live-link game (LeNet-sized convolutions, a monitor attached) then had 12 % of its frames over its
    /// 4 ms budget by more than 1 ms, against 2–3 % without pieces; with 2¹⁹ it was back there, and ResNet-18 at 2 ms
    /// keeps 0.1–0.4 %. With a window's part of a row one dispatch (<see cref="DispatchSegment"/>), 2¹⁷ passes the live-link
    /// test again, but ResNet-18 at 2 ms then had the same 0.1 % of frames over by more than 1 ms with a pass estimated at
    /// 1.76–1.79 s against 1.34–1.45 s (more, smaller dispatches), so 2¹⁹ stays.</summary>
    internal const long PieceWork = 1 << 19;

    readonly Dictionary<string, int> uniformLocations = new(StringComparer.Ordinal);
    readonly int groupOffsetLocation, groupOffsetYLocation, laneFirstLocation, laneEndLocation;
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
        laneFirstLocation = UniformLocation("laneFirst");
        laneEndLocation = UniformLocation("laneEnd");
        SplitsGroups = laneEndLocation >= 0 && LocalSizeX % LanePieces == 0 && LocalSizeY == 1 && LocalSizeZ == 1;
    }

    /// <summary>The storage blocks the kernel uses, their access and its in-place pairs (read on first use; validation mode).</summary>
    internal ShaderInterface Interface => shaderInterface ??= ShaderInterface.Read(Device.GL, Handle, Name, source);

    /// <summary>The shader's file name (with its variant's defines when it came from <see cref="ShaderLibrary"/>).</summary>
    public string Name { get; }
    /// <summary>The work group size along x, declared by <c>layout(local_size_x = …)</c>.</summary>
    public int LocalSizeX { get; }
    /// <summary>The work group size along y, <c>local_size_y</c> (1 when the shader does not declare it).</summary>
    public int LocalSizeY { get; }
    /// <summary>The work group size along z, <c>local_size_z</c> (1 when the shader does not declare it).</summary>
    public int LocalSizeZ { get; }

    /// <summary>Whether a work slice (<see cref="GLBackend.Slice"/>) may run pieces of its groups: the kernel returns first
    /// thing when <c>laneSkipped()</c> (common.glsl), and its groups are one row of a multiple of <see cref="LanePieces"/>
    /// lanes.</summary>
    public bool SplitsGroups { get; }

    /// <summary>The units of work one group of a dispatch with <paramref name="costPerInvocation"/> is to a work slice: for a
    /// kernel that <see cref="SplitsGroups"/>, as many pieces (1, 2, 4 or 8) as keep each at least
    /// <see cref="PieceWork"/>; else 1.</summary>
    public int PiecesPerGroup(long costPerInvocation)
    {
        long work = Math.Max(1, costPerInvocation) * LocalSizeX;
        int pieces = 1;
        while (SplitsGroups && pieces < LanePieces && work / (2 * pieces) >= PieceWork) pieces *= 2;
        return pieces;
    }

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
    /// work slice (<see cref="GLBackend.Slice"/>) only the units in its window run (none: no dispatch, no barrier): whole
    /// groups, or for a kernel that <see cref="SplitsGroups"/> pieces of a group (<see cref="PiecesPerGroup"/>): the window's part
    /// of a row is one dispatch whose end groups run only the window's lanes (<c>laneFirst</c>, <c>laneEnd</c>).
    /// </summary>
    public void Dispatch(int invocationsX, int groupsY, long costPerInvocation)
    {
        Device.EnsureThread();
        ThrowIfDisposed();
        if (invocationsX <= 0 || groupsY <= 0) return;
        if (groupsY > Device.MaxWorkGroupCountY)
            throw new ArgumentOutOfRangeException(nameof(groupsY), $"{Name}: {groupsY} work groups along y exceed the driver's {Device.MaxWorkGroupCountY}");
        int pieces = PiecesPerGroup(costPerInvocation), lanes = LocalSizeX / pieces;
        var grid = new Grid(((long)invocationsX + LocalSizeX - 1) / LocalSizeX, pieces,
            ((long)invocationsX + lanes - 1) / lanes, Math.Max(1, costPerInvocation) * LocalSizeX);
        // The units to issue, numbered row by row: a row's pieces that hold invocations (its groups, for a kernel that
        // runs whole groups only); all of them, or a work slice's window of them.
        (long from, long to) = Device.Slice is { } slice ? slice.Take(grid.UnitsPerRow * groupsY) : (0, grid.UnitsPerRow * groupsY);
        if (from == to) return;
        Device.BeforeDispatch(this);
        Device.GL.UseProgram(Handle);
        long firstRow = from / grid.UnitsPerRow, lastRow = (to - 1) / grid.UnitsPerRow;
        if (from % grid.UnitsPerRow == 0 && to % grid.UnitsPerRow == 0) DispatchWholeRows(grid, firstRow, lastRow + 1);
        else if (firstRow == lastRow) DispatchRowUnits(grid, firstRow, from % grid.UnitsPerRow, (to - 1) % grid.UnitsPerRow + 1);
        else
        {
            // the rest of the window's first row, the whole rows in between, the start of its last row
            DispatchRowUnits(grid, firstRow, from % grid.UnitsPerRow, grid.UnitsPerRow);
            if (lastRow > firstRow + 1) DispatchWholeRows(grid, firstRow + 1, lastRow);
            DispatchRowUnits(grid, lastRow, 0, (to - 1) % grid.UnitsPerRow + 1);
        }
        Device.AfterDispatch();
        Device.MemoryBarrier(MemoryBarrierMask.ShaderStorageBarrierBit | MemoryBarrierMask.BufferUpdateBarrierBit);
        if (Device.SynchronousCommands) Device.Finish();
        if (Device.DebugMode) Device.CheckErrors(Name);
    }

    /// <summary>A dispatch's grid: rows of <see cref="GroupsX"/> groups of <see cref="Pieces"/> pieces each,
    /// <see cref="UnitsPerRow"/> units of work in a row (its pieces that hold invocations), <see cref="WorkPerGroup"/> for
    /// the watchdog's chunks.</summary>
    readonly record struct Grid(long GroupsX, int Pieces, long UnitsPerRow, long WorkPerGroup);

    /// <summary>Dispatches rows [<paramref name="first"/>, <paramref name="end"/>) whole: each group alone in validation mode.</summary>
    void DispatchWholeRows(Grid grid, long first, long end) => DispatchGroups(grid, first, 0, grid.GroupsX, (int)(end - first));

    /// <summary>Dispatches units [<paramref name="first"/>, <paramref name="end"/>) of row <paramref name="row"/>: its groups
    /// in one dispatch, the lanes of the end groups' pieces outside the window skipping (a window that reaches the row's end
    /// takes its last group whole); in validation mode each group alone.</summary>
    void DispatchRowUnits(Grid grid, long row, long first, long end)
    {
        long pieces = grid.Pieces;
        if (end == grid.UnitsPerRow) end = grid.GroupsX * pieces; // the last group's pieces past the invocations run nothing
        int lanes = LocalSizeX / grid.Pieces;
        long firstGroup = first / pieces, endGroup = (end + pieces - 1) / pieces;
        uint headFirst = (uint)(first % pieces * lanes), tailEnd = (uint)(end % pieces * lanes);
        if (Device.Validator is null || endGroup - firstGroup == 1)
        {
            DispatchSegment(grid, row, firstGroup, endGroup, headFirst, tailEnd);
            return;
        }
        if (headFirst != 0) DispatchSegment(grid, row, firstGroup, ++firstGroup, headFirst, 0);
        if (tailEnd != 0) DispatchSegment(grid, row, --endGroup, endGroup + 1, 0, tailEnd);
        if (firstGroup < endGroup) DispatchGroups(grid, row, firstGroup, endGroup, 1);
    }

    /// <summary>Dispatches groups [<paramref name="firstGroup"/>, <paramref name="endGroup"/>) of row <paramref name="row"/>
    /// (in <c>WorkPerDispatch</c> chunks), the first group's lanes before <paramref name="headFirst"/> and the last group's
    /// from <paramref name="tailEnd"/> on skipping (0: none), then lets every lane run again.</summary>
    void DispatchSegment(Grid grid, long row, long firstGroup, long endGroup, uint headFirst, uint tailEnd)
    {
        var gl = Device.GL;
        long chunk = Math.Clamp(WorkPerDispatch / grid.WorkPerGroup, 1, Device.MaxWorkGroupCountX);
        gl.ProgramUniform1(Handle, groupOffsetYLocation, (uint)row);
        groupOffsetYSet = row != 0;
        for (long first = firstGroup; first < endGroup; first += chunk)
        {
            long end = Math.Min(first + chunk, endGroup);
            gl.ProgramUniform1(Handle, laneFirstLocation, first == firstGroup ? headFirst : 0u);
            gl.ProgramUniform1(Handle, laneEndLocation, end == endGroup ? tailEnd : 0u);
            gl.ProgramUniform1(Handle, groupOffsetLocation, (uint)first);
            gl.DispatchCompute((uint)(end - first), 1, 1);
        }
        gl.ProgramUniform1(Handle, laneFirstLocation, 0u);
        gl.ProgramUniform1(Handle, laneEndLocation, 0u);
    }

    /// <summary>Dispatches groups [<paramref name="firstGroup"/>, <paramref name="endGroup"/>) of <paramref name="rows"/>
    /// rows from <paramref name="firstRow"/> on whole: each alone, in the validator's order, in validation mode.</summary>
    void DispatchGroups(Grid grid, long firstRow, long firstGroup, long endGroup, int rows)
    {
        if (Device.Validator is not { } validator)
        {
            DispatchRows(firstGroup, endGroup, (int)firstRow, rows, grid.WorkPerGroup);
            return;
        }
        if (firstGroup == 0 && endGroup == grid.GroupsX) // whole rows: their groups in one shuffled order
            validator.DispatchEachGroup(Device.GL, Handle, groupOffsetLocation, groupOffsetYLocation, grid.GroupsX,
                firstRow * grid.GroupsX, (firstRow + rows) * grid.GroupsX);
        else
            for (long row = firstRow; row < firstRow + rows; row++)
                validator.DispatchEachGroup(Device.GL, Handle, groupOffsetLocation, groupOffsetYLocation, grid.GroupsX,
                    row * grid.GroupsX + firstGroup, row * grid.GroupsX + endGroup);
        groupOffsetYSet = true;
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

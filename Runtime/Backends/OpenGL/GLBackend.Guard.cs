namespace NeuroPlugin.Backends.OpenGL;

// The non-finite guard's kernels (nonfinite.comp), the update rules' device-side skip, and GPU timestamps for
// frame budgets. Nothing here reads back: the guard's report is fetched by the caller through a staging copy
// fenced by a timestamp (Training/NonFiniteGuard).
public sealed partial class GLBackend
{
    /// <summary>Binding of the update rules' guard word (optimizers.comp): the report's first float, or zeros.</summary>
    const int GuardBinding = Input3;

    ComputeProgram? flagNonFiniteProgram, latchNonFiniteProgram, restoreOrSaveProgram;
    GLBuffer? openGuard; // four zero floats, never written: the guard bound while UpdateGuard is null

    /// <inheritdoc/>
    public Tensor? UpdateGuard { get; set; }

    /// <inheritdoc/>
    public void FlagNonFinite(Tensor input, Tensor flags, int index)
    {
        EnsureUsable();
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, flags.Length);
        var program = Bound(Program(ref flagNonFiniteProgram, "nonfinite.comp", "FLAG"), [input], [flags]);
        program.SetUniform("index", index);
        program.SetUniform("floatCount", input.Length);
        DispatchVectors(program, input.Length);
    }

    /// <inheritdoc/>
    public void LatchNonFinite(Tensor flags, Tensor report, uint step)
    {
        EnsureUsable();
        if (report.Length != flags.Length + 1)
            throw new ShapeException($"report '{report.Name}' {report.Shape} needs 1 + {flags.Length} values for flags '{flags.Name}' {flags.Shape}");
        var program = Bound(Program(ref latchNonFiniteProgram, "nonfinite.comp", "LATCH"), [flags], [report]);
        program.SetUniform("count", flags.Length);
        Device.GL.ProgramUniform1(program.Handle, program.UniformLocation("step"), step);
        program.Dispatch(1, 1, flags.Length);
    }

    /// <inheritdoc/>
    public void RestoreOrSave(Tensor saved, Tensor target, Tensor report)
    {
        EnsureUsable();
        if (saved.Length != target.Length)
            throw new ShapeException($"saved '{saved.Name}' {saved.Shape} and target '{target.Name}' {target.Shape} differ in length");
        DispatchElements(Bound(Program(ref restoreOrSaveProgram, "nonfinite.comp", "RESTORE"), [null, report], [target, saved]), target.Length);
    }

    /// <summary>Binds the update rules' guard word: the <see cref="UpdateGuard"/> report, or a zero buffer.</summary>
    void BindUpdateGuard()
    {
        if (UpdateGuard is { } guard) Bind(GuardBinding, guard);
        else Bind(GuardBinding, openGuard ??= new GLBuffer(Device, 4, "open guard"));
    }

    /// <inheritdoc/>
    public IDeviceTimer CreateDeviceTimer(int capacity)
    {
        EnsureUsable();
        return new GLDeviceTimer(Device, capacity);
    }
}

/// <summary>An <see cref="IDeviceTimer"/> over a ring of <see cref="GLQuery"/> timestamp objects, all created up front.</summary>
internal sealed class GLDeviceTimer : IDeviceTimer
{
    readonly GLQuery[] queries;
    readonly GLDevice device;

    public GLDeviceTimer(GLDevice device, int capacity)
    {
        this.device = device;
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        queries = new GLQuery[capacity];
        try
        {
            for (int i = 0; i < capacity; i++) queries[i] = new GLQuery(device);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Capacity => queries.Length;

    public void Record(int slot) => queries[slot].RecordTimestamp();

    public bool TryRead(int slot, out long nanoseconds) => queries[slot].TryReadTimestamp(out nanoseconds);

    public void Flush()
    {
        device.EnsureThread();
        device.GL.Flush();
    }

    public void Dispose()
    {
        foreach (var query in queries) query?.Dispose();
    }
}

namespace NeuroPlugin.Backends.OpenGL;

// The non-finite guard's kernels (nonfinite.comp), the update rules' device-side skip, and GPU timestamps for
// frame budgets. Nothing here reads back: the guard's report is fetched by the caller through a staging copy
// fenced by a timestamp (Training/NonFiniteGuard).
public sealed partial class GLBackend
{
    /// <summary>Binding of the update rules' guard word (optimizers.comp): the report's first float, or zeros.</summary>
    const int GuardBinding = Input3;

    ComputeProgram? flagNonFiniteProgram, multiTensorFlagProgram, multiBufferFlagProgram, latchNonFiniteProgram, restoreOrSaveProgram;

    /// <summary>The bindings of nonfinite.comp FLAG;MULTI_BUFFER's tensors, in its order (every binding but the flags').</summary>
    static readonly int[] FlagBufferBindings = [Input0, Input1, Input2, Output1, Output2, Input3, Input4];
    static readonly string[] FlagBufferRows = [.. Enumerable.Range(0, FlagBufferBindings.Length).Select(k => $"tensors[{k}]")];
    /// <summary>The tensors (by position in the call) waiting for <see cref="FlagBuffers"/>.</summary>
    readonly int[] pendingFlags = new int[FlagBufferBindings.Length];

    /// <summary>The tables of <see cref="FlagNonFiniteTensors"/>'s one-buffer runs, the k-th run of a call in the k-th
    /// (nonfinite.comp FLAG;MULTI_TENSOR): per tensor its first vec4 of the dispatch, where it starts in the buffer (vec4s),
    /// its length (floats) and its flag index. Grown when a call has more runs; a steady guard uploads nothing.</summary>
    GLSegmentTable[] flagTables = [];
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
    public void FlagNonFiniteTensors(ReadOnlySpan<Tensor> inputs, Tensor flags, ReadOnlySpan<int> indices)
    {
        EnsureUsable();
        MultiTensor.CheckFlagIndices(inputs, flags, indices);
        int runs = 0, pending = 0;
        for (int start = 0, end; start < inputs.Length; start = end)
        {
            end = start + 1;
            var buffer = OneBuffer(inputs.Slice(start, 1));
            while (buffer is not null && end < inputs.Length && StorageOf(inputs[end]) is { IsShared: true } next && ReferenceEquals(next.Buffer, buffer)) end++;
            if (end - start >= 2) FlagRun(runs++, inputs[start..end], buffer!, flags, indices[start..end]);
            else
            {
                pendingFlags[pending++] = start;
                if (pending == pendingFlags.Length)
                {
                    FlagBuffers(pending, inputs, flags, indices);
                    pending = 0;
                }
            }
        }
        if (pending == 1) FlagNonFinite(inputs[pendingFlags[0]], flags, indices[pendingFlags[0]]);
        else FlagBuffers(pending, inputs, flags, indices);
    }

    /// <summary>One dispatch flags the <paramref name="count"/> tensors of <see cref="pendingFlags"/>, each bound on its own
    /// (nonfinite.comp FLAG;MULTI_BUFFER; the bindings it leaves free get placeholders).</summary>
    void FlagBuffers(int count, ReadOnlySpan<Tensor> inputs, Tensor flags, ReadOnlySpan<int> indices)
    {
        if (count == 0) return;
        var program = Program(ref multiBufferFlagProgram, "nonfinite.comp", "FLAG;MULTI_BUFFER");
        int vectors = 0;
        for (int k = 0; k < FlagBufferBindings.Length; k++)
        {
            if (k >= count)
            {
                BindPlaceholder(FlagBufferBindings[k]);
                continue;
            }
            var tensor = inputs[pendingFlags[k]];
            Bind(FlagBufferBindings[k], tensor);
            program.SetUniform(FlagBufferRows[k], vectors, tensor.Length, indices[pendingFlags[k]], 0);
            vectors += DivideRoundingUp(tensor.Length, VectorWidth);
        }
        Bind(Output0, flags);
        program.SetUniform("tensorCount", count);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, 1);
    }

    /// <summary>One dispatch flags every tensor of a run, all ranges of <paramref name="buffer"/>: invocation i reads one
    /// vec4 of the tensor whose table row it falls in (segments.glsl) and judges the lanes inside that tensor's length.</summary>
    void FlagRun(int run, ReadOnlySpan<Tensor> inputs, GLBuffer buffer, Tensor flags, ReadOnlySpan<int> indices)
    {
        if (flagTables.Length <= run)
        {
            int grown = flagTables.Length;
            Array.Resize(ref flagTables, run + 1);
            for (int k = grown; k <= run; k++) flagTables[k] = new GLSegmentTable($"non-finite segments {k}", 4);
        }
        var table = flagTables[run];
        var rows = table.Begin(inputs.Length);
        var tensors = table.Tensors(inputs.Length);
        int vectors = 0;
        for (int i = 0; i < inputs.Length; i++)
        {
            tensors[i] = inputs[i];
            var row = rows.Slice(i * table.Columns, table.Columns);
            row[0] = vectors;
            row[1] = StorageOf(inputs[i]).Offset / VectorWidth;
            row[2] = inputs[i].Length;
            row[3] = indices[i];
            vectors += DivideRoundingUp(inputs[i].Length, VectorWidth);
        }
        // The table is a cache, uploaded when the tensors change: outside a frame budget's slice, so that its upload is no
        // unit of the check's stage and every run of the stage issues the same units (a counting run issues none of them).
        var slice = Device.Slice;
        Device.Slice = null;
        Tensor segments;
        try
        {
            segments = table.Commit(this);
        }
        finally
        {
            Device.Slice = slice;
        }
        var program = Program(ref multiTensorFlagProgram, "nonfinite.comp", "FLAG;MULTI_TENSOR");
        Bind(Input1, segments); // first: binding a tensor runs the queued fills, whose kernel has bindings of its own
        Bind(Input0, buffer);
        Bind(Output0, flags);
        program.SetUniform("segmentCount", inputs.Length);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, 1);
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

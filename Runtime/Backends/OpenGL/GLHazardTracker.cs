namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// Validation mode's record of buffer accesses (<see cref="GLValidationOptions"/>): every kernel access, transfer, host
/// access to mapped staging, memory barrier and fence is reported here in command order, and each access is checked
/// against what came before on the same buffer range. The model, after the OpenGL 4.6 memory model and the faults seen
/// on drivers:
/// <list type="bullet">
/// <item>kernel → kernel: ordered only by a <c>GL_SHADER_STORAGE_BARRIER_BIT</c> barrier between them (read after write,
///   write after read, write after write);</item>
/// <item>kernel → transfer read (copy source, readback): needs a <c>GL_BUFFER_UPDATE_BARRIER_BIT</c> barrier;</item>
/// <item>anything → transfer write (upload, clear, copy destination), and transfer → kernel: no barrier bit promises
///   the order, so the earlier access must be known complete (a fence waited for, or <c>glFinish</c>);</item>
/// <item>host write to mapped memory: every device access to that range complete; host read: the device's write
///   complete and, for a kernel's write, a <c>GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT</c> after it.</item>
/// </list>
/// Only the latest access of each kind per range is kept (a later one supersedes it, since completion is in order).
/// Allocates; validation mode only.
/// </summary>
internal sealed class GLHazardTracker
{
    enum AccessKind : byte { KernelRead, KernelWrite, TransferRead, TransferWrite, HostWrite }

    readonly record struct Access(AccessKind Kind, long Offset, long End, long Sequence, int ShaderEpoch, int UpdateEpoch, int ClientEpoch, string By)
    {
        /// <summary>Whether this access's bytes [Offset, End) meet [offset, end).</summary>
        public bool Overlaps(long offset, long end) => Offset < end && End > offset;
    }

    sealed class BufferState(string label, bool tracked, bool written)
    {
        public string Label = label;
        public readonly bool Tracked = tracked; // created while validation was on: its whole history is known
        public bool Written = written;
        public readonly List<Access> Accesses = new();
    }

    readonly Dictionary<uint, BufferState> buffers = new();
    long sequence, completed;
    int shaderEpoch, updateEpoch, clientEpoch;

    /// <summary>Commands issued so far (each kernel, transfer and fence is one).</summary>
    public long Sequence => sequence;

    /// <summary>A buffer was created; <paramref name="initialized"/> when its storage was given contents (zeros).</summary>
    public void Created(uint handle, string label, bool initialized) => buffers[handle] = new BufferState(label, tracked: true, written: initialized);

    /// <summary>A buffer was deleted (its name may be reused).</summary>
    public void Deleted(uint handle) => buffers.Remove(handle);

    /// <summary>Starts the next command; its accesses carry this sequence number.</summary>
    public void BeginCommand() => sequence++;

    /// <summary>A kernel's access through one binding (after <see cref="BeginCommand"/>).</summary>
    public void Kernel(string kernel, uint handle, string label, long offset, long size, bool read, bool write)
    {
        var state = State(handle, label);
        long end = offset + size;
        if (read && state.Tracked && !state.Written)
            Throw(GLHazard.UninitializedRead, kernel, state, $"kernel {kernel} reads buffer '{state.Label}', which nothing wrote since it was created");
        foreach (var a in state.Accesses)
        {
            // one dispatch's own bindings are not ordered against each other (aliasing is the binding check's business)
            if (!a.Overlaps(offset, end) || a.Sequence == sequence) continue;
            if (read && a.Kind == AccessKind.KernelWrite && a.ShaderEpoch == shaderEpoch)
                Throw(GLHazard.ReadAfterWriteWithoutBarrier, kernel, state, $"kernel {kernel} reads buffer '{state.Label}' that kernel {a.By} wrote, with no GL_SHADER_STORAGE_BARRIER_BIT barrier between them");
            if (write && a.Kind is (AccessKind.KernelRead or AccessKind.KernelWrite) && a.ShaderEpoch == shaderEpoch)
                Throw(GLHazard.WriteAfterAccessWithoutBarrier, kernel, state, $"kernel {kernel} writes buffer '{state.Label}' that kernel {a.By} {(a.Kind == AccessKind.KernelRead ? "read" : "wrote")}, with no GL_SHADER_STORAGE_BARRIER_BIT barrier between them");
            bool transferConflict = a.Kind == AccessKind.TransferWrite || (write && a.Kind == AccessKind.TransferRead);
            if (transferConflict && a.Sequence > completed)
                Throw(GLHazard.KernelAfterPendingTransfer, kernel, state, $"kernel {kernel} {(write ? "writes" : "reads")} buffer '{state.Label}' after the {a.By} (command {a.Sequence}) that {(a.Kind == AccessKind.TransferWrite ? "wrote" : "read")} it, and no fence was waited for in between (completed through command {completed}): barrier bits do not order transfers with kernels");
        }
        if (read) Record(state, AccessKind.KernelRead, offset, end, kernel);
        if (write) Record(state, AccessKind.KernelWrite, offset, end, kernel);
    }

    /// <summary>A transfer (upload, clear, copy or readback copy) reads and/or writes a range (after <see cref="BeginCommand"/>).
    /// <paramref name="synchronous"/>: the call returns only once the transfer is done (<c>glGetBufferSubData</c>).</summary>
    public void Transfer(string what, uint handle, string label, long offset, long size, bool read, bool write, bool synchronous = false)
    {
        var state = State(handle, label);
        long end = offset + size;
        if (read && state.Tracked && !state.Written)
            Throw(GLHazard.UninitializedRead, what, state, $"{what} reads buffer '{state.Label}', which nothing wrote since it was created");
        foreach (var a in state.Accesses)
        {
            if (!a.Overlaps(offset, end)) continue;
            if (read && a.Kind == AccessKind.KernelWrite && a.UpdateEpoch == updateEpoch)
                Throw(GLHazard.TransferReadWithoutBarrier, what, state, $"{what} reads buffer '{state.Label}' that kernel {a.By} wrote, with no GL_BUFFER_UPDATE_BARRIER_BIT barrier since");
            if (write && a.Kind != AccessKind.HostWrite && a.Sequence > completed)
                Throw(GLHazard.TransferWriteOverPendingWork, what, state, $"{what} writes buffer '{state.Label}' while {Describe(a)} (command {a.Sequence}) may still be running: no fence was waited for since (completed through command {completed}), and no barrier bit orders a later transfer after it");
        }
        if (synchronous) return;
        if (read) Record(state, AccessKind.TransferRead, offset, end, what);
        if (write) Record(state, AccessKind.TransferWrite, offset, end, what);
    }

    /// <summary>The host writes mapped memory [offset, offset + size) of a staging buffer.</summary>
    public void HostWrite(string what, uint handle, string label, long offset, long size)
    {
        var state = State(handle, label);
        long end = offset + size;
        foreach (var a in state.Accesses)
        {
            if (!a.Overlaps(offset, end) || a.Kind == AccessKind.HostWrite) continue;
            if (a.Sequence > completed)
                Throw(GLHazard.HostWriteWhileInUse, what, state, $"{what} writes mapped memory of '{state.Label}' [{offset}, {end}) bytes that {Describe(a)} (command {a.Sequence}) may still read: its fence has not passed (completed through command {completed})");
        }
        Record(state, AccessKind.HostWrite, offset, end, what);
    }

    /// <summary>The host reads mapped memory [offset, offset + size) of a readback buffer.</summary>
    public void HostRead(string what, uint handle, string label, long offset, long size)
    {
        var state = State(handle, label);
        long end = offset + size;
        foreach (var a in state.Accesses)
        {
            if (!a.Overlaps(offset, end) || a.Kind is not (AccessKind.KernelWrite or AccessKind.TransferWrite)) continue;
            if (a.Sequence > completed)
                Throw(GLHazard.HostReadBeforeFence, what, state, $"{what} reads mapped memory of '{state.Label}' that {Describe(a)} (command {a.Sequence}) writes, before a fence after it passed (completed through command {completed})");
            if (a.Kind == AccessKind.KernelWrite && a.ClientEpoch == clientEpoch)
                Throw(GLHazard.HostReadBeforeFence, what, state, $"{what} reads mapped memory of '{state.Label}' that kernel {a.By} wrote, with no GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT barrier after it");
        }
    }

    /// <summary>A <c>glMemoryBarrier</c> with the given bits.</summary>
    public void Barrier(bool shaderStorage, bool bufferUpdate, bool clientMapped)
    {
        if (shaderStorage) shaderEpoch++;
        if (bufferUpdate) updateEpoch++;
        if (clientMapped) clientEpoch++;
    }

    /// <summary>A fence after every command so far: returns the sequence number it completes when it passes.</summary>
    public long FenceInserted() => sequence;

    /// <summary>The host saw a fence pass (or <c>glFinish</c> returned): every command up to <paramref name="through"/> is done.</summary>
    public void Completed(long through)
    {
        if (through <= completed) return;
        completed = through;
        foreach (var state in buffers.Values)
            state.Accesses.RemoveAll(a => a.Sequence <= completed && a.ShaderEpoch < shaderEpoch && a.UpdateEpoch < updateEpoch
                && (a.Kind != AccessKind.KernelWrite || a.ClientEpoch < clientEpoch));
    }

    /// <summary><c>glFinish</c> returned.</summary>
    public void Finished() => Completed(sequence);

    BufferState State(uint handle, string label)
    {
        if (!buffers.TryGetValue(handle, out var state))
        {
            // made before validation was turned on: its history is unknown, so it counts as written and idle
            state = new BufferState(label, tracked: false, written: true);
            buffers.Add(handle, state);
        }
        return state;
    }

    /// <summary>Keeps the access (in place of the last one of its kind on the same range); a write marks the buffer written.</summary>
    void Record(BufferState state, AccessKind kind, long offset, long end, string by)
    {
        if (kind is not (AccessKind.KernelRead or AccessKind.TransferRead)) state.Written = true;
        var access = new Access(kind, offset, end, sequence, shaderEpoch, updateEpoch, clientEpoch, by);
        var accesses = state.Accesses;
        for (int i = 0; i < accesses.Count; i++)
            if (accesses[i].Kind == kind && accesses[i].Offset == offset && accesses[i].End == end)
            {
                accesses[i] = access;
                return;
            }
        accesses.Add(access);
    }

    static string Describe(Access a) => a.Kind switch
    {
        AccessKind.KernelRead => $"kernel {a.By} (reading it)",
        AccessKind.KernelWrite => $"kernel {a.By} (writing it)",
        AccessKind.TransferRead => $"the {a.By} (reading it)",
        AccessKind.TransferWrite => $"the {a.By} (writing it)",
        _ => $"the host's {a.By}",
    };

    static void Throw(GLHazard hazard, string operation, BufferState state, string message) =>
        throw new GLHazardException(hazard, operation, state.Label, $"GL validation: {hazard}: {message}");
}

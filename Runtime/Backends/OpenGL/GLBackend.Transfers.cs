using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

// Transfers (transfer.comp): every write that is not an op's own output is a kernel — fills, copies, uploads out of
// fenced staging, readbacks into mapped staging — so the barrier after each dispatch orders it with every other kernel,
// both ways. No glBufferSubData, glClearBufferData or glCopyBufferSubData touches a buffer a kernel reads.
public sealed partial class GLBackend
{
    /// <summary>Fills queued at most, run by one dispatch (transfer.comp's FILL has four destinations).</summary>
    const int FillsPerDispatch = 4;
    static readonly int[] FillBindings = [Output0, Output1, Output2, Output3];

    ComputeProgram? fillProgram, copyVectorsProgram, copyProgram;
    GLUploadRing? uploads;
    readonly StorageRange[] pendingFills = new StorageRange[FillsPerDispatch];
    readonly float[] pendingFillValues = new float[FillsPerDispatch];
    int pendingFillCount;

    /// <summary>Host → device: the values go into the next free bytes of the persistently mapped staging ring
    /// (<see cref="GLUploadRing"/>, fenced per segment), and a kernel copies them into the tensor. Queues work; waits
    /// only when the device is a whole ring (4 MiB of uploads) behind.</summary>
    public void Upload(Tensor tensor, ReadOnlySpan<float> source)
    {
        EnsureUsable();
        CheckLength(tensor, source.Length, "upload");
        var destination = RangeOf(tensor);
        var ring = uploads ??= new GLUploadRing(Device);
        var program = Program(ref copyVectorsProgram, "transfer.comp", "COPY_VECTORS");
        for (int done = 0; done < source.Length; done += GLUploadRing.ChunkFloats)
        {
            int count = Math.Min(source.Length - done, GLUploadRing.ChunkFloats);
            var staging = ring.Reserve(count, out long offset);
            source.Slice(done, count).CopyTo(staging);
            staging[count..].Clear(); // the tensor's padding to a whole vec4 stays zero
            Device.BindStorage(Input0, ring.Buffer, offset, (long)staging.Length * sizeof(float));
            Bind(Output0, destination);
            program.SetUniform("from", 0);
            program.SetUniform("to", done / VectorWidth);
            program.SetUniform("count", staging.Length / VectorWidth);
            program.Dispatch(staging.Length / VectorWidth, 1, 1);
        }
    }

    /// <summary>Device → host, synchronous (<c>glGetNamedBufferSubData</c> after the dispatches' buffer-update barrier):
    /// waits for the work that writes the tensor. Counted in <see cref="ReadbackCount"/>.</summary>
    public void Download(Tensor tensor, Span<float> destination)
    {
        EnsureUsable();
        CheckLength(tensor, destination.Length, "download");
        var range = RangeOf(tensor);
        range.Buffer.Download(range.Offset, destination);
        ReadbackCount++;
        Downloaded?.Invoke(tensor, destination);
    }

    /// <summary>Receives every value <see cref="Download"/> returns (Tests/Gpu/validate.sh digests them to prove validation
    /// mode bit-identical to normal mode over the whole GL suite); null by default.</summary>
    internal DownloadObserver? Downloaded { get; set; }

    /// <summary>What <see cref="Downloaded"/> is called with: the tensor and the values just read back.</summary>
    internal delegate void DownloadObserver(Tensor tensor, ReadOnlySpan<float> values);

    /// <inheritdoc/>
    public long ReadbackCount { get; private set; }

    /// <summary>
    /// Every element (and the padding to a whole vec4) set to <paramref name="value"/> by a kernel. Fills are queued and
    /// run four to a dispatch (a step zeroes dozens of gradients, and on llvmpipe each dispatch costs tens of µs), before
    /// any other work of this backend and before <see cref="BufferOf"/> hands a buffer out, so they keep their place in
    /// the order of commands. A tensor filled twice in a row keeps the later value. Fills of neighbouring tensors of one
    /// <see cref="AllocateGroup"/> with the same value join into one range (the zero gaps between them are filled too),
    /// so a step's parameter gradients are zeroed as one range.
    /// </summary>
    public void Fill(Tensor tensor, float value)
    {
        if (disposed) ThrowDisposed();
        Device.EnsureThread();
        var range = new StorageRange(StorageOf(tensor));
        for (int k = 0; k < pendingFillCount; k++)
            if (pendingFills[k] == range)
            {
                pendingFillValues[k] = value;
                return;
            }
        if (pendingFillCount > 0 && JoinsLastFill(range, value)) return;
        // Ranges of one dispatch must not overlap (their invocations run in no order), nor may there be more than four.
        bool overlaps = false;
        for (int k = 0; k < pendingFillCount; k++) overlaps |= pendingFills[k].Overlaps(range);
        if (overlaps || pendingFillCount == FillsPerDispatch) FlushFills();
        pendingFills[pendingFillCount] = range;
        pendingFillValues[pendingFillCount++] = value;
    }

    /// <summary>Extends the last queued fill over <paramref name="range"/> when it has the same value and starts where that
    /// fill ends, or within the alignment gap after it (a gap belongs to no tensor: filling it changes nothing anyone reads).</summary>
    bool JoinsLastFill(StorageRange range, float value)
    {
        int last = pendingFillCount - 1;
        var queued = pendingFills[last];
        int gap = Math.Max(VectorWidth, Device.StorageOffsetAlignment / sizeof(float));
        if (!ReferenceEquals(queued.Buffer, range.Buffer) || pendingFillValues[last].CompareTo(value) != 0
            || range.Offset < queued.End || range.Offset >= queued.End + gap) return false;
        for (int k = 0; k < last; k++)
            if (pendingFills[k].Overlaps(range)) return false;
        pendingFills[last] = queued with { Length = range.End - queued.Offset };
        return true;
    }

    /// <summary>Runs the queued fills as one dispatch (a disposed tensor's fill is dropped).</summary>
    void FlushFills()
    {
        int count = pendingFillCount;
        pendingFillCount = 0; // first: the binds below must not flush again
        var program = Program(ref fillProgram, "transfer.comp", "FILL");
        Span<int> vectors = stackalloc int[FillsPerDispatch];
        int most = 0;
        for (int k = 0; k < FillsPerDispatch; k++)
        {
            var range = k < count ? pendingFills[k] : default;
            pendingFills[k] = default;
            int binding = FillBindings[k];
            if (range.Buffer is null || range.Buffer.IsDisposed) BindPlaceholder(binding);
            else
            {
                Bind(binding, range);
                vectors[k] = range.Length / VectorWidth;
                most = Math.Max(most, vectors[k]);
            }
        }
        if (most == 0) return;
        program.SetUniform("counts", vectors[0], vectors[1], vectors[2], vectors[3]);
        program.SetUniform("values", pendingFillValues[0], pendingFillValues[1], pendingFillValues[2], pendingFillValues[3]);
        program.Dispatch(most, 1, 1);
    }

    /// <summary>A kernel copy of the whole tensor, in vec4s.</summary>
    public void Copy(Tensor source, Tensor destination)
    {
        EnsureUsable();
        CheckLength(destination, source.Length, "copy");
        StorageRange from = RangeOf(source), to = RangeOf(destination);
        // Views of one storage start at its first element, so copying a tensor onto itself changes nothing.
        if (from == to) return;
        var program = Program(ref copyVectorsProgram, "transfer.comp", "COPY_VECTORS");
        Bind(Input0, from);
        Bind(Output0, to);
        int vectors = DivideRoundingUp(source.Length, VectorWidth);
        program.SetUniform("from", 0);
        program.SetUniform("to", 0);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, 1);
    }

    /// <summary>A kernel copy of <paramref name="count"/> floats between any offsets (ranges of different tensors, or
    /// disjoint ranges).</summary>
    public void CopyRange(Tensor source, int sourceOffset, Tensor destination, int destinationOffset, int count)
    {
        EnsureUsable();
        CheckRange(source, sourceOffset, count);
        CheckRange(destination, destinationOffset, count);
        if (count == 0) return;
        StorageRange from = RangeOf(source), to = RangeOf(destination);
        CopyFloats(from.Buffer, from.Offset + sourceOffset, to.Buffer, to.Offset + destinationOffset, count);
    }

    /// <summary>
    /// Device → mapped staging for <see cref="Execution.AsyncReadback"/>: a kernel copies all of <paramref name="source"/> (its
    /// <c>Length</c> floats) to <paramref name="offset"/> in <paramref name="destination"/>, then
    /// <c>glMemoryBarrier(GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)</c> makes them visible to the host once a fence inserted
    /// after this call has passed. Does not wait.
    /// </summary>
    internal void CopyToReadback(Tensor source, GLReadbackBuffer destination, int offset)
    {
        EnsureUsable();
        ArgumentNullException.ThrowIfNull(destination);
        if (offset < 0 || (long)offset + source.Length > destination.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"'{source.Name}' ({source.Length} values) at offset {offset} does not fit a readback buffer of {destination.Length} floats");
        var from = RangeOf(source);
        CopyFloats(from.Buffer, from.Offset, destination, offset, source.Length);
        Device.MemoryBarrier(MemoryBarrierMask.ClientMappedBufferBarrierBit);
    }

    void CopyFloats(GLBuffer source, int sourceOffset, GLBufferObject destination, int destinationOffset, int count)
    {
        var program = Program(ref copyProgram, "transfer.comp", "COPY");
        // the kernel touches only the two ranges (disjoint ranges of one tensor may be copied, and readback slots are
        // written one at a time): validation mode tracks those, not the whole buffers
        Device.BindStorageAccessing(Input0, source, (long)sourceOffset * sizeof(float), (long)count * sizeof(float));
        Device.BindStorageAccessing(Output0, destination, (long)destinationOffset * sizeof(float), (long)count * sizeof(float));
        program.SetUniform("from", sourceOffset);
        program.SetUniform("to", destinationOffset);
        program.SetUniform("count", count);
        program.Dispatch(count, 1, 1);
    }

    static void CheckRange(Tensor tensor, int offset, int count)
    {
        if (offset < 0 || count < 0 || (long)offset + count > tensor.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {(long)offset + count}) is outside '{tensor.Name}' {tensor.Shape} ({tensor.Length} values)");
    }
}

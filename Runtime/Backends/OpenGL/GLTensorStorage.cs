namespace NeuroPlugin.Backends.OpenGL;

/// <summary>Tensor storage on the GL backend: a range of a <see cref="GLBuffer"/> (shader storage buffer) of floats, its
/// length a multiple of 4 so element-wise kernels can use vec4 without a scalar tail. Most tensors own a whole buffer;
/// the tensors of one <see cref="GLBackend.AllocateGroup"/> are ranges of one shared buffer, so that one kernel can reach
/// all of them (the optimizers' update of every parameter in one dispatch).</summary>
public sealed class GLTensorStorage : TensorStorage
{
    readonly SharedBuffer? shared;
    int released; // a range of a shared buffer: 1 once this storage let go of it

    internal GLTensorStorage(GLBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        Buffer = buffer;
        Length = buffer.Length;
    }

    GLTensorStorage(SharedBuffer shared, int offset, int length)
    {
        this.shared = shared;
        Buffer = shared.Buffer;
        Offset = offset;
        Length = length;
    }

    /// <summary>Ranges of <paramref name="buffer"/>, a new one, one per pair of <paramref name="offsets"/> and
    /// <paramref name="lengths"/> (in floats); the buffer is deleted when the last of them is disposed.</summary>
    internal static GLTensorStorage[] Ranges(GLBuffer buffer, ReadOnlySpan<int> offsets, ReadOnlySpan<int> lengths)
    {
        var shared = new SharedBuffer(buffer, offsets.Length);
        var ranges = new GLTensorStorage[offsets.Length];
        for (int i = 0; i < ranges.Length; i++) ranges[i] = new GLTensorStorage(shared, offsets[i], lengths[i]);
        return ranges;
    }

    /// <summary>The buffer holding the values, NCHW order, from <see cref="Offset"/> on.</summary>
    public GLBuffer Buffer { get; }
    /// <summary>Where the values start in <see cref="Buffer"/>, in floats: 0 for a tensor that owns its buffer, a multiple of
    /// <see cref="GLDevice.StorageOffsetAlignment"/> bytes for a range of a shared one.</summary>
    public int Offset { get; }
    /// <summary>True when this storage is a range of a buffer other tensors share (<see cref="GLBackend.AllocateGroup"/>).</summary>
    public bool IsShared => shared is not null;
    /// <inheritdoc/>
    public override int Length { get; }
    /// <inheritdoc/>
    public override bool IsDisposed => Volatile.Read(ref released) != 0 || Buffer.IsDisposed;

    /// <summary>Deletes the buffer (at once on the owner thread, queued from any other); a range of a shared buffer lets go of
    /// it, and the last range to do so deletes it. Safe to call twice.</summary>
    public override void Dispose()
    {
        if (shared is null) Buffer.Dispose();
        else if (Interlocked.Exchange(ref released, 1) == 0) shared.Release();
    }

    /// <summary>A buffer shared by the ranges of one group, deleted when its last user lets go.</summary>
    sealed class SharedBuffer(GLBuffer buffer, int users)
    {
        int users = users;
        public GLBuffer Buffer { get; } = buffer;
        public void Release()
        {
            if (Interlocked.Decrement(ref users) == 0) Buffer.Dispose();
        }
    }
}

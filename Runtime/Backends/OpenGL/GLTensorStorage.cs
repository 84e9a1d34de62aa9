namespace NeuroPlugin.Backends.OpenGL;

/// <summary>Tensor storage on the GL backend: one <see cref="GLBuffer"/> (shader storage buffer) of floats,
/// its capacity a multiple of 4 so element-wise kernels can use vec4 without a scalar tail.</summary>
public sealed class GLTensorStorage : TensorStorage
{
    internal GLTensorStorage(GLBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        Buffer = buffer;
    }

    /// <summary>The buffer holding the values, NCHW order.</summary>
    public GLBuffer Buffer { get; }
    /// <inheritdoc/>
    public override int Length => Buffer.Length;
    /// <inheritdoc/>
    public override bool IsDisposed => Buffer.IsDisposed;
    /// <summary>Deletes the buffer (at once on the owner thread, queued from any other).</summary>
    public override void Dispose() => Buffer.Dispose();
}

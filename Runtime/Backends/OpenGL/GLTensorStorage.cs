using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>Tensor storage on the GL backend: one <see cref="GLBuffer"/> (shader storage buffer) of floats.</summary>
public sealed class GLTensorStorage : TensorStorage
{
    public GLTensorStorage(GLBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        Buffer = buffer;
    }

    /// <summary>The buffer holding the values, NCHW order.</summary>
    public GLBuffer Buffer { get; }
    public override int Length => Buffer.Length;
    public override bool IsDisposed => Buffer.IsDisposed;
    public override void Dispose() => Buffer.Dispose();
}

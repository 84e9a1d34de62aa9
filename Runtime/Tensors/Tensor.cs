namespace NeuroPlugin.Tensors;

/// <summary>
/// A float32 tensor in NCHW layout whose storage lives on one backend (CPU memory or a GL buffer).
/// Data crosses between the host and the backend only through <see cref="Upload"/> and
/// <see cref="Download"/>, so every readback is one the caller asked for.
/// A tensor either owns its storage or is a view (same storage, another shape, see <see cref="Reshape"/>).
/// </summary>
public sealed class Tensor : IDisposable
{
    readonly bool ownsStorage;
    bool disposed;

    internal Tensor(IBackend backend, TensorStorage storage, TensorShape shape, string name, bool ownsStorage)
    {
        if (storage.Length < shape.Length)
            throw new ShapeException($"tensor '{name}' of shape {shape} needs {shape.Length} elements, storage has {storage.Length}");
        Backend = backend;
        Storage = storage;
        Shape = shape;
        Name = name;
        this.ownsStorage = ownsStorage;
    }

    /// <summary>The backend that owns the storage.</summary>
    public IBackend Backend { get; }
    /// <summary>The shape, NCHW.</summary>
    public TensorShape Shape { get; }
    /// <summary>A name for messages and debugging (node or parameter name).</summary>
    public string Name { get; }
    /// <summary>Number of elements.</summary>
    public int Length => Shape.Length;
    /// <summary>The backend-specific storage (a float array on CPU, a buffer on GL).</summary>
    internal TensorStorage Storage { get; }
    /// <summary>True once disposed.</summary>
    public bool IsDisposed => disposed || Storage.IsDisposed;

    /// <summary>Copies host data into the tensor. <paramref name="source"/> must hold exactly <see cref="Length"/> values.</summary>
    public void Upload(ReadOnlySpan<float> source)
    {
        if (source.Length != Length)
            throw new ShapeException($"upload to '{Name}' {Shape} needs {Length} values, got {source.Length}");
        Backend.Upload(this, source);
    }

    /// <summary>Copies the tensor to host memory (a readback on GPU backends; it waits for the GPU).</summary>
    public void Download(Span<float> destination)
    {
        if (destination.Length != Length)
            throw new ShapeException($"download of '{Name}' {Shape} needs room for {Length} values, got {destination.Length}");
        Backend.Download(this, destination);
    }

    /// <summary>Downloads into a new array (allocates; for tests and tools).</summary>
    public float[] ToArray()
    {
        var values = new float[Length];
        Download(values);
        return values;
    }

    /// <summary>A view with the same storage and element count but another shape (e.g. Flatten).</summary>
    public Tensor Reshape(TensorShape shape, string? name = null)
    {
        if (shape.Length != Length)
            throw new ShapeException($"cannot view '{Name}' {Shape} as {shape}: {Length} elements vs {shape.Length}");
        return new Tensor(Backend, Storage, shape, name ?? Name, ownsStorage: false);
    }

    /// <summary>Releases the storage if this tensor owns it. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (ownsStorage) Storage.Dispose();
    }

    /// <summary>Name, shape and backend, e.g. <c>conv1.weight (6,1,5,5) on cpu</c>; reads no values.</summary>
    public override string ToString() => $"{Name} {Shape} on {Backend.Name}";
}

/// <summary>Backend-owned memory behind one or more tensors.</summary>
public abstract class TensorStorage : IDisposable
{
    /// <summary>Capacity in float32 elements.</summary>
    public abstract int Length { get; }
    /// <summary>True once released.</summary>
    public abstract bool IsDisposed { get; }
    /// <summary>Releases the memory; safe to call twice.</summary>
    public abstract void Dispose();
}

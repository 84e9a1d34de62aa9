namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// The table of ranges a multi-tensor kernel reads (Shaders/segments.glsl): one row of <see cref="Columns"/> floats per
/// tensor, column 0 (or another key column) its first index in the dispatch, ascending, the others what the kernel needs
/// for it (where its ranges start in their buffers, its hyper-parameters). Whole numbers are stored as floats, exact
/// below <see cref="MaxValue"/>, so uploads are plain float copies. The caller writes every row into <see cref="Begin"/>'s
/// span and the tensors they describe into <see cref="Tensors"/>' on each call; <see cref="Commit"/> uploads a new table
/// only when either differs from what the device copy was made for (once per training run), so a steady step allocates
/// nothing and uploads nothing.
/// </summary>
sealed class GLSegmentTable(string name, int columns) : IDisposable
{
    /// <summary>Whole numbers in a table are floats, exact below 2²⁴: the buffers a table points into must be shorter.</summary>
    public const int MaxValue = 1 << 24;

    float[] rows = [];     // what the caller wrote, capacity grows only
    float[] uploaded = []; // what the device copy holds
    int length;
    Tensor?[] tensors = [], uploadedTensors = [];
    int tensorCount;
    Tensor? table;

    /// <summary>Floats per row.</summary>
    public int Columns => columns;

    /// <summary>Whether the device copy exists (a GL object the backend holds).</summary>
    public bool Exists => table is not null;

    /// <summary>The rows to write for this call, <paramref name="rowCount"/>·<see cref="Columns"/> floats.</summary>
    public Span<float> Begin(int rowCount)
    {
        length = rowCount * columns;
        if (rows.Length < length) rows = new float[length];
        return rows.AsSpan(0, length);
    }

    /// <summary>The tensors the rows are for, <paramref name="count"/> of them in any fixed order, to write for this call.</summary>
    public Span<Tensor?> Tensors(int count)
    {
        tensorCount = count;
        if (tensors.Length < count) tensors = new Tensor?[count];
        return tensors.AsSpan(0, count);
    }

    /// <summary>The device copy of the rows written since <see cref="Begin"/>: the last one when they are the same,
    /// otherwise a new one allocated on <paramref name="backend"/> and uploaded.</summary>
    public Tensor Commit(IBackend backend)
    {
        var current = rows.AsSpan(0, length);
        var currentTensors = tensors.AsSpan(0, tensorCount);
        if (table is { IsDisposed: false } && current.SequenceEqual(uploaded) && SameTensors(currentTensors)) return table;
        table?.Dispose();
        table = backend.Allocate(new TensorShape(length), name);
        table.Upload(current);
        uploaded = current.ToArray();
        uploadedTensors = currentTensors.ToArray();
        return table;
    }

    bool SameTensors(ReadOnlySpan<Tensor?> current)
    {
        if (current.Length != uploadedTensors.Length) return false;
        for (int i = 0; i < current.Length; i++)
            if (!ReferenceEquals(current[i], uploadedTensors[i])) return false;
        return true;
    }

    /// <summary>Deletes the device copy. Safe to call twice.</summary>
    public void Dispose()
    {
        table?.Dispose();
        table = null;
        uploaded = [];
        uploadedTensors = [];
    }
}

using System.Runtime.InteropServices;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// The reference backend: every op is a plain loop over float arrays, written to be read next to the
/// formula in <see cref="IBackend"/>. Inner loops use <see cref="System.Numerics.Tensors.TensorPrimitives"/>
/// (SIMD) where a row of the loop is a dot product or an axpy; convolution goes through im2col + GEMM as
/// the course teaches it; that GEMM (<see cref="Gemm"/>) is packed, SIMD and split over <see cref="Threads"/> threads
/// of a small process-wide pool, by tiles of the output, so results do not depend on the thread count. The other ops
/// run on the calling thread. Its only allocations are the tensors themselves and grow-only workspaces.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    /// <summary>"cpu".</summary>
    public string Name => "cpu";

    /// <summary>The processor, for reports.</summary>
    public string DeviceName => $"{processor} ({RuntimeInformation.ProcessArchitecture}, {Threads} thread{(Threads == 1 ? "" : "s")})";

    readonly string processor = DescribeProcessor();

    /// <inheritdoc/>
    public Tensor Allocate(TensorShape shape, string name) =>
        new(this, new CpuTensorStorage(shape.Length), shape, name, ownsStorage: true);

    /// <inheritdoc/>
    /// <remarks>On the CPU every tensor gets its own array: the update rules loop over the tensors anyway.</remarks>
    public Tensor[] AllocateGroup(IReadOnlyList<TensorShape> shapes, IReadOnlyList<string> names, string groupName)
    {
        if (names.Count != shapes.Count) throw new ArgumentException($"{shapes.Count} shapes but {names.Count} names", nameof(names));
        var tensors = new Tensor[shapes.Count];
        for (int i = 0; i < tensors.Length; i++) tensors[i] = Allocate(shapes[i], names[i]);
        return tensors;
    }

    /// <inheritdoc/>
    public void Upload(Tensor tensor, ReadOnlySpan<float> source)
    {
        if (Skips) return;
        source.CopyTo(Data(tensor));
    }

    /// <inheritdoc/>
    public void Download(Tensor tensor, Span<float> destination)
    {
        ReadOnlyData(tensor).CopyTo(destination);
        ReadbackCount++;
    }

    /// <inheritdoc/>
    public long ReadbackCount { get; private set; }

    /// <inheritdoc/>
    public void Fill(Tensor tensor, float value)
    {
        if (Skips) return;
        copyWork.Run(CopyWork.Mode.Fill, null, ArrayOf(tensor), tensor.Length, value, Threads);
    }

    /// <inheritdoc/>
    public void Copy(Tensor source, Tensor destination)
    {
        if (destination.Length < source.Length) throw new ArgumentException($"copying '{source.Name}' {source.Shape} into the smaller '{destination.Name}' {destination.Shape}");
        if (Skips) return;
        copyWork.Run(CopyWork.Mode.Copy, ArrayOf(source), ArrayOf(destination), source.Length, 0f, Threads);
    }

    readonly CopyWork copyWork = new();

    /// <summary>Fill, copy or <c>y += scale·x</c> (<see cref="Accumulate"/>) over the worker pool: the memory passes of every
    /// step (clearing gradients, residual sums), each element computed alone.</summary>
    sealed class CopyWork : ChunkedWork
    {
        /// <summary>Accumulate: y += scale·x. Assign: y = 0 + scale·x, the same code on a chunk of y zeroed just before
        /// (in cache), so the bits of accumulating into a zeroed y.</summary>
        public enum Mode { Fill, Copy, Accumulate, Assign }

        Mode mode;
        float[]? source;
        float[] target = [];
        float value;

        /// <summary><paramref name="value"/>: the fill value, or the scale of an accumulation.</summary>
        public void Run(Mode mode, float[]? source, float[] target, int length, float value, int threads)
        {
            (this.mode, this.source, this.target, this.value) = (mode, source, target, value);
            RunChunks(length, threads);
            (this.source, this.target) = (null, []);
        }

        protected override void RunRange(int start, int count)
        {
            Span<float> y = target.AsSpan(start, count);
            if (mode == Mode.Fill) y.Fill(value);
            else if (mode == Mode.Copy) source.AsSpan(start, count).CopyTo(y);
            else
            {
                if (mode == Mode.Assign) y.Clear();
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(source.AsSpan(start, count), value, y, y); // y += scale·x
            }
        }
    }

    /// <summary>While set, each op call is one unit of the slice's numbering, or several where the op is a sequence of
    /// independent pieces (a convolution: per group, its outputs by sample and tile of <see cref="ChannelTile"/> channels
    /// and its weight gradient by tiles of output channels; batch norm: tiles of channels; pooling: blocks of
    /// <see cref="ChannelTile"/> (sample, channel) planes; an update rule: one per <see cref="ElementBlock"/> elements),
    /// and only the units inside its window run.</summary>
    public WorkSlice? Slice { get; set; }

    /// <summary>Elements per unit of an element-wise update rule under a <see cref="Slice"/>.</summary>
    const int ElementBlock = 4096;

    /// <summary>Numbers the op about to run as one unit of the <see cref="Slice"/>: true when it lies outside the window and
    /// must do nothing.</summary>
    bool Skips => Slice is { } slice && !slice.TakeOne();

    /// <summary>Numbers the <paramref name="count"/> units of the op about to run: those to run now, [From, To) — all of
    /// them, or under a <see cref="Slice"/> those inside its window (possibly none).</summary>
    (long From, long To) Units(long count) => Slice is { } slice ? slice.Take(count) : (0, count);

    /// <summary>The elements [First, End) of an element-wise op over <paramref name="length"/> values to run now: all of
    /// them, or under a <see cref="Slice"/> the blocks of <see cref="ElementBlock"/> inside its window (possibly none).</summary>
    (int First, int End) ElementRange(int length)
    {
        if (Slice is not { } slice) return (0, length);
        var (from, to) = slice.Take(Math.Max(1, (length + ElementBlock - 1) / ElementBlock));
        return ((int)Math.Min(from * ElementBlock, length), (int)Math.Min(to * ElementBlock, length));
    }

    /// <summary>Nothing to release: arrays belong to the garbage collector.</summary>
    public void Dispose() { }

    /// <summary>The elements of a CPU tensor (exactly <c>tensor.Length</c> of them), to read or write: the storage's
    /// <see cref="CpuTensorStorage.Version"/> moves on, so what was derived from the values before (packed weights) is
    /// made again.</summary>
    internal static Span<float> Data(Tensor tensor)
    {
        var storage = StorageOf(tensor);
        storage.Touch();
        return storage.Data.AsSpan(0, tensor.Length);
    }

    /// <summary><see cref="Data"/> for reading only: the version stays.</summary>
    internal static ReadOnlySpan<float> ReadOnlyData(Tensor tensor) => StorageOf(tensor).Data.AsSpan(0, tensor.Length);

    /// <summary>A CPU tensor's storage, checked to be on this backend and alive.</summary>
    static CpuTensorStorage StorageOf(Tensor tensor)
    {
        if (tensor.Storage is not CpuTensorStorage storage)
            throw new ArgumentException($"tensor '{tensor.Name}' lives on the {tensor.Backend.Name} backend, not on the CPU");
        if (storage.IsDisposed)
            throw new ObjectDisposedException(tensor.Name);
        return storage;
    }

    static Span<float> DataOrEmpty(Tensor? tensor) => tensor is null ? Span<float>.Empty : Data(tensor);

    /// <summary>"CPU: " and the processor's model name from /proc/cpuinfo.</summary>
    static string DescribeProcessor()
    {
        string model = "unknown processor";
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal))
                {
                    model = line[(line.IndexOf(':') + 1)..].Trim();
                    break;
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"CPU: {model}";
    }
}

/// <summary>CPU tensor storage: a float array, and a version that every access that may write moves on.</summary>
internal sealed class CpuTensorStorage : TensorStorage
{
    float[]? data;
    long version;

    /// <summary>Moves on whenever the values may have changed (<see cref="CpuBackend.Data"/>, which every op that
    /// writes a tensor goes through); equal versions mean equal values. Read between ops, on the caller's thread.</summary>
    public long Version => version;

    /// <summary>Marks the values as possibly changed. A plain increment, no interlocked one (ops call this many times a
    /// pass): should worker threads of one op race here, each still writes at least the version before the op plus one,
    /// so the version seen between ops only grows.</summary>
    public void Touch() => version++;

    public CpuTensorStorage(int length) => data = new float[length];

    public float[] Data => data ?? throw new ObjectDisposedException(nameof(CpuTensorStorage));
    public override int Length => data?.Length ?? 0;
    public override bool IsDisposed => data is null;
    public override void Dispose() => data = null;
}

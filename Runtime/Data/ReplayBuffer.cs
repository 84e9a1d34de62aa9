using NeuroPlugin.Backends.OpenGL;

namespace NeuroPlugin.Data;

/// <summary>
/// A replay buffer that lives on the device, for learning while the game runs: up to <see cref="Capacity"/> samples of
/// one shape (e.g. (C,H,W)) with a class label each, kept in two backend tensors, <see cref="Samples"/> (N,C,H,W) and
/// <see cref="Targets"/> (N,K) one-hot rows. When full, a new sample overwrites the oldest (a ring: the sample appended
/// as number a goes to slot <c>a mod N</c>).
/// <list type="bullet">
/// <item><see cref="Append"/> copies one sample of a batch tensor into the next slot on the device
///   (<see cref="IBackend.CopyRange"/>) and its one-hot target from a (K,K) identity made at construction, so nothing is
///   uploaded or read back per sample; the labels are also kept on the host (<see cref="LabelAt"/>).</item>
/// <item><see cref="SampleInto"/> draws each batch row's slot uniformly from [0, <see cref="Count"/>), with replacement,
///   on the device from Philox keyed by (seed, <see cref="Stream"/>) and counted by the step
///   (<see cref="CounterRandom.RowIndex"/>), and gathers the samples and their targets
///   (<see cref="IBackend.GatherRandomRows"/>): the CPU and GL backends draw the same rows.</item>
/// </list>
/// Everything is allocated by the constructor; appending and sampling allocate nothing. All calls on the backend's thread.
/// <see cref="Samples"/> is one tensor, so on the GL backend capacity × sample length floats must fit the driver's largest
/// shader storage block (<see cref="GLDevice.MaxShaderStorageBlockSize"/>: 128 MiB on llvmpipe, e.g. 2730 samples of (3,64,64)).
/// </summary>
public sealed class ReplayBuffer : IDisposable
{
    /// <summary>The default Philox stream of replay sampling (ASCII "rply"), apart from dropout's per-node streams.</summary>
    public const uint DefaultStream = 0x72706C79;

    readonly Tensor identity;
    readonly int[] labels;
    readonly int sampleLength;
    bool disposed;

    /// <summary>An empty buffer on <paramref name="backend"/> for <paramref name="capacity"/> samples of
    /// <paramref name="sampleShape"/> (no batch axis: (C,H,W), or (F) for feature vectors) and
    /// <paramref name="classCount"/> classes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">capacity or classCount is less than 1, the sample shape has rank 4
    /// (a buffer of it would need rank 5), or the samples would not fit one device buffer (the message says how many do).</exception>
    public ReplayBuffer(IBackend backend, int capacity, TensorShape sampleShape, int classCount, uint stream = DefaultStream, string name = "replay")
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        if (sampleShape.Rank is < 1 or >= TensorShape.MaxRank)
            throw new ArgumentOutOfRangeException(nameof(sampleShape), $"sampleShape {sampleShape} must have rank 1 to {TensorShape.MaxRank - 1} (no batch axis)");
        Backend = backend;
        Capacity = capacity;
        SampleShape = sampleShape;
        ClassCount = classCount;
        Stream = stream;
        sampleLength = sampleShape.Length;
        labels = new int[capacity];
        var eye = new float[classCount * classCount];
        for (int k = 0; k < classCount; k++) eye[k * classCount + k] = 1f;
        long samplesLength = (long)capacity * sampleLength;
        if (backend is GLBackend gl && samplesLength * sizeof(float) > gl.Device.MaxShaderStorageBlockSize)
            throw new ArgumentOutOfRangeException(nameof(capacity),
                $"capacity {capacity} × sample {sampleShape} = {samplesLength * sizeof(float) / (1024 * 1024)} MiB exceeds the driver's largest shader storage block ({gl.Device.MaxShaderStorageBlockSize / (1024 * 1024)} MiB on {gl.Device.Renderer}): keep at most {gl.Device.MaxShaderStorageBlockSize / sizeof(float) / sampleLength} samples");
        if (samplesLength > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(capacity), $"capacity {capacity} × sample {sampleShape} exceeds {int.MaxValue} values");
        try
        {
            Samples = backend.Allocate(sampleShape.PrependBatch(capacity), name + ".samples");
            Targets = backend.Allocate(new TensorShape(capacity, classCount), name + ".targets");
            identity = backend.Allocate(new TensorShape(classCount, classCount), name + ".identity");
            identity.Upload(eye);
        }
        catch
        {
            Samples?.Dispose();
            Targets?.Dispose();
            identity?.Dispose();
            throw;
        }
    }

    /// <summary>The backend holding the buffer.</summary>
    public IBackend Backend { get; }
    /// <summary>N, the most samples kept.</summary>
    public int Capacity { get; }
    /// <summary>One sample's shape, without the batch axis.</summary>
    public TensorShape SampleShape { get; }
    /// <summary>K, the number of classes (one-hot width).</summary>
    public int ClassCount { get; }
    /// <summary>The Philox stream (key word 1) of <see cref="SampleInto"/>.</summary>
    public uint Stream { get; }
    /// <summary>Samples stored: min(<see cref="AppendCount"/>, <see cref="Capacity"/>).</summary>
    public int Count => (int)Math.Min(AppendCount, Capacity);
    /// <summary>Samples appended since construction (or <see cref="Clear"/>), overwritten ones included.</summary>
    public long AppendCount { get; private set; }
    /// <summary>The slot the next <see cref="Append"/> writes: <c>AppendCount mod Capacity</c>.</summary>
    public int NextSlot => (int)(AppendCount % Capacity);
    /// <summary>The stored samples, (N, …sample shape), slot-major. Rows at or past <see cref="Count"/> are zero.</summary>
    public Tensor Samples { get; }
    /// <summary>The stored one-hot targets, (N,K).</summary>
    public Tensor Targets { get; }

    /// <summary>The label stored in <paramref name="slot"/> (0 ≤ slot &lt; <see cref="Count"/>), from the host copy.</summary>
    public int LabelAt(int slot)
    {
        if ((uint)slot >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} is outside the {Count} stored samples");
        return labels[slot];
    }

    /// <summary>
    /// Copies sample <paramref name="sourceIndex"/> of <paramref name="source"/> (B, …sample shape) into slot
    /// <see cref="NextSlot"/>, with the one-hot target of <paramref name="label"/>, on the device; when full this
    /// overwrites the oldest sample.
    /// </summary>
    /// <exception cref="ShapeException">The source's per-sample shape differs; names both shapes.</exception>
    /// <exception cref="ArgumentOutOfRangeException">sourceIndex is outside the batch, or label outside [0, K).</exception>
    public void Append(Tensor source, int sourceIndex, int label)
    {
        EnsureUsable();
        ArgumentNullException.ThrowIfNull(source);
        CheckBatch(source, SampleShape, "source");
        if ((uint)sourceIndex >= (uint)source.Shape[0])
            throw new ArgumentOutOfRangeException(nameof(sourceIndex), $"sourceIndex {sourceIndex} is outside source '{source.Name}' {source.Shape} (batch {source.Shape[0]})");
        if ((uint)label >= (uint)ClassCount)
            throw new ArgumentOutOfRangeException(nameof(label), $"label {label} is outside the replay buffer's {ClassCount} classes");
        int slot = NextSlot;
        Backend.CopyRange(source, sourceIndex * sampleLength, Samples, slot * sampleLength, sampleLength);
        Backend.CopyRange(identity, label * ClassCount, Targets, slot * ClassCount, ClassCount);
        labels[slot] = label;
        AppendCount++;
    }

    /// <summary>
    /// Fills a training batch: row b of <paramref name="inputs"/> (B, …sample shape) and of <paramref name="oneHotTargets"/>
    /// (B,K) get the sample and target of slot <c>RowIndex(seed, Stream, step, b, Count)</c> (<see cref="CounterRandom.RowIndex"/>),
    /// drawn and gathered on the device. Pass a new <paramref name="step"/> every call for fresh draws.
    /// </summary>
    /// <exception cref="InvalidOperationException">The buffer is empty.</exception>
    /// <exception cref="ShapeException">A tensor's shape does not fit; names both shapes.</exception>
    public void SampleInto(Tensor inputs, Tensor oneHotTargets, int seed, long step)
    {
        EnsureUsable();
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(oneHotTargets);
        CheckBatch(inputs, SampleShape, "inputs");
        CheckBatch(oneHotTargets, new TensorShape(ClassCount), "oneHotTargets");
        if (oneHotTargets.Shape[0] != inputs.Shape[0])
            throw new ShapeException($"oneHotTargets '{oneHotTargets.Name}' {oneHotTargets.Shape} and inputs '{inputs.Name}' {inputs.Shape} need the same batch size");
        if (Count == 0)
            throw new InvalidOperationException($"replay buffer '{Samples.Name}' is empty: Append samples before SampleInto");
        Backend.GatherRandomRows(Samples, Count, inputs, unchecked((uint)seed), Stream, step);
        Backend.GatherRandomRows(Targets, Count, oneHotTargets, unchecked((uint)seed), Stream, step);
    }

    /// <summary>The slots <see cref="SampleInto"/> gathers for a batch of <c>slots.Length</c> rows, computed on the host
    /// (for tests and for a game that wants to know which experiences it trained on).</summary>
    public void DrawSlots(int seed, long step, Span<int> slots)
    {
        if (Count == 0) throw new InvalidOperationException($"replay buffer '{Samples.Name}' is empty: Append samples before drawing");
        for (int b = 0; b < slots.Length; b++) slots[b] = CounterRandom.RowIndex(unchecked((uint)seed), Stream, step, b, Count);
    }

    /// <summary>Forgets every sample (<see cref="Count"/> = 0); the device memory is kept, and zeroed.</summary>
    public void Clear()
    {
        EnsureUsable();
        AppendCount = 0;
        Backend.Fill(Samples, 0f);
        Backend.Fill(Targets, 0f);
        Array.Clear(labels);
    }

    static void CheckBatch(Tensor tensor, TensorShape itemShape, string field)
    {
        var shape = tensor.Shape;
        bool fits = shape.Rank == itemShape.Rank + 1;
        for (int axis = 0; fits && axis < itemShape.Rank; axis++) fits = shape[axis + 1] == itemShape[axis];
        if (!fits)
            throw new ShapeException($"{field} '{tensor.Name}' {shape} does not hold samples of {itemShape}: expected (B, {ItemDims(itemShape)})");
    }

    static string ItemDims(TensorShape shape) => string.Join(",", shape.ToArray());

    void EnsureUsable() => ObjectDisposedException.ThrowIf(disposed, this);

    /// <summary>Releases the device tensors. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Samples.Dispose();
        Targets.Dispose();
        identity.Dispose();
    }
}

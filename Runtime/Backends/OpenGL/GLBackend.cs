using System.Runtime.CompilerServices;
using Silk.NET.OpenGL;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// The OpenGL 4.3 compute-shader backend: tensors are shader storage buffers, every op is a kernel from
/// <c>Shaders/</c> (one file per op family, forward and backward side by side, variants by <c>#define</c>).
/// Follows the <see cref="IBackend"/> contract exactly; backward kernels gather (each gradient element is
/// written by one invocation, no float atomics) and add into the gradient. Reductions that would leave
/// too few invocations (weight and bias gradients, the loss) run in two passes through a scratch buffer.
/// In steady state an op call allocates nothing on the managed heap: programs are cached in fields and
/// uniform locations in the programs. All calls must come from the device's owner thread.
/// This file holds allocation, transfers and the helpers the op files share; each op family has its own
/// file (GLBackend.Linear.cs, GLBackend.Conv2d.cs, …).
/// </summary>
public sealed partial class GLBackend : IBackend
{
    /// <summary>Floats per invocation of the element-wise kernels (they use vec4).</summary>
    const int VectorWidth = 4;
    /// <summary>The storage binding points by name (<see cref="StorageBinding"/>, the table the shaders use too).</summary>
    const int Input0 = StorageBinding.Input0, Input1 = StorageBinding.Input1, Input2 = StorageBinding.Input2,
        Input3 = StorageBinding.Input3, Input4 = StorageBinding.Input4, Output0 = StorageBinding.Output0,
        Output1 = StorageBinding.Output1, Output2 = StorageBinding.Output2, Output3 = StorageBinding.Output3;

    readonly bool ownsDevice;
    GLBuffer? scratch;
    readonly GLBuffer?[] placeholders = new GLBuffer?[StorageBinding.Count]; // one per binding: never aliased
    bool disposed;

    /// <summary>A backend on <paramref name="device"/>; with <paramref name="ownsDevice"/> it disposes the device too.</summary>
    public GLBackend(GLDevice device, bool ownsDevice)
    {
        ArgumentNullException.ThrowIfNull(device);
        device.EnsureThread();
        Device = device;
        this.ownsDevice = ownsDevice;
        Shaders = new ShaderLibrary(device);
    }

    /// <summary>A backend on a new headless device (<see cref="GLDevice.CreateHeadless"/>), which it owns.</summary>
    /// <exception cref="GLUnavailableException">No OpenGL 4.3 context could be created.</exception>
    public static GLBackend CreateHeadless(bool debug = false) => new(GLDevice.CreateHeadless(debug), ownsDevice: true);

    /// <inheritdoc/>
    public string Name => "gl";
    /// <inheritdoc/>
    public string DeviceName => Device.Renderer;
    /// <summary>The context the kernels run on.</summary>
    public GLDevice Device { get; }
    /// <summary>The compiled-kernel cache.</summary>
    public ShaderLibrary Shaders { get; }

    /// <summary>GL objects the backend holds for itself (cached programs, scratch buffers), so tests can tell
    /// them from leaked tensors: <c>Device.LiveObjectCount − InternalObjectCount</c> counts only the caller's objects.</summary>
    public int InternalObjectCount => Shaders.CachedProgramCount + (scratch is null ? 0 : 1) + placeholders.Count(p => p is not null)
        + (openGuard is null ? 0 : 1) + (uploads?.ObjectCount ?? 0) + (updateTable.Exists ? 1 : 0) + (penaltyTable.Exists ? 1 : 0) + (clipTable.Exists ? 1 : 0)
        + flagTables.Count(t => t.Exists);

    /// <summary>While set, dispatches issue only the work groups inside the slice's window (<see cref="WorkSlice"/>):
    /// a dispatch's groups are numbered row by row, <c>y·groupsX + x</c>, and the fills still queued are run when the slice
    /// is set (they belong to the work before it) and when it is cleared (they belong to the sliced run).</summary>
    public WorkSlice? Slice
    {
        get => Device.Slice;
        set
        {
            EnsureUsable(); // runs the queued fills
            Device.Slice = value;
        }
    }

    /// <summary>The GL buffer behind a tensor of this backend (e.g. to bind it in the host's own shaders). The values start
    /// at <see cref="OffsetOf"/>: 0, except for the tensors of <see cref="AllocateGroup"/>, which share one buffer.</summary>
    /// <remarks>Runs the fills still queued first (<see cref="Fill"/>), so what the caller does with the buffer comes after them.</remarks>
    public GLBuffer BufferOf(Tensor tensor) => RangeOf(tensor).Buffer;

    /// <summary>Where the tensor's values start in <see cref="BufferOf"/>'s buffer, in floats (a multiple of
    /// <see cref="GLDevice.StorageOffsetAlignment"/> bytes); 0 unless the tensor is one of <see cref="AllocateGroup"/>'s.</summary>
    public int OffsetOf(Tensor tensor) => StorageOf(tensor).Offset;

    /// <summary>The buffer range behind a tensor, after the queued fills (<see cref="BufferOf"/>).</summary>
    StorageRange RangeOf(Tensor tensor)
    {
        if (pendingFillCount != 0) FlushFills();
        return new StorageRange(StorageOf(tensor));
    }

    /// <summary>The storage behind a tensor, without running queued fills.</summary>
    GLTensorStorage StorageOf(Tensor tensor)
    {
        if (!ReferenceEquals(tensor.Backend, this))
            throw new ArgumentException($"tensor '{tensor.Name}' lives on backend '{tensor.Backend.Name}' ({tensor.Backend.DeviceName}), not on this GL backend", nameof(tensor));
        var storage = (GLTensorStorage)tensor.Storage;
        if (storage.IsDisposed) ThrowDisposedTensor(tensor);
        return storage;
    }

    /// <summary>Floats [<see cref="Offset"/>, <see cref="Offset"/> + <see cref="Length"/>) of a buffer: a tensor's storage,
    /// or a whole scratch buffer. Kernels see a range from their index 0 on (<see cref="Bind(int, StorageRange)"/>).</summary>
    readonly record struct StorageRange(GLBuffer Buffer, int Offset, int Length)
    {
        public StorageRange(GLTensorStorage storage) : this(storage.Buffer, storage.Offset, storage.Length) { }
        public static implicit operator StorageRange(GLBuffer buffer) => new(buffer, 0, buffer.Length);
        public int End => Offset + Length;
        public bool IsWholeBuffer => Offset == 0 && Length == Buffer.Length;
        public bool Overlaps(StorageRange other) => ReferenceEquals(Buffer, other.Buffer) && Offset < other.End && other.Offset < End;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void ThrowDisposedTensor(Tensor tensor) => throw new ObjectDisposedException(tensor.Name, $"tensor '{tensor.Name}' {tensor.Shape} was disposed");

    /// <inheritdoc/>
    public Tensor Allocate(TensorShape shape, string name)
    {
        EnsureUsable();
        // Rounded up to whole vec4s: element-wise kernels read and write four floats at a time.
        var buffer = new GLBuffer(Device, DivideRoundingUp(shape.Length, 4) * 4, name);
        return new Tensor(this, new GLTensorStorage(buffer), shape, name, ownsStorage: true);
    }

    /// <inheritdoc/>
    /// <remarks>On GL the tensors are ranges of one buffer, each starting at a multiple of
    /// <see cref="GLDevice.StorageOffsetAlignment"/> bytes and rounded up to whole vec4s (the gaps stay zero); where that
    /// buffer would exceed the driver's largest shader storage block, each tensor gets its own buffer.</remarks>
    public Tensor[] AllocateGroup(IReadOnlyList<TensorShape> shapes, IReadOnlyList<string> names, string groupName)
    {
        EnsureUsable();
        if (names.Count != shapes.Count) throw new ArgumentException($"{shapes.Count} shapes but {names.Count} names", nameof(names));
        int alignment = Math.Max(VectorWidth, Device.StorageOffsetAlignment / sizeof(float)); // floats
        var offsets = new int[shapes.Count];
        var lengths = new int[shapes.Count];
        long total = 0;
        for (int i = 0; i < shapes.Count; i++)
        {
            total = (total + alignment - 1) / alignment * alignment;
            offsets[i] = (int)Math.Min(total, int.MaxValue);
            lengths[i] = DivideRoundingUp(shapes[i].Length, VectorWidth) * VectorWidth;
            total += lengths[i];
        }
        var tensors = new Tensor[shapes.Count];
        if (shapes.Count == 0) return tensors;
        if (total * sizeof(float) > Device.MaxShaderStorageBlockSize)
        {
            for (int i = 0; i < tensors.Length; i++) tensors[i] = Allocate(shapes[i], names[i]);
            return tensors;
        }
        var storages = GLTensorStorage.Ranges(new GLBuffer(Device, (int)total, groupName), offsets, lengths);
        for (int i = 0; i < tensors.Length; i++) tensors[i] = new Tensor(this, storages[i], shapes[i], names[i], ownsStorage: true);
        return tensors;
    }

    static void CheckLength(Tensor tensor, int length, string what)
    {
        if (length != tensor.Length)
            throw new ShapeException($"{what} of '{tensor.Name}' {tensor.Shape} needs {tensor.Length} values, got {length}");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void EnsureUsable()
    {
        if (disposed) ThrowDisposed();
        Device.EnsureThread();
        if (pendingFillCount != 0) FlushFills();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void ThrowDisposed() => throw new ObjectDisposedException(nameof(GLBackend));

    /// <summary>The cached program for a kernel variant; compiled into <paramref name="field"/> on first use.</summary>
    ComputeProgram Program(ref ComputeProgram? field, string fileName, string defines) =>
        field ??= Shaders.Get(fileName, defines);

    /// <summary>The binding points of a kernel's inputs and outputs in declaration order (<see cref="Bound"/>).</summary>
    static readonly int[] InputBindings = [Input0, Input1, Input2, Input3, Input4], OutputBindings = [Output0, Output1, Output2, Output3];

    /// <summary>
    /// Starts a kernel call: checks that the backend is usable, takes the cached variant (compiled into
    /// <paramref name="field"/> on first use) and binds its tensors (<see cref="Bound"/>). Every op's kernel call reads
    /// as one line: which variant, what it reads, what it writes; the op then sets its uniforms and dispatches.
    /// </summary>
    ComputeProgram Kernel(ref ComputeProgram? field, string fileName, string defines, ReadOnlySpan<Tensor?> inputs, ReadOnlySpan<Tensor?> outputs)
    {
        EnsureUsable();
        return Bound(Program(ref field, fileName, defines), inputs, outputs);
    }

    /// <summary>Binds <paramref name="inputs"/> to Input0, Input1, … and <paramref name="outputs"/> to Output0, Output1, …
    /// in order, as the shader names them; a null entry is a binding the variant does not declare, left as it is.
    /// Returns <paramref name="program"/>. (The lists are stack spans: a call allocates nothing.)</summary>
    ComputeProgram Bound(ComputeProgram program, ReadOnlySpan<Tensor?> inputs, ReadOnlySpan<Tensor?> outputs)
    {
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is { } tensor) Bind(InputBindings[i], tensor);
        for (int i = 0; i < outputs.Length; i++)
            if (outputs[i] is { } tensor) Bind(OutputBindings[i], tensor);
        return program;
    }

    void Bind(int binding, Tensor tensor) => Bind(binding, RangeOf(tensor));

    /// <summary>Binds a tensor's storage for a kernel of this device that is not the backend's own (TextureInput).</summary>
    internal void BindTensor(int binding, Tensor tensor) => Bind(binding, tensor);

    void Bind(int binding, GLBuffer buffer) => Device.BindStorage(binding, buffer);

    /// <summary>Binds a range: the whole buffer when it is one (glBindBufferBase), else glBindBufferRange, so the kernel
    /// indexes the range from 0 either way.</summary>
    void Bind(int binding, StorageRange range)
    {
        if (range.IsWholeBuffer) Device.BindStorage(binding, range.Buffer);
        else Device.BindStorage(binding, range.Buffer, (long)range.Offset * sizeof(float), (long)range.Length * sizeof(float));
    }

    /// <summary>Binds an optional tensor; a missing one gets a small zero placeholder buffer, because kernels
    /// declare every binding they might read and GL wants each declared binding backed by a buffer. Each binding
    /// has its own placeholder, so two missing tensors never alias one buffer.</summary>
    void BindOptional(int binding, Tensor? tensor)
    {
        if (tensor is not null) Bind(binding, tensor);
        else BindPlaceholder(binding);
    }

    void BindPlaceholder(int binding) => Bind(binding, placeholders[binding] ??= new GLBuffer(Device, 4, "placeholder"));

    /// <summary>A scratch buffer of at least <paramref name="length"/> floats for two-pass reductions. It grows
    /// (during warm-up) and is reused by every op: each op's second pass finishes before the next op starts. While a
    /// <see cref="Slice"/> is set the buffer is the slice's own: its two passes may run frames apart, with other work
    /// between them. A stage's first, whole run grows it to the stage's need, so later windows never replace it.</summary>
    GLBuffer Scratch(int length)
    {
        if (Device.Slice is { } slice)
        {
            var held = slice.BackendState as GLBuffer;
            if (held is null || held.IsDisposed || held.Length < length)
            {
                slice.BackendState?.Dispose();
                slice.BackendState = held = new GLBuffer(Device, Math.Max(length, 4096), "slice scratch", zeroed: false);
            }
            return held;
        }
        if (scratch is null || scratch.Length < length)
        {
            scratch?.Dispose();
            scratch = new GLBuffer(Device, Math.Max(length, 4096), "scratch", zeroed: false);
        }
        return scratch;
    }

    ComputeProgram? reduceProgram;

    /// <summary>
    /// <c>destination[i] (+)= Σ_{s &lt; slices} source[s·count + i]</c> for <c>i &lt; count</c>, summing in slice order
    /// (reduce.comp): the second pass of every split reduction.
    /// </summary>
    void ReduceSlices(StorageRange source, int slices, int count, StorageRange destination, bool accumulate)
    {
        var program = Program(ref reduceProgram, "reduce.comp", "");
        Bind(Input0, source);
        Bind(Output0, destination);
        program.SetUniform("slices", slices);
        program.SetUniform("count", count);
        program.SetUniform("accumulate", accumulate ? 1 : 0);
        program.Dispatch(count, 1, slices);
    }

    readonly Dictionary<WindowProgramKey, ComputeProgram> windowPrograms = new();

    readonly record struct WindowProgramKey(string File, string Variant, Window2d Window, int BlockChannels, int BlockColumns, int Groups);

    /// <summary>
    /// The variant of a convolution or pooling kernel compiled for one window geometry (window2d.glsl: KH, KW,
    /// SH, SW, PT, PL, DH, DW as constants) and register block. Layers keep their geometry for the life of a
    /// network, so each layer compiles once; the lookup afterwards allocates nothing.
    /// </summary>
    ComputeProgram WindowProgram(string fileName, string variant, Window2d window, int blockChannels = 0, int blockColumns = 0, int groups = 1)
    {
        var key = new WindowProgramKey(fileName, variant, window, blockChannels, blockColumns, groups);
        if (windowPrograms.TryGetValue(key, out var program)) return program;
        string defines =
            $"{variant};KH={window.KernelHeight};KW={window.KernelWidth};SH={window.StrideHeight};SW={window.StrideWidth};" +
            $"PT={window.PadTop};PL={window.PadLeft};DH={window.DilationHeight};DW={window.DilationWidth}" +
            (blockChannels > 0 ? $";BLOCK_CHANNELS={blockChannels}" : "") +
            (blockColumns > 0 ? $";BLOCK_COLUMNS={blockColumns}" : "") +
            (groups > 1 ? $";GROUPS={groups}" : "");
        program = Shaders.Get(fileName, defines);
        windowPrograms.Add(key, program);
        return program;
    }

    /// <summary>Sets the shape uniforms of window2d.glsl: input (N,C,H,W) and output (N,C′,OH,OW).</summary>
    static void SetShapes(ComputeProgram program, TensorShape input, TensorShape output)
    {
        program.SetUniform("inputShape", input.N, input.C, input.H, input.W);
        program.SetUniform("outputShape", output.N, output.C, output.H, output.W);
    }

    /// <summary>The forward pass of a window2d.glsl kernel (pooling, adaptive pooling, resizing): x (N,C,H,W) at Input0,
    /// y (N,C′,OH,OW) at Output0, and their shapes.</summary>
    ComputeProgram WindowForward(ComputeProgram program, Tensor input, Tensor output)
    {
        SetShapes(program, input.Shape, output.Shape);
        return Bound(program, [input], [output]);
    }

    /// <summary>The backward twin of <see cref="WindowForward"/>: dy (N,C′,OH,OW) at Input1 (Input0 keeps the forward's
    /// input slot, which a variant binds itself when it reads it), dx (N,C,H,W) at Output0, and their shapes.</summary>
    ComputeProgram WindowBackward(ComputeProgram program, Tensor outputGrad, Tensor inputGrad)
    {
        SetShapes(program, inputGrad.Shape, outputGrad.Shape);
        return Bound(program, [null, outputGrad], [inputGrad]);
    }

    /// <summary>Runs an element-wise kernel over <paramref name="length"/> floats, one invocation per vec4 (uniform
    /// <c>count</c>), each costing <paramref name="cost"/> units of work.</summary>
    static void DispatchVectors(ComputeProgram program, int length, long cost = 1)
    {
        int vectors = DivideRoundingUp(length, VectorWidth);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, cost);
    }

    /// <summary>Runs a kernel with one invocation per element, <paramref name="count"/> of them (uniform <c>count</c>), each
    /// costing <paramref name="cost"/> units of work.</summary>
    static void DispatchElements(ComputeProgram program, int count, long cost = 1)
    {
        program.SetUniform("count", count);
        program.Dispatch(count, 1, cost);
    }

    /// <summary>Sets random.glsl's Philox key <c>(seed, stream, step, 0)</c>, the counter-based generator the CPU backend's
    /// CounterRandom shares.</summary>
    static void SetRandomKey(ComputeProgram program, uint seed, uint stream, uint step) =>
        // GLSL's uint(int) keeps the bit pattern, so the 32-bit words travel as ints
        program.SetUniform("key", unchecked((int)seed), unchecked((int)stream), unchecked((int)step), 0);

    /// <summary>The cached variant of a kernel file with one variant per value of an op enum (RELU, SQRT, PRELU…) and
    /// pass: <c>cache[index] ??= Shaders.Get(file, pass;NAME)</c>, the name in upper case built on the first call only.
    /// An index past the cache throws <see cref="ArgumentOutOfRangeException"/> for <paramref name="paramName"/>.</summary>
    ComputeProgram OpProgram<TOp>(ComputeProgram?[] cache, TOp op, int index, string fileName, string pass, string paramName, string unknown) where TOp : struct, Enum
    {
        if ((uint)index >= (uint)cache.Length) throw new ArgumentOutOfRangeException(paramName, op, unknown);
        return cache[index] ??= Shaders.Get(fileName, pass + ";" + op.ToString().ToUpperInvariant());
    }

    /// <summary>A register-block size in [1, <paramref name="max"/>] for <paramref name="extent"/> outputs that
    /// leaves the fewest idle slots in the last block (the larger on ties): 28 columns → 7, 10 → 5, 16 channels → 8.</summary>
    static int ChooseBlock(int extent, int max)
    {
        if (extent <= max) return extent;
        int best = max, bestWaste = int.MaxValue;
        for (int block = max; block >= (max + 1) / 2; block--)
        {
            int waste = DivideRoundingUp(extent, block) * block - extent;
            if (waste < bestWaste) { best = block; bestWaste = waste; }
        }
        return best;
    }

    static int DivideRoundingUp(int value, int divisor) => (value + divisor - 1) / divisor;

    /// <summary>Deletes the cached programs and scratch buffers, and the device if this backend owns it.
    /// Tensors are the caller's to dispose. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Shaders.Dispose();
        scratch?.Dispose();
        foreach (var buffer in placeholders) buffer?.Dispose();
        Array.Clear(placeholders);
        openGuard?.Dispose();
        uploads?.Dispose();
        updateTable.Dispose();
        penaltyTable.Dispose();
        clipTable.Dispose();
        foreach (var table in flagTables) table.Dispose();
        scratch = openGuard = null;
        uploads = null;
        if (ownsDevice) Device.Dispose();
    }
}

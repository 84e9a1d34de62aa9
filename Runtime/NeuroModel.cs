using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Data;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Serialization;
using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin;

/// <summary>Choices a game makes when it loads a model; the defaults fit most.</summary>
public sealed record NeuroModelOptions
{
    /// <summary>How images, pixels and textures become input values, for a model whose file does not say (or to override
    /// what it says). Null: the file's input colours and normalization with <see cref="Resize"/>.</summary>
    public ImageInputTransform? Preprocessing { get; init; }
    /// <summary>How an image of another size is resized to the model's input (<see cref="ResizeMode.Area"/>: every pixel
    /// counts, right for downscaling game frames).</summary>
    public ResizeMode Resize { get; init; } = ResizeMode.Area;
    /// <summary>Started predictions of one batch size that may be on their way at once (each holds a staging slot).</summary>
    public int MaxInFlight { get; init; } = 3;
}

/// <summary>
/// A trained model, ready to predict inside a game — the one type a game needs (<c>using NeuroPlugin;</c>):
/// <code>
/// using var model = NeuroModel.Load("model.neuro", NeuroDevice.CurrentContext(gl));
/// var result = model.CreatePrediction();
/// model.PredictTexture(frameTexture, result);          // the model's own preprocessing, on the GPU
/// ClassScore best = result.Best();                     // ("Sneaker", 0.97)
/// </code>
/// <list type="bullet">
/// <item>Load from a path, stream or bytes: a <c>.neuro</c> model file or an ONNX model, onto a <see cref="NeuroDevice"/>.
/// The file's <see cref="ModelMetadata"/> (input colours and size, normalization, labels) is applied to images.</item>
/// <item>Inputs: floats (already the network's input values, N items back to back), RGBA8 pixels, PNG/JPEG images,
/// GL textures (GPU only, read by a compute shader with no readback), or a tensor already on the model's device (such as
/// an <see cref="OnlineLearner.Observation"/>).</item>
/// <item>Synchronous (<c>Predict…</c>: the result is there when the call returns; on a GPU that waits for it) or
/// non-blocking (<c>Start…</c>: queues the work and a copy of the outputs, returns at once; the result arrives when the GPU is
/// done, seen by <see cref="Prediction.IsReady"/>, <see cref="Poll"/> or by awaiting the returned task — never a stall).</item>
/// <item>Results go into a caller's <see cref="Prediction"/> (made once, reused): after warm-up a predict allocates nothing.
/// Batches of up to <see cref="Prediction.Capacity"/> items run as one batch (one plan per batch size, made on first use).</item>
/// </list>
/// Rules, enforced with typed errors before anything runs: on a GL device every call comes from the context's thread
/// (<see cref="WrongThreadException"/>), with the context alive and current (<see cref="ContextLostException"/>); an input
/// that does not fit is an <see cref="InputShapeException"/> naming both shapes. Not thread-safe on the CPU either: one
/// thread at a time. Dispose on the model's thread.
/// </summary>
public sealed partial class NeuroModel : IDisposable
{
    readonly bool ownsBackend, ownsNetwork;
    readonly GLContextGuard? context;
    readonly IReadOnlyList<string> labels;
    readonly bool outputsAreProbabilities;
    readonly ImageInputTransform? preprocessing;
    readonly string? preprocessingProblem;
    readonly int maxInFlight;
    readonly List<Lane> activeLanes = [];
    Lane?[] lanes = [];
    TextureInput? textures;
    Prediction? ownResult;
    bool disposed;

    NeuroModel(Network network, bool ownsNetwork, IBackend backend, bool ownsBackend, ModelMetadata metadata, NeuroModelOptions? options)
    {
        options ??= new NeuroModelOptions();
        if (options.MaxInFlight < 1) throw new ArgumentOutOfRangeException(nameof(options), $"MaxInFlight must be at least 1, got {options.MaxInFlight}");
        Network = network;
        this.ownsNetwork = ownsNetwork;
        Backend = backend;
        this.ownsBackend = ownsBackend;
        if (metadata.Mismatch(network.Graph) is { } problem) throw new ArgumentException($"the metadata does not fit the network: {problem}", nameof(metadata));
        Metadata = metadata;
        maxInFlight = options.MaxInFlight;
        if (backend is GLBackend gl) context = new GLContextGuard(gl.Device);

        var graph = network.Graph;
        var output = graph.InferShapes(1)[graph.Output];
        OutputLength = output.ItemLength;
        ClassCount = output.Rank == 2 ? output[1] : 0;
        labels = metadata.Labels ?? [.. Enumerable.Range(0, ClassCount).Select(k => $"class {k}")];
        outputsAreProbabilities = graph.Nodes.First(n => n.Name == graph.Output).Layer.Type == "Softmax";
        (preprocessing, preprocessingProblem) = Preprocessing(metadata, options);
    }

    /// <summary>Loads a <c>.neuro</c> model file, or an ONNX model (<c>.onnx</c>), onto <paramref name="device"/>
    /// (default <see cref="NeuroDevice.Auto"/>).</summary>
    /// <exception cref="ModelFileException">A model file that cannot be read (names the file and the field).</exception>
    /// <exception cref="OnnxException">An ONNX model that cannot be read or has an unsupported op (names node, op and opset).</exception>
    /// <exception cref="GLUnavailableException">A GL device was asked for and none can be made.</exception>
    public static NeuroModel Load(string path, NeuroDevice? device = null, NeuroModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            return Open(device, options, backend => ImportOnnx(OnnxImporter.Convert(path), backend));
        return Open(device, options, backend => (ModelFile.Load(path, backend, out var metadata), metadata));
    }

    /// <summary>Loads a model from <paramref name="stream"/> (from its position; a model file or an ONNX model, told apart by
    /// their first bytes), named <paramref name="name"/> in messages. The stream is left open.</summary>
    public static NeuroModel Load(Stream stream, NeuroDevice? device = null, NeuroModelOptions? options = null, string name = "model stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek)
            return Load(BoundedRead.ToMemory(stream, OnnxImporter.MaxFileBytes)?.ToArray()
                ?? throw new ModelFileException(name, $"more than {OnnxImporter.MaxFileBytes} bytes, the most a stream that cannot seek is read into memory"), device, options, name);
        Span<byte> head = stackalloc byte[9];
        long start = stream.Position;
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = start;
        if (!IsModelFile(head[..read]))
        {
            if (stream.Length - start > OnnxImporter.MaxFileBytes)
                throw new OnnxFormatException(name, $"{stream.Length - start} bytes exceeds the limit of {OnnxImporter.MaxFileBytes}");
            var bytes = new byte[stream.Length - start];
            stream.ReadExactly(bytes);
            return Load(bytes, device, options, name);
        }
        return Open(device, options, backend => (ModelFile.Load(stream, name, backend, out var metadata), metadata));
    }

    /// <summary>Loads a model from memory (a model file or an ONNX model, told apart by their first bytes).</summary>
    public static NeuroModel Load(byte[] bytes, NeuroDevice? device = null, NeuroModelOptions? options = null, string name = "model bytes")
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (IsModelFile(bytes))
            return Open(device, options, backend =>
            {
                using var stream = new MemoryStream(bytes, writable: false);
                return (ModelFile.Load(stream, name, backend, out var metadata), metadata);
            });
        return Open(device, options, backend => ImportOnnx(OnnxImporter.Convert(OnnxImporter.Parse(bytes, name), folder: null, name), backend));
    }

    /// <summary>A model over a network the caller made and keeps (a zoo model, or one trained in the game); it is not
    /// disposed with the model, and training it changes what the model predicts (the plans share its parameters).</summary>
    public static NeuroModel FromNetwork(Network network, ModelMetadata? metadata = null, NeuroModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new NeuroModel(network, ownsNetwork: false, network.Backend, ownsBackend: false, metadata ?? ModelMetadata.Describe(network.Graph), options);
    }

    /// <summary>A safetensors model file starts with its header's length and then <c>{</c>; an ONNX ModelProto with a field tag.</summary>
    static bool IsModelFile(ReadOnlySpan<byte> head) => head.Length >= 9 && head[8] == (byte)'{';

    static (Network, ModelMetadata) ImportOnnx(ImportedModel imported, IBackend backend) => (imported.CreateNetwork(backend), imported.Metadata);

    static NeuroModel Open(NeuroDevice? device, NeuroModelOptions? options, Func<IBackend, (Network Network, ModelMetadata Metadata)> load)
    {
        var (backend, owned) = (device ?? NeuroDevice.Auto).Open();
        Network? network = null;
        try
        {
            (network, var metadata) = load(backend);
            return new NeuroModel(network, ownsNetwork: true, backend, owned, metadata, options);
        }
        catch
        {
            network?.Dispose();
            if (owned) backend.Dispose();
            throw;
        }
    }

    static (ImageInputTransform?, string?) Preprocessing(ModelMetadata metadata, NeuroModelOptions options)
    {
        var input = metadata.Input;
        if (!input.IsImage)
            return (null, $"the model's input {input} is not an image of 1 (luma) or 3 (RGB) channels");
        if (options.Preprocessing is { } given)
        {
            if (given.ChannelCount != input.Channels)
                throw new ArgumentException($"Preprocessing gives {given.ChannelCount} channels ({given.Channels}), the model's input {input} takes {input.Channels}", nameof(options));
            return (given, null);
        }
        if (metadata.Normalization is not { } normalization)
            return (null, "the model file does not say how its inputs were normalized (no mean and std): add them with `neuro import MODEL -o MODEL --mean … --std …`, or pass NeuroModelOptions.Preprocessing");
        return (normalization.ToTransform(input.Colors!.Value, options.Resize), null);
    }

    /// <summary>The network (graph and parameters on <see cref="Backend"/>).</summary>
    public Network Network { get; }
    /// <summary>Where it runs.</summary>
    public IBackend Backend { get; }
    /// <summary>"gl (llvmpipe (LLVM 15.0.6, 256 bits))", "cpu (…)".</summary>
    public string DeviceName => $"{Backend.Name} ({Backend.DeviceName})";
    /// <summary>What the model says about itself: input, normalization, labels, provenance.</summary>
    public ModelMetadata Metadata { get; }
    /// <summary>One item of input: shape, layout, colours.</summary>
    public InputSpecification Input => Metadata.Input;
    /// <summary>Values per item of input (<c>C·H·W</c>).</summary>
    public int InputLength => Input.ItemShape.Length;
    /// <summary>Values per item of output.</summary>
    public int OutputLength { get; }
    /// <summary>K for a classifier's (N,K) output, else 0.</summary>
    public int ClassCount { get; }
    /// <summary>The class labels: the file's, or "class 0" … when it has none.</summary>
    public IReadOnlyList<string> Labels => labels;
    /// <summary>The transform from images to input values (from the file, or <see cref="NeuroModelOptions.Preprocessing"/>);
    /// null when the model cannot take images.</summary>
    public ImageInputTransform? ImagePreprocessing => preprocessing;
    /// <summary>Started predictions whose results have not come back yet.</summary>
    public int InFlight
    {
        get
        {
            int waiting = 0;
            foreach (var lane in activeLanes) waiting += lane.Waiting;
            return waiting;
        }
    }

    /// <summary>A result for up to <paramref name="capacity"/> items of this model. Make it once and reuse it.</summary>
    public Prediction CreatePrediction(int capacity = 1)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return new Prediction(this, capacity, OutputLength, ClassCount, labels, outputsAreProbabilities);
    }

    /// <summary>Completes every started prediction whose values the GPU has delivered, oldest first (their awaiting
    /// continuations run here); never waits. Returns how many completed. Call once a frame when you await starts.</summary>
    public int Poll()
    {
        EnsureUsable();
        int completed = 0;
        for (int i = 0; i < activeLanes.Count; i++)
            while (activeLanes[i].TryComplete()) completed++;
        return completed;
    }

    /// <summary>The checks at the start of every call: not disposed; on GL, the context rules.</summary>
    void EnsureUsable()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        context?.Check();
    }

    /// <summary>The lane of batch size <paramref name="count"/>, made on first use.</summary>
    Lane LaneFor(int count)
    {
        if (count > lanes.Length) Array.Resize(ref lanes, Math.Max(count, 2 * lanes.Length));
        if (lanes[count - 1] is { } lane) return lane;
        lane = new Lane(ExecutionPlan.ForInference(Network, count), count, maxInFlight);
        lanes[count - 1] = lane;
        activeLanes.Add(lane);
        return lane;
    }

    /// <summary>Runs the plan on the input already in place and reads the outputs now (a wait on a GPU).</summary>
    void Finish(Lane lane, Prediction result)
    {
        lane.Plan.Forward();
        lane.Plan.Output.Download(result.OutputBuffer(lane.Batch));
        result.Complete(lane.Batch);
    }

    /// <summary>Runs the plan and queues the copy of its outputs; the result completes at a later <see cref="Poll"/>.</summary>
    ValueTask Launch(Lane lane, Prediction result)
    {
        lane.EnsureSlot();
        var task = result.BeginPending();
        lane.Plan.Forward();
        lane.Request(result);
        if (context is null) Poll(); // the CPU backend has the values at once; a GPU's arrive for a later Poll
        return task;
    }

    InputShapeException InputMismatch(int capacity, string actual)
    {
        string expected = $"(N,{string.Join(",", Input.ItemShape.ToArray())}) with 1 ≤ N ≤ {capacity}";
        return new InputShapeException($"model input {expected}, got {actual}", expected, actual);
    }

    /// <summary>Frees every plan, staging buffer and the texture reader, the network and the backend if the model made
    /// them; started predictions still on their way fail with <see cref="ObjectDisposedException"/>. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        var error = new ObjectDisposedException(nameof(NeuroModel), "the model was disposed before this prediction came back");
        foreach (var lane in activeLanes)
        {
            lane.Fail(error);
            lane.Dispose();
        }
        activeLanes.Clear();
        lanes = [];
        textures?.Dispose();
        if (ownsNetwork) Network.Dispose();
        if (ownsBackend) Backend.Dispose();
    }

    /// <summary>One batch size: its inference plan, the staging its inputs are prepared in, and its readback slots with the
    /// results waiting for them (in request order).</summary>
    sealed class Lane(ExecutionPlan plan, int batch, int slots) : IDisposable
    {
        readonly Prediction?[] waiting = new Prediction?[slots];
        AsyncReadback? readback;
        float[]? staging;
        int first, count;

        public ExecutionPlan Plan { get; } = plan;
        public int Batch { get; } = batch;
        /// <summary>Results waiting for their values.</summary>
        public int Waiting => count;

        /// <summary>Host memory for <see cref="Batch"/> items of prepared input (pixels, images), made on first use.</summary>
        public float[] Staging => staging ??= new float[Plan.Input.Length];

        /// <summary>Makes room for one more request: frees the oldest slot if its values are here, else throws.</summary>
        public void EnsureSlot()
        {
            readback ??= new AsyncReadback(Plan.Network.Backend, Plan.Output.Length, slots);
            if (count == slots && !TryComplete())
                throw new InvalidOperationException($"{slots} predictions of batch size {Batch} are already on their way: wait for one (Poll, IsReady) or load the model with a larger MaxInFlight");
        }

        /// <summary>Queues the copy of the plan's outputs for <paramref name="result"/> (after <see cref="EnsureSlot"/>).</summary>
        public void Request(Prediction result)
        {
            readback!.Request(Plan.Output);
            waiting[(first + count) % slots] = result;
            count++;
        }

        /// <summary>Completes the oldest waiting result if its values are here (no wait).</summary>
        public bool TryComplete()
        {
            if (count == 0) return false;
            var result = waiting[first]!;
            if (!readback!.TryRead(result.OutputBuffer(Batch))) return false;
            waiting[first] = null;
            first = (first + 1) % slots;
            count--;
            result.Complete(Batch);
            return true;
        }

        public void Fail(Exception error)
        {
            for (; count > 0; count--, first = (first + 1) % slots)
            {
                waiting[first]!.Fail(error);
                waiting[first] = null;
            }
        }

        public void Dispose()
        {
            readback?.Dispose();
            Plan.Dispose();
        }
    }
}

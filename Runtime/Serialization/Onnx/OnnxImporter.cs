using Google.Protobuf;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Imports ONNX models (ai.onnx opsets <see cref="MinOpset"/>–<see cref="MaxOpset"/>, as PyTorch's exporter writes
/// CNNs) as ordinary <see cref="Network"/>s, which run and train further on every backend. The supported ops are the
/// importer's dispatch table, listed with the backends and opsets tested in <c>Documentation~/OnnxOperators.md</c>.
/// Anything else, and any attribute value these ops do not support, raises <see cref="OnnxUnsupportedException"/>
/// naming the node, op and opset; malformed files raise <see cref="OnnxFormatException"/>. Nothing is skipped.
/// </summary>
public static class OnnxImporter
{
    /// <summary>The ai.onnx opsets accepted. For every supported op, what changed up to <see cref="MaxOpset"/> is read
    /// (Reduce*'s and Pad's axes inputs and Split's num_outputs at 18, AveragePool's dilations and Cast's saturate at 19,
    /// GroupNormalization's per-channel scale at 21) or refused by name.</summary>
    public const int MinOpset = 7, MaxOpset = 21;
    /// <summary>Largest <c>.onnx</c> file read (weights beyond that belong in external data files).</summary>
    public const long MaxFileBytes = int.MaxValue - 64;
    /// <summary>Deepest message nesting accepted (ONNX models nest 5 deep; subgraphs a few more).</summary>
    public const int RecursionLimit = 64;

    /// <summary>Reads and parses <paramref name="path"/> (protobuf only; no graph conversion).</summary>
    internal static ModelProto ReadModel(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists) throw new OnnxFormatException(path, "file not found");
        if (file.Length > MaxFileBytes) throw new OnnxFormatException(path, $"{file.Length} bytes exceeds the limit of {MaxFileBytes} (store large weights as external data)");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Parses a <c>ModelProto</c> from <paramref name="bytes"/>; <paramref name="source"/> names it in messages.</summary>
    internal static ModelProto Parse(byte[] bytes, string source)
    {
        var model = new ModelProto();
        try
        {
            // the whole file is in memory, so every length the file declares is checked against bytes that exist
            var input = new CodedInputStream(bytes);
            model.MergeFrom(input);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException)
        {
            throw new OnnxFormatException(source, $"not a valid ONNX protobuf: {e.Message}", e);
        }
        if (model.Graph is null) throw new OnnxFormatException(source, "the model has no graph (ModelProto.graph, field 7)");
        return model;
    }

    /// <summary>Imports <paramref name="path"/> onto <paramref name="backend"/>. External data is read from the model's folder.</summary>
    public static Network Import(string path, IBackend backend) => Convert(path).CreateNetwork(backend);

    /// <summary>Reads and converts <paramref name="path"/> into a graph and its weights, without a backend.</summary>
    public static ImportedModel Convert(string path) =>
        Convert(ReadModel(path), Path.GetDirectoryName(Path.GetFullPath(path)), path);

    /// <summary>Converts a parsed model; <paramref name="folder"/> is where its external data lives (null: none allowed).
    /// Our <c>neuroplugin.*</c> <c>metadata_props</c>, if any, become <see cref="ImportedModel.Metadata"/>.</summary>
    internal static ImportedModel Convert(ModelProto model, string? folder, string source)
    {
        var imported = new OnnxGraphConverter(model, folder, source).Convert();
        imported.Metadata = ReadMetadata(model, imported.Graph, source);
        return imported;
    }

    /// <summary>The model's description from its <c>neuroplugin.*</c> metadata entries (<see cref="ModelMetadata.Entries"/>),
    /// the graph's input where it has none.</summary>
    static ModelMetadata ReadMetadata(ModelProto model, NetworkGraph graph, string source)
    {
        string? Entry(string key)
        {
            var values = model.MetadataProps.Where(p => p.Key == ModelMetadata.OnnxKeyPrefix + key).ToList();
            return values.Count <= 1 ? values.FirstOrDefault()?.Value : throw new FormatException($"{key} is given {values.Count} times");
        }
        try
        {
            return ModelMetadata.Read(Entry, graph, inputRequired: false);
        }
        catch (FormatException e)
        {
            throw new OnnxFormatException(source, $"metadata_props {ModelMetadata.OnnxKeyPrefix}{e.Message}");
        }
    }
}

/// <summary>An imported graph and the values of its parameters and buffers (named <c>node.weight</c>, <c>node.running_mean</c>…).</summary>
public sealed class ImportedModel(NetworkGraph graph, IReadOnlyDictionary<string, float[]> state, long opset)
{
    /// <summary>The imported layers and their connections, shapes inferred at batch 1.</summary>
    public NetworkGraph Graph { get; } = graph;
    /// <summary>Every parameter's and buffer's values, by state-dict name.</summary>
    public IReadOnlyDictionary<string, float[]> State { get; } = state;
    /// <summary>The model's ai.onnx opset.</summary>
    public long Opset { get; } = opset;
    /// <summary>What the file says about the model (<see cref="ModelMetadata"/>); the graph's input alone when it says nothing.</summary>
    public ModelMetadata Metadata { get; internal set; } = ModelMetadata.Describe(graph);

    /// <summary>Allocates the network on <paramref name="backend"/> and uploads the imported weights.</summary>
    public Network CreateNetwork(IBackend backend)
    {
        var network = Network.CreateUninitialized(Graph, backend);
        try
        {
            foreach (string name in network.ParameterNames) network.Parameter(name).Upload(State[name]);
            foreach (string name in network.BufferNames) network.Buffer(name).Upload(State[name]);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return network;
    }
}

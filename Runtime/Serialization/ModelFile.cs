using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Serialization;

/// <summary>
/// The model file (<c>.neuro</c>), a safetensors container (<see cref="SafeTensorsContainer"/>), so any safetensors
/// reader sees the weights:
/// <code>
/// u64 (little-endian)  H, the header's length in bytes
/// H bytes              UTF-8 JSON header:
///   "__metadata__": { "format": "neuro", "version": "3", "kind": "model", "graph": "&lt;graph JSON&gt;",
///                     "input": "&lt;JSON&gt;", "normalization": …, "labels": …, "provenance": … }
///   "conv1.weight": { "dtype": "F32", "shape": [6,1,5,5], "data_offsets": [begin, end] }, …
///   "bn1.running_mean": …   (buffers, non-learnable state, after the parameters; validated the same way)
/// data                 the tensors' float32 little-endian bytes, back to back, offsets relative to here
/// </code>
/// The graph JSON is <c>{"inputs":[{"name","shape"}],"nodes":[{"name","type","inputs","attributes"}],"output"}</c>.
/// <c>kind</c> is <c>"model"</c>, or <c>"checkpoint"</c> for a <see cref="TrainingCheckpoint"/>, which adds a
/// <c>training</c> metadata entry and <c>optimizer.state.*</c> tensors; <see cref="Load(string, IBackend)"/> reads either as a model
/// and ignores the training part. <c>input</c>, <c>normalization</c>, <c>labels</c> and <c>provenance</c> describe the model
/// (<see cref="ModelMetadata"/>: <c>input</c> always, the others when known) and are checked against the graph.
/// Files of older versions are upgraded by <see cref="ModelFileMigrations"/> before
/// validation. Loading validates every length, offset, dtype, shape and name before allocating anything large.
/// Saving writes a temporary file beside the target and renames it, so a failed save never destroys the old file.
/// </summary>
public static class ModelFile
{
    /// <summary>The version this code writes; it reads this one and every older one through <see cref="ModelFileMigrations"/>.</summary>
    public const int FormatVersion = 3;
    /// <summary>Largest header accepted (a graph of thousands of nodes fits easily).</summary>
    public const long MaxHeaderBytes = 16 << 20;
    /// <summary><c>__metadata__.kind</c> of a plain model.</summary>
    public const string ModelKind = "model";
    /// <summary><c>__metadata__.kind</c> of a training checkpoint.</summary>
    public const string CheckpointKind = "checkpoint";

    /// <summary>Writes <paramref name="network"/>'s graph, parameters and buffers (downloaded from its backend) to
    /// <paramref name="path"/>, described by the graph alone (<see cref="ModelMetadata.Describe"/>).</summary>
    public static void Save(Network network, string path) => Save(network, path, metadata: null);

    /// <summary>Optional metadata key: the training options the model was last set up with (the editor's train form, by
    /// <see cref="Training.TrainingOptions"/> field names, plus the editor's own dataset and backend), a JSON object.
    /// Informational: <see cref="Load(string, IBackend)"/> ignores it; <see cref="ReadTrainingOptions"/> reads it.</summary>
    public const string TrainingOptionsKey = "trainingOptions";

    /// <summary>Writes the model as <see cref="Save(Network, string)"/> does, described by <paramref name="metadata"/>
    /// (null: by the graph alone), with <paramref name="trainingOptions"/> under <see cref="TrainingOptionsKey"/> when not
    /// null.</summary>
    /// <exception cref="ArgumentException">The metadata does not fit the graph (names the field); nothing is written.</exception>
    public static void Save(Network network, string path, ModelMetadata? metadata, JsonObject? trainingOptions = null)
    {
        var entries = Metadata(network, ModelKind, metadata);
        if (trainingOptions is not null) entries[TrainingOptionsKey] = trainingOptions.ToJsonString();
        SafeTensorsContainer.Write(path, entries, [.. StateTensors(network)]);
    }

    /// <summary>The graph of a model file or checkpoint, validated as <see cref="Load(string, IBackend)"/> validates it, without reading the
    /// tensors (an architecture to train from scratch).</summary>
    public static NetworkGraph ReadGraph(string path)
    {
        using var file = SafeTensorsContainer.Open(path);
        return ReadGraph(file);
    }

    /// <summary>The <see cref="TrainingOptionsKey"/> object of a model file, or null when it has none.</summary>
    /// <exception cref="ModelFileException">It is not a JSON object.</exception>
    public static JsonObject? ReadTrainingOptions(string path)
    {
        using var file = SafeTensorsContainer.Open(path);
        ReadGraph(file);
        if (SafeTensorsContainer.Text(file.Metadata, TrainingOptionsKey) is not string text) return null;
        try
        {
            return StrictJson.Parse(text) as JsonObject ?? throw new ModelFileException(path, $"__metadata__.{TrainingOptionsKey} is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFileException(path, $"__metadata__.{TrainingOptionsKey} is not valid JSON: {e.Message}");
        }
    }

    /// <summary>Reads a model file (or the model part of a training checkpoint) and allocates its network on
    /// <paramref name="backend"/>. Throws <see cref="ModelFileException"/> naming the file and the field for anything wrong.</summary>
    public static Network Load(string path, IBackend backend) => Load(path, backend, out _);

    /// <summary>As <see cref="Load(string, IBackend)"/>, also giving what the file says about the model.</summary>
    public static Network Load(string path, IBackend backend, out ModelMetadata metadata)
    {
        using var file = SafeTensorsContainer.Open(path);
        return Load(file, backend, out metadata);
    }

    /// <summary>Reads a model from <paramref name="stream"/> (from its position to its end; <paramref name="name"/> names it
    /// in messages) as <see cref="Load(string, IBackend, out ModelMetadata)"/> reads a file. The stream is left open.</summary>
    public static Network Load(Stream stream, string name, IBackend backend, out ModelMetadata metadata)
    {
        using var file = SafeTensorsContainer.Open(stream, name);
        return Load(file, backend, out metadata);
    }

    /// <summary>What a model file says about its model (it is validated as <see cref="Load(string, IBackend)"/> validates
    /// it, without reading the tensors).</summary>
    public static ModelMetadata ReadMetadata(string path)
    {
        using var file = SafeTensorsContainer.Open(path);
        return ReadDescribedGraph(file).Metadata;
    }

    static Network Load(SafeTensorsContainer file, IBackend backend, out ModelMetadata metadata)
    {
        (var graph, metadata) = ReadDescribedGraph(file);
        string kind = SafeTensorsContainer.Text(file.Metadata, "kind")!;
        CheckModelTensors(file, graph, name => kind == CheckpointKind && name.StartsWith(TrainingCheckpoint.OptimizerStatePrefix, StringComparison.Ordinal));
        return CreateNetwork(file, graph, backend);
    }

    /// <summary>The metadata of a file of <paramref name="kind"/>: format, version, kind, the graph JSON and the model's
    /// description (<paramref name="described"/>, or the graph's own).</summary>
    /// <exception cref="ArgumentException">The description does not fit the graph.</exception>
    internal static JsonObject Metadata(Network network, string kind, ModelMetadata? described = null)
    {
        described ??= ModelMetadata.Describe(network.Graph);
        if (described.Mismatch(network.Graph) is { } problem) throw new ArgumentException($"the model's metadata does not fit its graph: {problem}", nameof(described));
        var metadata = new JsonObject
        {
            ["format"] = "neuro",
            ["version"] = FormatVersion.ToString(),
            ["kind"] = kind,
            ["graph"] = GraphJson.Write(network.Graph).ToJsonString(),
        };
        foreach (var (key, value) in described.Entries()) metadata[key] = value;
        return metadata;
    }

    /// <summary>The saved tensors in file order: parameters, then buffers (each named as in PyTorch's state dict).</summary>
    internal static IEnumerable<(string Name, Tensor Tensor)> StateTensors(Network network) =>
        network.ParameterNames.Select(name => (name, network.Parameter(name)))
            .Concat(network.BufferNames.Select(name => (name, network.Buffer(name))));

    /// <summary>Checks the format, upgrades the metadata to <see cref="FormatVersion"/>, checks its kind, and reads the graph
    /// and the model's description (checked against the graph).</summary>
    internal static NetworkGraph ReadGraph(SafeTensorsContainer file) => ReadDescribedGraph(file).Graph;

    /// <summary>As <see cref="ReadGraph(string)"/>, also giving the model's description.</summary>
    internal static (NetworkGraph Graph, ModelMetadata Metadata) ReadDescribedGraph(SafeTensorsContainer file)
    {
        var metadata = file.Metadata;
        if (SafeTensorsContainer.Text(metadata, "format") != "neuro")
            throw new ModelFileException(file.Path, "__metadata__.format is not \"neuro\"");
        ModelFileMigrations.Upgrade(file.Path, metadata);
        if (SafeTensorsContainer.Text(metadata, "kind") is not (ModelKind or CheckpointKind))
            throw new ModelFileException(file.Path, $"__metadata__.kind must be \"{ModelKind}\" or \"{CheckpointKind}\"");
        NetworkGraph graph;
        try
        {
            graph = GraphJson.Read(SafeTensorsContainer.Text(metadata, "graph") ?? throw new FormatException("missing"));
            graph.InferShapes(1);
        }
        catch (Exception e) when (e is FormatException or JsonException or ShapeException or InvalidOperationException)
        {
            throw new ModelFileException(file.Path, $"__metadata__.graph: {e.Message}");
        }
        try
        {
            string? Entry(string key) => metadata[key] switch
            {
                null => null,
                JsonValue v when v.TryGetValue(out string? text) => text,
                _ => throw new FormatException($"{key} must be a string holding JSON"),
            };
            return (graph, ModelMetadata.Read(Entry, graph, inputRequired: true));
        }
        catch (FormatException e)
        {
            throw new ModelFileException(file.Path, $"__metadata__.{e.Message}");
        }
    }

    /// <summary>Checks that the file holds exactly the graph's parameters and buffers, each of the declared shape, besides
    /// the tensors <paramref name="isOther"/> accepts (a checkpoint's optimizer state, checked by its reader).</summary>
    internal static void CheckModelTensors(SafeTensorsContainer file, NetworkGraph graph, Func<string, bool> isOther)
    {
        var expected = new Dictionary<string, TensorShape>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            foreach (var spec in node.Layer.Parameters) expected[$"{node.Name}.{spec.Name}"] = spec.Shape;
            foreach (var spec in node.Layer.Buffers) expected[$"{node.Name}.{spec.Name}"] = spec.Shape;
        }
        foreach (string name in file.Names)
        {
            if (isOther(name)) continue;
            if (!expected.TryGetValue(name, out var shape))
                throw new ModelFileException(file.Path, $"tensor '{name}' is not a parameter or buffer of the graph");
            file.TryGetEntry(name, out var entry);
            if (entry.Shape != shape)
                throw new ModelFileException(file.Path, $"{name}.shape must be {shape}, as the graph declares, got {entry.Shape}");
        }
        foreach (string name in expected.Keys)
            if (!file.TryGetEntry(name, out _)) throw new ModelFileException(file.Path, $"tensor '{name}' is missing");
        file.CheckSizes();
    }

    /// <summary>Allocates the network of <paramref name="graph"/> on <paramref name="backend"/> and uploads the file's
    /// parameters and buffers (already checked by <see cref="CheckModelTensors"/>).</summary>
    internal static Network CreateNetwork(SafeTensorsContainer file, NetworkGraph graph, IBackend backend)
    {
        var network = Network.CreateUninitialized(graph, backend);
        try
        {
            foreach (var (name, tensor) in StateTensors(network)) tensor.Upload(file.Read(name));
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return network;
    }
}

/// <summary>A model file that cannot be read: corrupt, truncated, hostile or of another version. Names the file and the field.</summary>
public sealed class ModelFileException(string path, string problem) : IOException($"{path}: {problem}")
{
    /// <summary>The path of the file that could not be read, as given to the reader.</summary>
    public string FilePath { get; } = path;
}

/// <summary>The graph as JSON: <c>{"inputs":[{"name","shape"}],"nodes":[{"name","type","inputs","attributes"}],"output","auxiliaryOutputs":[{"name","weight"}]}</c>.</summary>
public static class GraphJson
{
    /// <summary>The JSON of <paramref name="graph"/>: its inputs with their per-sample shapes, the nodes in graph order with
    /// each layer's type and attributes, the output and the weighted auxiliary outputs. <see cref="Read"/> rebuilds an equal graph.</summary>
    public static JsonObject Write(NetworkGraph graph) => new()
    {
        ["inputs"] = new JsonArray(graph.Inputs.Select(i => (JsonNode)new JsonObject
        {
            ["name"] = i.Name,
            ["shape"] = new JsonArray(i.ItemShape.ToArray().Select(d => (JsonNode)d).ToArray()),
        }).ToArray()),
        ["nodes"] = new JsonArray(graph.Nodes.Select(n => (JsonNode)new JsonObject
        {
            ["name"] = n.Name,
            ["type"] = n.Layer.Type,
            ["inputs"] = new JsonArray(n.Inputs.Select(i => (JsonNode)i).ToArray()),
            ["attributes"] = n.Layer.Attributes(),
        }).ToArray()),
        ["output"] = graph.Output,
        ["auxiliaryOutputs"] = new JsonArray(graph.AuxiliaryOutputs.Select(a => (JsonNode)new JsonObject
        {
            ["name"] = a.Name,
            ["weight"] = a.Weight,
        }).ToArray()),
    };

    /// <summary>The graph described by <paramref name="json"/> (the form <see cref="Write"/> gives), its layers made by
    /// the layer registry from their type and attributes.</summary>
    /// <exception cref="System.Text.Json.JsonException">The text is not valid JSON or repeats a property name.</exception>
    /// <exception cref="FormatException">A missing or mistyped field, or a layer the registry refuses; the message names the
    /// node and the field.</exception>
    /// <exception cref="GraphException">A node's inputs are neither graph inputs nor earlier nodes, or their count does not fit its layer.</exception>
    public static NetworkGraph Read(string json)
    {
        if (StrictJson.Parse(json) is not JsonObject root) throw new FormatException("the graph is not a JSON object");
        var graph = new NetworkGraph();
        foreach (var input in Array(root, "inputs", "graph"))
        {
            if (input is not JsonObject i) throw new FormatException("inputs[]: not an object");
            int[] dims = Array(i, "shape", "input").Select(d => d is JsonValue v && v.TryGetValue(out int x) ? x : throw new FormatException("input shape: not an integer")).ToArray();
            graph.AddInput(Name(i, "input"), TensorShape.Of(dims));
        }
        foreach (var item in Array(root, "nodes", "graph"))
        {
            if (item is not JsonObject n) throw new FormatException("nodes[]: not an object");
            string name = Name(n, "node");
            string type = n["type"] is JsonValue t && t.TryGetValue(out string? s) ? s : throw new FormatException($"node '{name}': type is missing");
            var attributes = n["attributes"] as JsonObject ?? throw new FormatException($"node '{name}': attributes is missing");
            string[] inputs = Array(n, "inputs", $"node '{name}'").Select(x => x is JsonValue v && v.TryGetValue(out string? s) ? s : throw new FormatException($"node '{name}': inputs must be names")).ToArray();
            Layer layer;
            try
            {
                layer = LayerRegistry.Create(type, attributes);
            }
            catch (Exception e) when (e is FormatException or ShapeException or ArgumentOutOfRangeException)
            {
                // an attribute out of range (a negative dropout p, ε ≤ 0) is a malformed file here
                throw new FormatException($"node '{name}' ({type}): {e.Message}");
            }
            graph.Add(name, layer, inputs);
        }
        if (root["output"] is JsonValue o && o.TryGetValue(out string? output)) graph.Output = output;
        // absent in files written before auxiliary heads existed: none
        if (root["auxiliaryOutputs"] is not null)
            foreach (var item in Array(root, "auxiliaryOutputs", "graph"))
            {
                if (item is not JsonObject a) throw new FormatException("auxiliaryOutputs[]: not an object");
                string name = Name(a, "auxiliary output");
                float weight = a["weight"] is JsonValue w && w.TryGetValue(out double d) ? (float)d
                    : throw new FormatException($"auxiliary output '{name}': 'weight' must be a number");
                try
                {
                    graph.AddAuxiliaryOutput(name, weight);
                }
                catch (ArgumentOutOfRangeException e)
                {
                    throw new FormatException($"auxiliary output '{name}': {e.Message}");
                }
            }
        return graph;
    }

    static JsonArray Array(JsonObject o, string name, string owner) =>
        o[name] as JsonArray ?? throw new FormatException($"{owner}: '{name}' must be an array");

    static string Name(JsonObject o, string owner) =>
        o["name"] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new FormatException($"{owner}: 'name' is missing");
}

using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends;
using NeuroPlugin.Graph;
using NeuroPlugin.Layers;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Serialization;

/// <summary>
/// The model file (<c>.neuro</c>), a safetensors container, so any safetensors reader sees the weights:
/// <code>
/// u64 (little-endian)  H, the header's length in bytes
/// H bytes              UTF-8 JSON header:
///   "__metadata__": { "format": "neuro", "version": "1", "graph": "&lt;graph JSON&gt;" }
///   "conv1.weight": { "dtype": "F32", "shape": [6,1,5,5], "data_offsets": [begin, end] }, …
///   "bn1.running_mean": …   (buffers, non-learnable state, after the parameters; validated the same way)
/// data                 the tensors' float32 little-endian bytes, back to back, offsets relative to here
/// </code>
/// The graph JSON is <c>{"inputs":[{"name","shape"}],"nodes":[{"name","type","inputs","attributes"}],"output"}</c>.
/// Loading validates every length, offset, dtype, shape and name before allocating anything large.
/// Saving writes a temporary file beside the target and renames it, so a failed save never destroys the old file.
/// </summary>
public static class ModelFile
{
    /// <summary>The version this code writes and reads.</summary>
    public const int FormatVersion = 1;
    /// <summary>Largest header accepted (a graph of thousands of nodes fits easily).</summary>
    public const long MaxHeaderBytes = 16 << 20;

    /// <summary>Writes <paramref name="network"/>'s graph, parameters and buffers (downloaded from its backend) to <paramref name="path"/>.</summary>
    public static void Save(Network network, string path)
    {
        var header = new JsonObject
        {
            ["__metadata__"] = new JsonObject
            {
                ["format"] = "neuro",
                ["version"] = FormatVersion.ToString(),
                ["graph"] = GraphJson.Write(network.Graph).ToJsonString(),
            },
        };
        long offset = 0;
        foreach (string name in StateNames(network))
        {
            var tensor = StateTensor(network, name);
            long end = offset + 4L * tensor.Length;
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(tensor.Shape.ToArray().Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, end),
            };
            offset = end;
        }
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());

        string fullPath = Path.GetFullPath(path);
        string temporary = $"{fullPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
                stream.Write(length);
                stream.Write(headerBytes);
                foreach (string name in StateNames(network))
                {
                    float[] values = StateTensor(network, name).ToArray();
                    var bytes = new byte[values.Length * 4];
                    for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
                    stream.Write(bytes);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>Reads a model file and allocates its network on <paramref name="backend"/>.
    /// Throws <see cref="ModelFileException"/> naming the file and the field for anything wrong.</summary>
    public static Network Load(string path, IBackend backend)
    {
        if (!File.Exists(path)) throw new ModelFileException(path, "file not found");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        long fileLength = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (fileLength < 8 || stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new ModelFileException(path, $"truncated: {fileLength} bytes is shorter than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)Math.Min(MaxHeaderBytes, fileLength - 8))
            throw new ModelFileException(path, $"header length {headerLength} exceeds {(headerLength > MaxHeaderBytes ? $"the limit of {MaxHeaderBytes} bytes" : $"the file ({fileLength} bytes)")}");
        var headerBytes = new byte[(int)headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + (long)headerLength, dataLength = fileLength - dataStart;

        JsonObject header;
        try
        {
            header = JsonNode.Parse(headerBytes) as JsonObject ?? throw new ModelFileException(path, "header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFileException(path, $"header is not valid JSON: {e.Message}");
        }
        if (header["__metadata__"] is not JsonObject metadata)
            throw new ModelFileException(path, "__metadata__ is missing: not a NeuroPlugin model file");
        if (Text(metadata, "format") != "neuro")
            throw new ModelFileException(path, "__metadata__.format is not \"neuro\"");
        string version = Text(metadata, "version") ?? throw new ModelFileException(path, "__metadata__.version is missing");
        if (version != FormatVersion.ToString())
            throw new ModelFileException(path, $"__metadata__.version {version} is not supported (this build reads version {FormatVersion})");

        NetworkGraph graph;
        try
        {
            graph = GraphJson.Read(Text(metadata, "graph") ?? throw new FormatException("missing"));
            graph.InferShapes(1);
        }
        catch (Exception e) when (e is FormatException or JsonException or ShapeException or InvalidOperationException)
        {
            throw new ModelFileException(path, $"__metadata__.graph: {e.Message}");
        }

        // check every tensor entry against the graph's parameters and buffers before allocating
        var expected = new Dictionary<string, TensorShape>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            foreach (var spec in node.Layer.Parameters) expected[$"{node.Name}.{spec.Name}"] = spec.Shape;
            foreach (var spec in node.Layer.Buffers) expected[$"{node.Name}.{spec.Name}"] = spec.Shape;
        }
        var ranges = new List<(string Name, long Begin, long End)>();
        foreach (var (name, entry) in header)
        {
            if (name == "__metadata__") continue;
            if (!expected.TryGetValue(name, out var shape))
                throw new ModelFileException(path, $"tensor '{name}' is not a parameter or buffer of the graph");
            if (entry is not JsonObject e || Text(e, "dtype") != "F32")
                throw new ModelFileException(path, $"{name}.dtype must be \"F32\"");
            if (e["shape"] is not JsonArray dims || !dims.Select(d => d is JsonValue v && v.TryGetValue(out int x) ? x : -1).SequenceEqual(shape.ToArray()))
                throw new ModelFileException(path, $"{name}.shape must be {shape}, as the graph declares");
            if (e["data_offsets"] is not JsonArray offsets || offsets.Count != 2 ||
                offsets[0] is not JsonValue b || !b.TryGetValue(out long begin) || offsets[1] is not JsonValue en || !en.TryGetValue(out long end))
                throw new ModelFileException(path, $"{name}.data_offsets must be two integers");
            if (begin < 0 || end > dataLength || end - begin != 4L * shape.Length)
                throw new ModelFileException(path, $"{name}.data_offsets [{begin},{end}] do not hold {shape.Length} floats inside the {dataLength} data bytes");
            ranges.Add((name, begin, end));
        }
        foreach (string name in expected.Keys)
            if (!ranges.Any(r => r.Name == name)) throw new ModelFileException(path, $"tensor '{name}' is missing");
        ranges.Sort((x, y) => x.Begin.CompareTo(y.Begin));
        long position = 0;
        foreach (var range in ranges)
        {
            if (range.Begin != position) throw new ModelFileException(path, $"{range.Name}.data_offsets: tensors must be contiguous (expected offset {position}, got {range.Begin})");
            position = range.End;
        }
        if (position != dataLength) throw new ModelFileException(path, $"{dataLength - position} bytes after the last tensor");

        var network = Network.CreateUninitialized(graph, backend);
        try
        {
            foreach (var (name, begin, end) in ranges)
            {
                var bytes = new byte[end - begin];
                stream.Position = dataStart + begin;
                stream.ReadExactly(bytes);
                var values = new float[bytes.Length / 4];
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
                StateTensor(network, name).Upload(values);
            }
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return network;
    }

    /// <summary>The saved tensors in file order: parameters, then buffers (each named as in PyTorch's state dict).</summary>
    static IEnumerable<string> StateNames(Network network) => network.ParameterNames.Concat(network.BufferNames);

    static Tensor StateTensor(Network network, string name) =>
        network.BufferNames.Contains(name) ? network.Buffer(name) : network.Parameter(name);

    static string? Text(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}

/// <summary>A model file that cannot be read: corrupt, truncated, hostile or of another version. Names the file and the field.</summary>
public sealed class ModelFileException(string path, string problem) : IOException($"{path}: {problem}")
{
    public string FilePath { get; } = path;
}

/// <summary>The graph as JSON: <c>{"inputs":[{"name","shape"}],"nodes":[{"name","type","inputs","attributes"}],"output","auxiliaryOutputs":[{"name","weight"}]}</c>.</summary>
public static class GraphJson
{
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

    public static NetworkGraph Read(string json)
    {
        if (JsonNode.Parse(json) is not JsonObject root) throw new FormatException("the graph is not a JSON object");
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
                layer = LayerFactory.Create(type, attributes);
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

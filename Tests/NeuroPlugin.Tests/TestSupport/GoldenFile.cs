namespace NeuroPlugin.Tests.TestSupport;

/// <summary>
/// A golden file written by <c>Tests/Golden/generate.py</c> from PyTorch: named float32 tensors (shape and
/// values, C order) and the attributes that produced them. Files live in Tests/NeuroPlugin.Tests/Golden/.
/// </summary>
public sealed class GoldenFile
{
    readonly Dictionary<string, (int[] Shape, float[] Data)> tensors = new(StringComparer.Ordinal);

    GoldenFile(string name, JsonElement root)
    {
        Name = name;
        Attributes = root.GetProperty("attributes").Clone();
        foreach (var tensor in root.GetProperty("tensors").EnumerateObject())
        {
            int[] shape = tensor.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
            float[] data = tensor.Value.GetProperty("data").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
            Assert.That(data, Has.Length.EqualTo(shape.Aggregate(1, (a, b) => a * b)), $"golden {name}: tensor {tensor.Name}");
            tensors[tensor.Name] = (shape, data);
        }
    }

    public string Name { get; }
    public JsonElement Attributes { get; }

    static string Folder => Path.Combine(AppContext.BaseDirectory, "Golden");

    /// <summary>The names of the golden files that match <paramref name="pattern"/> (a file-name pattern such as
    /// <c>conv_*</c>), in ordinal order: a check's test cases, so that a file the generator adds is tested without a
    /// hand-written list. No match is an error, so that a check never passes by running no case.</summary>
    public static string[] Named(string pattern)
    {
        string[] names = Directory.Exists(Folder)
            ? [.. Directory.EnumerateFiles(Folder, pattern + ".json").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)]
            : [];
        return names.Length > 0 ? names : throw new FileNotFoundException($"no golden file {pattern}.json in {Folder} (regenerate with /usr/bin/python3 Tests/Golden/generate.py)");
    }

    /// <summary>Loads Golden/<paramref name="name"/>.json from the test output folder.</summary>
    public static GoldenFile Load(string name)
    {
        string path = Path.Combine(Folder, name + ".json");
        Assert.That(File.Exists(path), Is.True, $"golden file {path} (regenerate with /usr/bin/python3 Tests/Golden/generate.py)");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return new GoldenFile(name, document.RootElement);
    }

    /// <summary>The values of tensor <paramref name="key"/>.</summary>
    public float[] Data(string key) => Get(key).Data;

    /// <summary>The shape of tensor <paramref name="key"/>.</summary>
    public int[] Shape(string key) => Get(key).Shape;

    public bool Contains(string key) => tensors.ContainsKey(key);

    /// <summary>The layer the attributes describe where a generator writes them as a model file does: <c>type</c> and the
    /// layer's own attributes (Tests/Golden/gen_reductions.py, gen_matmul.py).</summary>
    public NeuroPlugin.Layers.Layer Layer()
    {
        var attributes = System.Text.Json.Nodes.JsonNode.Parse(Attributes.GetRawText())!.AsObject();
        string type = (string)attributes["type"]!;
        attributes.Remove("type");
        return NeuroPlugin.Layers.LayerRegistry.Create(type, attributes);
    }

    /// <summary>A tensor on <paramref name="backend"/> holding <paramref name="key"/>'s shape and values (the caller disposes it).</summary>
    public NeuroPlugin.Tensors.Tensor Upload(NeuroPlugin.Backends.IBackend backend, string key)
    {
        var tensor = backend.Allocate(NeuroPlugin.Tensors.TensorShape.Of(Shape(key)), key);
        tensor.Upload(Data(key));
        return tensor;
    }

    (int[] Shape, float[] Data) Get(string key) =>
        tensors.TryGetValue(key, out var t) ? t : throw new KeyNotFoundException($"golden {Name}: no tensor '{key}' (has {string.Join(", ", tensors.Keys)})");
}

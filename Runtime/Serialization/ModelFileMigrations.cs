using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Serialization;

/// <summary>
/// Upgrades the <c>__metadata__</c> of an older model file to <see cref="ModelFile.FormatVersion"/>, one version at a
/// time (v1 → v2 → …), before the reader validates it, so the reader only ever knows the current layout. Each step
/// is an explicit function of the parsed metadata; tensors are never rewritten (no step so far changes them).
/// <list type="table">
/// <item><term>1 → 2</term><description>v2 added <c>kind</c> (<c>"model"</c> or <c>"checkpoint"</c>) for training
/// checkpoints. Every v1 file is a model: the step adds <c>kind = "model"</c>.</description></item>
/// <item><term>2 → 3</term><description>v3 describes the model (<see cref="ModelMetadata"/>) and requires <c>input</c>. The
/// step writes it from the graph's first input: its shape and layout and, for (1,H,W) and (3,H,W) images, luma and RGB —
/// what every v2 writer fed (Fashion-MNIST and grey image folders, RGB image folders, torchvision's ONNX models).
/// Normalization, labels and provenance stay unknown (<c>neuro import</c> adds them). A graph the step cannot read is
/// left to the graph reader, which names the problem.</description></item>
/// </list>
/// To change the format: bump <see cref="ModelFile.FormatVersion"/>, append the step from the old version here, and
/// commit a fixture written by the old code (<c>Tests/…/Fixtures/</c>) with a test that loads it.
/// </summary>
public static class ModelFileMigrations
{
    /// <summary>Steps[k] upgrades version k + 1 to k + 2.</summary>
    static readonly Action<JsonObject>[] Steps = [AddKind, DescribeInput];

    /// <summary>The oldest version that can be read.</summary>
    public const int OldestVersion = 1;

    /// <summary>
    /// Reads <c>__metadata__.version</c> of <paramref name="metadata"/> and applies every step from it to
    /// <see cref="ModelFile.FormatVersion"/>, leaving <c>version</c> at the current one. Returns the version the file
    /// was written in. Throws <see cref="ModelFileException"/> naming the file and the version field when the version
    /// is missing, not an integer, or newer than this build.
    /// </summary>
    public static int Upgrade(string path, JsonObject metadata)
    {
        string text = SafeTensorsContainer.Text(metadata, "version") ?? throw new ModelFileException(path, "__metadata__.version is missing");
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int version) || version < OldestVersion)
            throw new ModelFileException(path, $"__metadata__.version '{text}' is not a format version (an integer ≥ {OldestVersion})");
        if (version > ModelFile.FormatVersion)
            throw new ModelFileException(path, $"__metadata__.version {version} is not supported: this build reads versions {OldestVersion} to {ModelFile.FormatVersion} (the file was written by a newer NeuroPlugin)");
        for (int v = version; v < ModelFile.FormatVersion; v++)
        {
            Steps[v - 1](metadata);
            metadata["version"] = (v + 1).ToString(CultureInfo.InvariantCulture);
        }
        return version;
    }

    /// <summary>1 → 2: every v1 file is a plain model.</summary>
    static void AddKind(JsonObject metadata) => metadata["kind"] = ModelFile.ModelKind;

    /// <summary>2 → 3: <c>input</c> from the graph's first input (<see cref="InputSpecification.FromGraph"/>).</summary>
    static void DescribeInput(JsonObject metadata)
    {
        NetworkGraph graph;
        try
        {
            graph = GraphJson.Read(SafeTensorsContainer.Text(metadata, "graph") ?? "");
            graph.InferShapes(1);
        }
        catch (Exception e) when (e is FormatException or JsonException or ShapeException or InvalidOperationException)
        {
            return; // ReadGraph reports it, naming the field
        }
        foreach (var (key, value) in ModelMetadata.Describe(graph).Entries()) metadata[key] = value;
    }
}

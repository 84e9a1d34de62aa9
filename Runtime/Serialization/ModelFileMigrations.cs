using System.Globalization;
using System.Text.Json.Nodes;

namespace NeuroPlugin.Serialization;

/// <summary>
/// Upgrades the <c>__metadata__</c> of an older model file to <see cref="ModelFile.FormatVersion"/>, one version at a
/// time (v1 → v2 → …), before the reader validates it, so the reader only ever knows the current layout. Each step
/// is an explicit function of the parsed metadata; tensors are never rewritten (no step so far changes them).
/// <list type="table">
/// <item><term>1 → 2</term><description>v2 added <c>kind</c> (<c>"model"</c> or <c>"checkpoint"</c>) for training
/// checkpoints. Every v1 file is a model: the step adds <c>kind = "model"</c>.</description></item>
/// </list>
/// To change the format: bump <see cref="ModelFile.FormatVersion"/>, append the step from the old version here, and
/// commit a fixture written by the old code (<c>Tests/…/Fixtures/</c>) with a test that loads it.
/// </summary>
public static class ModelFileMigrations
{
    /// <summary>Steps[k] upgrades version k + 1 to k + 2.</summary>
    static readonly Action<JsonObject>[] Steps = [AddKind];

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
}

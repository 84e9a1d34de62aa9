using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Graph;
using NeuroPlugin.Serialization;
using NeuroPlugin.Training;

namespace NeuroPlugin.Search;

/// <summary>
/// Where a searched model came from, stored in its <c>.neuro</c> file's metadata under <see cref="Key"/> (a JSON object),
/// beside the short training's recipe (<see cref="ModelFile.TrainingOptionsKey"/>): the search's seed and dataset, the
/// candidate's id, parent and genome, its short-training validation accuracy and epochs, and its cost as counted and
/// measured (with the backend and device of the measurement). <see cref="ModelFile.Load(string, Backends.IBackend)"/> ignores it; the file loads
/// and trains like any model.
/// </summary>
public sealed record SearchProvenance(int SearchSeed, string Dataset, int CandidateId, int? ParentId, string Genome,
    double ShortTrainingAccuracy, int ValidationImages, int Epochs, long Parameters, long Flops, double LatencyMilliseconds,
    string Backend, string Device)
{
    /// <summary>The metadata key.</summary>
    public const string Key = "search";

    /// <summary>Writes <paramref name="network"/> as a model file (as <see cref="ModelFile.Save(Network, string, ModelMetadata?, JsonObject?)"/>
    /// does: temporary file, then rename) with <paramref name="provenance"/> and the short training's <paramref name="recipe"/>.</summary>
    public static void Save(Network network, string path, SearchProvenance provenance, TrainingOptions recipe)
    {
        var metadata = ModelFile.Metadata(network, ModelFile.ModelKind);
        metadata[ModelFile.TrainingOptionsKey] = recipe.ToJson().ToJsonString();
        metadata[Key] = JsonSerializer.Serialize(provenance, SearchState.Records.SearchProvenance);
        SafeTensorsContainer.Write(path, metadata, [.. ModelFile.StateTensors(network)]);
    }

    /// <summary>The provenance of a model file, or null when it was not written by a search. Throws
    /// <see cref="ModelFileException"/> naming the file when the file or the entry is malformed.</summary>
    public static SearchProvenance? Read(string path)
    {
        using var file = SafeTensorsContainer.Open(path);
        ModelFile.ReadGraph(file);
        if (SafeTensorsContainer.Text(file.Metadata, Key) is not string text) return null;
        try
        {
            return StrictJson.Parse(text).Deserialize(SearchState.Records.SearchProvenance)
                ?? throw new JsonException("null");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new ModelFileException(path, $"__metadata__.{Key} is not a search provenance: {e.Message}");
        }
    }
}

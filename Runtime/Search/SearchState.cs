using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using NeuroPlugin.Serialization;

namespace NeuroPlugin.Search;

/// <summary>
/// What defines a search: the seed, the data, the backend costs are measured on, the constraints, regularized
/// evolution's population and sample sizes, and the short-training recipe. A resumed search must have the same
/// settings (the time budget and the candidate cap may change: they only decide how far the same sequence goes).
/// </summary>
public sealed record SearchSettings
{
    /// <summary>Seed of every random choice (architectures, parents, mutations, initialization, shuffles).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>The dataset as the user named it (<c>fashion-mnist</c>, <c>folder:PATH</c>).</summary>
    public string Dataset { get; init; } = "fashion-mnist";
    /// <summary>The backend every candidate is trained and measured on (<c>cpu</c>, <c>gl</c>).</summary>
    public string Backend { get; init; } = "cpu";
    /// <summary>Most learnable parameters a candidate may have; null: no limit.</summary>
    public long? MaxParameters { get; init; }
    /// <summary>Most forward FLOPs per image; null: no limit.</summary>
    public long? MaxFlops { get; init; }
    /// <summary>Most measured batch-1 latency in milliseconds; null: no limit.</summary>
    public double? MaxMilliseconds { get; init; }
    /// <summary>Regularized evolution's population P: the newest P trained candidates (older ones age out).</summary>
    public int Population { get; init; } = 8;
    /// <summary>Candidates drawn (with replacement) from the population per tournament, S; the most accurate is the parent.</summary>
    public int SampleSize { get; init; } = 3;
    /// <summary>Training images of the short training (the first ones of the training set).</summary>
    public int TrainImages { get; init; } = 6000;
    /// <summary>Validation images (the last ones of the training set, never trained on; the test set is not used).</summary>
    public int ValidationImages { get; init; } = 2000;
    /// <summary>Most epochs of the short training.</summary>
    public int Epochs { get; init; } = 3;
    /// <summary>Early stopping: the training stops after this many epochs without a better validation accuracy.</summary>
    public int Patience { get; init; } = 1;
    /// <summary>Batch size of the short training.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Throws <see cref="SearchException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        void Check(bool ok, string field, string problem)
        {
            if (!ok) throw new SearchException(field, $"{field} {problem}");
        }
        Check(MaxParameters is null or > 0, "maxParameters", $"must be positive, got {MaxParameters}");
        Check(MaxFlops is null or > 0, "maxFlops", $"must be positive, got {MaxFlops}");
        Check(MaxMilliseconds is null or > 0, "maxMilliseconds", $"must be positive, got {MaxMilliseconds}");
        Check(Population >= 2, "population", $"must be at least 2, got {Population}");
        Check(SampleSize >= 1 && SampleSize <= Population, "sampleSize", $"must be between 1 and the population ({Population}), got {SampleSize}");
        Check(TrainImages >= 1, "trainImages", $"must be at least 1, got {TrainImages}");
        Check(ValidationImages >= 1, "validationImages", $"must be at least 1, got {ValidationImages}");
        Check(Epochs >= 1, "epochs", $"must be at least 1, got {Epochs}");
        Check(Patience >= 1, "patience", $"must be at least 1, got {Patience}");
        Check(BatchSize >= 1 && BatchSize <= TrainImages, "batchSize", $"must be between 1 and the training images ({TrainImages}), got {BatchSize}");
    }
}

/// <summary>What happened to a candidate.</summary>
public enum CandidateStatus
{
    /// <summary>Trained briefly and evaluated; it has an accuracy and a model file.</summary>
    Trained,
    /// <summary>Its measured latency was over <see cref="SearchSettings.MaxMilliseconds"/>: not trained.</summary>
    OverLatency,
}

/// <summary>
/// One evaluated architecture: its id (the order of evaluation, from 0), the parent it was mutated from (null for the
/// random first population) and the change, the genome, its cost (counted and measured), and for a trained candidate
/// the validation accuracy after the short training, the epochs it ran (early stopping may end it sooner) and its model
/// file (relative to the search folder).
/// </summary>
public sealed record SearchCandidate(int Id, int? ParentId, string Change, SearchGenome Genome, long Parameters, long Flops,
    double LatencyMilliseconds, CandidateStatus Status, double? Accuracy, int Epochs, double TrainSeconds, string? Model)
{
    /// <summary>The model file's name for candidate <paramref name="id"/> (<c>c0007.neuro</c>).</summary>
    public static string FileName(int id) => $"c{id:D4}.neuro";
}

/// <summary>
/// The search's state file (<c>search-state.json</c> in the search folder), rewritten after every candidate through a
/// temporary file and a rename, so a killed search leaves the last complete state: the settings and every candidate so
/// far. The sequence of candidates is a function of the seed and these records alone, so a search resumes from it.
/// </summary>
public static class SearchState
{
    /// <summary>The state file's name inside the search folder.</summary>
    public const string FileName = "search-state.json";
    const string Format = "neuro-search";
    const int Version = 1;

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The search's records with <see cref="Json"/>'s options, by serialization code generated at compile time
    /// (not reflection): a game's trimmed build keeps what they need, and the trimmer has nothing to warn about.</summary>
    internal static readonly SearchJson Records = new(new JsonSerializerOptions(Json));

    /// <summary>Writes <paramref name="settings"/> and <paramref name="candidates"/> to <paramref name="path"/> (temporary file, then rename).</summary>
    public static void Write(string path, SearchSettings settings, IReadOnlyList<SearchCandidate> candidates)
    {
        var state = new JsonObject
        {
            ["format"] = Format,
            ["version"] = Version,
            ["settings"] = JsonSerializer.SerializeToNode(settings, Records.SearchSettings),
            ["candidates"] = JsonSerializer.SerializeToNode(candidates, Records.IReadOnlyListSearchCandidate),
        };
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, state.ToJsonString(Json));
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads a state file. Throws <see cref="SearchException"/> naming the file and the field when it is not one.</summary>
    public static (SearchSettings Settings, List<SearchCandidate> Candidates) Read(string path)
    {
        try
        {
            var root = StrictJson.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
            if (root["format"]?.GetValue<string>() != Format) throw new JsonException($"format is not \"{Format}\"");
            if (root["version"]?.GetValue<int>() != Version) throw new JsonException($"version is not {Version}");
            var settings = root["settings"].Deserialize(Records.SearchSettings) ?? throw new JsonException("settings missing");
            var candidates = root["candidates"].Deserialize(Records.ListSearchCandidate) ?? throw new JsonException("candidates missing");
            for (int i = 0; i < candidates.Count; i++)
            {
                var c = candidates[i];
                if (c.Id != i) throw new JsonException($"candidates[{i}].id is {c.Id}");
                if (c.Genome?.Stages is null || c.Genome.Stages.Count == 0 || c.Change is null) throw new JsonException($"candidates[{i}].genome is incomplete");
                if (c.Status == CandidateStatus.Trained && (c.Accuracy is null || c.Model is null)) throw new JsonException($"candidates[{i}] is trained but has no accuracy or model");
            }
            return (settings, candidates);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or NotSupportedException or ModelFileException)
        {
            throw new SearchException("state", $"{path}: not a search state file: {e.Message}");
        }
    }

    /// <summary>Throws <see cref="SearchException"/> naming the first setting in which <paramref name="resumed"/> differs from
    /// <paramref name="saved"/> (a resumed search must be the same search).</summary>
    public static void CheckSame(string path, SearchSettings saved, SearchSettings resumed)
    {
        var a = JsonSerializer.SerializeToNode(saved, Records.SearchSettings)!.AsObject();
        var b = JsonSerializer.SerializeToNode(resumed, Records.SearchSettings)!.AsObject();
        foreach (var (name, value) in a)
            if (!JsonNode.DeepEquals(value, b[name]))
                throw new SearchException(name, $"{path}: the search there has {name} {value?.ToJsonString() ?? "null"}, this one {b[name]?.ToJsonString() ?? "null"}; " +
                    "resume with the same settings or use another folder");
    }
}

/// <summary>The search's records (settings, candidates, a model's provenance) for System.Text.Json's source generator.</summary>
[JsonSerializable(typeof(SearchSettings))]
[JsonSerializable(typeof(IReadOnlyList<SearchCandidate>))]
[JsonSerializable(typeof(List<SearchCandidate>))]
[JsonSerializable(typeof(SearchProvenance))]
internal sealed partial class SearchJson : JsonSerializerContext;

/// <summary>A search that cannot run as asked: a setting out of range, a constraint nothing meets, a state file of another
/// search. <see cref="Field"/> names the setting.</summary>
public sealed class SearchException(string field, string message) : Exception(message)
{
    /// <summary>The setting at fault (<see cref="SearchSettings"/>' JSON name).</summary>
    public string Field { get; } = field;
}

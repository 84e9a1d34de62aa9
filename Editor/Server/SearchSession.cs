using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Data;
using NeuroPlugin.Editor.Cli;
using NeuroPlugin.Editor.Document;
using NeuroPlugin.Editor.Search;
using NeuroPlugin.Search;

namespace NeuroPlugin.Editor.Server;

/// <summary>
/// What <c>POST /api/search/start</c> asks for (Documentation~/EditorProtocol.md, "Architecture search"): the dataset
/// (<c>"fashion-mnist"</c> or <c>{ "folder": "rel/path" }</c>), <c>budgetMinutes</c>, the constraints
/// (<c>maxParameters</c>, <c>maxFlops</c>, <c>maxMilliseconds</c>), <c>backend</c>, <c>seed</c>, and the search's size
/// (<c>candidates</c>, <c>population</c>, <c>sampleSize</c>, <c>trainImages</c>, <c>validationImages</c>, <c>epochs</c>,
/// <c>patience</c>, <c>batchSize</c>), the options of <c>neuro search</c> by their <see cref="SearchSettings"/> names.
/// </summary>
internal sealed record SearchRequest(string? Folder, double BudgetMinutes, int? Candidates, int? TrainImages, int? ValidationImages, SearchSettings Settings)
{
    static readonly string[] Known =
        ["dataset", "budgetMinutes", "maxParameters", "maxFlops", "maxMilliseconds", "backend", "seed", "candidates",
         "population", "sampleSize", "trainImages", "validationImages", "epochs", "patience", "batchSize"];

    /// <summary>Reads the request; absent or null fields take <see cref="SearchSettings"/>'s defaults (<c>budgetMinutes</c> 10).</summary>
    /// <exception cref="DocumentCommandException">A malformed or unknown field, naming it.</exception>
    public static SearchRequest Parse(JsonObject body)
    {
        string? unknown = body.Select(p => p.Key).FirstOrDefault(k => !Known.Contains(k));
        if (unknown is not null) throw new DocumentCommandException($"{unknown}: unknown search field; known: {string.Join(", ", Known)}", unknown);
        string? folder = TrainingRequest.FolderOf(body);
        string backend = (Value<string>(body, "backend") ?? "cpu").ToLowerInvariant();
        if (backend is not ("cpu" or "gl")) throw new DocumentCommandException($"backend must be cpu or gl (latency is measured where the model will run), got '{backend}'", "backend");
        double budget = Number<double>(body, "budgetMinutes") ?? 10;
        if (!(budget > 0)) throw new DocumentCommandException($"budgetMinutes must be a positive number of minutes, got {budget}", "budgetMinutes");
        int? candidates = Number<int>(body, "candidates");
        if (candidates is < 1) throw new DocumentCommandException($"candidates must be at least 1, got {candidates}", "candidates");
        var defaults = new SearchSettings();
        var settings = defaults with
        {
            Dataset = folder is null ? "fashion-mnist" : TrainCommand.FolderPrefix + folder, Backend = backend,
            Seed = Number<int>(body, "seed") ?? defaults.Seed,
            MaxParameters = Number<long>(body, "maxParameters"), MaxFlops = Number<long>(body, "maxFlops"), MaxMilliseconds = Number<double>(body, "maxMilliseconds"),
            Population = Number<int>(body, "population") ?? defaults.Population, SampleSize = Number<int>(body, "sampleSize") ?? defaults.SampleSize,
            Epochs = Number<int>(body, "epochs") ?? defaults.Epochs, Patience = Number<int>(body, "patience") ?? defaults.Patience,
            BatchSize = Number<int>(body, "batchSize") ?? defaults.BatchSize,
        };
        return new SearchRequest(folder, budget, candidates, Number<int>(body, "trainImages"), Number<int>(body, "validationImages"), settings);
    }

    static T? Value<T>(JsonObject o, string name) where T : class => o[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out T? s) => s,
        _ => throw new DocumentCommandException($"{name} must be a {typeof(T).Name.ToLowerInvariant()}, got {o[name]!.ToJsonString()}", name),
    };

    static T? Number<T>(JsonObject o, string name) where T : struct => o[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out T n) => n,
        _ => throw new DocumentCommandException($"{name} must be {(typeof(T) == typeof(double) ? "a number" : "an integer")}, got {o[name]!.ToJsonString()}", name),
    };
}

/// <summary>
/// The editor's architecture search: one <see cref="ArchitectureSearch"/> at a time, on its own thread (the backend is
/// made, used and disposed there), writing into <c>searches/&lt;id&gt;/</c> of the served folder what <c>neuro search</c>
/// writes (state, log, candidates' model files, at the end the front's report). Each finished candidate is kept for
/// <c>GET /api/search</c>, which the browser polls; a candidate's model file opens in the designer like any
/// <c>.neuro</c> file. Refused (409) while a search or a training run runs (<see cref="IsBusy"/>).
/// </summary>
internal sealed class SearchSession(FolderGuard served, Func<string?> busy)
{
    /// <summary>The folder inside the served folder that holds every search's folder.</summary>
    public const string SearchesFolder = "searches";

    readonly object gate = new();
    readonly List<SearchCandidate> candidates = [];
    CancellationTokenSource? cancellation;
    Thread? thread;
    string? searchId, folder, error, end;
    string state = "idle";
    JsonObject? settingsJson;

    /// <summary>True from a successful <see cref="Start"/> until the search has returned and written its report.</summary>
    public bool IsRunning { get { lock (gate) return state == "running"; } }

    /// <summary>Starts a search and returns its id: settings checked, data loaded and split (400 naming the field on any
    /// problem), then the search runs on its own thread. <see cref="EditorConflictException"/> while a search runs or
    /// <c>busy</c> names another job (a training run).</summary>
    public string Start(SearchRequest request)
    {
        lock (gate)
            if (state == "running") throw new EditorConflictException($"search {searchId} is already running; stop it first");
        if (busy() is string other) throw new EditorConflictException($"{other}: stop it before starting a search");
        string data = request.Settings.Dataset;
        if (request.Folder is not null)
        {
            string path = served.Resolve(request.Folder); // PathOutsideFolderException: 400
            if (!Directory.Exists(path)) throw new DocumentCommandException($"dataset: '{request.Folder}' is not a folder in the served folder", "dataset");
            served.RequireTreeInside(path, 3);
            data = TrainCommand.FolderPrefix + path;
        }
        var (train, validation) = SearchCommand.LoadData(data, null, request.Settings.Seed, request.TrainImages, request.ValidationImages);
        var settings = request.Settings with { TrainImages = train.Count, ValidationImages = validation.Count };
        try
        {
            settings.Validate();
        }
        catch (SearchException e)
        {
            throw new DocumentCommandException(e.Message, e.Field);
        }
        lock (gate)
        {
            if (state == "running") throw new EditorConflictException($"search {searchId} is already running; stop it first");
            string id = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") + "-" + Guid.NewGuid().ToString("N")[..6];
            (searchId, folder, state, error, end) = (id, $"{SearchesFolder}/{id}", "running", null, null);
            settingsJson = JsonSerializer.SerializeToNode(settings, JsonOptions)!.AsObject();
            settingsJson["budgetMinutes"] = request.BudgetMinutes;
            settingsJson["candidates"] = request.Candidates;
            candidates.Clear();
            cancellation = new CancellationTokenSource();
            var token = cancellation.Token;
            string path = served.Resolve(folder);
            thread = new Thread(() => Run(id, settings, train, validation, path, request, token)) { IsBackground = true, Name = $"neuro search {id}" };
            thread.Start();
            return id;
        }
    }

    /// <summary>Asks the running search to stop (after the candidate in training); false when none runs.</summary>
    public bool Stop()
    {
        lock (gate)
        {
            if (state != "running") return false;
            cancellation!.Cancel();
            return true;
        }
    }

    /// <summary>Waits for the search's thread to end (tests, shutdown).</summary>
    public bool Wait(TimeSpan timeout)
    {
        Thread? running;
        lock (gate) running = thread;
        return running is null || running.Join(timeout);
    }

    /// <summary><c>GET /api/search</c>: id, state (idle, running, finished, stopped, failed), the search folder relative to
    /// the served folder, the settings, why it ended, the error, every finished candidate
    /// (<c>{id, parentId, change, status, accuracy, latencyMs, parameters, flops, epochs, model}</c>, <c>model</c> the
    /// candidate's file relative to the served folder, null when it was not trained) and the ids on the Pareto front
    /// (accuracy up, latency down, over the trained candidates).</summary>
    public byte[] StatusJson()
    {
        lock (gate)
        {
            var list = candidates.Select(c => new
            {
                id = c.Id, parentId = c.ParentId, change = c.Change, status = c.Status == CandidateStatus.Trained ? "trained" : "overLatency",
                accuracy = c.Accuracy, latencyMs = c.LatencyMilliseconds, parameters = c.Parameters, flops = c.Flops, epochs = c.Epochs,
                model = c.Model is null ? null : $"{folder}/{c.Model.Replace('\\', '/')}",
            }).ToArray();
            var front = ParetoFront.Of(candidates).Select(c => c.Id).ToArray();
            return JsonSerializer.SerializeToUtf8Bytes(new { searchId, state, folder, settings = settingsJson, end, error, candidates = list, front }, JsonOptions);
        }
    }

    static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    void Run(string id, SearchSettings settings, ImageDataset train, ImageDataset validation, string path, SearchRequest request, CancellationToken token)
    {
        string final = "finished";
        string? failure = null, reason = null;
        try
        {
            using var backend = BackendSelection.Create(settings.Backend); // on this thread: a GL context belongs to it
            var search = new ArchitectureSearch(settings, train, validation, backend, path)
            {
                CandidateCompleted = c => { lock (gate) candidates.Add(c); },
            };
            var result = search.Run(TimeSpan.FromMinutes(request.BudgetMinutes), request.Candidates, token);
            SearchReport.Write(path, settings, result, backend, $"neuro serve: search {id}");
            reason = result.End.ToString().ToLowerInvariant();
            if (result.End == SearchEnd.Cancelled) final = "stopped";
        }
        catch (Exception e)
        {
            final = "failed";
            failure = CliErrors.Describe(e);
        }
        lock (gate) (state, error, end) = (final, failure, reason);
    }
}

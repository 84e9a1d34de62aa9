using System.Diagnostics;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Training;

namespace NeuroPlugin.Search;

/// <summary>Why a search returned.</summary>
public enum SearchEnd
{
    /// <summary>The time budget ran out (the candidate in training, if any, is left out and redone on resume).</summary>
    Budget,
    /// <summary>The candidate cap was reached.</summary>
    Candidates,
    /// <summary>The caller cancelled.</summary>
    Cancelled,
}

/// <summary>The candidates of a search (every one so far, resumed ones included), its Pareto front, and why it ended.</summary>
public sealed record SearchResult(IReadOnlyList<SearchCandidate> Candidates, IReadOnlyList<SearchCandidate> Front, SearchEnd End, int Resumed);

/// <summary>
/// Architecture search under a game's budget by regularized evolution (Real, Aggarwal, Huang and Le, "Regularized
/// Evolution for Image Classifier Architecture Search", AAAI 2019): the first <see cref="SearchSettings.Population"/>
/// candidates are drawn at random from the <see cref="SearchSpace"/>; after that each candidate is a mutation of the most
/// accurate of <see cref="SearchSettings.SampleSize"/> candidates drawn from the population, which is always the newest P
/// trained candidates (the oldest ages out, however good). Every candidate's cost is counted (parameters, FLOPs) and
/// measured on the search's backend (<see cref="ArchitectureCost.MeasureLatency"/>); candidates over
/// <see cref="SearchSettings.MaxParameters"/> or <see cref="SearchSettings.MaxFlops"/> are redrawn before anything runs,
/// one over <see cref="SearchSettings.MaxMilliseconds"/> is recorded untrained. The others train briefly
/// (<see cref="TrainingRun"/> for up to <see cref="SearchSettings.Epochs"/> epochs, stopped early after
/// <see cref="SearchSettings.Patience"/> epochs without a better validation accuracy) and are saved as model files with
/// their <see cref="SearchProvenance"/>.
/// <para>Reproducible: candidate i's random choices come from a <see cref="SplitMix64"/> keyed by (seed, i) and its
/// training is seeded the same way, so the sequence of architectures and accuracies depends on the seed alone (on the
/// CPU backend bit for bit; measured latencies vary with the machine's load, and with them the latency constraint's
/// verdicts and the latency axis of the front). Resumable: the state file (<see cref="SearchState"/>) is rewritten after
/// each candidate through a temporary file and a rename; a search started on a folder that has one continues after its
/// last candidate.</para>
/// </summary>
public sealed class ArchitectureSearch
{
    /// <summary>Draws of the space per candidate before a constraint is declared impossible.</summary>
    public const int MaxDraws = 2000;
    /// <summary>The folder of every trained candidate's model file, and of the front's copies, inside the search folder.</summary>
    public const string CandidatesFolder = "candidates", FrontFolder = "front";
    /// <summary>The log file inside the search folder (appended to, one line per event).</summary>
    public const string LogFile = "search.log";

    readonly SearchSettings settings;
    readonly ImageDataset train, validation;
    readonly IBackend backend;
    readonly string folder;
    readonly ModelOptions modelOptions;
    readonly List<SearchCandidate> candidates = [];

    /// <param name="settings">The search; validated here.</param>
    /// <param name="train">Images of the short training (exactly these; <see cref="SearchSettings.TrainImages"/> is the caller's split).</param>
    /// <param name="validation">Images the candidates are ranked on.</param>
    /// <param name="backend">Where candidates train and are measured.</param>
    /// <param name="folder">The search folder: state, log, candidates' and front's model files. Created if missing.</param>
    public ArchitectureSearch(SearchSettings settings, ImageDataset train, ImageDataset validation, IBackend backend, string folder)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (train.ClassCount != validation.ClassCount || train.Channels != validation.Channels || train.Height != validation.Height || train.Width != validation.Width)
            throw new ArgumentException($"the validation images ({validation.Name}) are not of the training images' kind ({train.Name})");
        if (train.Count != settings.TrainImages || validation.Count != settings.ValidationImages)
            throw new ArgumentException($"the search's settings say {settings.TrainImages} training and {settings.ValidationImages} validation images; " +
                $"{train.Count} and {validation.Count} were given");
        if (train.Height != train.Width) throw new SearchException("dataset", $"{train.Name}: the search space builds square inputs; the images are {train.Height}×{train.Width}");
        (this.settings, this.train, this.validation, this.backend, this.folder) = (settings, train, validation, backend, folder);
        modelOptions = new ModelOptions(train.Channels, train.Height, train.ClassCount);
        Directory.CreateDirectory(Path.Combine(folder, CandidatesFolder));
        StatePath = Path.Combine(folder, SearchState.FileName);
        if (File.Exists(StatePath))
        {
            var (saved, done) = SearchState.Read(StatePath);
            SearchState.CheckSame(StatePath, saved, settings);
            candidates.AddRange(done);
        }
        Resumed = candidates.Count;
    }

    /// <summary>The state file's path.</summary>
    public string StatePath { get; }
    /// <summary>Candidates read from an earlier run's state file.</summary>
    public int Resumed { get; }
    /// <summary>Every candidate so far, in order.</summary>
    public IReadOnlyList<SearchCandidate> Candidates => candidates;
    /// <summary>Called after each candidate (on the search's thread), once its state is saved.</summary>
    public Action<SearchCandidate>? CandidateCompleted { get; set; }
    /// <summary>Called with every log line (also appended to <see cref="LogFile"/>).</summary>
    public Action<string>? Log { get; set; }

    /// <summary>
    /// Evaluates candidates until <paramref name="budget"/> has passed (a candidate still training then is dropped),
    /// <paramref name="maxCandidates"/> candidates exist in all (resumed ones count), or <paramref name="cancellation"/>
    /// is cancelled; then copies the front's model files into <see cref="FrontFolder"/> and returns.
    /// </summary>
    public SearchResult Run(TimeSpan budget, int? maxCandidates = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        Write($"search seed {settings.Seed} on {settings.Dataset} ({train.Count} training, {validation.Count} validation images), backend {backend.Name} ({backend.DeviceName}), " +
              $"budget {budget.TotalMinutes:0.##} min{(maxCandidates is int m ? $", at most {m} candidates" : "")}{(Resumed > 0 ? $", resumed after {Resumed} candidates" : "")}");
        SearchEnd end;
        while (true)
        {
            if (cancellation.IsCancellationRequested) { end = SearchEnd.Cancelled; break; }
            if (maxCandidates is int cap && candidates.Count >= cap) { end = SearchEnd.Candidates; break; }
            var left = budget - clock.Elapsed;
            if (left <= TimeSpan.Zero) { end = SearchEnd.Budget; break; }
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            deadline.CancelAfter(left);
            var candidate = Evaluate(candidates.Count, deadline.Token);
            if (candidate is null)
            {
                end = cancellation.IsCancellationRequested ? SearchEnd.Cancelled : SearchEnd.Budget;
                break;
            }
            candidates.Add(candidate);
            SearchState.Write(StatePath, settings, candidates);
            Write(Describe(candidate));
            CandidateCompleted?.Invoke(candidate);
        }
        var front = ParetoFront.Of(candidates);
        WriteFront(front);
        Write($"ended ({end switch { SearchEnd.Budget => "budget spent", SearchEnd.Candidates => "candidate cap reached", _ => "cancelled" }}) " +
              $"after {candidates.Count} candidates ({candidates.Count - Resumed} in this run, {clock.Elapsed.TotalMinutes:0.0} min); front: {string.Join(", ", front.Select(c => c.Id))}");
        return new SearchResult(candidates.ToArray(), front, end, Resumed);
    }

    /// <summary>Candidate <paramref name="id"/>: drawn or mutated, measured, trained briefly and saved; null when
    /// <paramref name="stop"/> ended its training.</summary>
    SearchCandidate? Evaluate(int id, CancellationToken stop)
    {
        var random = CandidateRandom(settings.Seed, id);
        int seed = (int)(random.Next() >> 33); // initialization, shuffles: a non-negative int of the candidate's stream
        var (genome, parent, change, graph) = Choose(ref random);
        var (parameters, flops) = ArchitectureCost.Count(graph);
        using var network = Network.Create(graph, backend, seed);
        double latency = ArchitectureCost.MeasureLatency(network);
        if (settings.MaxMilliseconds is double most && latency > most)
            return new SearchCandidate(id, parent?.Id, change, genome, parameters, flops, latency, CandidateStatus.OverLatency, null, 0, 0, null);

        var recipe = new TrainingOptions { Epochs = settings.Epochs, BatchSize = settings.BatchSize, Seed = seed };
        using var run = new TrainingRun(network, train, validation, recipe) { EvaluateEveryEpoch = true, ReportEvery = int.MaxValue };
        using var earlyStop = new EarlyStopping(settings.Patience);
        run.AddObserver(earlyStop);
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stop, earlyStop.Token);
        var result = run.Run(stopping.Token);
        if (stop.IsCancellationRequested) return null;
        string model = Path.Combine(CandidatesFolder, SearchCandidate.FileName(id));
        var candidate = new SearchCandidate(id, parent?.Id, change, genome, parameters, flops, latency, CandidateStatus.Trained,
            result.TestAccuracy ?? 0, earlyStop.Epochs, result.TrainSeconds, model);
        SearchProvenance.Save(network, Path.Combine(folder, model), new SearchProvenance(settings.Seed, settings.Dataset, id, parent?.Id, genome.ToString(),
            candidate.Accuracy!.Value, validation.Count, earlyStop.Epochs, parameters, flops, latency, backend.Name, backend.DeviceName), run.Options);
        return candidate;
    }

    /// <summary>The generator of candidate <paramref name="id"/>'s choices: SplitMix64 from (seed, id), so candidate i's
    /// draws do not depend on how many draws earlier candidates made.</summary>
    internal static SplitMix64 CandidateRandom(int seed, int id)
    {
        var mixer = new SplitMix64(((ulong)(uint)seed << 32) | (uint)id);
        return new SplitMix64(mixer.Next());
    }

    /// <summary>A random architecture while the population fills, else a mutation of a tournament's winner; redrawn
    /// until it builds for the data and meets the parameter and FLOP constraints.</summary>
    (SearchGenome Genome, SearchCandidate? Parent, string Change, NetworkGraph Graph) Choose(ref SplitMix64 random)
    {
        var trained = candidates.Where(c => c.Status == CandidateStatus.Trained).ToList();
        SearchCandidate? parent = null;
        if (trained.Count >= settings.Population)
        {
            var population = trained.GetRange(trained.Count - settings.Population, settings.Population);
            for (int i = 0; i < settings.SampleSize; i++)
            {
                var drawn = population[(int)random.NextBelow((uint)population.Count)];
                if (parent is null || drawn.Accuracy > parent.Accuracy) parent = drawn;
            }
        }
        int overParameters = 0, overFlops = 0;
        for (int draw = 0; draw < MaxDraws; draw++)
        {
            var (genome, change) = parent is null ? (SearchSpace.Sample(ref random), "random") : SearchSpace.Mutate(parent.Genome, ref random);
            NetworkGraph graph;
            try
            {
                graph = SearchSpace.Build(genome, modelOptions);
            }
            catch (ShapeException)
            {
                continue; // downsampled below 1×1 for these images
            }
            var (parameters, flops) = ArchitectureCost.Count(graph);
            bool parametersFit = parameters <= (settings.MaxParameters ?? long.MaxValue), flopsFit = flops <= (settings.MaxFlops ?? long.MaxValue);
            if (parametersFit && flopsFit) return (genome, parent, change, graph);
            if (!parametersFit) overParameters++;
            if (!flopsFit) overFlops++;
        }
        string limits = string.Join(" and ", new[]
        {
            settings.MaxParameters is long p ? $"at most {p:N0} parameters" : null,
            settings.MaxFlops is long f ? $"at most {f:N0} FLOPs" : null,
        }.Where(s => s is not null));
        throw new SearchException(overFlops >= overParameters ? "maxFlops" : "maxParameters",
            $"no architecture of {MaxDraws} drawn {(parent is null ? "from the search space" : $"as mutations of candidate {parent.Id}")} has {limits} for {modelOptions.ImageSize}×{modelOptions.ImageSize} images");
    }

    void WriteFront(IReadOnlyList<SearchCandidate> front)
    {
        string frontFolder = Path.Combine(folder, FrontFolder);
        Directory.CreateDirectory(frontFolder);
        foreach (string stale in Directory.GetFiles(frontFolder, "*.neuro"))
            if (!front.Any(c => Path.GetFileName(c.Model) == Path.GetFileName(stale))) File.Delete(stale);
        foreach (var candidate in front)
        {
            string target = Path.Combine(frontFolder, Path.GetFileName(candidate.Model!)), temporary = target + ".tmp";
            File.Copy(Path.Combine(folder, candidate.Model!), temporary, overwrite: true);
            File.Move(temporary, target, overwrite: true);
        }
    }

    /// <summary>One log line for a candidate.</summary>
    public static string Describe(SearchCandidate c)
    {
        string origin = c.ParentId is int p ? $"from {p}: {c.Change}" : "random";
        string outcome = c.Status == CandidateStatus.Trained
            ? FormattableString.Invariant($"accuracy {c.Accuracy * 100:0.00} % after {c.Epochs} epoch(s), {c.TrainSeconds:0.0} s")
            : "over the latency limit, not trained";
        return FormattableString.Invariant($"candidate {c.Id} ({origin}): {c.Genome}; {c.Parameters:N0} parameters, {c.Flops:N0} FLOPs, {c.LatencyMilliseconds:0.000} ms; {outcome}");
    }

    void Write(string line)
    {
        File.AppendAllText(Path.Combine(folder, LogFile), $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {line}{Environment.NewLine}");
        Log?.Invoke(line);
    }

    /// <summary>Stops the short training after <c>patience</c> evaluations without a better accuracy; counts the epochs run.</summary>
    sealed class EarlyStopping(int patience) : ITrainingObserver, IDisposable
    {
        readonly CancellationTokenSource source = new();
        double best = double.NegativeInfinity;
        int worse;

        public CancellationToken Token => source.Token;
        public int Epochs { get; private set; }

        public void EvaluationCompleted(TrainingRun run, TrainingEvaluation evaluation)
        {
            Epochs = evaluation.Epoch + 1;
            if (evaluation.Accuracy > best)
            {
                best = evaluation.Accuracy;
                worse = 0;
            }
            else if (++worse >= patience) source.Cancel();
        }

        public void Dispose() => source.Dispose();
    }
}

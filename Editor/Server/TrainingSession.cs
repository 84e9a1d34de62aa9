using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Data;
using NeuroPlugin.Editor.Cli;
using NeuroPlugin.Editor.Document;
using NeuroPlugin.Graph;
using NeuroPlugin.Monitoring;
using NeuroPlugin.Serialization;
using NeuroPlugin.Training;

namespace NeuroPlugin.Editor.Server;

/// <summary>One reported point of a run: the loss of the latest batch, the test accuracy at epoch ends (else null), the
/// learning rate of the latest step, and the training time left at the current pace.</summary>
internal sealed record TrainingPoint(int Epoch, long Step, float Loss, double? Accuracy, double ImagesPerSecond, float LearningRate, double? SecondsLeft);

/// <summary>What <c>POST /api/training/start</c> asks for (Documentation~/EditorProtocol.md, "Training"): the editor's own
/// fields (dataset, backend) and the runtime's <see cref="TrainingOptions"/> by their field names.</summary>
internal sealed record TrainingRequest(string Backend, TrainingOptions Options)
{
    /// <summary>The image folder of <c>"dataset": { "folder": "rel/path" }</c>, relative to the served folder; null for Fashion-MNIST.</summary>
    public string? Folder { get; init; }

    /// <summary>The dataset field: <c>"fashion-mnist"</c> or <c>{ "folder": "rel/path" }</c> (a choice, and a path when it is a folder).</summary>
    public static readonly TrainingField DatasetField = new("dataset", "--data", "Dataset", TrainingFieldKind.Choice,
        "Fashion-MNIST, or an image folder inside the served folder: FOLDER/<class>/*.png|jpg (optional FOLDER/train and FOLDER/test), decoded to the network's input")
    {
        Group = "data", Default = "fashion-mnist", ChoiceNoun = "dataset", ChoicesNoun = "datasets",
        Choices = [new("fashion-mnist", "Fashion-MNIST: 60,000 + 10,000 grey 28×28 images of 10 classes"), new("folder", "An image folder inside the served folder")],
    };

    /// <summary>Runtime options the editor does not take: the network's input decides the image size, a resumed run
    /// needs the command line's exact options, and the editor names each run's monitor file itself.</summary>
    public static readonly string[] NotOffered = ["imageSize", "resume", "monitor"];

    /// <summary>The fields of the editor's train form, in order: the dataset, the runtime's options it offers, the backend.</summary>
    public static IEnumerable<TrainingField> FormFields =>
        [DatasetField, .. TrainingOptions.Fields.Where(f => !NotOffered.Contains(f.Name)), BackendSelection.Field];

    /// <summary>Reads the request; every field absent or null takes its default (<see cref="TrainingOptions"/>'s).</summary>
    /// <exception cref="ArgumentException">A malformed or unknown field, naming it.</exception>
    public static TrainingRequest Parse(JsonObject body)
    {
        string? folder = FolderOf(body);
        string? refused = NotOffered.FirstOrDefault(body.ContainsKey);
        if (refused is not null)
            throw new DocumentCommandException($"{refused} is not an editor training option ({refused switch
            {
                "imageSize" => "the network's input decides the image size",
                "monitor" => "the editor keeps every run in its own file under runs/",
                _ => "resume runs with neuro train --resume",
            }})");
        string backend = (Text(body, BackendSelection.Field.Name) ?? (string)BackendSelection.Field.Default!).ToLowerInvariant();
        return new TrainingRequest(backend, TrainingOptions.Read(body, [DatasetField.Name, BackendSelection.Field.Name])) { Folder = folder };
    }

    /// <summary>The <c>dataset</c> field (training's and the search's): null for <c>"fashion-mnist"</c> or none, the
    /// folder of <c>{ "folder": "rel/path" }</c>.</summary>
    /// <exception cref="DocumentCommandException">Anything else, naming the field.</exception>
    public static string? FolderOf(JsonObject body)
    {
        if (body["dataset"] is JsonObject dataset)
        {
            string? folder = Text(dataset, "folder") ?? throw new DocumentCommandException("dataset: an image-folder dataset is { \"folder\": \"relative/path\" }", "dataset");
            string? unknown = dataset.Select(p => p.Key).FirstOrDefault(k => k != "folder");
            if (unknown is not null) throw new DocumentCommandException($"dataset: unknown field '{unknown}'; an image-folder dataset is {{ \"folder\": \"relative/path\" }}", "dataset");
            return folder;
        }
        if (body["dataset"] is JsonValue d && (!d.TryGetValue(out string? name) || !string.Equals(name, "fashion-mnist", StringComparison.OrdinalIgnoreCase)))
            throw new DocumentCommandException($"dataset: unknown dataset {d.ToJsonString()}; known: \"fashion-mnist\" or {{ \"folder\": \"relative/path\" }}", "dataset");
        return null;
    }

    static string? Text(JsonObject o, string name) => o[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new DocumentCommandException($"{name} must be a string, got {o[name]!.ToJsonString()}"),
    };
}

/// <summary>
/// Trains the document's network on Fashion-MNIST or on an image folder inside the served folder (<see cref="ImageFolder"/>, decoded to the
/// network's C×S×S input), one run at a time, each on its own dedicated thread: the backend
/// (CPU, or a headless GL context, which <see cref="Backends.OpenGL.GLDevice"/> binds to the thread that made it) is
/// created, used and disposed on that thread only. The run is the runtime's <see cref="TrainingRun"/> (options validated
/// there, errors naming the request fields), reporting every <see cref="ReportEvery"/> steps (the loss read back only
/// then) and the test accuracy at each epoch end. Every run carries the training monitor and is kept as a JSON Lines file
/// in the served folder (<see cref="RunFiles"/>); its samples, evaluations and diagnostics are also sent as they come
/// (<see cref="Message"/>, kinds <see cref="HubMessageKind.Sample"/>, <see cref="HubMessageKind.Evaluation"/> and
/// <see cref="HubMessageKind.Diagnostics"/>). Work on the running network (probes, evaluations on request) runs on the
/// training thread between two steps (<see cref="OnTrainingThread"/>). <see cref="Stop"/> ends the run between two
/// steps; the weights trained so far go back to the document (<see cref="DocumentSession.KeepWeights"/>), unless the
/// run diverged (<see cref="WeightsDiverged"/>).
/// </summary>
internal sealed class TrainingSession(DocumentSession document) : BackgroundRun
{
    /// <summary>Fashion-MNIST, read by the first run that trains on it and shared by the later ones and the inspector.</summary>
    public FashionMnistCache FashionMnistSets { get; } = new();

    /// <summary>Steps between reported points.</summary>
    public const int ReportEvery = 10;

    readonly List<TrainingPoint> points = [];
    readonly ConcurrentQueue<Action<TrainingRun>> requests = new();
    bool acceptingRequests;
    string? runFile;
    byte[]? diagnostics;   // the latest "diagnostics" record of the run
    bool diverged;
    ImageDataset? testSet;
    (EvaluationSample Evaluation, ImageDataset Images)? lastEvaluation;
    string? runId;
    string? error;
    string? weightsOutcome;
    JsonObject? options;
    long totalSteps;

    /// <summary>Raised with each protocol message (<c>{"type":"training",…}</c> or <c>{"type":"monitor",…}</c>, UTF-8
    /// JSON) and its kind, on the training thread.</summary>
    public event Action<HubMessageKind, byte[]>? Message;

    /// <summary>The test images of the latest run (null before the first run loaded its data).</summary>
    public ImageDataset? TestSet { get { lock (gate) return testSet; } }

    /// <summary>The latest evaluation (an epoch end's or one on request) with the images it evaluated; null before one.</summary>
    public (EvaluationSample Evaluation, ImageDataset Images)? LastEvaluation
    {
        get { lock (gate) return lastEvaluation; }
        set { lock (gate) lastEvaluation = value; }
    }

    /// <summary>Runs <paramref name="work"/> on the running network's thread between two steps (a GL context belongs to
    /// it); null when no run is training now (the caller uses the document's weights instead).</summary>
    public Task<T>? OnTrainingThread<T>(Func<TrainingRun, T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            if (state != "running" || !acceptingRequests) return null;
            requests.Enqueue(run =>
            {
                try
                {
                    done.SetResult(work(run));
                }
                catch (Exception e)
                {
                    done.SetException(e);
                }
            });
        }
        return done.Task;
    }

    /// <summary>Carries out the queued work, on the training thread.</summary>
    void ServeRequests(TrainingRun run)
    {
        while (requests.TryDequeue(out var request)) request(run);
    }

    /// <summary>Starts a run and returns its id; throws <see cref="EditorConflictException"/> while one is running and an
    /// <see cref="ArgumentException"/> naming the field for bad settings or a network that does not fit the data.</summary>
    public string Start(TrainingRequest request)
    {
        string id = Guid.NewGuid().ToString("N")[..12];
        string file = RunFiles.NewPath(id, DateTime.UtcNow);
        var options = request.Options with { Monitor = file }; // every run is kept (RunFiles)
        options.Validate(TrainingOptionNaming.Field);
        if (Array.IndexOf(BackendSelection.Names, request.Backend) < 0)
            throw new DocumentCommandException($"unknown backend '{request.Backend}'; use one of: {string.Join(", ", BackendSelection.Names)}");
        var (graph, weights, from) = document.TrainingSnapshot();
        string? folder = request.Folder is null ? null : document.Folder.Resolve(request.Folder); // PathOutsideFolderException: 400
        if (folder is not null && !Directory.Exists(folder)) throw new DocumentCommandException($"dataset: '{request.Folder}' is not a folder in the served folder");
        if (folder is not null) document.Folder.RequireTreeInside(folder, ImageFolderDepth);
        // a checkpoint is written inside the served folder, like every file the editor writes
        var runOptions = options with { Monitor = document.Folder.Resolve(file) };
        if (options.Checkpoint is string checkpoint) runOptions = runOptions with { Checkpoint = document.Folder.Resolve(checkpoint) };
        var input = CheckInput(graph, folder is not null);
        if (folder is null) CheckOutput(graph, FashionMnist.ClassCount, "Fashion-MNIST's classes");
        lock (gate)
        {
            if (state == "running") throw new EditorConflictException($"training run {runId} is already running; stop it first");
            runId = id;
            runFile = file;
            diagnostics = null;
            diverged = false;
            error = null;
            weightsOutcome = null;
            this.options = options.WithOptimizerDefaults().ToJson(); // what the run uses, the optimizer's defaults filled in
            totalSteps = 0;
            points.Clear();
            StartThread($"neuro training {id}", token => Run(id, graph, weights, from, request, runOptions, folder, input, token));
            return id;
        }
    }

    /// <summary><c>GET /api/training</c>: run id, state, the options the run uses, its total steps (0 until its data is
    /// loaded), every point so far, error, what became of the trained weights once the run has ended
    /// (<see cref="WeightsKept"/>, <see cref="WeightsDropped"/>, <see cref="WeightsDiverged"/>, or null), the run's file (<c>runFile</c>), its latest
    /// diagnostics record and whether it diverged.</summary>
    public byte[] StatusJson()
    {
        lock (gate)
        {
            var status = JsonSerializer.SerializeToNode(new { runId, state, options, totalSteps, points, error, weights = weightsOutcome, runFile, diverged }, JsonOptions)!.AsObject();
            status["diagnostics"] = diagnostics is null ? null : JsonNode.Parse(diagnostics);
            return Encoding.UTF8.GetBytes(status.ToJsonString());
        }
    }

    /// <summary><c>GET /api/training/schema</c>: the train form's fields (<see cref="TrainingRequest.FormFields"/>) and the
    /// optimizers' defaults (<see cref="TrainingOptions.Schema"/>).</summary>
    public static JsonObject Schema() => TrainingOptions.Schema(TrainingRequest.FormFields);

    /// <summary><c>GET /api/training/form</c>: <c>{"file": id, "values": {field: value} | null}</c>, the current document
    /// file's train form (<see cref="DocumentFile.TrainingForm"/>; null: the schema's defaults).</summary>
    public byte[] FormJson()
    {
        var (file, values) = document.TrainingForm();
        return Encoding.UTF8.GetBytes(new JsonObject { ["file"] = file, ["values"] = values }.ToJsonString());
    }

    /// <summary><c>PUT /api/training/form {"file": id, "values": {…}}</c>: keeps the form's values with that file (409 when
    /// it is no longer the document's). The values are what the form holds, typed text included: an object of at most
    /// <see cref="MaxFormFields"/> members, each a string, number, boolean, null or array of strings, all short.</summary>
    public void SetForm(JsonObject body)
    {
        long file = body["file"] is JsonValue f && f.TryGetValue(out long id) ? id : throw new DocumentCommandException("file must be the id GET /api/training/form gave");
        var values = body["values"] as JsonObject ?? throw new DocumentCommandException("values must be an object of form fields");
        if (values.Count > MaxFormFields) throw new DocumentCommandException($"values: at most {MaxFormFields} fields, got {values.Count}");
        foreach (var (name, value) in values)
        {
            bool fits = name.Length <= MaxFormText && value switch
            {
                null => true,
                JsonArray items => items.Count <= MaxFormFields && items.All(i => i is JsonValue v && v.TryGetValue(out string? s) && s.Length <= MaxFormText),
                JsonValue v => v.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False
                    || (v.TryGetValue(out string? text) && text.Length <= MaxFormText),
                _ => false,
            };
            if (!fits) throw new DocumentCommandException($"values.{name}: a form value is a string (at most {MaxFormText} characters), number, boolean, null or array of strings");
        }
        document.SetTrainingForm(file, values);
    }

    /// <summary>Members of a stored train form at most.</summary>
    public const int MaxFormFields = 64;
    /// <summary>Characters of a field name or text value at most.</summary>
    const int MaxFormText = 1024;

    /// <summary>The final message's <c>weights</c> when the trained weights went back to the document.</summary>
    public const string WeightsKept = "kept";
    /// <summary>The final message's <c>weights</c> when the run diverged (its diagnostics say so, or a weight is NaN or ∞):
    /// the trained weights are not kept, and the document keeps the ones it had before the run.</summary>
    public const string WeightsDiverged = "diverged";
    /// <summary>The final message's <c>weights</c> when the document was replaced (open, new, a model template) during
    /// the run: the trained weights belong to the replaced one and are dropped.</summary>
    public const string WeightsDropped = "dropped";

    /// <summary>Folder levels of an image folder that <see cref="ImageFolder"/> reads: root, train/test, class, file.</summary>
    const int ImageFolderDepth = 3;

    /// <summary>The training messages' JSON: camelCase, a loss or rate that is not finite as null (a diverged run).</summary>
    static readonly JsonSerializerOptions JsonOptions = FiniteNumbers.With(new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase });

    /// <summary>The network's input as image options: 1×28×28 for Fashion-MNIST; for an image folder C×S×S with C 1 or 3,
    /// the size and channels the folder's images are decoded to.</summary>
    static ImageFolderOptions CheckInput(NetworkGraph graph, bool imageFolder)
    {
        var item = graph.Inputs[0].ItemShape;
        if (!imageFolder)
        {
            if (item.Rank != 3 || item[0] != 1 || item[1] != FashionMnist.ImageSize || item[2] != FashionMnist.ImageSize)
                throw new DocumentCommandException($"training: input '{graph.Inputs[0].Name}' must be 1×28×28 for Fashion-MNIST, got {item}");
            return new ImageFolderOptions();
        }
        if (item.Rank != 3 || item[0] is not (1 or 3) || item[1] != item[2])
            throw new DocumentCommandException($"training: input '{graph.Inputs[0].Name}' must be C×S×S with C 1 (grayscale) or 3 (RGB) for an image folder, got {item}");
        return new ImageFolderOptions { Channels = item[0], ImageSize = item[1] };
    }

    static void CheckOutput(NetworkGraph graph, int classes, string what)
    {
        var output = graph.InferShapes(1)[graph.Output];
        if (output.Rank != 2 || output[1] != classes)
            throw new DocumentCommandException($"training: output '{graph.Output}' must be (N,{classes}) logits for {what}, got {output}");
    }

    void Run(string id, NetworkGraph graph, IReadOnlyDictionary<string, Weight> weights, DocumentFile from, TrainingRequest request,
        TrainingOptions runOptions, string? folder, ImageFolderOptions folderOptions, CancellationToken token)
    {
        Network? network = null;
        Backends.IBackend? backend = null;
        ModelMetadata? described = null; // the run's dataset and result, for the document's next save
        string final = "finished";
        try
        {
            ImageDataset train, test;
            if (folder is null)
            {
                train = FashionMnistSets.Train;
                test = FashionMnistSets.Test;
            }
            else
            {
                (train, test) = ImageFolder.Load(folder, folderOptions with { Seed = runOptions.Seed });
                CheckOutput(graph, train.ClassCount, $"the {train.ClassCount} classes of {request.Folder}");
                if (test.Count == 0) throw new DatasetException(folder, "no test images: add test/ (with train/) or more images per class");
            }
            backend = BackendSelection.Create(request.Backend); // on this thread: a GL context belongs to it
            network = Network.Create(graph, backend, runOptions.Seed);
            DocumentSession.LoadWeights(network, weights);
            using var run = new TrainingRun(network, train, test, runOptions) { ReportEvery = ReportEvery, Name = from.Name };
            lock (gate)
            {
                totalSteps = run.TotalSteps;
                testSet = run.Test;
                acceptingRequests = true;
            }
            run.AddObserver(new Reporter(this, id));
            try
            {
                var result = run.Run(token);
                if (result.Stopped) final = "stopped";
                if (result.TestAccuracy is double accuracy)
                    described = ModelMetadata.ForImageClassifier(graph, train, ModelProvenance.Now(from.Name, request.Folder ?? "fashion-mnist", accuracy, runOptions.Seed));
            }
            finally
            {
                lock (gate) acceptingRequests = false;
                ServeRequests(run); // what was asked before the end, on the network it asked about
            }
        }
        catch (Exception e)
        {
            final = "failed";
            lock (gate) error = CliErrors.Describe(e);
        }
        finally
        {
            Finish(id, network, backend, from, final, described);
        }
    }

    /// <summary>Sends a point at each progress report and at each epoch's end (with the test accuracy), the monitor's
    /// samples, evaluations and diagnostics; serves the requests queued for the training thread between steps.</summary>
    sealed class Reporter(TrainingSession session, string id) : ITrainingObserver
    {
        public void StepCompleted(TrainingRun run)
        {
            if (!session.requests.IsEmpty) session.ServeRequests(run);
        }

        public void ProgressReported(TrainingRun run, TrainingProgress p) =>
            session.Report(id, new TrainingPoint(p.Epoch, p.Step, p.Loss, null, p.ImagesPerSecond, p.LearningRate, p.SecondsLeft));

        public void EvaluationCompleted(TrainingRun run, TrainingEvaluation evaluation)
        {
            var last = run.LastProgress ?? default;
            session.Report(id, new TrainingPoint(evaluation.Epoch, evaluation.Step, last.Loss, evaluation.Accuracy, last.ImagesPerSecond, last.LearningRate, last.SecondsLeft));
            if (evaluation.Details is not { } details) return;
            session.LastEvaluation = (details, run.Test!);
            session.Send(HubMessageKind.Evaluation, id, json => MonitorJson.Write(json, details));
        }

        public void SampleReady(TrainingRun run, TrainingSample sample) =>
            session.Send(HubMessageKind.Sample, id, json => MonitorJson.Write(json, sample));

        public void DiagnosticsChanged(TrainingRun run, DiagnosticReport report)
        {
            var record = Record(json => MonitorJson.Write(json, report));
            lock (session.gate)
            {
                session.diagnostics = record;
                session.diverged = report.Diverged;
            }
            session.Message?.Invoke(HubMessageKind.Diagnostics, Wrap(id, record));
        }
    }

    /// <summary>Sends one monitor record of run <paramref name="id"/>: <c>{"type":"monitor","runId":…,"record":{…}}</c>.</summary>
    void Send(HubMessageKind kind, string id, Action<Utf8JsonWriter> write) => Message?.Invoke(kind, Wrap(id, Record(write)));

    /// <summary>A record as <see cref="MonitorJson"/> writes it, in UTF-8.</summary>
    static byte[] Record(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        using (var json = new Utf8JsonWriter(buffer)) write(json);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A record as the inspector's monitor message: <c>{"type":"monitor","runId":…,"record":{…}}</c>.</summary>
    internal static byte[] Wrap(string id, byte[] record)
    {
        var head = Encoding.UTF8.GetBytes($"{{\"type\":\"monitor\",\"runId\":\"{id}\",\"record\":");
        var message = new byte[head.Length + record.Length + 1];
        head.CopyTo(message, 0);
        record.CopyTo(message, head.Length);
        message[^1] = (byte)'}';
        return message;
    }

    /// <summary>The end of a run, on its thread: the trained weights back to the document (unless the run failed or
    /// diverged, or the document was replaced meanwhile), the network and backend disposed, the final state set and its
    /// message sent. An
    /// exception here fails the run with its message instead of ending the server.</summary>
    void Finish(string id, Network? network, Backends.IBackend? backend, DocumentFile from, string final, ModelMetadata? described)
    {
        string? outcome = null, failure = null;
        try
        {
            if (network is not null && final != "failed")
            {
                var trained = DocumentSession.ReadWeights(network);
                bool wasDiverged;
                lock (gate) wasDiverged = diverged;
                if (wasDiverged || trained.Values.Any(w => !w.Values.All(float.IsFinite)))
                    outcome = WeightsDiverged; // the document keeps the weights it had: a diverged run's are noise or NaN
                else outcome = document.KeepWeights(trained, from, described) ? WeightsKept : WeightsDropped;
            }
        }
        catch (Exception e)
        {
            failure = $"keeping the trained weights failed: {CliErrors.Describe(e)}";
        }
        foreach (IDisposable? owned in new IDisposable?[] { network, backend })
        {
            try
            {
                owned?.Dispose();
            }
            catch (Exception e)
            {
                failure ??= $"releasing the {(owned is Network ? "network" : "backend")} failed: {CliErrors.Describe(e)}";
            }
        }
        byte[] message;
        lock (gate)
        {
            if (failure is not null)
            {
                final = "failed";
                error = error is null ? failure : $"{error}; {failure}";
            }
            state = final;
            weightsOutcome = outcome;
            message = JsonSerializer.SerializeToUtf8Bytes(new { type = "training", runId = id, state = final, error, weights = outcome, runFile, diverged }, JsonOptions);
        }
        try
        {
            Message?.Invoke(HubMessageKind.Training, message);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"neuro serve: sending the end of training run {id} failed: {CliErrors.Describe(e)}");
        }
    }

    void Report(string id, TrainingPoint point)
    {
        long total;
        lock (gate)
        {
            points.Add(point);
            total = totalSteps;
        }
        Message?.Invoke(HubMessageKind.Training, JsonSerializer.SerializeToUtf8Bytes(new
        {
            type = "training", runId = id, state = "running", epoch = point.Epoch, step = point.Step, totalSteps = total, loss = point.Loss,
            accuracy = point.Accuracy, imagesPerSecond = point.ImagesPerSecond, learningRate = point.LearningRate, secondsLeft = point.SecondsLeft,
        }, JsonOptions));
    }
}

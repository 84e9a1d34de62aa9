using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Data;
using NeuroPlugin.Editor.Cli;
using NeuroPlugin.Editor.Document;
using NeuroPlugin.Graph;
using NeuroPlugin.Serialization;
using NeuroPlugin.Training;

namespace NeuroPlugin.Editor.Server;

/// <summary>One reported point of a run: loss of the latest batch, test accuracy at epoch ends (else null).</summary>
internal sealed record TrainingPoint(int Epoch, long Step, float Loss, double? Accuracy, double ImagesPerSecond);

/// <summary>What <c>POST /api/training/start</c> asks for (Documentation~/EditorProtocol.md, "Training").</summary>
internal sealed record TrainingRequest(string Optimizer, float LearningRate, int BatchSize, int Epochs, string Backend,
    int? TrainLimit, int? TestLimit, int Seed, float Momentum, float WeightDecay, string Schedule)
{
    /// <summary>The image folder of <c>"dataset": { "folder": "rel/path" }</c>, relative to the served folder; null for Fashion-MNIST.</summary>
    public string? Folder { get; init; }

    /// <summary>Reads the request, with <c>neuro train</c>'s defaults for what is missing.</summary>
    public static TrainingRequest Parse(JsonObject body)
    {
        string? folder = null;
        if (body["dataset"] is JsonObject dataset)
        {
            folder = Text(dataset, "folder") ?? throw new DocumentCommandException("dataset: an image-folder dataset is { \"folder\": \"relative/path\" }");
            string? unknown = dataset.Select(p => p.Key).FirstOrDefault(k => k != "folder");
            if (unknown is not null) throw new DocumentCommandException($"dataset: unknown field '{unknown}'; an image-folder dataset is {{ \"folder\": \"relative/path\" }}");
        }
        else if (body["dataset"] is JsonValue d && (!d.TryGetValue(out string? name) || !string.Equals(name, "fashion-mnist", StringComparison.OrdinalIgnoreCase)))
            throw new DocumentCommandException($"dataset: unknown dataset {d.ToJsonString()}; known: \"fashion-mnist\"");
        string optimizer = (Text(body, "optimizer") ?? TrainingDefaults.Optimizer).ToLowerInvariant();
        return new TrainingRequest(
            optimizer,
            Number(body, "learningRate") ?? TrainingDefaults.LearningRateOf(optimizer),
            Integer(body, "batchSize") ?? TrainingDefaults.BatchSize,
            Integer(body, "epochs") ?? 1,
            (Text(body, "backend") ?? "auto").ToLowerInvariant(),
            Integer(body, "trainLimit"),
            Integer(body, "testLimit"),
            Integer(body, "seed") ?? 1,
            Number(body, "momentum") ?? (optimizer == "rmsprop" ? 0f : TrainingDefaults.Momentum),
            Number(body, "weightDecay") ?? (optimizer == "adamw" ? 0.01f : 0f),
            (Text(body, "schedule") ?? TrainingDefaults.Schedule).ToLowerInvariant()) { Folder = folder };
    }

    /// <summary>The request field that sets <c>neuro train</c>'s option <paramref name="flag"/> (<c>--lr</c> → <c>learningRate</c>),
    /// so the shared option checks name what the editor sent; options the editor does not send keep their flag.</summary>
    public static string FieldOf(string flag) => flag switch
    {
        "--lr" => "learningRate",
        "--momentum" => "momentum",
        "--weight-decay" => "weightDecay",
        _ => flag,
    };

    /// <summary>The same settings as <c>neuro train</c> takes them, so its checks and optimizer/schedule construction are reused.</summary>
    public TrainCommand.TrainSettings ToSettings() => new("editor", Folder is null ? "fashion-mnist" : TrainCommand.FolderPrefix + Folder, null, Epochs, BatchSize, Optimizer, LearningRate, Momentum,
        WeightDecay, 0f, 0f, null, Schedule, TrainingDefaults.Gamma, 1, 0, Backend, Seed, TrainLimit, null, null);

    static string? Text(JsonObject o, string name) => o[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => throw new DocumentCommandException($"'{name}' must be a string"),
    };

    static int? Integer(JsonObject o, string name) => o[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out int i) => i,
        _ => throw new DocumentCommandException($"'{name}' must be an integer"),
    };

    static float? Number(JsonObject o, string name) => o[name] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out double x) => (float)x,
        _ => throw new DocumentCommandException($"'{name}' must be a number"),
    };
}

/// <summary>
/// Trains the document's network on Fashion-MNIST or on an image folder inside the served folder (<see cref="ImageFolder"/>, decoded to the
/// network's C×S×S input), one run at a time, each on its own dedicated thread: the backend
/// (CPU, or a headless GL context, which <see cref="Backends.OpenGL.GLDevice"/> binds to the thread that made it) is
/// created, used and disposed on that thread only. It reuses <c>neuro train</c>'s option checks, optimizer and schedule
/// (<see cref="TrainCommand"/>) and the runtime's <see cref="Trainer"/>: progress every 10 batches (the loss read back
/// only then), test accuracy at each epoch end. <see cref="Stop"/> ends the run at the next report; the weights
/// trained so far go back to the document (<see cref="DocumentSession.KeepWeights"/>).
/// </summary>
internal sealed class TrainingSession(DocumentSession document)
{
    /// <summary>Batches between reported points.</summary>
    public const int ReportEvery = 10;

    readonly object gate = new();
    readonly List<TrainingPoint> points = [];
    CancellationTokenSource? cancellation;
    Thread? thread;
    string? runId;
    string state = "idle";
    string? error;
    string? weightsOutcome;

    /// <summary>Raised with each protocol message (<c>{"type":"training",…}</c>, UTF-8 JSON), on the training thread.</summary>
    public event Action<byte[]>? Message;

    /// <summary>Starts a run; throws <see cref="EditorConflictException"/> while one is running and
    /// <see cref="ArgumentException"/> (naming the field) for bad settings or a network that does not fit the data.</summary>
    public string Start(TrainingRequest request)
    {
        var settings = request.ToSettings();
        TrainCommand.CheckOptimizerOptions(settings, TrainingRequest.FieldOf);
        if (request.Epochs < 1) throw new DocumentCommandException($"epochs must be at least 1, got {request.Epochs}");
        if (request.BatchSize < 1) throw new DocumentCommandException($"batchSize must be at least 1, got {request.BatchSize}");
        if (request.TrainLimit is < 1) throw new DocumentCommandException($"trainLimit must be at least 1, got {request.TrainLimit}");
        if (request.TestLimit is < 1) throw new DocumentCommandException($"testLimit must be at least 1, got {request.TestLimit}");
        if (Array.IndexOf(BackendSelection.Names, request.Backend) < 0)
            throw new DocumentCommandException($"unknown backend '{request.Backend}'; use one of: {string.Join(", ", BackendSelection.Names)}");
        var (graph, weights, from) = document.TrainingSnapshot();
        string? folder = request.Folder is null ? null : document.Folder.Resolve(request.Folder); // PathOutsideFolderException: 400
        if (folder is not null && !Directory.Exists(folder)) throw new DocumentCommandException($"dataset: '{request.Folder}' is not a folder in the served folder");
        if (folder is not null) document.Folder.RequireTreeInside(folder, ImageFolderDepth);
        var input = CheckInput(graph, folder is not null);
        if (folder is null) CheckOutput(graph, FashionMnist.ClassCount, "Fashion-MNIST's classes");
        lock (gate)
        {
            if (state == "running") throw new EditorConflictException($"training run {runId} is already running; stop it first");
            runId = Guid.NewGuid().ToString("N")[..12];
            state = "running";
            error = null;
            weightsOutcome = null;
            points.Clear();
            cancellation = new CancellationTokenSource();
            string id = runId;
            var token = cancellation.Token;
            thread = new Thread(() => Run(id, graph, weights, from, request, settings, folder, input, token)) { IsBackground = true, Name = $"neuro training {id}" };
            thread.Start();
            return id;
        }
    }

    /// <summary>Asks the running run to stop (it does at its next report, within <see cref="ReportEvery"/> batches);
    /// false when nothing is running.</summary>
    public bool Stop()
    {
        lock (gate)
        {
            if (state != "running") return false;
            cancellation!.Cancel();
            return true;
        }
    }

    /// <summary>Waits for the current run's thread to end (tests, shutdown).</summary>
    public bool Wait(TimeSpan timeout)
    {
        Thread? running;
        lock (gate) running = thread;
        return running is null || running.Join(timeout);
    }

    /// <summary><c>GET /api/training</c>: run id, state, every point so far, error, and what became of the trained
    /// weights once the run has ended (<see cref="WeightsKept"/>, <see cref="WeightsDropped"/>, or null).</summary>
    public byte[] StatusJson()
    {
        lock (gate)
            return JsonSerializer.SerializeToUtf8Bytes(new { runId, state, points, error, weights = weightsOutcome }, JsonOptions);
    }

    /// <summary>The final message's <c>weights</c> when the trained weights went back to the document.</summary>
    public const string WeightsKept = "kept";
    /// <summary>The final message's <c>weights</c> when the document was replaced (open, new, a model template) during
    /// the run: the trained weights belong to the replaced one and are dropped.</summary>
    public const string WeightsDropped = "dropped";

    /// <summary>Folder levels of an image folder that <see cref="ImageFolder"/> reads: root, train/test, class, file.</summary>
    const int ImageFolderDepth = 3;

    static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

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
        TrainCommand.TrainSettings settings, string? folder, ImageFolderOptions folderOptions, CancellationToken token)
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
                train = FashionMnist.LoadTrain();
                test = FashionMnist.LoadTest();
            }
            else
            {
                (train, test) = ImageFolder.Load(folder, folderOptions with { Seed = request.Seed });
                CheckOutput(graph, train.ClassCount, $"the {train.ClassCount} classes of {request.Folder}");
                if (test.Count == 0) throw new DatasetException(folder, "no test images: add test/ (with train/) or more images per class");
            }
            if (request.TrainLimit is int n && n < train.Count) train = train.Take(n);
            if (request.TestLimit is int m && m < test.Count) test = test.Take(m);
            if (request.BatchSize > train.Count) throw new ArgumentException($"batchSize {request.BatchSize} is larger than the {train.Count} training images");
            backend = BackendSelection.Create(request.Backend); // on this thread: a GL context belongs to it
            network = Network.Create(graph, backend, request.Seed);
            DocumentSession.LoadWeights(network, weights);
            var loader = new DataLoader(train, request.BatchSize, shuffle: true, seed: request.Seed, dropLast: true);
            using var trainer = new Trainer(network, TrainCommand.CreateOptimizer(settings), request.BatchSize,
                TrainCommand.CreateSchedule(settings, loader.BatchesPerEpoch), (long)loader.BatchesPerEpoch * request.Epochs) { ReportEvery = ReportEvery };
            for (int epoch = 0; epoch < request.Epochs; epoch++)
            {
                TrainingProgress last = default;
                trainer.TrainEpoch(loader, epoch, p =>
                {
                    last = p;
                    Report(id, new TrainingPoint(p.Epoch, (long)p.Epoch * p.BatchesPerEpoch + p.Batch, p.Loss, null, p.ImagesPerSecond), "running");
                    token.ThrowIfCancellationRequested(); // Trainer has no stop of its own: leave between two steps
                });
                double accuracy = Trainer.Evaluate(network, test);
                described = ModelMetadata.ForImageClassifier(graph, train, ModelProvenance.Now(from.Name, request.Folder ?? "fashion-mnist", accuracy, request.Seed));
                Report(id, new TrainingPoint(epoch, (long)(epoch + 1) * loader.BatchesPerEpoch, last.Loss, accuracy, last.ImagesPerSecond), "running");
            }
        }
        catch (OperationCanceledException)
        {
            final = "stopped";
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

    /// <summary>The end of a run, on its thread: the trained weights back to the document (unless the run failed or the
    /// document was replaced meanwhile), the network and backend disposed, the final state set and its message sent. An
    /// exception here fails the run with its message instead of ending the server.</summary>
    void Finish(string id, Network? network, Backends.IBackend? backend, DocumentFile from, string final, ModelMetadata? described)
    {
        string? outcome = null, failure = null;
        try
        {
            if (network is not null && final != "failed")
                outcome = document.KeepWeights(DocumentSession.ReadWeights(network), from, described) ? WeightsKept : WeightsDropped;
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
            message = JsonSerializer.SerializeToUtf8Bytes(new { type = "training", runId = id, state = final, error, weights = outcome }, JsonOptions);
        }
        try
        {
            Message?.Invoke(message);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"neuro serve: sending the end of training run {id} failed: {CliErrors.Describe(e)}");
        }
    }

    void Report(string id, TrainingPoint point, string current)
    {
        lock (gate) points.Add(point);
        Message?.Invoke(JsonSerializer.SerializeToUtf8Bytes(new
        {
            type = "training", runId = id, state = current, epoch = point.Epoch, step = point.Step, loss = point.Loss,
            accuracy = point.Accuracy, imagesPerSecond = point.ImagesPerSecond,
        }, JsonOptions));
    }
}

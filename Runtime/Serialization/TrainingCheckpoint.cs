using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Training;
using AugmentationPipeline = NeuroPlugin.Data.Augmentation;

namespace NeuroPlugin.Serialization;

/// <summary>
/// A training checkpoint: a model file (<see cref="ModelFile"/>, same safetensors container, <c>kind = "checkpoint"</c>)
/// that also holds the optimizer's state and the run's counters, so that training resumes with exactly the bits an
/// uninterrupted run would have produced. Conventionally named <c>*.ckpt.neuro</c>; <see cref="ModelFile.Load(string, Backends.IBackend)"/> reads
/// it as a plain model, and any safetensors reader sees every tensor.
/// <code>
/// "__metadata__": { "format": "neuro", "version": "2", "kind": "checkpoint", "graph": "…", "training": "&lt;JSON below&gt;" }
/// "conv1.weight", …, "bn1.running_mean", …                      parameters and buffers, as in a model file
/// "optimizer.state.conv1.weight.momentum_buffer", …               every optimizer state tensor, shaped as its parameter
/// training: {"trainer": {"step","epoch","batchInEpoch","batchSize","totalSteps","baseLearningRate","learningRate","schedule"},
///            "plan": {"seed","step"},                            step: the plan's random counter (ExecutionPlan.RandomCounter)
///            "optimizer": {"type", hyper-parameters…, "stepCount", "stateKeys"},
///            "data": {"seed","shuffle","dropLast","batchSize","items","batchesPerEpoch"} or null,
///            "augmentation": {"seed","transforms"} or null}
/// </code>
/// <para>Saving: <see cref="Save(Trainer, string, DataLoader?)"/> (or the lower-level overload for loops that drive
/// the plan themselves). Resuming: <see cref="Read"/> validates the whole file (typed <see cref="ModelFileException"/>s
/// naming the file and the field) and keeps it on the host; <see cref="CreateNetwork"/> and <see cref="CreateTrainer"/>
/// rebuild fresh objects, <see cref="Restore(Trainer)"/> restores into an existing trainer,
/// <see cref="Restore(Execution.ExecutionPlan, Optimizer)"/> into a loop that drives a plan itself, and
/// <see cref="RestoreWeights"/> and <see cref="RestoreOptimizer"/> into any network and optimizer (TrainingCheckpoint.Restore.cs).
/// The optimizer describes its own hyper-parameters and names its state tensors (<see cref="Optimizer.DescribeHyperParameters"/>,
/// <see cref="Optimizer.NamedState"/>); this file only places them. Objects restored into must match what the file
/// records (graph, optimizer type and hyper-parameters, schedule, augmentation, loader); a mismatch is a
/// <see cref="ModelFileException"/> naming the field, never a silently different run.</para>
/// </summary>
public sealed partial class TrainingCheckpoint
{
    /// <summary>Prefix of the optimizer state tensors: <c>optimizer.state.&lt;parameter&gt;.&lt;key&gt;</c>.</summary>
    public const string OptimizerStatePrefix = "optimizer.state.";

    readonly Dictionary<string, float[]> model;                    // parameters and buffers
    readonly Dictionary<string, float[]> optimizerState;           // "<parameter>.<key>" → values
    readonly JsonObject optimizerSettings;                         // type and hyper-parameters (no counters)
    readonly string[] parameterNames;

    TrainingCheckpoint(string path, NetworkGraph graph, TrainingCounters counters, DataLoaderPosition? data, JsonObject optimizerSettings,
        IReadOnlyList<string> stateKeys, JsonObject? augmentation, Dictionary<string, float[]> model, Dictionary<string, float[]> optimizerState, string[] parameterNames)
    {
        Path = path;
        Graph = graph;
        Counters = counters;
        Data = data;
        this.optimizerSettings = optimizerSettings;
        StateKeys = stateKeys;
        AugmentationDescription = augmentation;
        this.model = model;
        this.optimizerState = optimizerState;
        this.parameterNames = parameterNames;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }
    /// <summary>The network's graph.</summary>
    public NetworkGraph Graph { get; }
    /// <summary>The run's counters.</summary>
    public TrainingCounters Counters { get; }
    /// <summary>The run's data loader, when it was saved with one.</summary>
    public DataLoaderPosition? Data { get; }
    /// <summary>The optimizer's type (<see cref="Optimizer.Name"/>: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw).</summary>
    public string OptimizerType => (string)optimizerSettings["type"]!;
    /// <summary>The optimizer's state keys per parameter (<see cref="Optimizer.StateKeys"/>).</summary>
    public IReadOnlyList<string> StateKeys { get; }
    /// <summary>Whether the file holds optimizer state (false before the first step, as in PyTorch).</summary>
    public bool HasOptimizerState => optimizerState.Count > 0;
    /// <summary>The augmentation's seed and transforms (<c>{"seed","transforms"}</c>), or null when the run had none.</summary>
    public JsonObject? AugmentationDescription { get; }

    // ───────────────────────────── saving ─────────────────────────────

    /// <summary>Saves <paramref name="trainer"/>'s network, optimizer state and counters (and, when given, its data
    /// loader's settings) to <paramref name="path"/>, atomically (temporary file, then rename).</summary>
    public static void Save(Trainer trainer, string path, DataLoader? loader = null)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        if (loader is not null && loader.BatchSize != trainer.Plan.BatchSize)
            throw new ArgumentException($"the loader's batch size {loader.BatchSize} is not the trainer's {trainer.Plan.BatchSize}", nameof(loader));
        var counters = new TrainingCounters(trainer.Step, trainer.Epoch, trainer.BatchInEpoch, trainer.Plan.BatchSize, trainer.TotalSteps,
            trainer.BaseLearningRate, trainer.Optimizer.LearningRate, trainer.Schedule.Name, trainer.Plan.Seed, trainer.Plan.RandomCounter, trainer.Optimizer.StepCount);
        Save(path, trainer.Network, trainer.Optimizer, counters, loader is null ? null : DataLoaderPosition.Of(loader), trainer.Augmentation);
    }

    /// <summary>Saves a run driven by other code than <see cref="Trainer"/> (a frame-budgeted loop): the network, the
    /// optimizer's state, and <paramref name="counters"/> as that code keeps them. Save between whole steps, with no
    /// guard report outstanding: call <see cref="Training.FrameBudgetedTrainer.Settle"/> first, or the file holds a
    /// half-updated step or a step count that includes updates a guard skipped. <c>metadata</c>: what the model says about
    /// itself (input colours, normalization, labels), kept as a model file keeps it; null: the graph's bare description.</summary>
    public static void Save(string path, Network network, Optimizer optimizer, TrainingCounters counters, DataLoaderPosition? data = null,
        AugmentationPipeline? augmentation = null, ModelMetadata? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(counters);
        var optimizerJson = optimizer.DescribeHyperParameters();
        optimizerJson["stepCount"] = counters.OptimizerStepCount;
        optimizerJson["stateKeys"] = new JsonArray(optimizer.StateKeys.Select(k => (JsonNode)k).ToArray());
        var training = new JsonObject
        {
            ["trainer"] = new JsonObject
            {
                ["step"] = counters.Step,
                ["epoch"] = counters.Epoch,
                ["batchInEpoch"] = counters.BatchInEpoch,
                ["batchSize"] = counters.BatchSize,
                ["totalSteps"] = counters.TotalSteps,
                ["baseLearningRate"] = counters.BaseLearningRate,
                ["learningRate"] = counters.LearningRate,
                ["schedule"] = counters.Schedule,
            },
            ["plan"] = new JsonObject { ["seed"] = counters.PlanSeed, ["step"] = counters.RandomCounter }, // "step": the key before the rename
            ["optimizer"] = optimizerJson,
            ["data"] = data is null ? null : new JsonObject
            {
                ["seed"] = data.Seed,
                ["shuffle"] = data.Shuffle,
                ["dropLast"] = data.DropLast,
                ["batchSize"] = data.BatchSize,
                ["items"] = data.Items,
                ["batchesPerEpoch"] = data.BatchesPerEpoch,
            },
            ["augmentation"] = DescribeAugmentation(augmentation),
        };
        var header = ModelFile.Metadata(network, ModelFile.CheckpointKind, metadata);
        header["training"] = training.ToJsonString();

        var tensors = ModelFile.StateTensors(network).ToList();
        tensors.AddRange(optimizer.NamedState().Select(s => (OptimizerStatePrefix + s.Name, s.Tensor)));
        SafeTensorsContainer.Write(path, header, tensors);
    }

    // ───────────────────────────── reading ─────────────────────────────

    /// <summary>Reads and validates a checkpoint: the model part as <see cref="ModelFile.Load(string, Backends.IBackend)"/> does, then the training
    /// metadata (every counter in range), the optimizer type and hyper-parameters, and every optimizer state tensor
    /// (present for every parameter and key once a step was taken, shaped as its parameter, nothing else under
    /// <see cref="OptimizerStatePrefix"/>). Keeps the tensors on the host.</summary>
    /// <exception cref="ModelFileException">Anything wrong, naming the file and the field.</exception>
    public static TrainingCheckpoint Read(string path)
    {
        using var file = SafeTensorsContainer.Open(path);
        var graph = ModelFile.ReadGraph(file);
        if (SafeTensorsContainer.Text(file.Metadata, "kind") != ModelFile.CheckpointKind)
            throw new ModelFileException(path, $"__metadata__.kind is \"{SafeTensorsContainer.Text(file.Metadata, "kind")}\": a model, not a training checkpoint");
        ModelFile.CheckModelTensors(file, graph, name => name.StartsWith(OptimizerStatePrefix, StringComparison.Ordinal));

        JsonObject training;
        try
        {
            training = StrictJson.Parse(SafeTensorsContainer.Text(file.Metadata, "training") ?? throw new ModelFileException(path, "__metadata__.training is missing")) as JsonObject
                ?? throw new ModelFileException(path, "__metadata__.training is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFileException(path, $"__metadata__.training is not valid JSON: {e.Message}");
        }
        var fields = new Fields(path, training);
        var trainer = fields.Section("trainer");
        var plan = fields.Section("plan");
        var optimizer = fields.Section("optimizer");
        int batchSize = fields.Int(trainer, "trainer.batchSize", 1);
        try
        {
            graph.InferShapes(batchSize); // CreateTrainer plans at this batch size: every tensor must be representable there
        }
        catch (ShapeException e)
        {
            throw new ModelFileException(path, $"training.trainer.batchSize {batchSize} is too large for the graph: {e.Message}");
        }
        var data = training["data"] is null ? null : ReadData(fields, fields.Section("data"));
        var counters = new TrainingCounters(
            Step: fields.Long(trainer, "trainer.step", 0),
            Epoch: fields.Int(trainer, "trainer.epoch", 0),
            BatchInEpoch: fields.Int(trainer, "trainer.batchInEpoch", 0, data?.BatchesPerEpoch ?? int.MaxValue),
            BatchSize: batchSize,
            TotalSteps: fields.Long(trainer, "trainer.totalSteps", 0),
            BaseLearningRate: fields.Float(trainer, "trainer.baseLearningRate", positive: true),
            LearningRate: fields.Float(trainer, "trainer.learningRate", positive: false),
            Schedule: fields.Text(trainer, "trainer.schedule"),
            PlanSeed: fields.Int(plan, "plan.seed", int.MinValue),
            RandomCounter: fields.Long(plan, "plan.step", 0),
            OptimizerStepCount: fields.Long(optimizer, "optimizer.stepCount", 0));
        if (data is not null && data.BatchSize != batchSize)
            throw new ModelFileException(path, $"training.data.batchSize {data.BatchSize} is not training.trainer.batchSize {batchSize}");
        JsonObject? augmentation = null;
        if (training["augmentation"] is not null)
        {
            augmentation = fields.Section("augmentation");
            fields.Int(augmentation, "augmentation.seed", int.MinValue);
            if (augmentation["transforms"] is not JsonArray transforms || transforms.Any(t => t is not JsonValue v || !v.TryGetValue(out string? _)))
                throw new ModelFileException(path, "training.augmentation.transforms must be an array of names");
        }

        fields.Text(optimizer, "optimizer.type");
        if (optimizer["stateKeys"] is not JsonArray keyArray || keyArray.Any(k => k is not JsonValue v || !v.TryGetValue(out string? s) || s.Length == 0 || s.Contains('.')))
            throw new ModelFileException(path, "training.optimizer.stateKeys must be an array of names without dots");
        string[] stateKeys = keyArray.Select(k => k!.GetValue<string>()).ToArray();
        var settings = (JsonObject)optimizer.DeepClone();
        settings.Remove("stepCount");
        settings.Remove("stateKeys");
        if (CreateOptimizer(settings, counters.BaseLearningRate, path) is { } probe)
        {
            using (probe)
                if (!probe.StateKeys.SequenceEqual(stateKeys))
                    throw new ModelFileException(path, $"training.optimizer.stateKeys [{string.Join(", ", stateKeys)}] are not those of optimizer '{probe.Name}' [{string.Join(", ", probe.StateKeys)}]");
        }

        // the optimizer state: every (parameter, key) or, before the first step, none
        var parameterShapes = new Dictionary<string, TensorShape>(StringComparer.Ordinal);
        var parameterNames = new List<string>();
        foreach (var node in graph.Nodes)
            foreach (var spec in node.Layer.Parameters)
            {
                parameterShapes[$"{node.Name}.{spec.Name}"] = spec.Shape;
                parameterNames.Add($"{node.Name}.{spec.Name}");
            }
        var state = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string name in file.Names)
        {
            if (!name.StartsWith(OptimizerStatePrefix, StringComparison.Ordinal)) continue;
            string rest = name[OptimizerStatePrefix.Length..];
            int dot = rest.LastIndexOf('.');
            string parameter = dot > 0 ? rest[..dot] : "", key = dot > 0 ? rest[(dot + 1)..] : rest;
            if (!parameterShapes.TryGetValue(parameter, out var shape))
                throw new ModelFileException(path, $"tensor '{name}': '{parameter}' is not a parameter of the graph");
            if (Array.IndexOf(stateKeys, key) < 0)
                throw new ModelFileException(path, $"tensor '{name}': '{key}' is not a state key of optimizer '{fields.Text(optimizer, "optimizer.type")}' [{string.Join(", ", stateKeys)}]");
            file.TryGetEntry(name, out var entry);
            if (entry.Shape != shape)
                throw new ModelFileException(path, $"{name}.shape must be {shape}, the shape of parameter '{parameter}', got {entry.Shape}");
            state[rest] = file.Read(name);
        }
        if (state.Count > 0 || counters.OptimizerStepCount > 0)
            foreach (string parameter in parameterNames)
                foreach (string key in stateKeys)
                    if (!state.ContainsKey($"{parameter}.{key}"))
                        throw new ModelFileException(path, $"tensor '{OptimizerStatePrefix}{parameter}.{key}' is missing (the optimizer took {counters.OptimizerStepCount} steps)");

        var modelTensors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (string name in file.Names)
            if (!name.StartsWith(OptimizerStatePrefix, StringComparison.Ordinal)) modelTensors[name] = file.Read(name);
        return new TrainingCheckpoint(path, graph, counters, data, settings, stateKeys, augmentation, modelTensors, state, [.. parameterNames]);
    }

    static DataLoaderPosition ReadData(Fields fields, JsonObject data)
    {
        var position = new DataLoaderPosition(fields.Int(data, "data.seed", int.MinValue), fields.Bool(data, "data.shuffle"), fields.Bool(data, "data.dropLast"),
            fields.Int(data, "data.batchSize", 1), fields.Int(data, "data.items", 1), fields.Int(data, "data.batchesPerEpoch", 0));
        int expected = position.DropLast ? position.Items / position.BatchSize : (position.Items + position.BatchSize - 1) / position.BatchSize;
        if (position.BatchesPerEpoch != expected)
            throw new ModelFileException(fields.Path, $"training.data.batchesPerEpoch {position.BatchesPerEpoch} does not follow from {position.Items} items in batches of {position.BatchSize} (expected {expected})");
        return position;
    }

    /// <summary>The built-in optimizer <paramref name="settings"/> describe (<see cref="Optimizer.FromDescription"/>), or
    /// null for a type this code does not know.</summary>
    static Optimizer? CreateOptimizer(JsonObject settings, float learningRate, string path)
    {
        try
        {
            return Optimizer.FromDescription(settings, learningRate, "training.optimizer.");
        }
        catch (FormatException e)
        {
            throw new ModelFileException(path, e.Message);
        }
    }

    static JsonObject? DescribeAugmentation(AugmentationPipeline? augmentation) => augmentation is null ? null : new JsonObject
    {
        ["seed"] = augmentation.Seed,
        ["transforms"] = new JsonArray(augmentation.Transforms.Select(t => (JsonNode)t.ToString()!).ToArray()),
    };

    /// <summary>Typed reads of the training metadata; every failure is a <see cref="ModelFileException"/> naming the field.</summary>
    sealed class Fields(string path, JsonObject root)
    {
        public string Path => path;

        public JsonObject Section(string name) =>
            root[name] as JsonObject ?? throw new ModelFileException(path, $"training.{name} must be an object");

        public long Long(JsonObject o, string field, long minimum) =>
            Value(o, field) is JsonValue v && v.TryGetValue(out long x) && x >= minimum ? x
                : throw new ModelFileException(path, $"training.{field} must be an integer ≥ {minimum}, got {Value(o, field)?.ToJsonString() ?? "nothing"}");

        public int Int(JsonObject o, string field, int minimum, int maximum = int.MaxValue) =>
            Value(o, field) is JsonValue v && v.TryGetValue(out int x) && x >= minimum && x <= maximum ? x
                : throw new ModelFileException(path, $"training.{field} must be an integer in [{minimum}, {maximum}], got {Value(o, field)?.ToJsonString() ?? "nothing"}");

        public float Float(JsonObject o, string field, bool positive) =>
            Value(o, field) is JsonValue v && v.TryGetValue(out float x) && float.IsFinite(x) && (positive ? x > 0 : x >= 0) ? x
                : throw new ModelFileException(path, $"training.{field} must be a finite number {(positive ? "> 0" : "≥ 0")}, got {Value(o, field)?.ToJsonString() ?? "nothing"}");

        public bool Bool(JsonObject o, string field) =>
            Value(o, field) is JsonValue v && v.TryGetValue(out bool x) ? x
                : throw new ModelFileException(path, $"training.{field} must be true or false, got {Value(o, field)?.ToJsonString() ?? "nothing"}");

        public string Text(JsonObject o, string field) =>
            Value(o, field) is JsonValue v && v.TryGetValue(out string? x) && x.Length > 0 ? x
                : throw new ModelFileException(path, $"training.{field} must be a non-empty string");

        static JsonNode? Value(JsonObject o, string field) => o[field[(field.LastIndexOf('.') + 1)..]];
    }
}

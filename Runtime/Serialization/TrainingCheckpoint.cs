using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Tensors;
using NeuroPlugin.Training;
using AugmentationPipeline = NeuroPlugin.Data.Augmentation;

namespace NeuroPlugin.Serialization;

/// <summary>
/// Where a training run stands, besides its tensors: every counter that a resumed run needs to continue with the
/// same bits (the schedule, Adam's bias correction, dropout masks, augmentation and the data order are all keyed by
/// these).
/// </summary>
/// <param name="Step">Training steps taken (the schedule's t and the augmentation's step).</param>
/// <param name="Epoch">The epoch in progress or last run (0-based).</param>
/// <param name="BatchInEpoch">Batches of <paramref name="Epoch"/> done: the run continues with the next one.</param>
/// <param name="BatchSize">Items per step.</param>
/// <param name="TotalSteps">T of the schedule.</param>
/// <param name="BaseLearningRate">ε₀, which the schedule scales.</param>
/// <param name="LearningRate">The rate of the last step, <c>ε₀·factor(Step − 1, T)</c> (ε₀ before the first).</param>
/// <param name="Schedule">The schedule's name (<see cref="LearningRateSchedule.Name"/>).</param>
/// <param name="PlanSeed">The plan's random seed (<see cref="Execution.ExecutionPlan.Seed"/>).</param>
/// <param name="PlanStep">The plan's random counter (<see cref="Execution.ExecutionPlan.Step"/>): training forwards run.</param>
/// <param name="OptimizerStepCount">The optimizer's t (<see cref="Optimizer.StepCount"/>).</param>
public sealed record TrainingCounters(long Step, int Epoch, int BatchInEpoch, int BatchSize, long TotalSteps, float BaseLearningRate,
    float LearningRate, string Schedule, int PlanSeed, long PlanStep, long OptimizerStepCount)
{
    /// <summary>The counters of a loop that drives <paramref name="plan"/> and <paramref name="optimizer"/> itself at a
    /// constant rate (a frame-budgeted trainer): its own <paramref name="step"/> count and, if it walks a dataset in
    /// epochs, its position.</summary>
    public static TrainingCounters Of(Execution.ExecutionPlan plan, Optimizer optimizer, long step, int epoch = 0, int batchInEpoch = 0) =>
        new(step, epoch, batchInEpoch, plan.BatchSize, 0, optimizer.LearningRate, optimizer.LearningRate, LearningRateSchedule.Constant.Name,
            plan.Seed, plan.Step, optimizer.StepCount);
}

/// <summary>The data loader of a run, to check that a resumed run reads the same batches in the same order.</summary>
/// <param name="Seed">Shuffle seed.</param>
/// <param name="Shuffle">Whether epochs are shuffled.</param>
/// <param name="DropLast">Whether a short last batch is skipped.</param>
/// <param name="BatchSize">Items per batch.</param>
/// <param name="Items">Items in the dataset.</param>
/// <param name="BatchesPerEpoch">Batches per epoch.</param>
public sealed record DataLoaderPosition(int Seed, bool Shuffle, bool DropLast, int BatchSize, int Items, int BatchesPerEpoch)
{
    /// <summary>The settings of <paramref name="loader"/>.</summary>
    public static DataLoaderPosition Of(DataLoader loader) =>
        new(loader.Seed, loader.Shuffle, loader.DropLast, loader.BatchSize, loader.Dataset.Count, loader.BatchesPerEpoch);
}

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
///            "plan": {"seed","step"},
///            "optimizer": {"type", hyper-parameters…, "stepCount", "stateKeys"},
///            "data": {"seed","shuffle","dropLast","batchSize","items","batchesPerEpoch"} or null,
///            "augmentation": {"seed","transforms"} or null}
/// </code>
/// <para>Saving: <see cref="Save(Trainer, string, DataLoader?)"/> (or the lower-level overload for loops that drive
/// the plan themselves). Resuming: <see cref="Read"/> validates the whole file (typed <see cref="ModelFileException"/>s
/// naming the file and the field) and keeps it on the host; <see cref="CreateNetwork"/> and <see cref="CreateTrainer"/>
/// rebuild fresh objects, <see cref="Restore(Trainer)"/> restores into an existing trainer,
/// <see cref="Restore(Execution.ExecutionPlan, Optimizer)"/> into a loop that drives a plan itself, and
/// <see cref="RestoreWeights"/> and <see cref="RestoreOptimizer"/> into any network and optimizer. Objects restored into must match what the file
/// records (graph, optimizer type and hyper-parameters, schedule, augmentation, loader); a mismatch is a
/// <see cref="ModelFileException"/> naming the field, never a silently different run.</para>
/// </summary>
public sealed class TrainingCheckpoint
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
            trainer.BaseLearningRate, trainer.Optimizer.LearningRate, trainer.Schedule.Name, trainer.Plan.Seed, trainer.Plan.Step, trainer.Optimizer.StepCount);
        Save(path, trainer.Network, trainer.Optimizer, counters, loader is null ? null : DataLoaderPosition.Of(loader), trainer.Augmentation);
    }

    /// <summary>Saves a run driven by other code than <see cref="Trainer"/> (a frame-budgeted loop): the network, the
    /// optimizer's state, and <paramref name="counters"/> as that code keeps them. Save between whole steps, with no
    /// guard report outstanding: call <see cref="Training.FrameBudgetedTrainer.Settle"/> first, or the file holds a
    /// half-updated step or a step count that includes updates a guard skipped.</summary>
    public static void Save(string path, Network network, Optimizer optimizer, TrainingCounters counters, DataLoaderPosition? data = null,
        AugmentationPipeline? augmentation = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(counters);
        var optimizerJson = DescribeOptimizer(optimizer);
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
            ["plan"] = new JsonObject { ["seed"] = counters.PlanSeed, ["step"] = counters.PlanStep },
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
        var metadata = ModelFile.Metadata(network, ModelFile.CheckpointKind);
        metadata["training"] = training.ToJsonString();

        var tensors = ModelFile.StateTensors(network).ToList();
        if (optimizer.HasState)
            for (int i = 0; i < optimizer.StateParameterNames.Count; i++)
                foreach (string key in optimizer.StateKeys)
                    tensors.Add(($"{OptimizerStatePrefix}{optimizer.StateParameterNames[i]}.{key}", optimizer.State(i, key)));
        SafeTensorsContainer.Write(path, metadata, tensors);
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
            PlanStep: fields.Long(plan, "plan.step", 0),
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
        if (TryCreateOptimizer(settings, counters.BaseLearningRate, path) is { } probe)
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

    // ───────────────────────────── restoring ─────────────────────────────

    /// <summary>Allocates the network on <paramref name="backend"/> with the checkpoint's parameters and buffers.</summary>
    public Network CreateNetwork(IBackend backend)
    {
        var network = Network.CreateUninitialized(Graph, backend);
        try
        {
            RestoreWeights(network);
        }
        catch
        {
            network.Dispose();
            throw;
        }
        return network;
    }

    /// <summary>A new optimizer of the recorded type and hyper-parameters, with the base learning rate; its state is
    /// restored by <see cref="Restore(Trainer)"/> or <see cref="RestoreOptimizer"/>.</summary>
    /// <exception cref="ModelFileException">The type or a parameter group is not a built-in one (restore into an
    /// optimizer built by the caller instead).</exception>
    public Optimizer CreateOptimizer() =>
        TryCreateOptimizer(optimizerSettings, Counters.BaseLearningRate, Path)
        ?? throw new ModelFileException(Path, $"training.optimizer.type '{OptimizerType}' is not a built-in optimizer: build it and use Restore or RestoreOptimizer");

    /// <summary>
    /// A trainer that continues the run exactly: a new optimizer (<see cref="CreateOptimizer"/>) on
    /// <paramref name="network"/> (from <see cref="CreateNetwork"/> or built again from the graph; its weights are
    /// overwritten), with the optimizer state and every counter restored. Continue with
    /// <c>trainer.TrainEpoch(loader, trainer.Epoch, firstBatch: trainer.BatchInEpoch)</c>. The trainer does not own the
    /// network; disposing it releases the optimizer.
    /// </summary>
    /// <param name="network">The network to train, of the checkpoint's graph.</param>
    /// <param name="schedule">The run's schedule (constant when null); checked against the recorded name and rate.</param>
    /// <param name="augmentation">The run's augmentation (same seed and transforms), or null when it had none.</param>
    public Trainer CreateTrainer(Network network, LearningRateSchedule? schedule = null, AugmentationPipeline? augmentation = null)
    {
        var trainer = new Trainer(network, CreateOptimizer(), Counters.BatchSize, schedule, Counters.TotalSteps) { Augmentation = augmentation };
        try
        {
            Restore(trainer);
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
        return trainer;
    }

    /// <summary>
    /// Restores the run into an existing <paramref name="trainer"/>: weights and buffers, the optimizer's state and
    /// step count, the trainer's step and epoch position, the plan's seed and random counter. The trainer must match
    /// the checkpoint (same parameters, optimizer type and hyper-parameters, batch size, total steps, base rate,
    /// schedule and augmentation).
    /// </summary>
    /// <exception cref="ModelFileException">The trainer does not match; names the field.</exception>
    public void Restore(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Check("trainer.batchSize", Counters.BatchSize, trainer.Plan.BatchSize);
        Check("trainer.totalSteps", Counters.TotalSteps, trainer.TotalSteps);
        Check("trainer.baseLearningRate", Counters.BaseLearningRate, trainer.BaseLearningRate);
        Check("trainer.schedule", Counters.Schedule, trainer.Schedule.Name);
        if (Counters.Step > 0)
            Check("trainer.learningRate (the schedule's rate at the last step)", Counters.LearningRate,
                trainer.BaseLearningRate * trainer.Schedule.Factor(Counters.Step - 1, trainer.TotalSteps));
        Check("augmentation", AugmentationDescription?.ToJsonString() ?? "none", DescribeAugmentation(trainer.Augmentation)?.ToJsonString() ?? "none");
        CheckWeights(trainer.Network);
        CheckOptimizer(trainer.Optimizer, trainer.Plan.Parameters); // everything checked before anything changes
        RestoreWeights(trainer.Network);
        RestoreOptimizer(trainer.Optimizer, trainer.Plan.Parameters);
        trainer.ResumeAt(Counters.Step, Counters.Epoch, Counters.BatchInEpoch);
        trainer.Plan.Seed = Counters.PlanSeed;
        trainer.Plan.Step = Counters.PlanStep;
    }

    /// <summary>
    /// Restores into a loop that drives <paramref name="plan"/> itself (a frame-budgeted trainer, in-game learning):
    /// the plan's network weights and buffers, <paramref name="optimizer"/>'s state and step count (for the plan's
    /// parameters), the plan's seed and random counter. The loop's own step counter is <see cref="TrainingCounters.Step"/>.
    /// Everything is checked before anything changes.
    /// </summary>
    public void Restore(Execution.ExecutionPlan plan, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Check("trainer.batchSize", Counters.BatchSize, plan.BatchSize);
        CheckWeights(plan.Network);
        CheckOptimizer(optimizer, plan.Parameters);
        RestoreWeights(plan.Network);
        RestoreOptimizer(optimizer, plan.Parameters);
        plan.Seed = Counters.PlanSeed;
        plan.Step = Counters.PlanStep;
    }

    /// <summary>Uploads the parameters and buffers into <paramref name="network"/>, which must have the checkpoint's
    /// parameter and buffer names and shapes.</summary>
    public void RestoreWeights(Network network)
    {
        CheckWeights(network);
        foreach (var (name, tensor) in ModelFile.StateTensors(network)) tensor.Upload(model[name]);
    }

    void CheckWeights(Network network)
    {
        ArgumentNullException.ThrowIfNull(network);
        foreach (var (name, tensor) in ModelFile.StateTensors(network))
        {
            if (!model.TryGetValue(name, out var values))
                throw new ModelFileException(Path, $"the network's tensor '{name}' is not in the checkpoint");
            if (values.Length != tensor.Length)
                throw new ModelFileException(Path, $"tensor '{name}' holds {values.Length} values, the network's {tensor.Shape} needs {tensor.Length}");
        }
        int count = network.ParameterNames.Count + network.BufferNames.Count;
        if (count != model.Count)
            throw new ModelFileException(Path, $"the checkpoint holds {model.Count} parameters and buffers, the network {count}");
    }

    /// <summary>
    /// Restores the optimizer's state tensors (allocated on <paramref name="parameters"/>' backend for them, in the
    /// order the steps pass them) and its step count, after checking its type and hyper-parameters against the file.
    /// <see cref="Restore(Trainer)"/> calls it with the plan's parameters.
    /// </summary>
    public void RestoreOptimizer(Optimizer optimizer, IReadOnlyList<Tensor> parameters)
    {
        CheckOptimizer(optimizer, parameters);
        if (HasOptimizerState)
        {
            optimizer.AllocateState(parameters[0].Backend, parameters);
            for (int i = 0; i < parameters.Count; i++)
                foreach (string key in StateKeys)
                    optimizer.State(i, key).Upload(optimizerState[$"{parameters[i].Name}.{key}"]);
        }
        else if (optimizer.HasState)
        {
            // saved before the first step: the resumed run must start from the zeros that step would allocate
            for (int i = 0; i < optimizer.StateParameterNames.Count; i++)
                foreach (string key in optimizer.StateKeys)
                {
                    var tensor = optimizer.State(i, key);
                    tensor.Backend.Fill(tensor, 0f);
                }
        }
        optimizer.StepCount = Counters.OptimizerStepCount;
        optimizer.LearningRate = Counters.Step > 0 ? Counters.LearningRate : Counters.BaseLearningRate;
    }

    void CheckOptimizer(Optimizer optimizer, IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(parameters);
        var live = JsonNode.Parse(DescribeOptimizer(optimizer).ToJsonString())!.AsObject();
        foreach (var (key, value) in optimizerSettings)
            Check($"optimizer.{key}", value?.ToJsonString() ?? "null", live[key]?.ToJsonString() ?? "null");
        foreach (var (key, value) in live)
            if (!optimizerSettings.ContainsKey(key)) Check($"optimizer.{key}", "absent", value?.ToJsonString() ?? "null");
        Check("parameters", string.Join(", ", parameterNames), string.Join(", ", parameters.Select(p => p.Name)));
        for (int i = 0; i < parameters.Count; i++)
            if (model[parameters[i].Name].Length != parameters[i].Length)
                throw new ModelFileException(Path, $"parameter '{parameters[i].Name}' {parameters[i].Shape} does not match the checkpoint's {model[parameters[i].Name].Length} values");
        if (optimizer.HasState && optimizer.StateParameterNames.Count != parameters.Count)
            throw new ModelFileException(Path, $"the optimizer already holds state for {optimizer.StateParameterNames.Count} parameters, not these {parameters.Count}");
    }

    /// <summary>Checks that <paramref name="loader"/> reads the run's batches: same seed, shuffle, dropLast, batch size,
    /// item count.</summary>
    /// <exception cref="ModelFileException">The checkpoint has no loader, or a setting differs; names the field.</exception>
    public void CheckLoader(DataLoader loader)
    {
        ArgumentNullException.ThrowIfNull(loader);
        if (Data is null) throw new ModelFileException(Path, "training.data is null: the run was saved without a data loader");
        var other = DataLoaderPosition.Of(loader);
        Check("data.seed", Data.Seed, other.Seed);
        Check("data.shuffle", Data.Shuffle, other.Shuffle);
        Check("data.dropLast", Data.DropLast, other.DropLast);
        Check("data.batchSize", Data.BatchSize, other.BatchSize);
        Check("data.items", Data.Items, other.Items);
    }

    void Check<T>(string field, T recorded, T actual)
    {
        if (!EqualityComparer<T>.Default.Equals(recorded, actual))
            throw new ModelFileException(Path, $"training.{field} is {Show(recorded)} in the checkpoint but {Show(actual)} in the run resumed into it");
    }

    static string Show<T>(T value) => value switch
    {
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        null => "null",
        _ => value.ToString()!,
    };

    // ───────────────────────────── optimizer and augmentation descriptions ─────────────────────────────

    /// <summary>The type and hyper-parameters of <paramref name="optimizer"/> (not its rate, which the schedule changes).</summary>
    static JsonObject DescribeOptimizer(Optimizer optimizer)
    {
        var json = new JsonObject
        {
            ["type"] = optimizer.Name,
            ["weightDecay"] = optimizer.WeightDecay,
            ["weightDecayParameters"] = optimizer.WeightDecayParameters.Name,
            ["clipGradientNorm"] = optimizer.ClipGradientNorm,
            ["regularizer"] = optimizer.Regularizer is null ? null : new JsonArray(optimizer.Regularizer.Terms.Select(t => (JsonNode)new JsonObject
            {
                ["parameters"] = t.Parameters.Name,
                ["l1"] = t.L1,
                ["l2"] = t.L2,
            }).ToArray()),
        };
        switch (optimizer)
        {
            case Sgd sgd:
                json["momentum"] = sgd.Momentum;
                json["nesterov"] = sgd.Nesterov;
                break;
            case AdaGrad adaGrad:
                json["epsilon"] = adaGrad.Epsilon;
                break;
            case RmsProp rmsProp:
                json["alpha"] = rmsProp.Alpha;
                json["epsilon"] = rmsProp.Epsilon;
                json["momentum"] = rmsProp.Momentum;
                break;
            case Adam adam:
                json["beta1"] = adam.Beta1;
                json["beta2"] = adam.Beta2;
                json["epsilon"] = adam.Epsilon;
                break;
        }
        return json;
    }

    /// <summary>The built-in optimizer <paramref name="settings"/> describe, or null for a type this code does not know.</summary>
    static Optimizer? TryCreateOptimizer(JsonObject settings, float learningRate, string path)
    {
        var fields = new Fields(path, settings);
        string type = fields.Text(settings, "optimizer.type");
        float Get(string name) => fields.Float(settings, $"optimizer.{name}", positive: false);
        if (type is not ("sgd" or "momentum" or "nesterov" or "adagrad" or "rmsprop" or "adam" or "adamw")) return null;
        var decayGroup = Group(fields.Text(settings, "optimizer.weightDecayParameters"), "optimizer.weightDecayParameters", path);
        try
        {
            Optimizer optimizer = type switch
            {
                "sgd" or "momentum" or "nesterov" => new Sgd(learningRate, Get("momentum"), Get("weightDecay"), fields.Bool(settings, "optimizer.nesterov")) { WeightDecayParameters = decayGroup },
                "adagrad" => new AdaGrad(learningRate, Get("epsilon"), Get("weightDecay")) { WeightDecayParameters = decayGroup },
                "rmsprop" => new RmsProp(learningRate, Get("alpha"), Get("epsilon"), Get("weightDecay"), Get("momentum")) { WeightDecayParameters = decayGroup },
                "adam" => new Adam(learningRate, Get("beta1"), Get("beta2"), Get("epsilon"), Get("weightDecay")) { WeightDecayParameters = decayGroup },
                _ => new AdamW(learningRate, Get("beta1"), Get("beta2"), Get("epsilon"), Get("weightDecay")) { WeightDecayParameters = decayGroup },
            };
            if (optimizer.Name != type)
            {
                optimizer.Dispose();
                throw new ModelFileException(path, $"training.optimizer.type is '{type}' but its hyper-parameters make a '{optimizer.Name}' optimizer");
            }
            if (settings["clipGradientNorm"] is not null) optimizer.ClipGradientNorm = Get("clipGradientNorm");
            if (settings["regularizer"] is JsonArray terms)
                optimizer.Regularizer = new Regularizer(terms.Select((t, i) => t is JsonObject term
                    ? new RegularizationTerm(Group(fields.Text(term, $"optimizer.regularizer[{i}].parameters"), $"optimizer.regularizer[{i}].parameters", path),
                        fields.Float(term, $"optimizer.regularizer[{i}].l1", positive: false), fields.Float(term, $"optimizer.regularizer[{i}].l2", positive: false))
                    : throw new ModelFileException(path, $"training.optimizer.regularizer[{i}] is not an object")).ToArray());
            return optimizer;
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ModelFileException(path, $"training.optimizer ('{type}'): {e.Message}");
        }
    }

    /// <summary>The built-in parameter group named <paramref name="name"/> (<see cref="ParameterGroup.Name"/>).</summary>
    static ParameterGroup Group(string name, string field, string path) => name switch
    {
        "all" => ParameterGroup.All,
        "weights" => ParameterGroup.Weights,
        "vectors" => ParameterGroup.Vectors,
        _ when name.Length > 1 && name[0] == '*' => ParameterGroup.NameEndsWith(name[1..]),
        _ => throw new ModelFileException(path, $"training.{field} '{name}' is not a built-in parameter group (all, weights, vectors, *suffix): build the optimizer and use Restore"),
    };

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

using System.Globalization;
using System.Text.Json.Nodes;
using NeuroPlugin.Data;
using NeuroPlugin.Graph;
using NeuroPlugin.Optimizers;
using NeuroPlugin.Training;
using AugmentationPipeline = NeuroPlugin.Data.Augmentation;

namespace NeuroPlugin.Serialization;

// Restoring a read checkpoint into fresh or existing objects, after comparing them with what the file records: every
// mismatch is a ModelFileException naming the field, never a silently different run.
public sealed partial class TrainingCheckpoint
{
    /// <summary>Whether <paramref name="graph"/> is the checkpoint's network: the same inputs, nodes, attributes and
    /// output (its JSON, <see cref="GraphJson.Write"/>).</summary>
    public bool IsCheckpointOf(NetworkGraph graph) => GraphJson.Write(Graph).ToJsonString() == GraphJson.Write(graph).ToJsonString();

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
        CreateOptimizer(optimizerSettings, Counters.BaseLearningRate, Path)
        ?? throw new ModelFileException(Path, $"training.optimizer.type '{OptimizerType}' is not a built-in optimizer: build it and use Restore or RestoreOptimizer");

    /// <summary>
    /// A trainer that continues the run exactly: a new optimizer (<see cref="CreateOptimizer()"/>) on
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
        trainer.Plan.RandomCounter = Counters.RandomCounter;
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
        plan.RandomCounter = Counters.RandomCounter;
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
        optimizer.LoadState(parameters, optimizerState, Counters.OptimizerStepCount);
        optimizer.LearningRate = Counters.Step > 0 ? Counters.LearningRate : Counters.BaseLearningRate;
    }

    void CheckOptimizer(Optimizer optimizer, IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(parameters);
        var live = JsonNode.Parse(optimizer.DescribeHyperParameters().ToJsonString())!.AsObject(); // numbers as the file holds them
        foreach (var (key, value) in optimizerSettings)
            Check($"optimizer.{key}", value?.ToJsonString() ?? "null", live[key]?.ToJsonString() ?? "null");
        foreach (var (key, value) in live)
            if (!optimizerSettings.ContainsKey(key)) Check($"optimizer.{key}", "absent", value?.ToJsonString() ?? "null");
        Check("parameters", string.Join(", ", parameterNames), string.Join(", ", parameters.Select(p => p.Name)));
        for (int i = 0; i < parameters.Count; i++)
            if (model[parameters[i].Name].Length != parameters[i].Length)
                throw new ModelFileException(Path, $"parameter '{parameters[i].Name}' {parameters[i].Shape} does not match the checkpoint's {model[parameters[i].Name].Length} values");
        if (optimizer.HasState && !optimizer.StateParameterNames.SequenceEqual(parameters.Select(p => p.Name)))
            throw new ModelFileException(Path, $"the optimizer already holds state for {optimizer.StateParameterNames.Count} other parameters, not these {parameters.Count}");
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

}

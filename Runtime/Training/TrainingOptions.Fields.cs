using System.Globalization;
using NeuroPlugin.Optimizers;
using AugmentationPipeline = NeuroPlugin.Data.Augmentation;

namespace NeuroPlugin.Training;

// The fields of TrainingOptions as data: names, flags, kinds, bounds, descriptions, and the accessors that bind each
// to its property. Defaults come from the record's own initializers, optimizer names and defaults from
// OptimizerCatalog, schedules from LearningRateSchedule.Kinds, augmentations from Augmentation.Names: nothing here
// repeats a fact kept elsewhere.
public sealed partial record TrainingOptions
{
    /// <summary>Every runtime training option, in the order help texts and forms list them.</summary>
    public static IReadOnlyList<TrainingField> Fields { get; } = CreateFields();

    /// <summary>The field named <paramref name="name"/> (<see cref="TrainingField.Name"/>).</summary>
    /// <exception cref="KeyNotFoundException">No such field.</exception>
    public static TrainingField Field(string name) =>
        Fields.FirstOrDefault(f => f.Name == name) ?? throw new KeyNotFoundException($"no training option '{name}'");

    static TrainingField[] CreateFields()
    {
        var defaults = new TrainingOptions();
        var optimizers = OptimizerCatalog.All;
        var schedules = LearningRateSchedule.Kinds;
        string[] withMomentum = optimizers.Where(k => k.UsesMomentum).Select(k => k.Name).ToArray();
        string[] withGamma = schedules.Where(k => k.UsesGamma).Select(k => k.Name).ToArray();
        string[] withStepSize = schedules.Where(k => k.UsesStepSize).Select(k => k.Name).ToArray();
        TrainingField[] fields =
        [
            new("epochs", "--epochs", "Epochs", TrainingFieldKind.Integer, "Passes over the training set")
                { Minimum = 1, Get = o => o.Epochs, Set = (o, v) => o with { Epochs = (int)v! } },
            new("batchSize", "--batch", "Batch size", TrainingFieldKind.Integer, "Mini-batch size")
                { Minimum = 1, Get = o => o.BatchSize, Set = (o, v) => o with { BatchSize = (int)v! } },
            new("optimizer", "--optimizer", "Optimizer", TrainingFieldKind.Choice, $"Update rule: {string.Join('|', OptimizerCatalog.Names)}")
            {
                Group = "optimizer",
                Choices = optimizers.Select(k => new TrainingChoice(k.Name, k.Description)).ToArray(), ChoiceNoun = "optimizer", ChoicesNoun = "optimizers",
                Get = o => o.Optimizer, Set = (o, v) => o with { Optimizer = (string)v! },
            },
            new("learningRate", "--lr", "Learning rate", TrainingFieldKind.Number,
                $"Base learning rate (default: {PerOptimizer(optimizers, k => k.DefaultLearningRate)})")
                { Group = "optimizer", OptimizerDefault = true, Minimum = 0, ExclusiveMinimum = true, Get = o => o.LearningRate, Set = (o, v) => o with { LearningRate = (float?)v } },
            new("momentum", "--momentum", "Momentum", TrainingFieldKind.Number,
                $"Momentum μ of {Listing(withMomentum)} (default: {PerOptimizer(optimizers.Where(k => k.UsesMomentum), k => k.DefaultMomentum)})")
            {
                Group = "optimizer",
                OptimizerDefault = true, Minimum = 0, Maximum = 1, ExclusiveMaximum = true, AppliesWhen = new("optimizer", withMomentum),
                Get = o => o.Momentum, Set = (o, v) => o with { Momentum = (float?)v },
            },
            new("weightDecay", "--weight-decay", "Weight decay", TrainingFieldKind.Number,
                $"Weight decay λ on every parameter: coupled (L2 in the gradient), decoupled for adamw (default: {PerOptimizer(optimizers, k => k.DefaultWeightDecay)})")
                { Group = "optimizer", OptimizerDefault = true, Minimum = 0, Get = o => o.WeightDecay, Set = (o, v) => o with { WeightDecay = (float?)v } },
            new("l1", "--l1", "L1 penalty", TrainingFieldKind.Number, "L1 penalty λ₁·Σ|w| on the weight matrices and kernels (not biases)")
                { Group = "optimizer", Minimum = 0, Get = o => o.L1, Set = (o, v) => o with { L1 = (float)v! } },
            new("l2", "--l2", "L2 penalty", TrainingFieldKind.Number, "L2 penalty (λ₂/2)·Σw² on the weight matrices and kernels (not biases)")
                { Group = "optimizer", Minimum = 0, Get = o => o.L2, Set = (o, v) => o with { L2 = (float)v! } },
            new("clipNorm", "--clip-norm", "Gradient clipping", TrainingFieldKind.Number, "Clip the gradients to this total L2 norm (off by default)")
                { Group = "optimizer", Minimum = 0, ExclusiveMinimum = true, Get = o => o.ClipNorm, Set = (o, v) => o with { ClipNorm = (float?)v } },
            new("schedule", "--schedule", "Schedule", TrainingFieldKind.Choice, $"Learning-rate schedule: {string.Join('|', LearningRateSchedule.Names)}")
            {
                Group = "schedule",
                Choices = schedules.Select(k => new TrainingChoice(k.Name, k.Description)).ToArray(), ChoiceNoun = "learning-rate schedule", ChoicesNoun = "schedules",
                Get = o => o.Schedule, Set = (o, v) => o with { Schedule = (string)v! },
            },
            new("gamma", "--gamma", "Decay γ", TrainingFieldKind.Number, $"Decay per epoch of the {Listing(withGamma)} schedules")
            {
                Group = "schedule",
                Minimum = 0, ExclusiveMinimum = true, Maximum = 1, AppliesWhen = new("schedule", withGamma),
                Get = o => o.Gamma, Set = (o, v) => o with { Gamma = (float)v! },
            },
            new("stepSize", "--step-size", "Step size (epochs)", TrainingFieldKind.Integer, $"Epochs between decays of the {Listing(withStepSize)} schedule")
            {
                Group = "schedule",
                Minimum = 1, Unit = "epoch", AppliesWhen = new("schedule", withStepSize),
                Get = o => o.StepSize, Set = (o, v) => o with { StepSize = (int)v! },
            },
            new("warmupSteps", "--warmup-steps", "Warm-up steps", TrainingFieldKind.Integer, "Linear learning-rate warm-up over this many steps before the schedule")
                { Group = "schedule", Minimum = 0, Get = o => o.WarmupSteps, Set = (o, v) => o with { WarmupSteps = (int)v! } },
            new("augment", "--augment", "Augmentation", TrainingFieldKind.Choices,
                $"Augmentation on the device, comma-separated, applied in order: {string.Join(',', AugmentationPipeline.Names)}")
            {
                Group = "data",
                Choices = AugmentationPipeline.Names.Select(n => new TrainingChoice(n, TransformName(n))).ToArray(), ChoiceNoun = "augmentation",
                Get = o => o.Augment, Set = (o, v) => o with { Augment = (IReadOnlyList<string>)v! },
            },
            new("seed", "--seed", "Seed", TrainingFieldKind.Integer, "Seed of initialization and shuffling")
                { Get = o => o.Seed, Set = (o, v) => o with { Seed = (int)v! } },
            new("trainLimit", "--train-limit", "Train limit", TrainingFieldKind.Integer, "Use only the first N training images (quick runs)")
                { Group = "data", Minimum = 1, Get = o => o.TrainLimit, Set = (o, v) => o with { TrainLimit = (int?)v } },
            new("testLimit", "--test-limit", "Test limit", TrainingFieldKind.Integer, "Evaluate on only the first N test images (quick runs)")
                { Group = "data", Minimum = 1, Get = o => o.TestLimit, Set = (o, v) => o with { TestLimit = (int?)v } },
            new("imageSize", "--image-size", "Image size", TrainingFieldKind.Integer,
                "Build the model for S×S images and resize the 28×28 images to S×S on the device (bilinear), e.g. 63 for alexnet; with folder:PATH, the size the images are decoded to (default 28)")
                { Group = "data", Minimum = 1, Get = o => o.ImageSize, Set = (o, v) => o with { ImageSize = (int?)v } },
            new("checkpoint", "--checkpoint", "Checkpoint file", TrainingFieldKind.Path,
                "Save a training checkpoint (weights, optimizer state, counters) to this file, e.g. run.ckpt.neuro")
                { Get = o => o.Checkpoint, Set = (o, v) => o with { Checkpoint = (string?)v } },
            new("checkpointEvery", "--checkpoint-every", "Checkpoint every (steps)", TrainingFieldKind.Integer,
                "Steps between checkpoints (default: at the end of each epoch); the last step is always saved")
                { Minimum = 1, Unit = "step", Get = o => o.CheckpointEvery, Set = (o, v) => o with { CheckpointEvery = (int?)v } },
            new("resume", "--resume", "Resume from", TrainingFieldKind.Path,
                "Continue the run saved in this checkpoint exactly; give the same options as the run that wrote it")
                { Get = o => o.Resume, Set = (o, v) => o with { Resume = (string?)v } },
            new("monitor", "--monitor", "Monitor file", TrainingFieldKind.Path,
                "Watch the run with the training monitor and write its samples, evaluations and diagnostics to this JSON Lines file, e.g. run.jsonl")
                { Get = o => o.Monitor, Set = (o, v) => o with { Monitor = (string?)v } },
            new("monitorEvery", "--monitor-every", "Monitor every (steps)", TrainingFieldKind.Integer,
                $"Steps between the monitor's samples (default {Monitoring.MonitorOptions.DefaultEvery}); the first and the last step are always sampled")
                { Minimum = 1, Unit = "step", Get = o => o.MonitorEvery, Set = (o, v) => o with { MonitorEvery = (int?)v } },
        ];
        return fields.Select(f => f with { Default = f.Get!(defaults) }).ToArray();
    }

    /// <summary>"a", "a and b", "a, b and c".</summary>
    static string Listing(IReadOnlyList<string> names) =>
        names.Count < 2 ? string.Join("", names) : $"{string.Join(", ", names.Take(names.Count - 1))} and {names[^1]}";

    /// <summary>"0.02 for sgd/momentum/nesterov, 0.01 for adagrad, …": consecutive kinds with one value grouped.</summary>
    static string PerOptimizer(IEnumerable<OptimizerKind> kinds, Func<OptimizerKind, float> value)
    {
        var groups = new List<(float Value, List<string> Names)>();
        foreach (var kind in kinds)
        {
            if (groups.Count > 0 && groups[^1].Value == value(kind)) groups[^1].Names.Add(kind.Name);
            else groups.Add((value(kind), [kind.Name]));
        }
        return string.Join(", ", groups.Select(g => $"{g.Value.ToString(CultureInfo.InvariantCulture)} for {string.Join('/', g.Names)}"));
    }

    /// <summary>The transform class that augmentation <paramref name="name"/> makes (<c>cutout</c>: Cutout), read from the
    /// pipeline itself, which holds no device memory before its first batch.</summary>
    static string TransformName(string name)
    {
        using var pipeline = AugmentationPipeline.Parse(name, 28, 0);
        return pipeline.Transforms[0].GetType().Name;
    }
}

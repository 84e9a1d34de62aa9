using System.Globalization;
using System.Text.Json.Nodes;
using NeuroPlugin.Optimizers;
using AugmentationPipeline = NeuroPlugin.Data.Augmentation;

namespace NeuroPlugin.Training;

/// <summary>
/// A training recipe: optimizer and its hyper-parameters, L1/L2 penalties, clipping, the learning-rate schedule and
/// warm-up, augmentation, batch size, epochs, seed, data limits, image size, checkpointing and the training monitor. The one definition that
/// <c>neuro train</c> (its flags), the editor (its form and <c>POST /api/training/start</c>) and a game use:
/// <see cref="TrainingRun"/> builds the optimizer, schedule and augmentation from it. The defaults are the record's
/// initializers (<c>neuro train</c>'s: SGD with momentum 0.9 and cosine decay from 0.02, batch 32, 2 epochs); the
/// learning rate, momentum and weight decay default per optimizer (<see cref="OptimizerKind"/>) when null.
/// <see cref="Fields"/> describes every option (names, kinds, bounds, choices, descriptions) and
/// <see cref="Validate"/> checks them, naming each field as the caller does.
/// </summary>
public sealed partial record TrainingOptions
{
    /// <summary>Passes over the training set (≥ 1).</summary>
    public int Epochs { get; init; } = 2;
    /// <summary>Items per step (≥ 1).</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>The update rule's name (<see cref="OptimizerCatalog"/>).</summary>
    public string Optimizer { get; init; } = "momentum";
    /// <summary>The base rate ε₀ (&gt; 0); null: the optimizer's default.</summary>
    public float? LearningRate { get; init; }
    /// <summary>μ in [0, 1) for rules with momentum (ignored by the others); null: the optimizer's default.</summary>
    public float? Momentum { get; init; }
    /// <summary>λ ≥ 0 on every parameter (coupled, decoupled for AdamW); null: the optimizer's default.</summary>
    public float? WeightDecay { get; init; }
    /// <summary>λ₁ ≥ 0 of the L1 penalty <c>λ₁·Σ|w|</c> on the weight matrices and kernels.</summary>
    public float L1 { get; init; }
    /// <summary>λ₂ ≥ 0 of the L2 penalty <c>(λ₂/2)·Σw²</c> on the weight matrices and kernels.</summary>
    public float L2 { get; init; }
    /// <summary>The total gradient norm to clip to (&gt; 0); null: no clipping.</summary>
    public float? ClipNorm { get; init; }
    /// <summary>The schedule's name (<see cref="LearningRateSchedule.Kinds"/>).</summary>
    public string Schedule { get; init; } = "cosine";
    /// <summary>γ in (0, 1]: the decay per epoch of the step and exponential schedules.</summary>
    public float Gamma { get; init; } = 0.1f;
    /// <summary>Epochs between decays of the step schedule (≥ 1).</summary>
    public int StepSize { get; init; } = 1;
    /// <summary>Steps of linear warm-up before the schedule (≥ 0).</summary>
    public int WarmupSteps { get; init; }
    /// <summary>Augmentation names, applied in order (<see cref="AugmentationPipeline.Names"/>); empty for none.</summary>
    public IReadOnlyList<string> Augment { get; init; } = [];
    /// <summary>Seed of initialization, shuffling, dropout and augmentation.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Train on the first N images only (≥ 1); null: all.</summary>
    public int? TrainLimit { get; init; }
    /// <summary>Evaluate on the first N test images only (≥ 1); null: all.</summary>
    public int? TestLimit { get; init; }
    /// <summary>The image size the host brings the data to (≥ 1; <c>neuro train --image-size</c>); null: the data's own.
    /// The run itself trains on whatever images it is given.</summary>
    public int? ImageSize { get; init; }
    /// <summary>A training checkpoint to write (<see cref="Serialization.TrainingCheckpoint"/>); null: none.</summary>
    public string? Checkpoint { get; init; }
    /// <summary>Steps between checkpoints (≥ 1; needs <see cref="Checkpoint"/>); null: each epoch's end. The last step is always saved.</summary>
    public int? CheckpointEvery { get; init; }
    /// <summary>A checkpoint to continue exactly (written with these same options); null: a fresh run.</summary>
    public string? Resume { get; init; }
    /// <summary>A JSON Lines file the run's training monitor writes (<see cref="Monitoring.MonitorJsonlWriter"/>); null: no
    /// monitor.</summary>
    public string? Monitor { get; init; }
    /// <summary>Steps between the monitor's samples (≥ 1; needs <see cref="Monitor"/> or a host's monitor); null:
    /// <see cref="Monitoring.MonitorOptions.DefaultEvery"/>.</summary>
    public int? MonitorEvery { get; init; }

    /// <summary>The optimizer's catalogue entry.</summary>
    /// <exception cref="TrainingOptionsException">An unknown optimizer.</exception>
    public OptimizerKind OptimizerKind => OptimizerCatalog.Find(Optimizer) ?? throw UnknownChoice(Field("optimizer"), Optimizer);

    /// <summary>These options with the learning rate, momentum and weight decay filled in from the optimizer's defaults
    /// where they are null: the values a run uses and reports.</summary>
    public TrainingOptions WithOptimizerDefaults()
    {
        var kind = OptimizerKind;
        return this with
        {
            LearningRate = LearningRate ?? kind.DefaultLearningRate,
            Momentum = Momentum ?? kind.DefaultMomentum,
            WeightDecay = WeightDecay ?? kind.DefaultWeightDecay,
        };
    }

    /// <summary>
    /// Checks every option against its field's bounds and choices, and the rules between them (Nesterov needs momentum,
    /// <see cref="CheckpointEvery"/> needs <see cref="Checkpoint"/>), in <see cref="Fields"/> order; reads no file.
    /// </summary>
    /// <exception cref="TrainingOptionsException">The first problem, naming the field as <paramref name="naming"/> says.</exception>
    public void Validate(TrainingOptionNaming naming = TrainingOptionNaming.Field)
    {
        foreach (var field in Fields)
        {
            string name = field.NameIn(naming);
            object? current = field.Get!(this);
            switch (current)
            {
                case int or float when field.RangeProblem(Convert.ToDouble(current, CultureInfo.InvariantCulture)) is { } problem:
                    throw new TrainingOptionsException(field.Name, $"{name} {problem}, got {Show(current)}");
                case string value when field.Kind == TrainingFieldKind.Choice && !field.Choices.Any(c => c.Name == value):
                    throw UnknownChoice(field, value);
                case string value when field.Kind == TrainingFieldKind.Path && value.Length == 0:
                    throw new TrainingOptionsException(field.Name, $"{name} must be a file path");
                case IReadOnlyList<string> values:
                    for (int i = 0; i < values.Count; i++)
                    {
                        if (!field.Choices.Any(c => c.Name == values[i]))
                            throw new TrainingOptionsException(field.Name, $"{name}: unknown {field.ChoiceNoun} '{values[i]}'; known: {string.Join(", ", field.Choices.Select(c => c.Name))}");
                        if (values.Take(i).Contains(values[i]))
                            throw new TrainingOptionsException(field.Name, $"{name}: {field.ChoiceNoun} '{values[i]}' is listed twice");
                    }
                    break;
            }
        }
        if (Optimizer == "nesterov" && (Momentum ?? OptimizerKind.DefaultMomentum) == 0)
            throw new TrainingOptionsException("momentum", $"{Field("momentum").NameIn(naming)} must be above 0 for nesterov");
        if (CheckpointEvery is not null && Checkpoint is null)
            throw new TrainingOptionsException("checkpointEvery", naming == TrainingOptionNaming.Flag
                ? "--checkpoint-every needs --checkpoint FILE" : "checkpointEvery needs a checkpoint file (checkpoint)");
        if (MonitorEvery is not null && Monitor is null)
            throw new TrainingOptionsException("monitorEvery", naming == TrainingOptionNaming.Flag
                ? "--monitor-every needs --monitor FILE" : "monitorEvery needs a monitor file (monitor)");
    }

    /// <summary>"unknown optimizer 'x'; known optimizers: …" (as <c>neuro train</c> always said it, without the field's name).</summary>
    static TrainingOptionsException UnknownChoice(TrainingField field, string value) =>
        new(field.Name, $"unknown {field.ChoiceNoun} '{value}'; known {field.ChoicesNoun}: {string.Join(", ", field.Choices.Select(c => c.Name))}");

    /// <summary>A new optimizer: the kind's rule with the learning rate, momentum and weight decay (or their defaults),
    /// clipping by <see cref="ClipNorm"/>, and L1/L2 on the weight matrices and kernels (not biases, as weight penalties
    /// usually are).</summary>
    public Optimizer CreateOptimizer()
    {
        var resolved = WithOptimizerDefaults();
        var optimizer = OptimizerKind.Create(resolved.LearningRate!.Value, resolved.Momentum!.Value, resolved.WeightDecay!.Value);
        ApplyPenalties(optimizer);
        return optimizer;
    }

    /// <summary>Sets <paramref name="optimizer"/>'s clipping to <see cref="ClipNorm"/> and, when <see cref="L1"/> or
    /// <see cref="L2"/> is positive, its <see cref="Optimizer.Regularizer"/> to L1/L2 on the weight matrices and kernels.</summary>
    public void ApplyPenalties(Optimizer optimizer)
    {
        optimizer.ClipGradientNorm = ClipNorm;
        if (L1 > 0 || L2 > 0) optimizer.Regularizer = Regularizer.Create(L1, L2, ParameterGroup.Weights);
    }

    /// <summary>The schedule over the steps of epochs of <paramref name="stepsPerEpoch"/> steps (γ and the step size
    /// count in epochs), behind <see cref="WarmupSteps"/> steps of warm-up.</summary>
    public LearningRateSchedule CreateSchedule(int stepsPerEpoch)
    {
        var kind = LearningRateSchedule.Kinds.FirstOrDefault(k => k.Name == Schedule) ?? throw UnknownChoice(Field("schedule"), Schedule);
        return kind.Create(Gamma, StepSize, stepsPerEpoch).WithWarmup(WarmupSteps);
    }

    /// <summary>The augmentation pipeline on images of <paramref name="imageSize"/>, seeded by <see cref="Seed"/>, the crop
    /// padding with <paramref name="padValue"/> (the normalized value of a black pixel); null when <see cref="Augment"/> is empty.</summary>
    public AugmentationPipeline? CreateAugmentation(int imageSize, float padValue) =>
        Augment.Count == 0 ? null : AugmentationPipeline.Parse(string.Join(',', Augment), imageSize, Seed, padValue);

    /// <summary>The value of <paramref name="field"/> (int, float, string, a list of strings, or null).</summary>
    public object? ValueOf(TrainingField field) => (field.Get ?? throw new ArgumentException($"'{field.Name}' is not a runtime training option", nameof(field)))(this);

    /// <summary>These options with <paramref name="field"/> set to <paramref name="value"/> (int for integers, float for
    /// numbers, string for choices and paths, a list of strings for <see cref="TrainingFieldKind.Choices"/>; null for none).
    /// Choice names are taken in lower case.</summary>
    public TrainingOptions With(TrainingField field, object? value)
    {
        var set = field.Set ?? throw new ArgumentException($"'{field.Name}' is not a runtime training option", nameof(field));
        return set(this, value switch
        {
            string text when field.Kind == TrainingFieldKind.Choice => text.ToLowerInvariant(),
            IEnumerable<string> names => names.Select(n => n.ToLowerInvariant()).ToArray(),
            _ => value,
        });
    }

    /// <summary>
    /// Options from a request's JSON object: each member a field of <see cref="Fields"/> by its <see cref="TrainingField.Name"/>,
    /// absent or null for the default; members named in <paramref name="otherFields"/> (a host's own: dataset, backend) are
    /// skipped. Not validated (<see cref="Validate"/>).
    /// </summary>
    /// <exception cref="TrainingOptionsException">An unknown member, or a value of the wrong JSON type, naming it.</exception>
    public static TrainingOptions Read(JsonObject json, IEnumerable<string>? otherFields = null)
    {
        var skipped = new HashSet<string>(otherFields ?? [], StringComparer.Ordinal);
        var options = new TrainingOptions();
        foreach (var (name, node) in json)
        {
            if (skipped.Contains(name)) continue;
            var field = Fields.FirstOrDefault(f => f.Name == name)
                ?? throw new TrainingOptionsException(name, $"unknown field '{name}'; training options: {string.Join(", ", Fields.Select(f => f.Name))}");
            if (node is null) continue;
            options = options.With(field, field.Kind switch
            {
                TrainingFieldKind.Integer => node is JsonValue v && v.TryGetValue(out int i) ? i : throw WrongType(field, node, "an integer"),
                TrainingFieldKind.Number => node is JsonValue v && JsonNumber.TryGetFloat(v, out float x) ? x : throw WrongType(field, node, "a number"),
                TrainingFieldKind.Choices => node is JsonArray names && names.All(n => n is JsonValue s && s.TryGetValue(out string? _))
                    ? names.Select(n => n!.GetValue<string>()).ToArray() : throw WrongType(field, node, "an array of names"),
                _ => node is JsonValue v && v.TryGetValue(out string? s) ? s : throw WrongType(field, node, "a string"),
            });
        }
        return options;
    }

    static TrainingOptionsException WrongType(TrainingField field, JsonNode node, string what) =>
        new(field.Name, $"{field.Name} must be {what}, got {node.ToJsonString()}");

    /// <summary>Every option as JSON, by field name (the values a run reports: use <see cref="WithOptimizerDefaults"/> first).</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject();
        foreach (var field in Fields) json[field.Name] = ToJsonValue(field.Get!(this));
        return json;
    }

    /// <summary>
    /// The schema a form is built from: <c>{"fields": [TrainingField.ToJson()…], "optimizers": [{"name","description",
    /// "usesMomentum","defaults":{"learningRate","momentum","weightDecay"}}]}</c>, the optimizers' defaults being those of
    /// the fields marked <c>optimizerDefault</c>.
    /// </summary>
    /// <param name="fields">The fields to describe: <see cref="Fields"/> by default, or a host's selection plus its own.</param>
    public static JsonObject Schema(IEnumerable<TrainingField>? fields = null) => new()
    {
        ["fields"] = new JsonArray((fields ?? Fields).Select(f => (JsonNode)f.ToJson()).ToArray()),
        ["optimizers"] = new JsonArray(OptimizerCatalog.All.Select(k => (JsonNode)new JsonObject
        {
            ["name"] = k.Name,
            ["description"] = k.Description,
            ["usesMomentum"] = k.UsesMomentum,
            ["defaults"] = new JsonObject
            {
                ["learningRate"] = k.DefaultLearningRate,
                ["momentum"] = k.DefaultMomentum,
                ["weightDecay"] = k.DefaultWeightDecay,
            },
        }).ToArray()),
    };

    /// <summary>An option's value as a JSON node (null stays null; a list becomes an array).</summary>
    internal static JsonNode? ToJsonValue(object? value) => value switch
    {
        null => null,
        int i => i,
        float f => f,
        string s => s,
        IEnumerable<string> names => new JsonArray(names.Select(n => (JsonNode)n).ToArray()),
        _ => throw new ArgumentException($"not an option value: {value}", nameof(value)),
    };

    static string Show(object? value) => value switch
    {
        float f => f.ToString(CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "null",
    };
}

using System.Globalization;
using System.Text.Json.Nodes;

namespace NeuroPlugin.Training;

/// <summary>What kind of value a <see cref="TrainingField"/> holds.</summary>
public enum TrainingFieldKind
{
    /// <summary>A whole number (JSON integer).</summary>
    Integer,
    /// <summary>A real number (JSON number), kept as float.</summary>
    Number,
    /// <summary>One of <see cref="TrainingField.Choices"/> (JSON string).</summary>
    Choice,
    /// <summary>Any of <see cref="TrainingField.Choices"/>, in order (JSON array of strings; comma-separated on the command line).</summary>
    Choices,
    /// <summary>A file path (JSON string).</summary>
    Path,
}

/// <summary>How the caller names training options in messages: the request and JSON field (<c>learningRate</c>) or the
/// command-line flag (<c>--lr</c>).</summary>
public enum TrainingOptionNaming
{
    /// <summary>The JSON field name (<see cref="TrainingField.Name"/>), as the editor's requests use it.</summary>
    Field,
    /// <summary>The command-line flag (<see cref="TrainingField.Flag"/>), as <c>neuro train</c> takes it.</summary>
    Flag,
}

/// <summary>One choice of a <see cref="TrainingFieldKind.Choice"/> or <see cref="TrainingFieldKind.Choices"/> field.</summary>
public sealed record TrainingChoice(string Name, string Description);

/// <summary>A field that matters only while another field has one of some values (momentum: only for optimizers with one).</summary>
public sealed record TrainingFieldCondition(string Field, IReadOnlyList<string> Values);

/// <summary>
/// One training option as the command line, the editor's form and validation see it: its names, kind, default, choices,
/// bounds and description. <see cref="TrainingOptions.Fields"/> lists the runtime's; a host adds its own (dataset,
/// backend) with the same type, so one schema describes a whole form. The bounds are the validation: a value outside
/// them is refused with <see cref="RangeProblem"/>.
/// </summary>
/// <param name="Name">The JSON and request field (<c>learningRate</c>).</param>
/// <param name="Flag">The command-line flag (<c>--lr</c>).</param>
/// <param name="Label">A label for a form ("Learning rate").</param>
/// <param name="Kind">What the value is.</param>
/// <param name="Description">One or two sentences for help texts and the form.</param>
public sealed record TrainingField(string Name, string Flag, string Label, TrainingFieldKind Kind, string Description)
{
    /// <summary>The value when none is given; null for none (an optional setting off) or, with
    /// <see cref="OptimizerDefault"/>, the optimizer's.</summary>
    public object? Default { get; init; }
    /// <summary>Whether the default depends on the optimizer (<see cref="Optimizers.OptimizerKind"/>'s defaults).</summary>
    public bool OptimizerDefault { get; init; }
    /// <summary>The values a choice field takes, in order.</summary>
    public IReadOnlyList<TrainingChoice> Choices { get; init; } = [];
    /// <summary>What a choice is called in messages ("optimizer": "unknown optimizer 'x'; known optimizers: …").</summary>
    public string? ChoiceNoun { get; init; }
    /// <summary>What the choices are called in messages ("optimizers", "schedules").</summary>
    public string? ChoicesNoun { get; init; }
    /// <summary>The smallest value, or null for none.</summary>
    public double? Minimum { get; init; }
    /// <summary>Whether <see cref="Minimum"/> itself is refused.</summary>
    public bool ExclusiveMinimum { get; init; }
    /// <summary>The largest value, or null for none.</summary>
    public double? Maximum { get; init; }
    /// <summary>Whether <see cref="Maximum"/> itself is refused.</summary>
    public bool ExclusiveMaximum { get; init; }
    /// <summary>The unit of an integer in messages ("epoch": "must be at least 1 epoch").</summary>
    public string? Unit { get; init; }
    /// <summary>Which part of a form the field belongs to: <c>data</c>, <c>optimizer</c>, <c>schedule</c> or <c>run</c>.</summary>
    public string Group { get; init; } = "run";
    /// <summary>When the field matters; null: always.</summary>
    public TrainingFieldCondition? AppliesWhen { get; init; }

    /// <summary>Reads the field from options (runtime fields only; null for a host's).</summary>
    internal Func<TrainingOptions, object?>? Get { get; init; }
    /// <summary>Returns options with the field set (runtime fields only).</summary>
    internal Func<TrainingOptions, object?, TrainingOptions>? Set { get; init; }

    /// <summary>The name the caller knows the field by.</summary>
    public string NameIn(TrainingOptionNaming naming) => naming == TrainingOptionNaming.Flag ? Flag : Name;

    /// <summary>What is wrong with <paramref name="value"/> against the bounds ("must be in [0, 1)"), or null when it fits.
    /// A number must also be finite.</summary>
    public string? RangeProblem(double value)
    {
        bool fits = (Kind != TrainingFieldKind.Number || double.IsFinite(value))
            && (Minimum is not double min || (ExclusiveMinimum ? value > min : value >= min))
            && (Maximum is not double max || (ExclusiveMaximum ? value < max : value <= max));
        if (fits) return null;
        if (Kind == TrainingFieldKind.Integer)
            return Maximum is null ? string.Create(CultureInfo.InvariantCulture, $"must be at least {Minimum}{(Unit is null ? "" : " " + Unit)}") : $"must be in {Interval()}";
        if (Minimum == 0 && Maximum is null) return ExclusiveMinimum ? "must be a positive number" : "must be a number ≥ 0";
        return $"must be in {Interval()}";
    }

    string Interval() => string.Create(CultureInfo.InvariantCulture,
        $"{(ExclusiveMinimum ? '(' : '[')}{Minimum}, {Maximum}{(ExclusiveMaximum ? ')' : ']')}");

    /// <summary>The field as the schema's JSON: <c>{"name","flag","label","kind","group","description","default","optimizerDefault",
    /// "choices":[{"name","description"}],"minimum","exclusiveMinimum","maximum","exclusiveMaximum","unit","appliesWhen"}</c>
    /// (members that do not apply are left out).</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["name"] = Name,
            ["flag"] = Flag,
            ["label"] = Label,
            ["kind"] = JsonNamingPolicyName(Kind),
            ["group"] = Group,
            ["description"] = Description,
            ["default"] = TrainingOptions.ToJsonValue(Default),
        };
        if (OptimizerDefault) json["optimizerDefault"] = true;
        if (Choices.Count > 0)
            json["choices"] = new JsonArray(Choices.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["description"] = c.Description }).ToArray());
        if (Minimum is double min) json["minimum"] = min;
        if (ExclusiveMinimum) json["exclusiveMinimum"] = true;
        if (Maximum is double max) json["maximum"] = max;
        if (ExclusiveMaximum) json["exclusiveMaximum"] = true;
        if (Unit is not null) json["unit"] = Unit;
        if (AppliesWhen is { } condition)
            json["appliesWhen"] = new JsonObject { ["field"] = condition.Field, ["values"] = new JsonArray(condition.Values.Select(v => (JsonNode)v).ToArray()) };
        return json;
    }

    static string JsonNamingPolicyName(TrainingFieldKind kind) => kind switch
    {
        TrainingFieldKind.Integer => "integer",
        TrainingFieldKind.Number => "number",
        TrainingFieldKind.Choice => "choice",
        TrainingFieldKind.Choices => "choices",
        _ => "path",
    };
}

/// <summary>A training option that is out of range, unknown or inconsistent; the message names the field as the caller
/// knows it (<c>--lr must be a positive number, got -1</c> on the command line, <c>learningRate …</c> in the editor).</summary>
public sealed class TrainingOptionsException(string field, string message) : ArgumentException(message)
{
    /// <summary>The field's JSON name (<see cref="TrainingField.Name"/>), whatever the message calls it.</summary>
    public string Field { get; } = field;
}

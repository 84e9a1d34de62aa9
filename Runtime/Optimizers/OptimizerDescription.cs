using System.Text.Json.Nodes;

namespace NeuroPlugin.Optimizers;

/// <summary>
/// An optimizer's type and hyper-parameters as <see cref="Optimizer.DescribeHyperParameters"/> wrote them, read back
/// with typed accessors for the rules' own readers (<see cref="OptimizerKind"/>). Every failure is a
/// <see cref="FormatException"/> whose message names the field with <see cref="FieldPrefix"/> in front
/// (<c>training.optimizer.beta1 must be a finite number ≥ 0, got "x"</c>), so a file reader can put its path in front.
/// </summary>
internal sealed class OptimizerDescription(JsonObject json, float learningRate, string fieldPrefix)
{
    /// <summary>What the field names start with in messages (<c>training.optimizer.</c> in a checkpoint).</summary>
    public string FieldPrefix => fieldPrefix;

    /// <summary>The base learning rate to build the optimizer with (a description holds no rate: a schedule changes it).</summary>
    public float LearningRate => learningRate;

    /// <summary>The optimizer's name (<see cref="Optimizer.Name"/>).</summary>
    public string Type => Text("type");

    /// <summary>A finite number ≥ 0.</summary>
    public float Float(string name) => Float(json, name, name);

    /// <summary>A finite number ≥ 0, or null when the field is null.</summary>
    public float? OptionalFloat(string name) => json[name] is null ? null : Float(name);

    public bool Bool(string name) =>
        json[name] is JsonValue v && v.TryGetValue(out bool x) ? x
            : throw new FormatException($"{fieldPrefix}{name} must be true or false, got {json[name]?.ToJsonString() ?? "nothing"}");

    /// <summary>A non-empty string.</summary>
    public string Text(string name) =>
        json[name] is JsonValue v && v.TryGetValue(out string? x) && x.Length > 0 ? x : throw new FormatException($"{fieldPrefix}{name} must be a non-empty string");

    /// <summary>The built-in parameter group named by field <paramref name="name"/> (<see cref="ParameterGroup.Parse"/>).</summary>
    public ParameterGroup Group(string name) => Group(json, name, name);

    /// <summary>The L1/L2 terms of field <c>regularizer</c> (<see cref="Regularizer.Describe"/>), or null when it is null.</summary>
    public Regularizer? Regularizer()
    {
        if (json["regularizer"] is null) return null;
        if (json["regularizer"] is not JsonArray terms) throw new FormatException($"{fieldPrefix}regularizer must be an array of terms");
        var read = new RegularizationTerm[terms.Count];
        for (int i = 0; i < terms.Count; i++)
        {
            string field = $"regularizer[{i}]";
            if (terms[i] is not JsonObject term) throw new FormatException($"{fieldPrefix}{field} is not an object");
            read[i] = new RegularizationTerm(Group(term, "parameters", $"{field}.parameters"),
                Float(term, "l1", $"{field}.l1"), Float(term, "l2", $"{field}.l2"));
        }
        return new Regularizer(read);
    }

    ParameterGroup Group(JsonObject o, string name, string field)
    {
        string group = o[name] is JsonValue v && v.TryGetValue(out string? x) && x.Length > 0 ? x : throw new FormatException($"{fieldPrefix}{field} must be a non-empty string");
        return ParameterGroup.Parse(group)
            ?? throw new FormatException($"{fieldPrefix}{field} '{group}' is not a built-in parameter group (all, weights, vectors, *suffix): build the optimizer and use Restore");
    }

    float Float(JsonObject o, string name, string field) =>
        o[name] is JsonValue v && JsonNumber.TryGetFloat(v, out float x) && float.IsFinite(x) && x >= 0 ? x
            : throw new FormatException($"{fieldPrefix}{field} must be a finite number ≥ 0, got {o[name]?.ToJsonString() ?? "nothing"}");
}

/// <summary>Numbers of JSON values, whether parsed from text or made in code (a value made from a float answers only to
/// float, one made from a double only to double).</summary>
internal static class JsonNumber
{
    /// <summary>The value as a float, when it is a JSON number.</summary>
    public static bool TryGetFloat(JsonValue value, out float result)
    {
        if (value.TryGetValue(out result)) return true;
        bool isDouble = value.TryGetValue(out double wide);
        result = (float)wide;
        return isDouble;
    }
}

using System.Text.Json.Nodes;
using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>The JSON form of an attribute value.</summary>
public enum AttributeKind
{
    /// <summary>An integer.</summary>
    Int,
    /// <summary>A number (a float32 value).</summary>
    Float,
    /// <summary><c>true</c> or <c>false</c>.</summary>
    Bool,
    /// <summary>A string, one of <see cref="LayerAttribute.Options"/> where the attribute lists them.</summary>
    String,
    /// <summary>An initializer name such as <c>kaiming_normal(gain=1.414,mode=fan_in)</c> (see <see cref="Initializer.Parse"/>).</summary>
    Initializer,
    /// <summary>An array of integers: exactly <see cref="LayerAttribute.Length"/> of them, or at least
    /// <see cref="LayerAttribute.MinLength"/> when the length is variable (Length 0).</summary>
    Ints,
    /// <summary>An array of exactly <see cref="LayerAttribute.Length"/> numbers.</summary>
    Floats,
}

/// <summary>Where an inferred attribute comes from: the editor fills it from the node's inputs and never shows it as editable.</summary>
public enum InferredFrom
{
    /// <summary>The channel axis of the first input, <c>C</c> of (N,C,…) (Conv2d's inChannels, batch norm's numFeatures).</summary>
    InputChannels,
    /// <summary>The elements of one item of the first input, C·H·W (Linear's inFeatures).</summary>
    InputFeatures,
    /// <summary>The number of inputs connected (Add's and Concat's inputCount).</summary>
    InputCount,
}

/// <summary>
/// The range a numeric attribute (each element of an array attribute) must lie in: at least or above
/// <see cref="Min"/>, at most or below <see cref="Max"/>. The editor checks it before sending; the layer's constructor
/// is what enforces it (the registry test checks that a value outside is refused).
/// </summary>
public readonly record struct AttributeBounds(double? Min, double? Max, bool MinExclusive = false, bool MaxExclusive = false)
{
    /// <summary><c>[min, ∞)</c>.</summary>
    public static AttributeBounds AtLeast(double min) => new(min, null);
    /// <summary><c>(min, ∞)</c>.</summary>
    public static AttributeBounds Above(double min) => new(min, null, MinExclusive: true);
    /// <summary><c>[min, max]</c>.</summary>
    public static AttributeBounds Between(double min, double max) => new(min, max);
    /// <summary><c>[0, 1)</c>: a drop probability.</summary>
    public static AttributeBounds Probability => new(0, 1, MaxExclusive: true);
}

/// <summary>
/// One attribute of a layer type (<see cref="LayerDescriptor.Attributes"/>): its name in files and in the editor, its kind,
/// default, bounds, and how it relates to the inputs and to other attributes. Read a value with
/// <see cref="LayerAttribute{T}.Read"/>; a layer's value is written by <see cref="Layer.Attributes"/>.
/// </summary>
public abstract class LayerAttribute
{
    readonly JsonNode? defaultValue;

    private protected LayerAttribute(string name, AttributeKind kind, JsonNode? defaultValue)
    {
        Name = name;
        Kind = kind;
        this.defaultValue = defaultValue;
    }

    /// <summary>The key in the attribute JSON (PyTorch's argument name in .NET casing: <c>outChannels</c>).</summary>
    public string Name { get; }
    /// <summary>The value's kind (integer, number, boolean, string, initializer, or an array), checked by <see cref="LayerDescriptor.Create(JsonObject)"/>.</summary>
    public AttributeKind Kind { get; }
    /// <summary>Arrays: the element count, or 0 for a variable count of at least <see cref="MinLength"/>.</summary>
    public int Length { get; init; }
    /// <summary>Variable-length arrays: the fewest elements.</summary>
    public int MinLength { get; init; }
    /// <summary>The value a new node starts with (a fresh copy), or null: inferred, or the other of an alternative pair.</summary>
    public JsonNode? Default => defaultValue?.DeepClone();
    /// <summary>The range of a numeric value (each element of an array), or null where any value of the kind is taken.</summary>
    public AttributeBounds? Bounds { get; init; }
    /// <summary>The strings a <see cref="AttributeKind.String"/> attribute takes, or null for any.</summary>
    public IReadOnlyList<string>? Options { get; init; }
    /// <summary>Where the editor takes the value from, or null for an attribute the user sets.</summary>
    public InferredFrom? Inferred { get; init; }
    /// <summary>May be absent from a file (one written before the attribute existed): it then means <see cref="Default"/>.</summary>
    public bool Optional { get; init; }
    /// <summary>The attribute that stands instead of this one (Upsample's <c>size</c> and <c>scaleFactor</c>): exactly one of
    /// the two is given.</summary>
    public string? Alternative { get; internal set; }

    /// <summary>True when <paramref name="attributes"/> has this attribute.</summary>
    public bool IsGiven(JsonObject attributes) => attributes.ContainsKey(Name);

    /// <summary>Throws <see cref="FormatException"/> naming the attribute unless <paramref name="attributes"/> holds a value
    /// of this kind (or may leave it out).</summary>
    internal abstract void Check(JsonObject attributes);

    /// <summary>The layer's value as JSON, or null when the layer has none (the unused one of an alternative pair).</summary>
    internal abstract JsonNode? Write(Layer layer);

    private protected JsonNode? DefaultNode => defaultValue;

    internal FormatException Invalid(string expected) => new($"attribute '{Name}' must be {expected}");
}

/// <summary>An attribute whose value reads as <typeparamref name="T"/> (int, float, bool, string, <see cref="Initializer"/>,
/// int[] or float[]).</summary>
public sealed class LayerAttribute<T> : LayerAttribute
{
    readonly Func<JsonNode?, T> parse;
    readonly Func<Layer, JsonNode?> write;

    internal LayerAttribute(string name, AttributeKind kind, Func<LayerAttribute<T>, JsonNode?, T> parse, Func<Layer, JsonNode?> write, JsonNode? defaultValue)
        : base(name, kind, defaultValue)
    {
        this.parse = node => parse(this, node);
        this.write = write;
    }

    /// <summary>The value in <paramref name="attributes"/> (the default where an <see cref="LayerAttribute.Optional"/> one
    /// is absent); <see cref="FormatException"/> naming the attribute when it is missing or not of its kind.</summary>
    public T Read(JsonObject attributes) =>
        parse(!attributes.ContainsKey(Name) && Optional ? DefaultNode : attributes[Name]);

    internal override void Check(JsonObject attributes) => Read(attributes);

    internal override JsonNode? Write(Layer layer) => write(layer);
}

/// <summary>Reading each <see cref="AttributeKind"/> from JSON: a value written by <see cref="Layer.Attributes"/> (a float,
/// an int) or read from a file (a double, a long); each failure is a <see cref="FormatException"/> naming the attribute.</summary>
internal static class AttributeJson
{
    public static int ParseInt(LayerAttribute<int> a, JsonNode? node) =>
        AsInt(node) ?? throw a.Invalid("an integer");

    public static float ParseFloat(LayerAttribute<float> a, JsonNode? node) =>
        AsFloat(node) ?? throw a.Invalid("a number");

    public static bool ParseBool(LayerAttribute<bool> a, JsonNode? node) =>
        node is JsonValue v && v.TryGetValue(out bool b) ? b : throw a.Invalid("true or false");

    public static string ParseString(LayerAttribute<string> a, JsonNode? node) =>
        node is JsonValue v && v.TryGetValue(out string? s) && (a.Options is null || a.Options.Contains(s)) ? s
            : throw a.Invalid(a.Options switch
            {
                null => "a string",
                [var only] => $"\"{only}\"",
                var options => "one of " + string.Join(", ", options.Select(o => $"\"{o}\"")),
            });

    public static Initializer ParseInitializer(LayerAttribute<Initializer> a, JsonNode? node)
    {
        if (!(node is JsonValue v && v.TryGetValue(out string? text))) throw a.Invalid("an initializer name");
        try
        {
            return Initializer.Parse(text);
        }
        catch (FormatException e)
        {
            throw new FormatException($"attribute '{a.Name}': {e.Message}", e);
        }
    }

    public static int[] ParseInts(LayerAttribute<int[]> a, JsonNode? node)
    {
        string expected = a.Length > 0 ? $"an array of {a.Length} integers" : $"an array of at least {a.MinLength} integers";
        if (node is not JsonArray array || (a.Length > 0 ? array.Count != a.Length : array.Count < a.MinLength)) throw a.Invalid(expected);
        var values = new int[array.Count];
        for (int i = 0; i < values.Length; i++) values[i] = AsInt(array[i]) ?? throw a.Invalid(expected);
        return values;
    }

    public static float[] ParseFloats(LayerAttribute<float[]> a, JsonNode? node)
    {
        string expected = $"an array of {a.Length} numbers";
        if (node is not JsonArray array || array.Count != a.Length) throw a.Invalid(expected);
        var values = new float[array.Count];
        for (int i = 0; i < values.Length; i++) values[i] = AsFloat(array[i]) ?? throw a.Invalid(expected);
        return values;
    }

    static int? AsInt(JsonNode? node) => node is JsonValue v && v.TryGetValue(out int i) ? i : null;

    static float? AsFloat(JsonNode? node) =>
        node is JsonValue v && (v.TryGetValue(out float f) || (v.TryGetValue(out double d) && float.IsFinite(f = (float)d))) ? f : null;
}

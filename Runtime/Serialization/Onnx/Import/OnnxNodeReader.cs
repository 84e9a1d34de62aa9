using System.Text;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// One ONNX node being converted: typed access to its attributes (with ONNX's defaults) that records which ones
/// were read, so that <see cref="CheckAllAttributesRead"/> can reject any attribute the conversion did not
/// understand instead of silently ignoring it; and errors that name the node, op and opset.
/// </summary>
internal sealed class OnnxNodeReader
{
    readonly HashSet<string> read = new(StringComparer.Ordinal);
    readonly string source;

    public OnnxNodeReader(NodeProto node, int index, long opset, string source)
    {
        Proto = node;
        Opset = opset;
        this.source = source;
        Name = node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault(o => o.Length > 0) ?? $"#{index}";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var attribute in node.Attribute)
            if (!seen.Add(attribute.Name)) throw Malformed($"attribute '{attribute.Name}' appears twice");
    }

    public NodeProto Proto { get; }
    public string Op => Proto.OpType;
    public long Opset { get; }
    /// <summary>The node's name, or its first output's name when it has none.</summary>
    public string Name { get; }

    /// <summary>An unsupported op, attribute value or pattern in this node.</summary>
    public OnnxUnsupportedException Unsupported(string problem) => new(source, Name, Op, Opset, Shortened(problem));

    /// <summary>A malformed node (wrong input count, shapes that contradict each other).</summary>
    public OnnxFormatException Malformed(string problem) => new(source, $"node '{Name}' ({Op}, opset {Opset}): {Shortened(problem)}");

    /// <summary>A problem's text cut to <see cref="MaxProblemLength"/> characters: messages quote a node's values, which a
    /// hostile file can make millions long.</summary>
    static string Shortened(string problem) =>
        problem.Length <= MaxProblemLength ? problem : $"{problem[..MaxProblemLength]}… ({problem.Length:N0} characters in all)";

    const int MaxProblemLength = 1000;

    AttributeProto? Find(string name, AttributeType type)
    {
        read.Add(name);
        var attribute = Proto.Attribute.FirstOrDefault(a => a.Name == name);
        if (attribute is null) return null;
        if (attribute.RefAttrName.Length > 0) throw Unsupported($"attribute '{name}' refers to a function attribute");
        // files written before the type field existed (IR version 1) leave it undefined
        if (attribute.Type != type && attribute.Type != AttributeType.Undefined)
            throw Malformed($"attribute '{name}' has type {attribute.Type}, expected {type}");
        return attribute;
    }

    public bool Has(string name) => Proto.Attribute.Any(a => a.Name == name);

    public long Int(string name, long fallback) => Find(name, AttributeType.Int)?.I ?? fallback;

    public float Float(string name, float fallback) => Find(name, AttributeType.Float)?.F ?? fallback;

    public string String(string name, string fallback) =>
        Find(name, AttributeType.String) is { } a ? Encoding.UTF8.GetString(a.S.Span) : fallback;

    public long[]? Ints(string name) => Find(name, AttributeType.Ints) is { } a ? [.. a.Ints] : null;

    public float[]? Floats(string name) => Find(name, AttributeType.Floats) is { } a ? [.. a.Floats] : null;

    public TensorProto? Tensor(string name) =>
        Find(name, AttributeType.Tensor) is { } a ? a.T ?? throw Malformed($"attribute '{name}' has no tensor") : null;

    /// <summary>An integer attribute that must equal <paramref name="expected"/> (e.g. <c>group = 1</c>).</summary>
    public void Require(string name, long expected, string why)
    {
        long value = Int(name, expected);
        if (value != expected) throw Unsupported($"attribute '{name}' = {value} is not supported ({why})");
    }

    /// <summary>Rejects every attribute the conversion did not read: an importer never drops what it does not understand.</summary>
    public void CheckAllAttributesRead()
    {
        foreach (var attribute in Proto.Attribute)
            if (!read.Contains(attribute.Name))
                throw Unsupported($"attribute '{attribute.Name}' is not supported");
    }

    /// <summary>Inputs as named in the file ("" = an omitted optional input).</summary>
    public int InputCount => Proto.Input.Count;

    public bool HasInput(int index) => index < Proto.Input.Count && Proto.Input[index].Length > 0;

    /// <summary>The name of input <paramref name="index"/> (a weight's initializer name), or null when it is omitted.</summary>
    public string? InputName(int index) => HasInput(index) ? Proto.Input[index] : null;

    /// <summary>An ONNX axis of a tensor of <paramref name="rank"/> axes (a negative one counts from the end) as 0…rank−1;
    /// outside them the node is malformed, and the message names <paramref name="tensor"/> (its shape).</summary>
    public int Axis(long axis, int rank, object tensor)
    {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw Malformed($"axis {axis} is outside the {rank} axes of {tensor}");
        return (int)a;
    }

    /// <summary>Opset 18's <c>axes</c> list (of Pad, Resize…) for <paramref name="shape"/>: each axis as 0…rank−1
    /// (<see cref="Axis"/>); an axis named twice makes the node malformed.</summary>
    public int[] DistinctAxes(long[] axes, TensorShape shape)
    {
        var result = new int[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            result[i] = Axis(axes[i], shape.Rank, shape);
            if (Array.IndexOf(result, result[i], 0, i) >= 0) throw Malformed($"axes [{string.Join(",", axes)}] name axis {result[i]} twice");
        }
        return result;
    }

    /// <summary>Checks the input count against the op's signature.</summary>
    public void ExpectInputs(int min, int max)
    {
        if (InputCount < min || InputCount > max)
            throw Malformed(min == max ? $"takes {min} input(s), got {InputCount}" : $"takes {min} to {max} inputs, got {InputCount}");
        for (int i = 0; i < min; i++)
            if (!HasInput(i)) throw Malformed($"input {i} is required");
    }
}

using System.Buffers.Binary;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace NeuroPlugin.Tests.Fuzz;

/// <summary>
/// Structure-aware mutations of a safetensors container (<c>.neuro</c> models and training checkpoints): the u64 header
/// length, any value of the JSON header, including the values inside the JSON documents that the metadata holds as
/// strings (<c>graph</c>, <c>training</c>), duplicated keys, tensor offsets and dtypes, and the data section's length.
/// After a JSON change the header length is usually rewritten to match, so the change reaches the checks behind it.
/// </summary>
static partial class SafeTensorsMutations
{
    public static readonly IReadOnlyList<Mutation> All =
    [
        new("header length", HeaderLength),
        .. new Mutation("JSON value", (input, random) => EditHeader(input, random, MutateSomeValue)).Weighted(3),
        new("tensor offsets", (input, random) => EditHeader(input, random, MutateOffsets)),
        new("tensor dtype or shape", (input, random) => EditHeader(input, random, MutateTensorEntry)),
        new("duplicate key", DuplicateKey),
        new("data length", DataLength),
    ];

    /// <summary>The three parts of a container, or null when the bytes no longer split into them.</summary>
    static (JsonObject Header, byte[] Data)? Split(byte[] input)
    {
        if (input.Length < 8) return null;
        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(input);
        if (length > (ulong)(input.Length - 8)) return null;
        try
        {
            return JsonNode.Parse(input.AsSpan(8, (int)length)) is JsonObject header ? (header, input[(8 + (int)length)..]) : null;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return null;
        }
    }

    static byte[] Join(byte[] header, byte[] data, long? length = null)
    {
        var output = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteInt64LittleEndian(output, length ?? header.Length);
        header.CopyTo(output, 8);
        data.CopyTo(output, 8 + header.Length);
        return output;
    }

    static byte[]? HeaderLength(byte[] input, Random random)
    {
        if (input.Length < 8) return null;
        var output = (byte[])input.Clone();
        long length = BinaryPrimitives.ReadInt64LittleEndian(input);
        BinaryPrimitives.WriteInt64LittleEndian(output, random.Next(3) == 0 ? input.Length - 8 + random.Next(-1, 2) : Interesting.Near(length, random));
        return output;
    }

    /// <summary>Parses the header, lets <paramref name="edit"/> change it, and writes it back with a matching length
    /// nine times in ten (the old length otherwise); sometimes pads it with spaces, as safetensors writers may.</summary>
    static byte[]? EditHeader(byte[] input, Random random, Func<JsonObject, Random, bool> edit)
    {
        if (Split(input) is not var (header, data) || !edit(header, random)) return null;
        string text = header.ToJsonString();
        if (random.Next(8) == 0) text += new string(' ', random.Next(1, 9));
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return Join(bytes, data, random.Next(10) == 0 ? BinaryPrimitives.ReadInt64LittleEndian(input) : null);
    }

    /// <summary>Changes one value somewhere in the header, or (half the time, when the metadata holds JSON documents as
    /// strings) inside one of those documents, written back as its string.</summary>
    static bool MutateSomeValue(JsonObject header, Random random)
    {
        var embedded = new List<(JsonObject Owner, string Key, JsonNode Document)>();
        if (header["__metadata__"] is JsonObject metadata)
            foreach (var (key, value) in metadata)
                if (value is JsonValue v && v.TryGetValue(out string? s) && s.StartsWith('{') && Parse(s) is { } document)
                    embedded.Add((metadata, key, document));
        if (embedded.Count > 0 && random.Next(2) == 0)
        {
            var (owner, key, document) = embedded[random.Next(embedded.Count)];
            if (!JsonMutations.MutateOne(document, random)) return false;
            owner[key] = document.ToJsonString();
            return true;
        }
        return JsonMutations.MutateOne(header, random);
    }

    static JsonNode? Parse(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    static List<JsonObject> Tensors(JsonObject header) =>
        header.Where(p => p.Key != "__metadata__" && p.Value is JsonObject).Select(p => (JsonObject)p.Value!).ToList();

    /// <summary>Moves a tensor's byte range: swapped with another's, shifted, overlapping, or beyond the data.</summary>
    static bool MutateOffsets(JsonObject header, Random random)
    {
        var tensors = Tensors(header);
        if (tensors.Count == 0) return false;
        var tensor = tensors[random.Next(tensors.Count)];
        if (tensor["data_offsets"] is not JsonArray { Count: 2 } offsets) return false;
        long begin = (long?)offsets[0] ?? 0, end = (long?)offsets[1] ?? 0;
        switch (random.Next(4))
        {
            case 0 when tensors.Count > 1:
                var other = tensors[random.Next(tensors.Count)];
                (tensor["data_offsets"], other["data_offsets"]) = (other["data_offsets"]?.DeepClone(), offsets.DeepClone());
                break;
            case 1:
                tensor["data_offsets"] = new JsonArray(Interesting.Near(begin, random), end);
                break;
            case 2:
                tensor["data_offsets"] = new JsonArray(begin, Interesting.Near(end, random));
                break;
            default:
                long shift = random.Next(2) == 0 ? 4 : Interesting.Integer(random);
                tensor["data_offsets"] = new JsonArray(begin + shift, end + shift);
                break;
        }
        return true;
    }

    static readonly string[] Dtypes = ["F32", "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL", "f32", "F32 ", "", "F8_E4M3"];

    /// <summary>Changes a tensor's dtype, or its shape (a dimension, the rank, or a huge element count).</summary>
    static bool MutateTensorEntry(JsonObject header, Random random)
    {
        var tensors = Tensors(header);
        if (tensors.Count == 0) return false;
        var tensor = tensors[random.Next(tensors.Count)];
        if (random.Next(3) == 0)
        {
            tensor["dtype"] = Dtypes[random.Next(Dtypes.Length)];
            return true;
        }
        if (tensor["shape"] is not JsonArray shape) return false;
        var dims = shape.Select(d => (long?)d ?? 1).ToList();
        switch (random.Next(4))
        {
            case 0 when dims.Count > 0:
                int axis = random.Next(dims.Count);
                dims[axis] = Interesting.Near(dims[axis], random);
                break;
            case 1:
                dims.Add(1 + random.Next(3));
                break;
            case 2 when dims.Count > 0:
                dims.RemoveAt(random.Next(dims.Count));
                break;
            default:
                dims = [65536, 65536, .. dims]; // a huge count whose bytes the file cannot hold
                break;
        }
        tensor["shape"] = new JsonArray(dims.Select(d => (JsonNode)d).ToArray());
        return true;
    }

    [GeneratedRegex("\"[^\"\\\\]+\":")]
    private static partial Regex PropertyName();

    /// <summary>Repeats a property name of some object in the header (the JSON stays well-formed).</summary>
    static byte[]? DuplicateKey(byte[] input, Random random)
    {
        if (Split(input) is not var (header, data)) return null;
        string text = header.ToJsonString();
        var names = PropertyName().Matches(text);
        if (names.Count == 0) return null;
        var name = names[random.Next(names.Count)];
        text = text.Insert(name.Index, name.Value + (random.Next(2) == 0 ? "null," : "{},"));
        return Join(Encoding.UTF8.GetBytes(text), data);
    }

    /// <summary>Cuts the data section short or lengthens it, by a float, a byte or a block.</summary>
    static byte[]? DataLength(byte[] input, Random random)
    {
        if (Split(input) is not var (_, data)) return null;
        int change = new[] { -4, -1, 1, 4, 4096 }[random.Next(5)];
        if (change < 0 && data.Length < -change) return null;
        return change < 0 ? input[..^(-change)] : [.. input, .. new byte[change]];
    }
}

/// <summary>Mutations of one value of a parsed JSON document: a number, string, array or object anywhere in it is
/// replaced by an interesting value of its kind or of another kind, removed, or grown.</summary>
static class JsonMutations
{
    /// <summary>Layer types, optimizer and schedule names, dtypes, versions, kinds: strings a reader compares against.</summary>
    static readonly string[] Words =
    [
        .. LayerRegistry.All.Select(d => d.Type),
        "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lion", "constant", "cosine", "step", "exponential",
        "all", "weights", "vectors", "*bias", "*", "F32", "F16", "model", "checkpoint", "neuro", "1", "2", "3", "0", "-1", "99999999999", "1.5",
        "__metadata__", "optimizer.state.", "input", "", " ", "\u0000", "é", "{", "[]", "{}", "momentum_buffer", "exp_avg", "a.b",
    ];

    /// <summary>Changes one value (chosen uniformly among all the document's values); false when there is none.</summary>
    public static bool MutateOne(JsonNode root, Random random)
    {
        var slots = new List<JsonNode>();
        Collect(root, slots);
        if (slots.Count == 0) return false;
        var node = slots[random.Next(slots.Count)];
        var parent = node.Parent!;
        JsonNode? replacement;
        switch (random.Next(6))
        {
            case 0: // removed
                if (parent is JsonObject o) o.Remove(node.GetPropertyName());
                else ((JsonArray)parent).Remove(node);
                return true;
            case 1: // another kind
                replacement = AnyValue(random);
                break;
            default:
                replacement = SameKind(node, random);
                break;
        }
        if (parent is JsonObject owner) owner[node.GetPropertyName()] = replacement;
        else
        {
            var array = (JsonArray)parent;
            array[array.IndexOf(node)] = replacement;
        }
        return true;
    }

    static void Collect(JsonNode? node, List<JsonNode> slots)
    {
        if (node is JsonObject o)
            foreach (var (_, value) in o.ToList())
            {
                if (value is not null) slots.Add(value);
                Collect(value, slots);
            }
        else if (node is JsonArray a)
            foreach (var value in a.ToList())
            {
                if (value is not null) slots.Add(value);
                Collect(value, slots);
            }
    }

    static JsonNode? SameKind(JsonNode node, Random random)
    {
        switch (node)
        {
            case JsonArray array:
                var copy = (JsonArray)array.DeepClone();
                if (random.Next(2) == 0 && copy.Count > 0) copy.RemoveAt(random.Next(copy.Count));
                else copy.Add(copy.Count > 0 && random.Next(2) == 0 ? copy[random.Next(copy.Count)]?.DeepClone() : AnyValue(random));
                return copy;
            case JsonObject obj:
                var edited = (JsonObject)obj.DeepClone();
                edited[Words[random.Next(Words.Length)]] = AnyValue(random);
                return edited;
        }
        var value = (JsonValue)node;
        if (value.TryGetValue(out string? text))
            return random.Next(3) switch
            {
                0 => Words[random.Next(Words.Length)],
                1 => text.Length > 0 ? text.Remove(random.Next(text.Length), 1) : "x",
                _ => text + Words[random.Next(Words.Length)],
            };
        if (value.TryGetValue(out bool flag)) return !flag;
        if (value.TryGetValue(out long number)) return Interesting.Near(number, random);
        return Number(random);
    }

    static JsonNode? AnyValue(Random random) => random.Next(7) switch
    {
        0 => null,
        1 => random.Next(2) == 0,
        2 => Words[random.Next(Words.Length)],
        3 => new JsonArray(Enumerable.Range(0, random.Next(5)).Select(_ => (JsonNode)Interesting.Integer(random)).ToArray()),
        4 => new JsonObject(),
        5 => new string('x', random.Next(2) == 0 ? 300 : 70_000),
        _ => Number(random),
    };

    static JsonNode Number(Random random) => random.Next(3) switch
    {
        0 => (JsonNode)Interesting.Integer(random),
        1 => new[] { 0.5, -0.0, 1e308, -1e308, 1e-320, 3.4e39, 1e20, -1e20, 0.1 }[random.Next(9)],
        _ => JsonNode.Parse("123456789012345678901234567890")!,
    };
}

using System.Buffers.Binary;
using System.Text;
using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Tests.Fuzz;

/// <summary>
/// Structure-aware mutations of protobuf messages (ONNX files), without the schema: the bytes are parsed as fields
/// (number, wire type, value); a length-delimited value that parses as fields again is a nested message. A mutation
/// walks down from the top message, choosing a field at each level (uniformly, or by size, so the graph, its nodes and
/// initializers are reached), and changes the field it stops at: an interesting varint (sizes, dims, data types,
/// attribute types, opsets), another string (op types, attribute and input names, external-data keys and paths), a
/// changed packed run (dims, ints), a deleted, repeated, renumbered or retyped field, or a wrong length. Every
/// enclosing message is re-encoded with correct lengths, so the change is seen where it was made.
/// </summary>
static class ProtobufMutations
{
    public static readonly IReadOnlyList<Mutation> All =
    [
        new("protobuf field", (input, random) => Mutate(input, random, 0)),
    ];

    enum WireType { Varint = 0, Fixed64 = 1, Length = 2, Fixed32 = 5 }

    /// <summary>One field: a varint or fixed value (in <see cref="Value"/>) or a length-delimited payload.</summary>
    sealed record Field(int Number, WireType Type, ulong Value, byte[] Payload)
    {
        /// <summary>When set, the length written for the payload (a lie, for the reader to catch).</summary>
        public ulong? LengthOverride { get; init; }
    }

    static readonly string[] Words =
    [
        .. OnnxOperators.All.Select(op => op.Name), "Loop", "If", "Scan", "LSTM", "Einsum", "",
        "kernel_shape", "strides", "pads", "dilations", "group", "auto_pad", "axis", "axes", "perm", "alpha", "beta", "gamma",
        "transA", "transB", "epsilon", "momentum", "mode", "ceil_mode", "count_include_pad", "keepdims", "value", "to", "shape",
        "starts", "ends", "coordinate_transformation_mode", "nearest_mode", "scales", "sizes", "split", "storage_order", "min", "max",
        "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "nearest", "linear", "cubic", "constant", "reflect", "half_pixel", "asymmetric",
        "N", "batch", "ai.onnx", "com.microsoft", "ai.onnx.ml", "location", "offset", "length", "checksum",
        "../../etc/passwd", "/dev/zero", "data.bin", "input", "output", "weight", "x\u0000y", "é",
    ];

    static byte[]? Mutate(byte[] message, Random random, int depth)
    {
        var fields = Parse(message);
        if (fields is null || fields.Count == 0) return null;
        int i = Choose(fields, random);
        var field = fields[i];
        if (field.Type == WireType.Length && depth < 16 && random.Next(4) != 0 && Mutate(field.Payload, random, depth + 1) is { } inner)
        {
            fields[i] = field with { Payload = inner };
            return Encode(fields);
        }
        MutateField(fields, i, random);
        return Encode(fields);
    }

    /// <summary>A field index: uniformly, or weighted by payload size (so that large submessages are entered).</summary>
    static int Choose(List<Field> fields, Random random)
    {
        if (random.Next(2) == 0) return random.Next(fields.Count);
        long total = fields.Sum(f => 1L + f.Payload.Length);
        long pick = random.NextInt64(total);
        for (int i = 0; i < fields.Count; i++)
            if ((pick -= 1 + fields[i].Payload.Length) < 0) return i;
        return fields.Count - 1;
    }

    static void MutateField(List<Field> fields, int i, Random random)
    {
        var field = fields[i];
        switch (random.Next(10))
        {
            case 0:
                fields.RemoveAt(i);
                return;
            case 1:
                fields.Insert(i, field);
                return;
            case 2:
                fields[i] = field with { Number = random.Next(3) == 0 ? random.Next(1, 1 << 29) : random.Next(1, 30) };
                return;
            case 3: // another wire type, keeping what it can
                fields[i] = field.Type == WireType.Length
                    ? field with { Type = WireType.Varint, Value = (ulong)field.Payload.Length, Payload = [] }
                    : field with { Type = WireType.Length, Payload = Encoding.UTF8.GetBytes(Words[random.Next(Words.Length)]) };
                return;
            case 4 when field.Type == WireType.Length:
                fields[i] = field with { LengthOverride = (ulong)Interesting.Near(field.Payload.Length, random) };
                return;
            case 5 when i + 1 < fields.Count:
                (fields[i], fields[i + 1]) = (fields[i + 1], fields[i]);
                return;
        }
        fields[i] = field.Type switch
        {
            WireType.Varint => field with { Value = (ulong)Interesting.Near((long)field.Value, random) },
            WireType.Fixed32 => field with { Value = new[] { 0u, 0x7FC00000u, 0x7F800000u, 0xFF800000u, 0x3F800000u, 0xBF800000u, 0x4F000000u, 0x00000001u }[random.Next(8)] },
            WireType.Fixed64 => field with { Value = new[] { 0ul, 0x7FF8000000000000ul, 0x7FF0000000000000ul, 0x3FF0000000000000ul, 0x47EFFFFFE0000000ul, 1ul }[random.Next(6)] },
            _ => field with { Payload = MutatePayload(field.Payload, random) },
        };
    }

    /// <summary>A new payload for a string, bytes or packed field: a word, an edited copy, or a packed run with one value changed.</summary>
    static byte[] MutatePayload(byte[] payload, Random random)
    {
        if (ParseVarints(payload) is { Count: > 0 } values && random.Next(2) == 0)
        {
            int k = random.Next(values.Count);
            switch (random.Next(3))
            {
                case 0: values[k] = (ulong)Interesting.Near((long)values[k], random); break;
                case 1: values.RemoveAt(k); break;
                default: values.Insert(k, (ulong)Interesting.Integer(random)); break;
            }
            var run = new List<byte>();
            foreach (ulong v in values) WriteVarint(run, v);
            return [.. run];
        }
        return random.Next(4) switch
        {
            0 => payload.Length > 0 ? payload[..random.Next(payload.Length)] : [0],
            1 => [.. payload, .. payload.AsSpan(0, Math.Min(payload.Length, 64))],
            _ => Encoding.UTF8.GetBytes(Words[random.Next(Words.Length)]),
        };
    }

    /// <summary>The fields of <paramref name="bytes"/>, or null when they do not parse exactly to the end.</summary>
    static List<Field>? Parse(byte[] bytes)
    {
        var fields = new List<Field>();
        int position = 0;
        while (position < bytes.Length)
        {
            if (!TryReadVarint(bytes, ref position, out ulong tag)) return null;
            int number = (int)(tag >> 3);
            var type = (WireType)(tag & 7);
            if (number == 0 || tag >> 3 > int.MaxValue) return null;
            switch (type)
            {
                case WireType.Varint:
                    if (!TryReadVarint(bytes, ref position, out ulong value)) return null;
                    fields.Add(new Field(number, type, value, []));
                    break;
                case WireType.Fixed32 when position + 4 <= bytes.Length:
                    fields.Add(new Field(number, type, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position)), []));
                    position += 4;
                    break;
                case WireType.Fixed64 when position + 8 <= bytes.Length:
                    fields.Add(new Field(number, type, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(position)), []));
                    position += 8;
                    break;
                case WireType.Length:
                    if (!TryReadVarint(bytes, ref position, out ulong length) || length > (ulong)(bytes.Length - position)) return null;
                    fields.Add(new Field(number, type, 0, bytes[position..(position + (int)length)]));
                    position += (int)length;
                    break;
                default:
                    return null;
            }
        }
        return fields;
    }

    static List<ulong>? ParseVarints(byte[] bytes)
    {
        var values = new List<ulong>();
        int position = 0;
        while (position < bytes.Length)
        {
            if (!TryReadVarint(bytes, ref position, out ulong value)) return null;
            values.Add(value);
        }
        return values;
    }

    static byte[] Encode(List<Field> fields)
    {
        var output = new List<byte>();
        foreach (var field in fields)
        {
            WriteVarint(output, ((ulong)field.Number << 3) | (ulong)field.Type);
            switch (field.Type)
            {
                case WireType.Varint: WriteVarint(output, field.Value); break;
                case WireType.Fixed32: for (int b = 0; b < 4; b++) output.Add((byte)(field.Value >> (8 * b))); break;
                case WireType.Fixed64: for (int b = 0; b < 8; b++) output.Add((byte)(field.Value >> (8 * b))); break;
                default:
                    WriteVarint(output, field.LengthOverride ?? (ulong)field.Payload.Length);
                    output.AddRange(field.Payload);
                    break;
            }
        }
        return [.. output];
    }

    static bool TryReadVarint(byte[] bytes, ref int position, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64 && position < bytes.Length; shift += 7)
        {
            byte b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }

    static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }
        output.Add((byte)value);
    }
}

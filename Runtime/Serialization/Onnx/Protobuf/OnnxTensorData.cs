using System.Buffers.Binary;
using Google.Protobuf;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Reads a <see cref="TensorProto"/>'s values: raw little-endian bytes, the typed repeated fields, or an external
/// file beside the model. Sizes are checked against the data actually present before anything is allocated, and an
/// external file must be a relative path that stays inside the model's folder.
/// </summary>
internal static class OnnxTensorData
{
    /// <summary>Largest tensor accepted, in elements (1 GiB of float32).</summary>
    public const long MaxElements = 1L << 28;

    /// <summary>Reads <paramref name="tensor"/>'s values; <paramref name="folder"/> is the model's folder (null when the
    /// model came from memory, where external data is an error). <paramref name="source"/> names the file in messages.</summary>
    public static OnnxConstant Read(TensorProto tensor, string? folder, string source)
    {
        string what = $"tensor '{tensor.Name}'";
        OnnxFormatException Bad(string problem) => new(source, $"{what}: {problem}");
        if (tensor.HasSegment) throw Bad("segmented tensors are not supported");
        long count = 1;
        foreach (long d in tensor.Dims)
        {
            if (d < 0) throw Bad($"dimension {d} is negative");
            count = d == 0 ? 0 : count;
            if (d > 0 && (count *= d) > MaxElements) throw Bad($"more than {MaxElements} elements");
        }
        long[] dims = [.. tensor.Dims];
        int n = (int)count;
        var type = (TensorDataType)tensor.DataType;
        int elementSize = type switch
        {
            TensorDataType.Float or TensorDataType.Int32 => 4,
            TensorDataType.Int64 or TensorDataType.Double => 8,
            TensorDataType.Bool or TensorDataType.UInt8 or TensorDataType.Int8 => 1,
            _ => throw Bad($"data type {tensor.DataType} ({(Enum.IsDefined(type) ? type : "unknown")}) is not supported (float32, int64, int32, double, bool, int8 and uint8 are)"),
        };

        ReadOnlySpan<byte> raw;
        if (tensor.DataLocation == 1)
            raw = External(tensor, folder, (long)n * elementSize, source, what);
        else if (tensor.DataLocation != 0)
            throw Bad($"data_location {tensor.DataLocation} is not DEFAULT (0) or EXTERNAL (1)");
        else if (tensor.RawData is { } rawData)
            raw = rawData.Span;
        else
            return Typed(tensor, type, dims, n, Bad);
        if (raw.Length != (long)n * elementSize)
            throw Bad($"raw data has {raw.Length} bytes, shape [{string.Join(",", dims)}] of {type} needs {(long)n * elementSize}");

        switch (type)
        {
            case TensorDataType.Float:
            {
                var values = new float[n];
                for (int i = 0; i < n; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
                return OnnxConstant.OfFloats(dims, values);
            }
            case TensorDataType.Double:
            {
                var values = new float[n];
                for (int i = 0; i < n; i++) values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(8 * i)..]);
                return OnnxConstant.OfFloats(dims, values);
            }
            default:
            {
                var values = new long[n];
                for (int i = 0; i < n; i++)
                    values[i] = type switch
                    {
                        TensorDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(8 * i)..]),
                        TensorDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(4 * i)..]),
                        TensorDataType.Int8 => (sbyte)raw[i],
                        _ => raw[i],
                    };
                return OnnxConstant.FromFile(dims, values);
            }
        }
    }

    static OnnxConstant Typed(TensorProto tensor, TensorDataType type, long[] dims, int n, Func<string, OnnxFormatException> bad)
    {
        int present = type switch
        {
            TensorDataType.Float => tensor.FloatData.Count,
            TensorDataType.Double => tensor.DoubleData.Count,
            TensorDataType.Int64 => tensor.Int64Data.Count,
            _ => tensor.Int32Data.Count, // int32, bool, int8 and uint8 live in int32_data
        };
        if (present != n)
            throw bad($"holds {present} values, shape [{string.Join(",", dims)}] needs {n}");
        return type switch
        {
            TensorDataType.Float => OnnxConstant.OfFloats(dims, [.. tensor.FloatData]),
            TensorDataType.Double => OnnxConstant.OfFloats(dims, tensor.DoubleData.Select(d => (float)d).ToArray()),
            TensorDataType.Int64 => OnnxConstant.FromFile(dims, [.. tensor.Int64Data]),
            _ => OnnxConstant.FromFile(dims, tensor.Int32Data.Select(v => (long)v).ToArray()),
        };
    }

    /// <summary>The bytes of an external-data tensor: <c>location</c> relative to the model's folder and inside it
    /// (no absolute paths, no <c>..</c> escapes, no links leading out), <c>offset</c> and <c>length</c> inside the file.</summary>
    static byte[] External(TensorProto tensor, string? folder, long needed, string source, string what)
    {
        OnnxFormatException Bad(string problem) => new(source, $"{what}: external data {problem}");
        string? location = null;
        long offset = 0, length = -1;
        foreach (var entry in tensor.ExternalData)
            switch (entry.Key)
            {
                case "location": location = entry.Value; break;
                case "offset": offset = long.TryParse(entry.Value, out long o) && o >= 0 ? o : throw Bad($"offset '{entry.Value}' is not a non-negative integer"); break;
                case "length": length = long.TryParse(entry.Value, out long l) && l >= 0 ? l : throw Bad($"length '{entry.Value}' is not a non-negative integer"); break;
                case "checksum": break; // optional integrity hint; the sizes are checked instead
                default: throw Bad($"key '{entry.Key}' is not known");
            }
        if (string.IsNullOrEmpty(location)) throw Bad("has no location");
        if (folder is null) throw Bad($"'{location}' cannot be read: the model was not loaded from a file");
        if (Path.IsPathRooted(location) || location.Contains(':') || location.Contains('\0'))
            throw Bad($"location '{location}' must be a relative path inside the model's folder");
        string root = Path.GetFullPath(folder);
        string rootWithSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        string path = Path.GetFullPath(Path.Combine(root, location));
        if (!path.StartsWith(rootWithSeparator, StringComparison.Ordinal))
            throw Bad($"location '{location}' leaves the model's folder");
        var file = new FileInfo(path);
        if (!file.Exists) throw Bad($"file '{location}' does not exist");
        if (file.LinkTarget is not null)
        {
            string target = file.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "";
            if (!target.StartsWith(rootWithSeparator, StringComparison.Ordinal))
                throw Bad($"location '{location}' is a link leading out of the model's folder");
        }
        if (length >= 0 && length != needed) throw Bad($"length {length} does not match the {needed} bytes the shape needs");
        if (offset > file.Length || needed > file.Length - offset)
            throw Bad($"range [{offset}, {offset + needed}) lies outside '{location}' ({file.Length} bytes)");
        var bytes = new byte[needed];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        stream.Position = offset;
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>A float32 <see cref="TensorProto"/> holding <paramref name="values"/> as raw little-endian bytes.</summary>
    public static TensorProto FromFloats(string name, ReadOnlySpan<long> dims, ReadOnlySpan<float> values)
    {
        var bytes = new byte[4 * values.Length];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorDataType.Float, RawData = UnsafeByteOperations.UnsafeWrap(bytes) };
        tensor.Dims.AddRange(dims.ToArray());
        return tensor;
    }

    /// <summary>An int64 <see cref="TensorProto"/> holding <paramref name="values"/> (shapes, axes, pads).</summary>
    public static TensorProto FromInts(string name, ReadOnlySpan<long> dims, ReadOnlySpan<long> values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorDataType.Int64 };
        tensor.Dims.AddRange(dims.ToArray());
        tensor.Int64Data.AddRange(values.ToArray());
        return tensor;
    }
}

using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace NeuroPlugin.Serialization;

/// <summary>
/// NumPy's <c>.npy</c> format for float32 arrays in C order (NCHW for images):
/// <code>
/// "\x93NUMPY" major minor     magic and version (1.0, 2.0 or 3.0)
/// u16 (v1) or u32 (v2, v3)    header length H, little-endian
/// H bytes                     a Python dict literal: {'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }
/// data                        product(shape) float32 values, little-endian
/// </code>
/// Reading validates the magic, version, header length, every header key, the dtype (only <c>&lt;f4</c>), the order
/// (only C), the shape, and that the data is exactly the size the shape needs, before allocating the values.
/// </summary>
public static partial class Npy
{
    /// <summary>Largest header accepted (NumPy itself writes under 100 bytes for ordinary shapes).</summary>
    public const int MaxHeaderBytes = 1 << 16;
    /// <summary>Largest array accepted, in elements (1 GiB of float32).</summary>
    public const long MaxElements = 1L << 28;

    static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads a float32 C-order array: its shape and values. Throws <see cref="NpyException"/> naming the file.</summary>
    public static (int[] Shape, float[] Values) Read(string path)
    {
        if (!File.Exists(path)) throw new NpyException(path, "file not found");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        return Read(stream, path);
    }

    /// <summary>Reads a float32 C-order array from <paramref name="stream"/>; <paramref name="source"/> names it in messages.</summary>
    public static (int[] Shape, float[] Values) Read(Stream stream, string source)
    {
        Span<byte> prefix = stackalloc byte[8];
        if (stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8 || !prefix[..6].SequenceEqual(Magic))
            throw new NpyException(source, "not a .npy file (the magic \\x93NUMPY is missing)");
        byte major = prefix[6];
        if (major is not (1 or 2 or 3) || prefix[7] != 0) throw new NpyException(source, $"format version {major}.{prefix[7]} is not supported (1.0, 2.0, 3.0 are)");
        Span<byte> lengthBytes = stackalloc byte[4];
        int lengthSize = major == 1 ? 2 : 4;
        if (stream.ReadAtLeast(lengthBytes[..lengthSize], lengthSize, throwOnEndOfStream: false) < lengthSize)
            throw new NpyException(source, "truncated before the header length");
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(lengthBytes) : BinaryPrimitives.ReadUInt32LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderBytes) throw new NpyException(source, $"header length {headerLength} exceeds {MaxHeaderBytes} bytes");
        var headerBytes = new byte[headerLength];
        if (stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false) < headerBytes.Length)
            throw new NpyException(source, $"truncated inside the {headerLength}-byte header");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        int[] shape = ParseHeader(header, source);

        long count = 1;
        foreach (int d in shape)
            if ((count *= d) > MaxElements) // d ≤ MaxElements, so the product cannot overflow before this check
                throw new NpyException(source, $"shape ({string.Join(", ", shape)}) has more than {MaxElements} elements");
        long dataLength = 4 * count;
        if (stream.CanSeek && stream.Length - stream.Position != dataLength)
            throw new NpyException(source, $"data has {stream.Length - stream.Position} bytes, shape ({string.Join(", ", shape)}) of float32 needs {dataLength}");
        var bytes = new byte[dataLength];
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            throw new NpyException(source, $"truncated: shape ({string.Join(", ", shape)}) of float32 needs {dataLength} data bytes");
        var values = new float[count];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * i));
        return (shape, values);
    }

    [GeneratedRegex(@"^\{\s*('descr'|'fortran_order'|'shape')\s*:\s*('[^']*'|True|False|\([0-9,\s]*\))\s*(,\s*('descr'|'fortran_order'|'shape')\s*:\s*('[^']*'|True|False|\([0-9,\s]*\))\s*)*,?\s*\}\s*$")]
    private static partial Regex HeaderPattern();

    [GeneratedRegex(@"'(descr|fortran_order|shape)'\s*:\s*('[^']*'|True|False|\([0-9,\s]*\))")]
    private static partial Regex EntryPattern();

    /// <summary>Parses the header dict: exactly the keys descr ('&lt;f4'), fortran_order (False) and shape (a tuple of sizes).</summary>
    static int[] ParseHeader(string header, string source)
    {
        if (!HeaderPattern().IsMatch(header)) throw new NpyException(source, $"header is not a dict of descr, fortran_order and shape: {Shorten(header)}");
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match m in EntryPattern().Matches(header))
            if (!entries.TryAdd(m.Groups[1].Value, m.Groups[2].Value)) throw new NpyException(source, $"header key '{m.Groups[1].Value}' appears twice");
        foreach (string key in new[] { "descr", "fortran_order", "shape" })
            if (!entries.ContainsKey(key)) throw new NpyException(source, $"header has no '{key}'");
        if (entries["descr"] is not ("'<f4'" or "'float32'"))
            throw new NpyException(source, $"dtype {entries["descr"]} is not supported (only little-endian float32, '<f4')");
        if (entries["fortran_order"] != "False") throw new NpyException(source, "Fortran (column-major) order is not supported (only C order)");
        string[] parts = entries["shape"].Trim('(', ')').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var shape = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i]) || shape[i] > MaxElements)
                throw new NpyException(source, $"shape entry '{parts[i]}' is not a size up to {MaxElements}");
        return shape;
    }

    static string Shorten(string text) => text.Length <= 80 ? text.Trim() : text[..80] + "…";

    /// <summary>Writes a float32 C-order array of <paramref name="shape"/> (version 1.0, header padded to 64 bytes as NumPy does);
    /// through a temporary file renamed over the target.</summary>
    public static void Write(string path, ReadOnlySpan<int> shape, ReadOnlySpan<float> values)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentOutOfRangeException(nameof(shape), $"shape entry {d} is negative");
            count *= d;
        }
        if (count != values.Length) throw new ArgumentException($"shape ({string.Join(", ", shape.ToArray())}) needs {count} values, got {values.Length}", nameof(values));
        string tuple = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape.ToArray())})";
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}";
        int unpadded = 10 + dict.Length + 1; // magic, version, u16 length, dict, newline
        string header = dict + new string(' ', (64 - unpadded % 64) % 64) + "\n";
        var bytes = new byte[10 + header.Length + 4L * values.Length];
        Magic.CopyTo(bytes);
        bytes[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.Latin1.GetBytes(header, bytes.AsSpan(10));
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(10 + header.Length + 4 * i), values[i]);
        string fullPath = Path.GetFullPath(path);
        string temporary = $"{fullPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }
}

/// <summary>A <c>.npy</c> file that cannot be read: not NumPy's format, another dtype or order, sizes that do not match. Names the file.</summary>
public sealed class NpyException(string path, string problem) : IOException($"{path}: {problem}")
{
    /// <summary>The path of the <c>.npy</c> file that could not be read, as given to the reader.</summary>
    public string FilePath { get; } = path;
}

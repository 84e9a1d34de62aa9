using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NeuroPlugin.Serialization;

/// <summary>
/// The safetensors container under the model file and the training checkpoint: float32 tensors by name plus a
/// <c>__metadata__</c> object of strings. This layer knows nothing of graphs or optimizers; it checks what any
/// safetensors reader checks (header length, JSON, dtypes, integer shapes, offsets in bounds, contiguous, no
/// trailing bytes; sizes against shapes in <see cref="CheckSizes"/>) and writes atomically.
/// <code>
/// u64 (little-endian)  H, the header's length in bytes
/// H bytes              UTF-8 JSON: {"__metadata__": {string: string, …}, "name": {"dtype":"F32","shape":[…],"data_offsets":[b,e]}, …}
/// data                 the tensors' float32 little-endian bytes, back to back in header order, offsets relative to here
/// </code>
/// </summary>
internal sealed class SafeTensorsContainer : IDisposable
{
    readonly Stream stream;
    readonly bool ownsStream;
    readonly long dataStart;
    readonly Dictionary<string, Entry> entries;

    /// <summary>One tensor of the file: its shape and its byte range in the data section.</summary>
    internal readonly record struct Entry(TensorShape Shape, long Begin, long End);

    SafeTensorsContainer(string path, Stream stream, bool ownsStream, JsonObject metadata, Dictionary<string, Entry> entries, IReadOnlyList<string> order, long dataStart)
    {
        Path = path;
        this.stream = stream;
        this.ownsStream = ownsStream;
        Metadata = metadata;
        this.entries = entries;
        Names = order;
        this.dataStart = dataStart;
    }

    /// <summary>The file (or the name given to a stream), for error messages.</summary>
    public string Path { get; }

    /// <summary>The parsed <c>__metadata__</c> object (editable: migrations rewrite it before validation).</summary>
    public JsonObject Metadata { get; }

    /// <summary>The tensor names in header order.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The entry of <paramref name="name"/>, if the file holds it.</summary>
    public bool TryGetEntry(string name, out Entry entry) => entries.TryGetValue(name, out entry);

    /// <summary>Writes <paramref name="tensors"/> (downloaded from their backends) and <paramref name="metadata"/> to a
    /// temporary file beside <paramref name="path"/> (<c>{path}.{process id}.{guid}.tmp</c>), flushes it to disk and renames
    /// it over the target, so a failed or interrupted save never leaves a partial file under the target's name. A save
    /// that fails deletes its temporary file; one whose process was killed cannot, so each save then deletes the
    /// temporary files of the same target left by processes that no longer run.</summary>
    public static void Write(string path, JsonObject metadata, IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var header = new JsonObject { ["__metadata__"] = metadata.DeepClone() };
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            // checked before anything is written: a silently replaced entry would make an unreadable file that then
            // replaces the good previous one
            if (name == "__metadata__" || header.ContainsKey(name))
                throw new ArgumentException($"cannot save {path}: tensor name '{name}' is {(name == "__metadata__" ? "reserved" : "used twice")}", nameof(tensors));
            long end = offset + 4L * tensor.Length;
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(tensor.Shape.ToArray().Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, end),
            };
            offset = end;
        }
        byte[] headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());

        string fullPath = System.IO.Path.GetFullPath(path);
        string temporary = $"{fullPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
                file.Write(length);
                file.Write(headerBytes);
                foreach (var (_, tensor) in tensors)
                {
                    float[] values = tensor.ToArray();
                    var bytes = new byte[values.Length * 4];
                    for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
                    file.Write(bytes);
                }
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
        RemoveAbandonedTemporaries(fullPath);
    }

    /// <summary>Deletes <c>{target}.{pid}.{guid}.tmp</c> files beside <paramref name="fullPath"/> whose process is gone (killed
    /// in the middle of a save); a save in progress in a running process, this one included, keeps its file.</summary>
    static void RemoveAbandonedTemporaries(string fullPath)
    {
        string folder = System.IO.Path.GetDirectoryName(fullPath)!, prefix = System.IO.Path.GetFileName(fullPath) + ".";
        foreach (string file in Directory.EnumerateFiles(folder, "*.tmp"))
        {
            string name = System.IO.Path.GetFileName(file);
            if (!name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            string[] parts = name[prefix.Length..].Split('.');
            if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int process) ||
                !Guid.TryParseExact(parts[1], "N", out _) || process == Environment.ProcessId || IsRunning(process))
                continue;
            try
            {
                File.Delete(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // another save removed it first, or it is not ours to remove: the save itself succeeded
            }
        }
    }

    static bool IsRunning(int processId)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Opens <paramref name="path"/> and validates the container (not the meaning of its tensors).
    /// Throws <see cref="ModelFileException"/> naming the file and the field.</summary>
    public static SafeTensorsContainer Open(string path)
    {
        if (!File.Exists(path)) throw new ModelFileException(path, "file not found");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read);
        try
        {
            return Parse(path, stream, ownsStream: true);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads a container from <paramref name="stream"/> (named <paramref name="name"/> in messages) from its current
    /// position to its end. A seekable stream is read in place and left open; any other is first copied into memory, up
    /// to <see cref="MaxStreamBytes"/>.</summary>
    public static SafeTensorsContainer Open(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (stream.CanSeek) return Parse(name, stream, ownsStream: false);
        var copy = BoundedRead.ToMemory(stream, MaxStreamBytes)
            ?? throw new ModelFileException(name, $"more than {MaxStreamBytes} bytes, the most a stream that cannot seek is read into memory");
        return Parse(name, copy, ownsStream: true);
    }

    /// <summary>The most bytes read into memory from a stream that cannot seek (2 GiB).</summary>
    public const long MaxStreamBytes = int.MaxValue - 64;

    static SafeTensorsContainer Parse(string path, Stream stream, bool ownsStream)
    {
        long start = stream.Position, fileLength = stream.Length - start;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (fileLength < 8 || stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new ModelFileException(path, $"truncated: {fileLength} bytes is shorter than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)Math.Min(ModelFile.MaxHeaderBytes, fileLength - 8))
            throw new ModelFileException(path, $"header length {headerLength} exceeds {(headerLength > ModelFile.MaxHeaderBytes ? $"the limit of {ModelFile.MaxHeaderBytes} bytes" : $"the file ({fileLength} bytes)")}");
        var headerBytes = new byte[(int)headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = start + 8 + (long)headerLength, dataLength = fileLength - 8 - (long)headerLength;

        JsonObject header;
        try
        {
            header = StrictJson.Parse(headerBytes) as JsonObject ?? throw new ModelFileException(path, "header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelFileException(path, $"header is not valid JSON: {e.Message}");
        }
        if (header["__metadata__"] is not JsonObject metadata)
            throw new ModelFileException(path, "__metadata__ is missing: not a NeuroPlugin model file");

        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__") continue;
            if (node is not JsonObject e || Text(e, "dtype") != "F32")
                throw new ModelFileException(path, $"{name}.dtype must be \"F32\"");
            if (e["shape"] is not JsonArray dims || dims.Count is < 1 or > TensorShape.MaxRank ||
                dims.Any(d => d is not JsonValue v || !v.TryGetValue(out int x) || x < 1))
                throw new ModelFileException(path, $"{name}.shape must be 1 to {TensorShape.MaxRank} positive integers");
            TensorShape shape;
            try
            {
                shape = TensorShape.Of(dims.Select(d => d!.GetValue<int>()).ToArray());
            }
            catch (Exception x) when (x is ShapeException or ArgumentException or OverflowException)
            {
                throw new ModelFileException(path, $"{name}.shape: {x.Message}");
            }
            if (e["data_offsets"] is not JsonArray offsets || offsets.Count != 2 ||
                offsets[0] is not JsonValue b || !b.TryGetValue(out long begin) || offsets[1] is not JsonValue en || !en.TryGetValue(out long end))
                throw new ModelFileException(path, $"{name}.data_offsets must be two integers");
            if (begin < 0 || end < begin || end > dataLength)
                throw new ModelFileException(path, $"{name}.data_offsets [{begin},{end}] lie outside the {dataLength} data bytes");
            entries[name] = new Entry(shape, begin, end);
            order.Add(name);
        }
        var sorted = order.OrderBy(n => entries[n].Begin).ToList();
        long position = 0;
        foreach (string name in sorted)
        {
            if (entries[name].Begin != position)
                throw new ModelFileException(path, $"{name}.data_offsets: tensors must be contiguous (expected offset {position}, got {entries[name].Begin})");
            position = entries[name].End;
        }
        if (position != dataLength) throw new ModelFileException(path, $"{dataLength - position} bytes after the last tensor");
        return new SafeTensorsContainer(path, stream, ownsStream, metadata, entries, order, dataStart);
    }

    /// <summary>Checks that every tensor's bytes hold exactly its shape. Readers run it after comparing the shapes with
    /// the ones they expect, whose message (<c>must be (6,1,5,5), as the graph declares</c>) is clearer.</summary>
    public void CheckSizes()
    {
        foreach (string name in Names)
        {
            var (shape, begin, end) = entries[name];
            if (end - begin != 4L * shape.Length)
                throw new ModelFileException(Path, $"{name}.shape {shape} needs {4L * shape.Length} bytes, but {name}.data_offsets [{begin},{end}] hold {end - begin}");
        }
    }

    /// <summary>Reads the floats of tensor <paramref name="name"/> (which the file holds) from disk.</summary>
    public float[] Read(string name)
    {
        var entry = entries[name];
        var bytes = new byte[entry.End - entry.Begin];
        stream.Position = dataStart + entry.Begin;
        stream.ReadExactly(bytes);
        var values = new float[bytes.Length / 4];
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
        return values;
    }

    /// <summary>A string member of a metadata object, or null when absent or not a string.</summary>
    public static string? Text(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    public void Dispose()
    {
        if (ownsStream) stream.Dispose();
    }
}

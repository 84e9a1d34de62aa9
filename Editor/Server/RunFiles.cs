using System.Text.Json.Nodes;

namespace NeuroPlugin.Editor.Server;

/// <summary>
/// The runs kept in the served folder: every run the editor starts writes its monitor file to
/// <c>runs/&lt;yyyyMMdd-HHmmss&gt;-&lt;run id&gt;.jsonl</c> (UTC), in the format of <c>neuro train --monitor</c>
/// (Documentation~/Monitoring.md), and any such file in the folder (a CLI run copied in) can be listed and opened.
/// </summary>
internal static class RunFiles
{
    /// <summary>The folder, relative to the served folder, where the editor keeps its runs.</summary>
    public const string Folder = "runs";

    /// <summary>What run files end with.</summary>
    public const string Extension = ".jsonl";

    /// <summary>Largest run file served (256 MiB): a long ResNet run sampled every 10 steps stays well below.</summary>
    public const long MaxBytes = 256L << 20;

    /// <summary>Longest first line read for the listing.</summary>
    const int MaxHeaderBytes = 1 << 20;

    /// <summary>The relative path of a new run's file.</summary>
    public static string NewPath(string runId, DateTime utc) => $"{Folder}/{utc:yyyyMMdd-HHmmss}-{runId}{Extension}";

    /// <summary>Every <c>.jsonl</c> file under the folder (symbolic links skipped, as the file listing does), newest first:
    /// path, size, modification time, and from its first line (a <c>run</c> record) the run's name, start, length and
    /// options; files whose first line is not a run record are listed without those.</summary>
    public static JsonArray List(FolderGuard folder)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint, MaxRecursionDepth = 16 };
        var entries = new JsonArray();
        foreach (var file in Directory.EnumerateFiles(folder.Root, "*" + Extension, options)
                     .Select(f => new FileInfo(f)).OrderByDescending(f => f.LastWriteTimeUtc).Take(1000))
        {
            var entry = new JsonObject
            {
                ["path"] = folder.Relative(file.FullName),
                ["bytes"] = file.Length,
                ["modified"] = file.LastWriteTimeUtc.ToString("O"),
            };
            if (ReadHeader(file.FullName) is JsonObject run)
                foreach (string name in new[] { "name", "startedAt", "totalSteps", "backend", "options" })
                    if (run[name] is { } value) entry[name] = value.DeepClone();
            entries.Add(entry);
        }
        return entries;
    }

    /// <summary>Opens run file <paramref name="relative"/> for reading while a run may still append to it.</summary>
    /// <exception cref="Document.DocumentCommandException">Not a <c>.jsonl</c> file, a path that leads outside the folder,
    /// or a file larger than <see cref="MaxBytes"/> (field <c>path</c>).</exception>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    public static FileStream Open(FolderGuard folder, string relative)
    {
        if (!relative.EndsWith(Extension, StringComparison.OrdinalIgnoreCase))
            throw new Document.DocumentCommandException($"path: '{relative}' is not a run file ({Extension})", "path");
        string path;
        try
        {
            path = folder.Resolve(relative);
        }
        catch (PathOutsideFolderException e)
        {
            throw new Document.DocumentCommandException($"path: {e.Message}", "path");
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"no run file '{relative}' in the served folder", relative);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (stream.Length > MaxBytes)
        {
            stream.Dispose();
            throw new Document.DocumentCommandException($"path: '{relative}' is {stream.Length >> 20} MiB, over the {MaxBytes >> 20} MiB a run file may have here", "path");
        }
        return stream;
    }

    /// <summary>The first line as a <c>run</c> record, or null.</summary>
    static JsonObject? ReadHeader(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[Math.Min(MaxHeaderBytes, stream.Length)];
            int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            int end = Array.IndexOf(buffer, (byte)'\n', 0, read);
            if (end < 0) return null;
            return JsonNode.Parse(buffer.AsSpan(0, end)) is JsonObject run && (string?)run["type"] == "run" ? run : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }
}

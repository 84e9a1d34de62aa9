using System.Text;

namespace NeuroPlugin.Backends.OpenGL;

/// <summary>
/// The compute shaders embedded in the runtime assembly (from <c>Shaders/</c>, resource names
/// <c>Shaders/&lt;file&gt;</c>), compiled on first use and cached per (file, defines) variant.
/// Preprocessing is textual: <c>#include "common.glsl"</c> pastes that file in place, and the variant's
/// <c>#define</c>s, then the storage binding names of <see cref="StorageBinding"/>, are inserted right after the
/// <c>#version</c> line. <c>#line</c> directives keep the
/// driver's error positions pointing into the right file (source-string number = index in the include list).
/// The library owns the programs it caches and deletes them on Dispose.
/// </summary>
public sealed class ShaderLibrary : IDisposable
{
    const string ResourcePrefix = "Shaders/";

    readonly Dictionary<(string File, string Defines), ComputeProgram> programs = new();
    bool disposed;

    public ShaderLibrary(GLDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        Device = device;
    }

    /// <summary>The device the programs are compiled for.</summary>
    public GLDevice Device { get; }
    /// <summary>Number of compiled variants held.</summary>
    public int CachedProgramCount => programs.Count;

    /// <summary>
    /// The program for <paramref name="fileName"/> (e.g. <c>"conv2d.comp"</c>) compiled with
    /// <paramref name="defines"/>: <c>;</c>-separated <c>NAME</c> or <c>NAME=VALUE</c> items, e.g.
    /// <c>"INPUT_GRAD"</c>. Compiles on the first request (tens to hundreds of milliseconds on llvmpipe),
    /// then returns the cached program without allocating.
    /// </summary>
    public ComputeProgram Get(string fileName, string defines = "")
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (programs.TryGetValue((fileName, defines), out var program)) return program;
        var sourceNames = new List<string>();
        string source = Preprocess(fileName, defines, sourceNames);
        program = new ComputeProgram(Device, defines.Length == 0 ? fileName : $"{fileName} [{defines}]", source, sourceNames);
        programs.Add((fileName, defines), program);
        return program;
    }

    /// <summary>
    /// Compiles GLSL text under <paramref name="name"/> (includes and <paramref name="defines"/> resolved as for
    /// embedded files) into a program the caller owns; not cached. For tests and user kernels.
    /// </summary>
    public ComputeProgram Compile(string name, string source, string defines = "")
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var sourceNames = new List<string> { name };
        var text = new StringBuilder();
        AppendPreprocessed(text, name, source, defines, sourceNames, new Stack<string>());
        return new ComputeProgram(Device, name, text.ToString(), sourceNames);
    }

    /// <summary>The raw text of an embedded shader file.</summary>
    /// <exception cref="FileNotFoundException">No such file is embedded; the message lists the ones that are.</exception>
    public static string LoadSource(string fileName)
    {
        var assembly = typeof(ShaderLibrary).Assembly;
        using var stream = assembly.GetManifestResourceStream(ResourcePrefix + fileName);
        if (stream is null)
        {
            var known = assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal));
            throw new FileNotFoundException(
                $"shader '{fileName}' is not embedded in {assembly.GetName().Name} (embedded: {string.Join(", ", known)})", fileName);
        }
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>The full source of <paramref name="fileName"/> with includes and defines resolved, as compiled.
    /// <paramref name="sourceNames"/> receives the file behind each <c>#line</c> source-string number.</summary>
    public static string Preprocess(string fileName, string defines, List<string> sourceNames)
    {
        sourceNames.Add(fileName);
        var text = new StringBuilder();
        AppendPreprocessed(text, fileName, LoadSource(fileName), defines, sourceNames, new Stack<string>());
        return text.ToString();
    }

    static void AppendPreprocessed(StringBuilder text, string fileName, string source, string? defines,
        List<string> sourceNames, Stack<string> includeStack)
    {
        if (includeStack.Contains(fileName))
            throw new InvalidOperationException($"shader include cycle: {string.Join(" → ", includeStack.Reverse())} → {fileName}");
        includeStack.Push(fileName);
        int sourceNumber = sourceNames.IndexOf(fileName);
        var lines = source.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            string trimmed = line.TrimStart();
            if (defines is not null && trimmed.StartsWith("#version", StringComparison.Ordinal))
            {
                text.Append(line).Append('\n');
                // the variant's defines, then the storage binding names (StorageBinding)
                foreach (var define in (defines + ";" + StorageBinding.Defines).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    int equals = define.IndexOf('=');
                    text.Append("#define ")
                        .Append(equals < 0 ? define : define[..equals] + " " + define[(equals + 1)..])
                        .Append('\n');
                }
                text.Append("#line ").Append(i + 2).Append(' ').Append(sourceNumber).Append('\n');
                defines = null; // only after the first #version
            }
            else if (trimmed.StartsWith("#include", StringComparison.Ordinal))
            {
                string included = IncludedFileName(trimmed, fileName, i + 1);
                if (!sourceNames.Contains(included)) sourceNames.Add(included);
                text.Append("#line 1 ").Append(sourceNames.IndexOf(included)).Append('\n');
                AppendPreprocessed(text, included, LoadSource(included), null, sourceNames, includeStack);
                text.Append("#line ").Append(i + 2).Append(' ').Append(sourceNumber).Append('\n');
            }
            else
            {
                text.Append(line).Append('\n');
            }
        }
        includeStack.Pop();
    }

    static string IncludedFileName(string directive, string fileName, int lineNumber)
    {
        int open = directive.IndexOf('"');
        int close = open < 0 ? -1 : directive.IndexOf('"', open + 1);
        if (close <= open + 1)
            throw new InvalidOperationException($"{fileName}:{lineNumber}: expected #include \"file\", got {directive}");
        return directive[(open + 1)..close];
    }

    /// <summary>Deletes every cached program. Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var program in programs.Values) program.Dispose();
        programs.Clear();
    }
}

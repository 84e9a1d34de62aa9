namespace NeuroPlugin.Tests.Soak;

/// <summary>
/// <c>neuro</c> (the build beside the tests, <c>dotnet neuro.dll …</c>), or a sample beside it, as an external process, as a user runs it: its
/// output captured, killable at any moment (SIGKILL: no handler, no flush, no cleanup runs), its peak memory readable.
/// Tests that kill or soak the CLI and the editor's server drive it only through its command line, files and sockets,
/// so they do not depend on its internals. Shared by the runtime and editor test projects (linked into the latter).
/// </summary>
public sealed class NeuroProcess : IDisposable
{
    readonly Process process;
    readonly StringBuilder output = new(), error = new();

    /// <param name="arguments">The command line after the program.</param>
    /// <param name="onOutputLine">Called with each line the program writes to its output, as it comes.</param>
    /// <param name="program">The assembly beside the tests to run (<c>neuro.dll</c>, <c>InGameLearning.dll</c>).</param>
    /// <param name="environment">Variables set for the process besides this one's.</param>
    public NeuroProcess(IEnumerable<string> arguments, Action<string>? onOutputLine = null, string program = "neuro.dll",
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, program));
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (output) output.AppendLine(e.Data);
            onOutputLine?.Invoke(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (error) error.AppendLine(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public int Id => process.Id;
    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;
    public string Output { get { lock (output) return output.ToString(); } }
    public string Error { get { lock (error) return error.ToString(); } }

    /// <summary>Kills the process at once (SIGKILL); true when it was still running.</summary>
    public bool Kill()
    {
        try
        {
            if (process.HasExited) return false;
            process.Kill();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false; // it ended between the check and the kill
        }
    }

    /// <summary>Waits for the process to end (its output read to the end); false on timeout.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!process.WaitForExit(timeout)) return false;
        process.WaitForExit(); // drains the asynchronous output readers
        return true;
    }

    /// <summary>Runs <paramref name="program"/> to its end; throws if it takes longer than <paramref name="timeout"/>.</summary>
    public static (int ExitCode, string Output, string Error) Run(IEnumerable<string> arguments, TimeSpan timeout, string program = "neuro.dll")
    {
        using var child = new NeuroProcess(arguments, program: program);
        if (!child.WaitForExit(timeout))
        {
            child.Kill();
            throw new TimeoutException($"{program} {string.Join(' ', arguments)} did not finish within {timeout}");
        }
        return (child.ExitCode, child.Output, child.Error);
    }

    /// <summary>The process's resident set in bytes (0 once it has ended).</summary>
    public long ResidentBytes() => ProcessMemory.Resident(process.Id);

    public void Dispose()
    {
        Kill();
        process.Dispose();
    }
}

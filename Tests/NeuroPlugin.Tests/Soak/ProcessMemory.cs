namespace NeuroPlugin.Tests.Soak;

/// <summary>
/// A process's resident set and its peak, from Linux's <c>/proc/PID/status</c> (VmRSS, VmHWM); the peak of this process
/// is reset by writing 5 to <c>/proc/self/clear_refs</c>. Where /proc is not available every figure reads 0 (growth is
/// then not measured). Shared by the runtime and editor test projects (linked into the latter).
/// </summary>
public static class ProcessMemory
{
    static readonly bool Available = File.Exists("/proc/self/clear_refs");

    /// <summary>Starts a new peak for this process at its current resident set.</summary>
    public static void ResetPeak()
    {
        if (Available) File.WriteAllText("/proc/self/clear_refs", "5");
    }

    /// <summary>Resident bytes of this process, or of process <paramref name="processId"/>.</summary>
    public static long Resident(int? processId = null) => Read(processId, "VmRSS:");

    /// <summary>Peak resident bytes since the last <see cref="ResetPeak"/> (or the start).</summary>
    public static long Peak(int? processId = null) => Read(processId, "VmHWM:");

    static long Read(int? processId, string field)
    {
        if (!Available) return 0;
        try
        {
            foreach (string line in File.ReadLines(processId is int id ? $"/proc/{id}/status" : "/proc/self/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return 1024 * long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the process ended
        }
        return 0;
    }
}

using System.Runtime.InteropServices;

namespace NeuroPlugin.Benchmarks;

/// <summary>The processor time this process has used, all threads together (Linux <c>clock_gettime</c>,
/// CLOCK_PROCESS_CPUTIME_ID, nanosecond resolution). On a machine shared with other busy processes it stays close to
/// the work done, where wall time also counts the time spent waiting for a core; the profile reports both.</summary>
static partial class CpuClock
{
    [StructLayout(LayoutKind.Sequential)]
    struct TimeSpec { public long Seconds, Nanoseconds; }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    const int ProcessCpuTime = 2, ThreadCpuTime = 3;

    public static double Seconds => ClockGetTime(ProcessCpuTime, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : double.NaN;

    /// <summary>The processor time the calling thread has used (CLOCK_THREAD_CPUTIME_ID): the work of a single-threaded
    /// loop, whatever else the machine runs.</summary>
    public static double ThreadSeconds => ClockGetTime(ThreadCpuTime, out var t) == 0 ? t.Seconds + t.Nanoseconds * 1e-9 : double.NaN;
}

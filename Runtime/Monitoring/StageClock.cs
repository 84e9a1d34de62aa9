using System.Diagnostics;

namespace NeuroPlugin.Monitoring;

/// <summary>
/// Times each stage of the sampled steps, one ring slot per sample in flight. On a backend with a device timer (GL) a
/// stage is bracketed by two timestamps (<see cref="IDeviceTimer"/>), read later without waiting; two per stage rather
/// than one per boundary, because a frame-budgeted trainer runs a step's stages across frames with the game's own GPU
/// work between them. On the CPU the work is done when the call returns, so the wall clock measures it.
/// Allocates nothing after construction.
/// </summary>
internal sealed class StageClock : IDisposable
{
    readonly IDeviceTimer? timer;
    readonly int stages;
    readonly double[] seconds;  // [slot × stages]
    long hostStart;

    public StageClock(IBackend backend, int stages, int slots)
    {
        this.stages = stages;
        seconds = new double[slots * stages];
        if (stages > 0) timer = backend.CreateDeviceTimer(2 * slots * stages);
    }

    public void Start(int slot, int stage)
    {
        if (timer is not null) timer.Record(2 * (slot * stages + stage));
        else hostStart = Stopwatch.GetTimestamp();
    }

    public void Stop(int slot, int stage)
    {
        if (timer is not null) timer.Record(2 * (slot * stages + stage) + 1);
        else seconds[slot * stages + stage] = Stopwatch.GetElapsedTime(hostStart).TotalSeconds;
    }

    /// <summary>Submits the recorded timestamps (<see cref="IDeviceTimer.Flush"/>), so they complete without a later flush.</summary>
    public void Flush() => timer?.Flush();

    /// <summary>Non-blocking: true when every stage time of <paramref name="slot"/> is known (at once on the CPU).</summary>
    public bool TryCollect(int slot)
    {
        if (timer is null) return true;
        for (int stage = 0; stage < stages; stage++)
        {
            int first = 2 * (slot * stages + stage);
            if (!timer.TryRead(first, out long start) || !timer.TryRead(first + 1, out long end)) return false;
            seconds[slot * stages + stage] = (end - start) * 1e-9;
        }
        return true;
    }

    /// <summary>Each stage's time of <paramref name="slot"/>, in seconds (after <see cref="TryCollect"/> returned true).</summary>
    public ReadOnlySpan<double> Seconds(int slot) => seconds.AsSpan(slot * stages, stages);

    public void Dispose() => timer?.Dispose();
}

namespace NeuroPlugin.Tests.TestSupport;

/// <summary>
/// The tests' one check that a steady-state step (a training step, an inference, a frame) allocates no managed memory.
/// Bytes are counted on the calling thread and on the CPU backend's pool threads (<see cref="CpuWorkers.WorkerAllocatedBytes"/>).
/// Before measuring, the step is warmed up long enough for the JIT's tiering: the first calls compile shaders, size
/// workspaces and create optimizer state, and a method promoted to tier 1 during the measured calls was seen to allocate
/// a few KB once. Tier-up waits for 30 calls and then for a quiet spell of its own (which a loaded machine stretches), so
/// the warm-up is both a number of calls and a time.
/// </summary>
public static class AllocationAssert
{
    /// <summary>Calls of a step before any measurement (3 were seen to be too few, 40 enough).</summary>
    public const int WarmUpCalls = 40;

    /// <summary>The least time the warm-up lasts, whatever the number of calls.</summary>
    public static readonly TimeSpan WarmUpTime = TimeSpan.FromSeconds(1);

    /// <summary>Calls <paramref name="step"/> with the indices 0, 1, … at least <see cref="WarmUpCalls"/> times and for at
    /// least <see cref="WarmUpTime"/>; returns the number of calls made (the next index).</summary>
    public static int WarmUp(Action<int> step)
    {
        var clock = Stopwatch.StartNew();
        int calls = 0;
        while (calls < WarmUpCalls || clock.Elapsed < WarmUpTime) step(calls++);
        return calls;
    }

    /// <summary>Managed bytes allocated by <paramref name="action"/> on this thread and on the CPU backend's pool threads.</summary>
    public static long AllocatedBy(Action action)
    {
        var (thread, workers) = Measure(action);
        return thread + workers;
    }

    /// <summary>
    /// Warms <paramref name="step"/> up (<see cref="WarmUp"/>), then asserts that <paramref name="calls"/> more calls (their
    /// indices follow the warm-up's) allocate no managed memory and, with <paramref name="backend"/>, read nothing back
    /// (<see cref="IBackend.ReadbackCount"/>). <paramref name="afterWarmUp"/> runs between the two, outside the measurement.
    /// </summary>
    public static void SteadyStateAllocatesNothing(Action<int> step, int calls, string what, IBackend? backend = null, Action? afterWarmUp = null)
    {
        int first = WarmUp(step);
        afterWarmUp?.Invoke();
        long readbacks = backend?.ReadbackCount ?? 0;
        var (thread, workers) = Measure(() =>
        {
            for (int i = first; i < first + calls; i++) step(i);
        });
        Assert.That(thread + workers, Is.Zero, $"{what} ({thread} bytes on the calling thread, {workers} on the CPU backend's pool threads)");
        if (backend is not null)
            Assert.That(backend.ReadbackCount, Is.EqualTo(readbacks), $"{what}: readbacks");
    }

    static (long Thread, long Workers) Measure(Action action)
    {
        long workers = CpuWorkers.Shared.WorkerAllocatedBytes, thread = GC.GetAllocatedBytesForCurrentThread();
        action();
        return (GC.GetAllocatedBytesForCurrentThread() - thread, CpuWorkers.Shared.WorkerAllocatedBytes - workers);
    }
}

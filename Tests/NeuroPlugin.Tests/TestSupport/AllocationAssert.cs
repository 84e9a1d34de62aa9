namespace NeuroPlugin.Tests.TestSupport;

/// <summary>
/// The tests' one check that a steady-state step (a training step, an inference, a frame) allocates no managed memory.
/// Bytes are counted on the calling thread and on the CPU backend's pool threads (<see cref="CpuWorkers.WorkerAllocatedBytes"/>).
/// Before measuring, the step is warmed up long enough for the JIT's tiering: the first calls compile shaders, size
/// workspaces and create optimizer state, and a method promoted to tier 1 during the measured calls was seen to allocate
/// a few KB once. Tier-up waits for 30 calls and then for a quiet spell of its own (which a loaded machine stretches), so
/// the warm-up is both a number of calls and a time.
/// <para>A garbage collection during a measurement makes its count unreliable: when a collection takes back a thread's
/// allocation context, the runtime counts the context's unused rest as allocated, so a thread that allocated nothing
/// reads up to ~8 KB more (seen with a collection another thread caused). A measurement knows whether a collection ran
/// (<see cref="AllocationWindow.Disturbed"/>); one that counted bytes while disturbed is measured again.</para>
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

    /// <summary>At most this many measurements of a repeatable action, while each counted bytes and was disturbed.</summary>
    public const int MaxWindows = 4;

    /// <summary>Managed bytes allocated by <paramref name="action"/> on this thread and on the CPU backend's pool threads.
    /// The action runs again (at most <see cref="MaxWindows"/> times in all) while it counted bytes and a collection ran
    /// during it, so it must be repeatable; the last count is returned.</summary>
    public static long AllocatedBy(Action action) => MeasureUndisturbed(action).Bytes;

    static AllocationWindow MeasureUndisturbed(Action action)
    {
        var window = Measure(action);
        for (int i = 1; i < MaxWindows && window.Bytes != 0 && window.Disturbed; i++) window = Measure(action);
        return window;
    }

    /// <summary>
    /// Warms <paramref name="step"/> up (<see cref="WarmUp"/>), then asserts that <paramref name="calls"/> more calls (their
    /// indices follow the warm-up's; more calls while disturbed, see <see cref="AllocatedBy"/>) allocate no managed memory
    /// and, with <paramref name="backend"/>, read nothing back (<see cref="IBackend.ReadbackCount"/>).
    /// <paramref name="afterWarmUp"/> runs between the two, outside the measurement.
    /// </summary>
    public static void SteadyStateAllocatesNothing(Action<int> step, int calls, string what, IBackend? backend = null, Action? afterWarmUp = null)
    {
        int first = WarmUp(step);
        afterWarmUp?.Invoke();
        long readbacks = backend?.ReadbackCount ?? 0;
        var window = MeasureUndisturbed(() =>
        {
            for (int i = 0; i < calls; i++) step(first++);
        });
        Assert.That(window.Bytes, Is.Zero, $"{what} ({window.Thread} bytes on the calling thread, {window.Workers} on the CPU backend's pool threads)");
        if (backend is not null)
            Assert.That(backend.ReadbackCount, Is.EqualTo(readbacks), $"{what}: readbacks");
    }

    /// <summary>Measures <paramref name="action"/> once.</summary>
    public static AllocationWindow Measure(Action action)
    {
        var window = AllocationWindow.Start();
        action();
        return window.Stop();
    }
}

/// <summary>Managed bytes allocated on this thread (<see cref="Thread"/>) and on the CPU backend's pool threads
/// (<see cref="Workers"/>) between <see cref="Start"/> and <see cref="Stop"/>, and whether a garbage collection ran
/// meanwhile (<see cref="Disturbed"/>: the count may then include up to a few KB that nobody allocated).</summary>
public readonly record struct AllocationWindow(long Thread, long Workers, bool Disturbed)
{
    int Collections { get; init; }

    /// <summary>Bytes on this thread and the pool's.</summary>
    public long Bytes => Thread + Workers;

    /// <summary>A window opened now: its fields hold the counters at the start. The pool is read first: its first use
    /// creates it (its threads and their start-up), which a GL-only test would otherwise count as its step's.</summary>
    public static AllocationWindow Start()
    {
        long workers = CpuWorkers.Shared.WorkerAllocatedBytes;
        return new(GC.GetAllocatedBytesForCurrentThread(), workers, false) { Collections = GC.CollectionCount(0) };
    }

    /// <summary>The bytes allocated since <see cref="Start"/> (on the same thread).</summary>
    public AllocationWindow Stop()
    {
        long thread = GC.GetAllocatedBytesForCurrentThread(), workers = CpuWorkers.Shared.WorkerAllocatedBytes;
        return new(thread - Thread, workers - Workers, GC.CollectionCount(0) != Collections);
    }
}

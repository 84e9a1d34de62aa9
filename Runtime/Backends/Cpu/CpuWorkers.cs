using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>Work split into independent tasks: <c>Run(task, participant)</c> for every task in [0, count), each
/// exactly once, on some participant (0 is the calling thread). Tasks write disjoint outputs, so the result never
/// depends on which participant ran which task; <c>participant</c> only picks that thread's scratch buffers.</summary>
internal interface IParallelWork
{
    void Run(int task, int participant);
}

/// <summary>
/// A tiny persistent thread pool for the CPU backend's kernels: <see cref="MaxParticipants"/> − 1 background threads
/// that sleep until <see cref="Run"/> hands them a job. The calling thread works too and returns when every task is
/// done. The ops of a pass follow each other within microseconds, while waking a sleeping thread (and the caller's
/// wake-up at the end of a job) can cost tens of microseconds on a virtual machine, as much as a small layer: so a
/// worker watches for the next job for <see cref="SpinBeforeSleep"/> before it sleeps, and the caller waits as long for
/// the helpers' last tasks before it sleeps. Nothing is allocated per job (the job is an object the caller keeps, tasks are claimed by an interlocked
/// counter), unlike <c>Parallel.For</c>. One job at a time: a call that finds the pool busy (another backend on another
/// thread) runs its tasks alone on its own thread, which gives the same result.
/// </summary>
internal sealed class CpuWorkers
{
    /// <summary>The process's pool: one participant per logical processor, at most 8.</summary>
    public static CpuWorkers Shared { get; } = new(Math.Clamp(Environment.ProcessorCount, 1, 8));

    readonly object gate = new(), finishedGate = new();
    IParallelWork? job;
    int taskCount, taskChunk, nextTask, working, helpers, generation, busy;
    ExceptionDispatchInfo? failure;
    long workerAllocatedBytes;

    /// <summary><see cref="SpinBeforeSleep"/> in <see cref="Stopwatch"/> ticks, read at the start of each wait.</summary>
    static long spinBeforeSleep = Stopwatch.Frequency / 4000; // 250 µs

    /// <summary>How long a worker watches for the next job, and the caller for the helpers to finish, before sleeping
    /// (<see cref="CpuBackend.WorkerSpin"/>). The default, 250 µs, is longer than the gap between two ops of a pass and
    /// short enough that an idle pool gives its processors back at once.</summary>
    public static TimeSpan SpinBeforeSleep
    {
        get => TimeSpan.FromSeconds((double)Volatile.Read(ref spinBeforeSleep) / Stopwatch.Frequency);
        set => Volatile.Write(ref spinBeforeSleep, (long)(value.TotalSeconds * Stopwatch.Frequency));
    }

    /// <summary>The calling thread plus the pool's threads.</summary>
    public int MaxParticipants { get; }

    /// <summary>Managed bytes the pool's threads have allocated while running tasks, for the allocation tests
    /// (<c>GC.GetAllocatedBytesForCurrentThread</c> on the calling thread cannot see them).</summary>
    public long WorkerAllocatedBytes => Interlocked.Read(ref workerAllocatedBytes);

    CpuWorkers(int participants)
    {
        MaxParticipants = participants;
        for (int i = 1; i < participants; i++)
        {
            int participant = i;
            new Thread(() => WorkerLoop(participant)) { IsBackground = true, Name = $"NeuroPlugin CPU worker {i}" }.Start();
        }
    }

    /// <summary>Runs tasks [0, <paramref name="count"/>) of <paramref name="work"/> on up to <paramref name="threads"/>
    /// threads (this one included) and returns when all are done; rethrows the first task's exception.</summary>
    public void Run(IParallelWork work, int count, int threads)
    {
        int extra = Math.Min(Math.Min(threads, count), MaxParticipants) - 1;
        if (extra <= 0 || Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            for (int task = 0; task < count; task++) work.Run(task, 0);
            return;
        }
        try
        {
            job = work;
            taskCount = count;
            // tasks are claimed a few at a time: a depthwise layer's task (one small plane) takes less time than the
            // counter's cache line takes to move between two cores; about 8 claims a participant keep the loads even
            taskChunk = Math.Max(1, count / (8 * (extra + 1)));
            nextTask = 0;
            working = extra + 1;
            failure = null;
            lock (gate)
            {
                helpers = extra;
                generation++;
                Monitor.PulseAll(gate);
            }
            RunTasks(0);
            // every helper that was called joins and leaves this job before it ends, so none can arrive late
            // and take a task of the next one
            SpinWhile(ref working, 0, equal: false);
            lock (finishedGate)
                while (Volatile.Read(ref working) > 0) Monitor.Wait(finishedGate);
            job = null;
            failure?.Throw();
        }
        finally
        {
            Volatile.Write(ref busy, 0);
        }
    }

    void WorkerLoop(int participant)
    {
        int seen = 0;
        while (true)
        {
            SpinWhile(ref generation, seen, equal: true);
            lock (gate)
            {
                // participant p joins a job only when the job asked for at least p helpers
                while (generation == seen || participant > helpers) Monitor.Wait(gate);
                seen = generation;
            }
            RunTasks(participant);
        }
    }

    /// <summary>Spins (pause instructions, no yield) while <paramref name="field"/> equals <paramref name="value"/> (or,
    /// with <paramref name="equal"/> false, differs from it), for <see cref="SpinBeforeSleep"/> at most; the locked wait
    /// after it decides.</summary>
    static void SpinWhile(ref int field, int value, bool equal)
    {
        long deadline = Stopwatch.GetTimestamp() + Volatile.Read(ref spinBeforeSleep);
        while ((Volatile.Read(ref field) == value) == equal && Stopwatch.GetTimestamp() < deadline) Thread.SpinWait(8);
    }

    void RunTasks(int participant)
    {
        IParallelWork? work = Volatile.Read(ref job);
        long allocatedBefore = participant == 0 ? 0 : GC.GetAllocatedBytesForCurrentThread();
        int first, chunk = taskChunk;
        while ((first = Interlocked.Add(ref nextTask, chunk) - chunk) < taskCount)
            for (int task = first; task < Math.Min(first + chunk, taskCount); task++)
            {
                try { work!.Run(task, participant); }
                catch (Exception exception) { Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(exception), null); }
            }
        // counted before this participant leaves, so the caller sees it when Run returns
        if (participant != 0) Interlocked.Add(ref workerAllocatedBytes, GC.GetAllocatedBytesForCurrentThread() - allocatedBefore);
        // no task is left to claim and this participant's are done: the last one out ends the job
        if (Interlocked.Decrement(ref working) == 0)
            lock (finishedGate) Monitor.PulseAll(finishedGate);
    }
}

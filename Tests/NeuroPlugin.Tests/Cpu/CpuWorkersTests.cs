namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// <see cref="CpuWorkers"/>: every task of a job runs exactly once, on a participant below the job's thread count, whether
/// the jobs follow each other at once (a worker still watching for the next one), after a pause longer than the workers'
/// spin (they sleep and are woken), or from two threads at the same time (the second runs alone).
/// </summary>
public class CpuWorkersTests
{
    sealed class CountingWork(int tasks) : IParallelWork
    {
        public readonly int[] Runs = new int[tasks];
        public int HighestParticipant = -1;

        public void Run(int task, int participant)
        {
            Interlocked.Increment(ref Runs[task]);
            int seen;
            while (participant > (seen = Volatile.Read(ref HighestParticipant)) && Interlocked.CompareExchange(ref HighestParticipant, participant, seen) != seen) { }
        }
    }

    static void RunAndCheck(int tasks, int threads)
    {
        var work = new CountingWork(tasks);
        CpuWorkers.Shared.Run(work, tasks, threads);
        Assert.That(work.Runs, Is.All.EqualTo(1), $"{tasks} tasks on {threads} threads: every task once");
        Assert.That(work.HighestParticipant, Is.LessThan(Math.Max(1, threads)), $"{tasks} tasks on {threads} threads: participants");
    }

    [Test]
    public void Jobs_BackToBack_AfterPauses_AndWithVaryingThreadCounts_RunEveryTaskOnce()
    {
        int most = CpuWorkers.Shared.MaxParticipants;
        for (int job = 0; job < 2000; job++) RunAndCheck(1 + job % 37, 1 + job % (most + 1));
        for (int job = 0; job < 5; job++)
        {
            Thread.Sleep(5); // longer than the spin: the workers sleep and must be woken
            RunAndCheck(64, most);
            RunAndCheck(3, 1);
        }
    }

    [Test]
    public void Jobs_FromTwoThreadsAtOnce_RunEveryTaskOnce()
    {
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            try { for (int job = 0; job < 500; job++) RunAndCheck(1 + job % 29, CpuWorkers.Shared.MaxParticipants); }
            catch (Exception exception) { failures.Enqueue(exception); }
        })).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void WorkerSpin_Zero_RunsEveryTaskOnce_AndOutOfRangeIsRefused()
    {
        TimeSpan before = CpuBackend.WorkerSpin;
        Assert.That(before, Is.EqualTo(TimeSpan.FromMicroseconds(250)).Within(TimeSpan.FromMicroseconds(1)));
        try
        {
            CpuBackend.WorkerSpin = TimeSpan.Zero;
            Assert.That(CpuBackend.WorkerSpin, Is.EqualTo(TimeSpan.Zero));
            int most = CpuWorkers.Shared.MaxParticipants;
            for (int job = 0; job < 500; job++) RunAndCheck(1 + job % 23, 1 + job % (most + 1));
        }
        finally { CpuBackend.WorkerSpin = before; }

        var tooLong = Assert.Throws<ArgumentOutOfRangeException>(() => CpuBackend.WorkerSpin = TimeSpan.FromMilliseconds(11));
        Assert.That(tooLong!.Message, Does.Contain("CpuBackend.WorkerSpin"));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuBackend.WorkerSpin = TimeSpan.FromTicks(-1));
        Assert.That(CpuBackend.WorkerSpin, Is.EqualTo(before));
    }
}

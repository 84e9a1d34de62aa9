using NeuroPlugin.Monitoring;
using NeuroPlugin.Monitoring.Live;

namespace NeuroPlugin.Tests.Monitoring.Live;

/// <summary>
/// A game loop on its own thread, as a game runs one: the CPU backend trains <see cref="MonitorWorkload"/> within a
/// 1 ms budget per frame (skipped while the link pauses it), a frame lasts about 2 ms, and the link is started, ended and
/// disposed on that thread. Records each <see cref="LiveLink.EndFrame"/>'s time and managed allocation.
/// </summary>
sealed class LiveGame : IDisposable
{
    /// <summary>Options for tests: a sample every 2 steps, sends every 20 ms.</summary>
    public static readonly LiveLinkOptions Quick = new() { Monitor = new MonitorOptions { Every = 2 }, SendInterval = TimeSpan.FromMilliseconds(20) };

    readonly Thread thread;
    readonly ManualResetEventSlim started = new();
    readonly List<(double Milliseconds, long Bytes)> endFrames = [];
    readonly System.Collections.Concurrent.ConcurrentQueue<float> rates = new();
    volatile bool stopping;
    Exception? failure;
    LiveLink? link;

    public LiveGame(LiveLinkOptions options)
    {
        thread = new Thread(() => Play(options)) { IsBackground = true, Name = "live game" };
        thread.Start();
        if (!started.Wait(TimeSpan.FromSeconds(30))) throw new TimeoutException("the game did not start");
        if (failure is not null) throw new InvalidOperationException("the game failed to start", failure);
    }

    public LiveLink Link => link!;
    public float LearningRate { get; private set; }
    public float[]? Conv1Weights { get; private set; }
    public string? CheckpointPath { get; set; }
    /// <summary>Whether the game trains (false: frames go on without <c>trainer.Advance</c>, so the feed stays still).</summary>
    public bool Training { get; set; } = true;
    public Exception? Failure => failure;

    /// <summary>The game itself sets the optimizer's learning rate (as a schedule would), on its thread, next frame.</summary>
    public void ChangeLearningRate(float rate) => rates.Enqueue(rate);

    /// <summary>EndFrame's time and managed bytes per frame so far (after the first <paramref name="warmUp"/> frames).</summary>
    public (double Milliseconds, long Bytes)[] EndFrames(int warmUp = 0)
    {
        lock (endFrames) return endFrames.Skip(warmUp).ToArray();
    }

    void Play(LiveLinkOptions options)
    {
        try
        {
            using var backend = new CpuBackend();
            using var workload = new MonitorWorkload(backend);
            using var plan = ExecutionPlan.ForTraining(workload.Network, 4);
            using var optimizer = new Adam(0.01f);
            using var trainer = new FrameBudgetedTrainer(plan, optimizer, new MonitorWorkload.Batches(MonitorWorkload.Dataset(64, seed: 3), 4));
            options = options with { Checkpoint = options.EnableControl ? () => CheckpointPath ?? throw new IOException("no checkpoint path") : null };
            using var live = LiveLink.Start(trainer, options);
            live.FrameInput = plan.Input;
            LearningRate = optimizer.LearningRate;
            link = live;
            started.Set();
            while (!stopping)
            {
                long start = Stopwatch.GetTimestamp();
                while (rates.TryDequeue(out float rate)) optimizer.LearningRate = rate;
                if (!live.TrainingPaused && Training) trainer.Advance(TimeSpan.FromMilliseconds(1));
                while (Stopwatch.GetElapsedTime(start).TotalMilliseconds < 2) Thread.Sleep(0);
                var frameTime = Stopwatch.GetElapsedTime(start);
                long bytes = GC.GetAllocatedBytesForCurrentThread(), at = Stopwatch.GetTimestamp();
                live.EndFrame(frameTime);
                double endFrameMs = Stopwatch.GetElapsedTime(at).TotalMilliseconds;
                bytes = GC.GetAllocatedBytesForCurrentThread() - bytes;
                lock (endFrames) endFrames.Add((endFrameMs, bytes));
                LearningRate = optimizer.LearningRate;
                if (live.TrainingPaused && Conv1Weights is null) Conv1Weights = workload.Network.Parameter("conv1.weight").ToArray();
                if (!live.TrainingPaused) Conv1Weights = null;
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        finally
        {
            started.Set();
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds (checked every 20 ms), failing after <paramref name="seconds"/>.</summary>
    public void WaitUntil(Func<bool> condition, string what, double seconds = 20)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (failure is not null) throw new InvalidOperationException("the game failed", failure);
            if (clock.Elapsed.TotalSeconds > seconds) Assert.Fail($"timed out waiting for {what}");
            Thread.Sleep(20);
        }
    }

    public void Dispose()
    {
        stopping = true;
        thread.Join(TimeSpan.FromSeconds(30));
        if (failure is not null) throw new InvalidOperationException("the game failed", failure);
    }
}

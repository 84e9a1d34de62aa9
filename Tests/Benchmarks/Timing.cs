namespace NeuroPlugin.Benchmarks;

/// <summary>The seconds of each timed iteration of one measurement. The median is the figure reported: on a shared
/// machine an iteration that another process interrupted is slower, never faster, so the median of many iterations
/// tracks the undisturbed time better than the mean.</summary>
sealed record Timing(double[] Seconds)
{
    public double Median
    {
        get
        {
            var sorted = Seconds.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
    }

    /// <summary>Runs <paramref name="step"/> for <paramref name="seconds"/> of warm-up (the JIT tiers up, caches fill),
    /// then for <paramref name="seconds"/> more (at least 3 iterations), timing each call.</summary>
    public static Timing Of(Action step, double seconds)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds) step();
        var times = new List<double>();
        clock.Restart();
        while (clock.Elapsed.TotalSeconds < seconds || times.Count < 3)
        {
            long start = Stopwatch.GetTimestamp();
            step();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return new Timing([.. times]);
    }
}

/// <summary>What a benchmark runs: a zoo model, training or inference, at a batch size and a thread count.</summary>
sealed record Workload(string Model, bool Training, int Batch, int Threads)
{
    public override string ToString() => $"{Model} {(Training ? "training" : "inference")} batch {Batch}, {Threads} thread{(Threads == 1 ? "" : "s")}";
}

/// <summary>A framework that runs workloads: ours or a peer.</summary>
interface IRunner : IDisposable
{
    string Name { get; }
    /// <summary>Whether this runner measures this kind of work (ONNX Runtime only infers).</summary>
    bool Supports(Workload workload);
    Timing Measure(Workload workload, double seconds);
}

namespace NeuroPlugin.Benchmarks;

/// <summary>
/// <c>neuro-bench jitter [frames] [ms] [gl|cpu]</c>: the machine's floor for frame budgets. Every frame runs the same
/// work — a fixed number of forward passes of <c>Samples/InGameLearning</c>'s network (the zoo's LeNet-5 for 1×32×32
/// images, 4 classes) at batch 16, on the GL device (each frame ends with <c>glFinish</c>, so the time is the work's,
/// not its issue) or the CPU backend — calibrated so a frame takes about <c>ms</c>. No scheduler decides anything, so
/// the frames that take more than 1 ms longer than the median are what the machine itself adds (time slices lost to
/// other threads and processes, the software rasterizer's workers sharing the cores): a frame-budgeted runner cannot
/// keep its overruns by more than 1 ms below that share without setting aside more than 1 ms of every frame.
/// </summary>
static class Jitter
{
    public static int Run(string[] args)
    {
        int frames = args.Length > 0 ? int.Parse(args[0]) : 3000;
        double targetMs = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 4;
        bool gl = args.Length <= 2 || args[2] == "gl";
        using IBackend backend = gl ? GLBackend.CreateHeadless() : new CpuBackend();
        var graph = ModelZoo.Build("lenet5", new ModelOptions(InputChannels: 1, ImageSize: 32, Classes: 4));
        using var network = Network.Create(graph, backend, seed: 1);
        using var plan = ExecutionPlan.ForInference(network, 16);
        var glDevice = (backend as GLBackend)?.Device;

        double RunFrame(int passes)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < passes; i++) plan.Forward();
            glDevice?.GL.Finish();
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        // calibration: the median of 50 single passes sets the passes per frame, after 3 s of passes (the tiered JIT's
        // optimized code, the driver's compiled shaders)
        for (long warm = Stopwatch.GetTimestamp(); Stopwatch.GetElapsedTime(warm).TotalSeconds < 3;) RunFrame(1);
        var single = Enumerable.Range(0, 50).Select(_ => RunFrame(1)).Order().ToArray();
        int perFrame = Math.Max(1, (int)Math.Round(targetMs / single[single.Length / 2]));

        var times = new double[frames];
        for (int frame = 0; frame < frames; frame++) times[frame] = RunFrame(perFrame);
        var sorted = times.Order().ToArray();
        double median = sorted[frames / 2];
        int late = times.Count(t => t > median + 1);
        Console.WriteLine($"{backend.Name} ({backend.DeviceName}): {frames} frames of {perFrame} forward passes (batch 16), the same work each");
        Console.WriteLine($"frame time (ms): p50 {median:0.00}, p99 {sorted[(int)(0.99 * (frames - 1))]:0.00}, " +
            $"p99.9 {sorted[(int)(0.999 * (frames - 1))]:0.00}, max {sorted[^1]:0.00}");
        Console.WriteLine($"over the median by > 1 ms: {late} of {frames} frames ({100.0 * late / frames:0.00} %)");
        return 0;
    }
}

using System.Diagnostics;
using NeuroPlugin.Backends;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Backends.OpenGL;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Training;

namespace NeuroPlugin.Samples.InGameLearning;

/// <summary>
/// <c>--inference-model M</c>: a model too big for one frame (ResNet-18 at 224×224 on llvmpipe takes hundreds of
/// milliseconds) spread over frames by <see cref="FrameBudgetedInference"/> at <c>--inference-budget-ms</c> each (default
/// 2). Every frame advances the pass in progress (the next pass begins as soon as one finishes) and then "presents"
/// (<c>glFinish</c>); the run prints the per-frame inference time figures, the passes per second and the frame-time
/// percentiles, and writes <c>budget.png</c>. No game is rendered: the frame is the inference alone. With <c>--cpu</c> the
/// model runs on the CPU backend (its convolutions split by sample and channel tile). Unless <c>--no-warm-up</c>, the
/// passes are warmed up first (<see cref="FrameBudgetedInference.WarmUp"/>), as a game would on its loading screen.
/// </summary>
internal static class InferenceRun
{
    public static int Run(Options options)
    {
        var budget = options.InferenceBudget ?? TimeSpan.FromMilliseconds(2);
        if (options.WorkerSpin is { } spin) CpuBackend.WorkerSpin = spin;
        using IBackend backend = options.Cpu ? new CpuBackend() : GLBackend.CreateHeadless();
        var gl = backend as GLBackend;
        var graph = ModelZoo.Build(options.InferenceModel!);
        using var network = Network.Create(graph, backend, options.Seed);
        using var plan = ExecutionPlan.ForInference(network, 1);
        var random = new Random(options.Seed);
        plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray());
        using var inference = new FrameBudgetedInference(plan) { SplitStages = !options.WholeStages, MarginPercentile = options.MarginPercentile,
            LastItemLimit = options.LastItemLimit };
        string mode = $"{budget.TotalMilliseconds:0.#} ms per frame{(options.WholeStages ? ", whole stages" : "")}";
        Console.WriteLine($"InGameLearning, budgeted inference: {options.InferenceModel} {plan.Input.Shape}, {options.Frames} frames, {mode}");
        Console.WriteLine(gl is null ? backend.DeviceName : $"GL: {gl.Device.Renderer} ({gl.Device.Version})");
        if (options.WarmUp)
        {
            // the loading screen: a pass compiles the kernels, two more teach the scheduler every node's cost at this budget
            long warmUpStart = Stopwatch.GetTimestamp();
            inference.WarmUp(budget);
            Console.WriteLine($"warm-up (loading): {Stopwatch.GetElapsedTime(warmUpStart).TotalMilliseconds:0} ms; one pass estimated at " +
                $"{inference.EstimatedPassTime.TotalMilliseconds:0.0} ms");
        }

        var frameTimes = new double[options.Frames];
        var inferenceTimes = new double[options.Frames];
        var frameReports = options.FrameLog is null ? null : new FrameReport[options.Frames]; // --frame-log: the runner's report per frame
        int firstPassFrames = 0;
        var clock = Stopwatch.StartNew();
        for (int frame = 1; frame <= options.Frames; frame++)
        {
            long start = Stopwatch.GetTimestamp();
            if (!inference.IsRunning) inference.Begin();
            inference.Advance(budget);
            inferenceTimes[frame - 1] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (frameReports is not null) frameReports[frame - 1] = inference.LastFrame;
            if (firstPassFrames == 0 && inference.CompletedPasses == 1) firstPassFrames = frame;
            gl?.Device.GL.Finish(); // present
            frameTimes[frame - 1] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        gl?.Device.CheckErrors("the inference loop");

        if (options.FrameLog is not null)
        {
            Report.SaveFrameLog(options.FrameLog, frameTimes, inferenceTimes, frameReports!);
            Console.WriteLine($"wrote {options.FrameLog}");
        }
        Array.Sort(frameTimes);
        Console.WriteLine($"frame time (ms): p50 {Report.Percentile(frameTimes, 50):0.00}, p95 {Report.Percentile(frameTimes, 95):0.00}, p99 {Report.Percentile(frameTimes, 99):0.00}, max {frameTimes[^1]:0.00}");
        int parts = Enumerable.Range(0, inference.StageCount).Sum(inference.StagePartCount);
        Console.WriteLine($"inference: {inference.CompletedPasses} passes ({inference.CompletedPasses / seconds:0.00} per second of wall time, " +
            $"{inference.CompletedPasses / (options.Frames * Game.TimeStep):0.00} per second at 60 frames/s); one pass estimated at " +
            $"{inference.EstimatedPassTime.TotalMilliseconds:0.0} ms ({inference.StageCount} nodes, {parts} parts); the first pass took {firstPassFrames} frames");
        Report.PrintBudgetFigures("inference", inferenceTimes, budget.TotalMilliseconds, Math.Max(firstPassFrames, 1));
        Directory.CreateDirectory(options.Out);
        string chart = Path.Combine(options.Out, "budget.png");
        Report.SaveBudgetChart(inferenceTimes, budget.TotalMilliseconds, "inference", chart,
            $"{options.InferenceModel} inference time per frame, {mode}");
        Console.WriteLine($"wrote {chart}");
        return 0;
    }
}

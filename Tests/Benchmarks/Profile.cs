namespace NeuroPlugin.Benchmarks;

/// <summary>
/// <c>neuro-bench profile MODEL [infer|train] [batch] [threads|gl]</c>: where a step spends its time, on the CPU backend
/// (with that many threads) or on GL (<c>gl</c>: a headless context, llvmpipe where there is no GPU). Runs the plan's
/// stages one by one, each timed by the processor time of the whole process (<see cref="CpuClock"/>: every thread, the
/// driver's too; on a shared machine steadier than wall time), the same kernels a step runs in the same order, and prints
/// the stages by total time, then the totals per layer type, so that an optimisation starts from the largest measured
/// cost. On GL every dispatch is waited for (<see cref="GLDevice.SynchronousCommands"/>), so a stage's time is its own
/// work on any driver; the waits themselves cost a little. With <c>NEURO_PROFILE_WALL=1</c> each stage is timed by wall
/// time instead: with several threads the process's processor time of the other threads is only brought up to date at
/// the scheduler's ticks, so a stage of a few hundred microseconds is misread (and their spinning between jobs counts).
/// </summary>
static class Profile
{
    public static int Run(string[] args)
    {
        string model = args.Length > 0 ? args[0] : "lenet5";
        bool train = args.Length > 1 && args[1] == "train";
        int batch = args.Length > 2 ? int.Parse(args[2]) : train ? 64 : 1;
        bool gl = args.Length > 3 && args[3] == "gl";
        int threads = args.Length > 3 && !gl ? int.Parse(args[3]) : Environment.ProcessorCount;
        var graph = ModelZoo.Build(model);
        using IBackend backend = gl ? SynchronousGL() : new CpuBackend { Threads = threads };
        using var network = Network.Create(graph, backend, seed: 1);
        using var plan = train ? ExecutionPlan.ForTraining(network, batch) : ExecutionPlan.ForInference(network, batch);
        Workloads.FillInputs(plan, new Random(1));
        var stages = train ? plan.TrainingStages : plan.InferenceStages;
        var optimizer = new Sgd(0.01f);
        Tensors.Tensor[] parameters = [.. plan.Parameters], gradients = [.. plan.ParameterGradients];
        var seconds = new double[stages.Count];
        // each stage's fastest step too: on a shared machine the minimum is the steadiest figure
        var fastest = Enumerable.Repeat(double.MaxValue, stages.Count + 1).ToArray();
        bool wallStages = Environment.GetEnvironmentVariable("NEURO_PROFILE_WALL") == "1";
        double Now() => wallStages ? Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency : CpuClock.Seconds;
        double update = 0, wall = 0;
        void Step(bool record)
        {
            long step = Stopwatch.GetTimestamp();
            for (int s = 0; s < stages.Count; s++)
            {
                double start = Now();
                if (train) plan.RunTrainingStage(s); else plan.RunInferenceStage(s);
                double spent = Now() - start;
                if (record) (seconds[s], fastest[s]) = (seconds[s] + spent, Math.Min(fastest[s], spent));
            }
            if (train)
            {
                double begin = Now();
                optimizer.Step(backend, parameters, gradients);
                double spent = Now() - begin;
                if (record) (update, fastest[^1]) = (update + spent, Math.Min(fastest[^1], spent));
            }
            if (record) wall += Stopwatch.GetElapsedTime(step).TotalSeconds;
        }
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 2) Step(record: false);
        int steps = 0;
        clock.Restart();
        while (clock.Elapsed.TotalSeconds < 5 || steps < 3) { Step(record: true); steps++; }
        double total = seconds.Sum() + update;
        Console.WriteLine($"{model} {(train ? "training" : "inference")}, batch {batch}, {(gl ? backend.DeviceName : $"{threads} threads")}: {total / steps * 1e3:F3} ms of {(wallStages ? "wall" : "processor")} time a step " +
            $"({wall / steps * 1e3:F3} ms wall) over {steps} steps; the sum of each stage's fastest: {fastest.Where(f => f < double.MaxValue).Sum() * 1e3:F3} ms");
        var byStage = stages.Select((stage, s) => (Name: stage.Name, Kind: KindOf(graph, stage), Seconds: seconds[s], Fastest: fastest[s]))
            .Append((Name: "optimizer step", Kind: "optimizer", Seconds: update, Fastest: train ? fastest[^1] : 0)).ToArray();
        Console.WriteLine("  mean a step, share, fastest step, stage");
        foreach (var (name, _, time, best) in byStage.OrderByDescending(s => s.Seconds).Take(Environment.GetEnvironmentVariable("NEURO_PROFILE_ALL") is null ? 25 : int.MaxValue))
            Console.WriteLine($"  {time / steps * 1e3,9:F3} ms {100 * time / total,5:F1}% {best * 1e3,9:F3} ms  {name}");
        Console.WriteLine("by kind:");
        foreach (var group in byStage.GroupBy(s => s.Kind).OrderByDescending(g => g.Sum(s => s.Seconds)))
            Console.WriteLine($"  {group.Sum(s => s.Seconds) / steps * 1e3,9:F3} ms {100 * group.Sum(s => s.Seconds) / total,5:F1}%  {group.Key}");
        return 0;
    }

    static GLBackend SynchronousGL()
    {
        var backend = GLBackend.CreateHeadless();
        backend.Device.SynchronousCommands = true;
        return backend;
    }

    /// <summary>"forward Conv2d", "backward BatchNorm2d", "loss" …</summary>
    static string KindOf(NetworkGraph graph, PlanStage stage) => stage.Kind switch
    {
        PlanStageKind.Forward or PlanStageKind.Backward =>
            $"{stage.Kind.ToString().ToLowerInvariant()} {graph.Nodes.First(n => stage.Name.EndsWith(" " + n.Name, StringComparison.Ordinal)).Layer.GetType().Name}",
        _ => stage.Kind.ToString().ToLowerInvariant(),
    };
}

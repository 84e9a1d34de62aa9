using NeuroPlugin.Benchmarks;

return (args.Length > 0 ? args[0] : "") switch
{
    "table" => Table.Run(args[1..]),
    "scaling" => Scaling.Run(args[1..]),
    "profile" => Profile.Run(args[1..]),
    "monitor-json" => MonitorJsonBench.Run(args[1..]),
    "jitter" => Jitter.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: neuro-bench table [repeats] [seconds] [model]   ours vs ONNX Runtime and PyTorch, interleaved (README's table)
               neuro-bench scaling [model] [train|infer] [seconds] [chart.png]   images/s against batch 1–256 and threads, with the peers
               neuro-bench profile MODEL [infer|train] [batch] [threads|gl]   where a step spends its time (CPU or GL)
               neuro-bench monitor-json [repeats] [FILE] [--warm-up]   one monitor sample's serialization: µs and bytes allocated
               neuro-bench jitter [frames] [ms] [gl|cpu]   the same work every frame: how often the machine makes it > 1 ms late
        """);
    return 2;
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using NeuroPlugin.Backends;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.GpuCheck;

/// <summary>Training throughput as <c>neuro bench</c> measures it: synthetic batch, at least 30 steps and 2 s of warm-up,
/// then <c>--steps</c> timed steps closed by a loss readback (so queued GPU work is counted).</summary>
static class BenchmarkRun
{
    public static JsonObject Run(CommandOptions options)
    {
        string model = options.Get("model") ?? "lenet5", backendName = options.Require("backend");
        int batch = options.Int("batch", 64), steps = options.Int("steps", 100);
        using IBackend backend = backendName == "cpu" ? new CpuBackend() : TrainingRun.CreateGL(sync: false, validation: null);
        using var network = Network.Create(ModelZoo.Build(model), backend, seed: 1);
        using var plan = ExecutionPlan.ForTraining(network, batch);
        var random = new Random(1);
        var input = new float[plan.Input.Length];
        for (int i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 2 - 1);
        plan.Input.Upload(input);
        var targets = new float[plan.Target!.Length];
        int classes = plan.Target.Shape[1];
        for (int n = 0; n < batch; n++) targets[n * classes + random.Next(classes)] = 1f;
        plan.Target.Upload(targets);
        var optimizer = new Sgd(0.01f);
        var warmUp = Stopwatch.StartNew();
        for (int i = 0; i < 30 || warmUp.Elapsed.TotalSeconds < 2; i++) plan.TrainStep(optimizer);
        plan.ReadLoss();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) plan.TrainStep(optimizer);
        plan.ReadLoss();
        return new JsonObject
        {
            ["model"] = model,
            ["backend"] = backendName,
            ["device"] = backend.DeviceName,
            ["batch"] = batch,
            ["steps"] = steps,
            ["trainImagesPerSecond"] = Math.Round(steps * batch / clock.Elapsed.TotalSeconds),
        };
    }
}

using System.Text.Json.Nodes;
using NeuroPlugin.Backends;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;
using NeuroPlugin.Models;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.GpuCheck;

/// <summary>Training throughput as <c>neuro bench</c> measures it (<see cref="TrainingThroughput"/>), <c>--steps</c> timed steps.</summary>
static class BenchmarkRun
{
    public static JsonObject Run(CommandOptions options)
    {
        string model = options.Get("model") ?? "lenet5", backendName = options.Require("backend");
        int batch = options.Int("batch", 64), steps = options.Int("steps", 100);
        using IBackend backend = backendName == "cpu" ? new CpuBackend() : TrainingRun.CreateGL(sync: false, validation: null);
        using var network = Network.Create(ModelZoo.Build(model), backend, seed: 1);
        using var plan = ExecutionPlan.ForTraining(network, batch);
        TrainingThroughput.FillSyntheticBatch(plan, new Random(1));
        double imagesPerSecond = TrainingThroughput.ImagesPerSecond(plan, new Sgd(0.01f), steps);
        return new JsonObject
        {
            ["model"] = model,
            ["backend"] = backendName,
            ["device"] = backend.DeviceName,
            ["batch"] = batch,
            ["steps"] = steps,
            ["trainImagesPerSecond"] = Math.Round(imagesPerSecond),
        };
    }
}

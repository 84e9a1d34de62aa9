using NeuroPlugin.Tensors;

namespace NeuroPlugin.Benchmarks;

/// <summary>The CPU backend: a training step (forward, loss, backward, SGD) on a plan made once, or batch-1 style
/// inference (upload the images, forward, download the logits) — what <c>neuro bench</c> and a game do.</summary>
sealed class OursRunner : IRunner
{
    readonly Dictionary<Workload, (CpuBackend Backend, Network Network, ExecutionPlan Plan)> plans = [];

    public string Name => "NeuroPlugin CPU";

    public bool Supports(Workload workload) => true;

    public Timing Measure(Workload workload, double seconds)
    {
        if (!plans.TryGetValue(workload, out var entry))
        {
            var backend = new CpuBackend { Threads = workload.Threads };
            var network = Network.Create(ModelZoo.Build(workload.Model), backend, seed: 1);
            var plan = workload.Training ? ExecutionPlan.ForTraining(network, workload.Batch) : ExecutionPlan.ForInference(network, workload.Batch);
            Workloads.FillInputs(plan, new Random(1));
            plans[workload] = entry = (backend, network, plan);
        }
        var (cpu, _, planned) = entry;
        if (workload.Training)
        {
            var optimizer = new Sgd(0.01f);
            Tensor[] parameters = [.. planned.Parameters], gradients = [.. planned.ParameterGradients];
            return Timing.Of(() =>
            {
                planned.ComputeGradients();
                optimizer.Step(cpu, parameters, gradients);
            }, seconds);
        }
        float[] images = Workloads.Uniform(new Random(2), planned.Input.Length), logits = new float[planned.Output.Length];
        return Timing.Of(() =>
        {
            planned.Input.Upload(images);
            planned.Forward();
            planned.Output.Download(logits);
        }, seconds);
    }

    /// <summary>The logits of <paramref name="images"/> from a fresh inference plan of the seed-1 network, for the check
    /// against a peer given the same weights.</summary>
    public static float[] Logits(Network network, float[] images, int batch)
    {
        using var plan = ExecutionPlan.ForInference(network, batch);
        plan.Input.Upload(images);
        plan.Forward();
        return plan.Output.ToArray();
    }

    public void Dispose()
    {
        foreach (var (backend, network, plan) in plans.Values)
        {
            plan.Dispose();
            network.Dispose();
            backend.Dispose();
        }
        plans.Clear();
    }
}

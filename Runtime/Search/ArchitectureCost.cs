using System.Diagnostics;
using NeuroPlugin.Execution;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Search;

/// <summary>
/// What an architecture costs a game: learnable parameters, forward FLOPs per image (2 per multiply–accumulate, as
/// <c>neuro inspect</c> counts them) and the latency of one image on a backend, measured.
/// </summary>
/// <param name="Parameters">Learnable parameters (batch norm's running statistics not counted, as torchvision counts).</param>
/// <param name="Flops">Forward FLOPs for one image: 2 × the layers' multiply–accumulates.</param>
/// <param name="LatencyMilliseconds">Median wall time of one batch-1 inference: upload the image, forward, download the
/// logits (so queued device work is counted), on the backend it was measured on.</param>
public readonly record struct ArchitectureCost(long Parameters, long Flops, double LatencyMilliseconds)
{
    /// <summary>Batch-1 inferences timed per measurement (the median is reported), after <see cref="WarmUpRuns"/> untimed ones.</summary>
    public const int TimedRuns = 21, WarmUpRuns = 5;

    /// <summary>Parameters and forward FLOPs per image of <paramref name="graph"/>, from its shapes (nothing allocated on a backend).</summary>
    public static (long Parameters, long Flops) Count(NetworkGraph graph)
    {
        var shapes = graph.InferShapes(1);
        long parameters = 0, multiplyAccumulates = 0;
        foreach (var node in graph.Nodes)
        {
            foreach (var spec in node.Layer.Parameters) parameters += spec.Shape.Length;
            var inputs = new TensorShape[node.Inputs.Count];
            for (int i = 0; i < inputs.Length; i++) inputs[i] = shapes[node.Inputs[i]];
            multiplyAccumulates += node.Layer.MultiplyAccumulates(inputs, shapes[node.Name]);
        }
        return (parameters, 2 * multiplyAccumulates);
    }

    /// <summary>
    /// The median latency in milliseconds of <see cref="TimedRuns"/> batch-1 inferences of <paramref name="network"/> on its
    /// backend (eval mode), each one upload of a fixed pseudo-random image, the forward pass and the download of the
    /// output, after <see cref="WarmUpRuns"/> runs that compile kernels and fill caches. The median, not the mean, so a
    /// run descheduled by the operating system does not move it.
    /// </summary>
    public static double MeasureLatency(Network network)
    {
        using var plan = ExecutionPlan.ForInference(network, 1);
        var image = new float[plan.Input.Length];
        var random = new Data.SplitMix64(1);
        for (int i = 0; i < image.Length; i++) image[i] = (random.Next() >> 40) / (float)(1 << 24) * 2 - 1;
        var output = new float[plan.Output.Length];
        var times = new double[TimedRuns];
        var clock = new Stopwatch();
        for (int run = -WarmUpRuns; run < TimedRuns; run++)
        {
            clock.Restart();
            plan.Input.Upload(image);
            plan.Forward();
            plan.Output.Download(output);
            if (run >= 0) times[run] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[TimedRuns / 2];
    }
}

using System.Diagnostics;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Execution;

/// <summary>
/// Training throughput measured the one way <c>neuro bench</c> and the GPU check measure it: a synthetic batch (inputs
/// uniform in [−1, 1), one-hot targets of random classes), a warm-up of at least 30 steps and 2 seconds (the JIT has tiered
/// up and every shader is compiled), then timed steps closed by a loss readback, so that queued GPU work is counted.
/// </summary>
public static class TrainingThroughput
{
    /// <summary>Uniform values in [−1, 1) from <paramref name="random"/>, <paramref name="length"/> of them.</summary>
    public static float[] RandomValues(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>Fills <paramref name="plan"/>'s input (N,…) with <see cref="RandomValues"/> and its target (N,K) with one-hot
    /// rows of classes drawn from <paramref name="random"/>, in that order.</summary>
    public static void FillSyntheticBatch(ExecutionPlan plan, Random random)
    {
        var target = plan.Target ?? throw new ArgumentException("a training plan (with a target) is needed", nameof(plan));
        plan.Input.Upload(RandomValues(random, plan.Input.Length));
        var targets = new float[target.Length];
        int classes = target.Shape[1];
        for (int n = 0; n < plan.BatchSize; n++) targets[n * classes + random.Next(classes)] = 1f;
        target.Upload(targets);
    }

    /// <summary>Warms <paramref name="plan"/> up (at least 30 steps and 2 seconds), then times <paramref name="steps"/>
    /// steps with <paramref name="optimizer"/> up to a loss readback: training images per second (steps·N / seconds).</summary>
    public static double ImagesPerSecond(ExecutionPlan plan, Optimizer optimizer, int steps) =>
        ImagesPerSecond(plan, () => plan.TrainStep(optimizer), steps);

    /// <summary>As <see cref="ImagesPerSecond(ExecutionPlan, Optimizer, int)"/> with a step of the caller's (a guarded step,
    /// say) that trains <paramref name="plan"/>.</summary>
    public static double ImagesPerSecond(ExecutionPlan plan, Action step, int steps)
    {
        ArgumentNullException.ThrowIfNull(step);
        var warmUp = Stopwatch.StartNew();
        for (int i = 0; i < 30 || warmUp.Elapsed.TotalSeconds < 2; i++) step();
        plan.ReadLoss();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) step();
        plan.ReadLoss();
        return (double)steps * plan.BatchSize / clock.Elapsed.TotalSeconds;
    }
}

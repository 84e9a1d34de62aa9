namespace NeuroPlugin.Benchmarks;

/// <summary>Synthetic inputs shared by every measurement: uniform values in [−1, 1) and one-hot targets.</summary>
static class Workloads
{
    public static void FillInputs(ExecutionPlan plan, Random random)
    {
        plan.Input.Upload(Uniform(random, plan.Input.Length));
        if (plan.Target is not { } target) return;
        var values = new float[target.Length];
        int classes = target.Shape[1];
        for (int n = 0; n < target.Shape[0]; n++) values[n * classes + random.Next(classes)] = 1f;
        target.Upload(values);
    }

    public static float[] Uniform(Random random, int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }
}

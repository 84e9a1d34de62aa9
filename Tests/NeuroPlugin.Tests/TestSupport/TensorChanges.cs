namespace NeuroPlugin.Tests.TestSupport;

/// <summary>The ways a CPU tensor's values can change, each of which must make what a backend keeps from them (packed
/// panels, transforms) stale: an upload, a copy into it, an op writing it, an upload through a reshaped view.</summary>
public static class TensorChanges
{
    /// <summary>The changes of <paramref name="x"/>, new values drawn from <paramref name="random"/> in [−1, 1).</summary>
    public static (string What, Action Change)[] Of(CpuBackend cpu, Tensor x, Random random)
    {
        float[] Values() => [.. Enumerable.Range(0, x.Length).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        var other = cpu.Allocate(x.Shape, "other");
        other.Upload(Values());
        return
        [
            ("an upload", () => x.Upload(Values())),
            ("a copy into it", () => cpu.Copy(other, x)),
            ("an activation written into it", () => cpu.ActivationForward(ActivationKind.Tanh, x, x)),
            ("an upload through a reshaped view", () => x.Reshape(new TensorShape(x.Length)).Upload(Values())),
        ];
    }
}

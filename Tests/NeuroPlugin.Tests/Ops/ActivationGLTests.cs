namespace NeuroPlugin.Tests.Ops;

/// <summary>
/// The activations' GL kernels against the CPU reference on seeded random data (1e-4 relative): exactly at their
/// kinks, with other LeakyReLU slopes, and every kind on random inputs; and a network of every layer the activation
/// family added (softmax, local response normalization and the global pools have their own tests in Ops/). Outputs
/// start as garbage (must be overwritten), gradients as random values (backward must add). (CPU finite differences:
/// <see cref="ActivationTests"/>; PyTorch: Toolkit/ActivationGoldenTests.)
/// </summary>
public sealed class ActivationGLTests : GLFixture
{
    [Test]
    public void ActivationsAtTheirKinksMatchCpu([Values] ActivationKind kind, [Values(0.01f, 0.2f, -0.3f)] float alpha)
    {
        using var twins = new TwinBackends(Backend, TwinBackends.Seed(kind, alpha));
        // every kink (0, ±3, 6), its float neighbours, and the saturated ends
        float[] points = [0f, -0f, -3f, 3f, 6f, -6f, 1e-7f, -1e-7f, 5.999999f, 6.000001f, -2.9999998f, 2.9999998f, -60f, 60f];
        var x = twins.FromValues(new TensorShape(points.Length), "x", points);
        var y = twins.Random(x.Cpu.Shape, "y", 100);
        twins.Run(be => be.ActivationForward(kind, x[be], y[be], alpha));
        TwinBackends.AssertSame(y, $"{kind}({alpha}) forward");
        var dy = twins.Random(x.Cpu.Shape, "dy");
        var dx = twins.Random(x.Cpu.Shape, "dx");
        twins.Run(be => be.ActivationBackward(kind, x[be], y[be], dy[be], dx[be], alpha));
        TwinBackends.AssertSame(dx, $"{kind}({alpha}) backward");
    }

    [Test]
    public void NetworkOfEveryNewLayerHasTheSameGradientsOnBothBackends()
    {
        // through the execution plan: workspaces (LRN's scale, the global max pool's argmax), views, fan-in
        var graph = Toolkit.ActivationLayerTests.ToolkitNetwork();
        var cpu = new CpuBackend();
        using var cpuNetwork = Network.Create(graph, cpu, seed: 5);
        using var glNetwork = Network.Create(graph, Backend, seed: 5);
        using var cpuPlan = ExecutionPlan.ForTraining(cpuNetwork, 3);
        using var glPlan = ExecutionPlan.ForTraining(glNetwork, 3);
        var random = new Random(8);
        float[] input = Enumerable.Range(0, cpuPlan.Input.Length).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        float[] target = new float[3 * 5];
        for (int n = 0; n < 3; n++) target[n * 5 + random.Next(5)] = 1f;
        foreach (var plan in new[] { cpuPlan, glPlan })
        {
            plan.Input.Upload(input);
            plan.Target!.Upload(target);
            plan.ComputeGradients();
        }
        Assert.That(glPlan.ReadLoss(), Is.EqualTo(cpuPlan.ReadLoss()).Within(1e-2).Percent);
        for (int i = 0; i < cpuPlan.Parameters.Count; i++)
            TestSupport.TensorAssert.AreClose(cpuPlan.ParameterGradients[i].ToArray(), glPlan.ParameterGradients[i].ToArray(),
                TwinBackends.Tolerance, $"gradient of {cpuNetwork.ParameterNames[i]}");
    }

    [Test]
    public void ActivationsMatchCpu([Values] ActivationKind kind, [Values(1, 1000, 4099)] int length)
    {
        using var twins = new TwinBackends(Backend, length + (int)kind);
        var values = new float[length];
        var random = new Random(length);
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 8 - 4);
        if (length > 4) { values[0] = 60; values[1] = -60; values[2] = 0; values[3] = 1e-6f; }
        var x = twins.FromValues(new TensorShape(length), "x", values);
        var y = twins.Random(x.Cpu.Shape, "y", 100);
        twins.Run(be => be.ActivationForward(kind, x[be], y[be]));
        TwinBackends.AssertSame(y, $"{kind} forward");

        var dy = twins.Random(x.Cpu.Shape, "dy");
        var dx = twins.Random(x.Cpu.Shape, "dx");
        twins.Run(be => be.ActivationBackward(kind, x[be], y[be], dy[be], dx[be]));
        TwinBackends.AssertSame(dx, $"{kind} backward");
    }
}

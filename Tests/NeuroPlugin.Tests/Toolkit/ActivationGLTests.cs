namespace NeuroPlugin.Tests.Toolkit;

/// <summary>
/// The activation family's GL kernels against the CPU reference on seeded random data (1e-4 relative):
/// activations exactly at their kinks and with other LeakyReLU slopes, softmax on odd shapes and huge
/// logits, local response normalization (every size from 1 to more than the channels, (N,C) and (N,C,H,W)),
/// and the global pools (1×1 to 28×28 planes). Outputs start as garbage (must be overwritten), gradients
/// as random values (backward must add). (GLOpTests.ActivationsMatchCpu covers every kind on random inputs.)
/// </summary>
public sealed class ActivationGLTests : GLFixture
{
    static int Seed(params object[] parts) => string.Join(",", parts).Aggregate(17, (h, ch) => h * 31 + ch);

    [Test]
    public void ActivationsAtTheirKinksMatchCpu([Values] ActivationKind kind, [Values(0.01f, 0.2f, -0.3f)] float alpha)
    {
        using var twins = new TwinBackends(Backend, Seed(kind, alpha));
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

    [TestCase(1, 1, 3.0)]
    [TestCase(7, 10, 3.0)]
    [TestCase(3, 1001, 5.0)]
    [TestCase(64, 13, 3.0)]
    [TestCase(5, 7, 500.0)]
    public void SoftmaxMatchesCpu(int rows, int classes, double scale)
    {
        using var twins = new TwinBackends(Backend, Seed(rows, classes));
        var x = twins.Random(new TensorShape(rows, classes), "x", scale);
        var y = twins.Random(x.Cpu.Shape, "y", 100);
        twins.Run(be => be.SoftmaxForward(x[be], y[be]));
        TwinBackends.AssertSame(y, "softmax forward");
        var dy = twins.Random(x.Cpu.Shape, "dy");
        var dx = twins.Random(x.Cpu.Shape, "dx");
        twins.Run(be => be.SoftmaxBackward(y[be], dy[be], dx[be]));
        TwinBackends.AssertSame(dx, "softmax backward");
    }

    public static IEnumerable<TestCaseData> LrnCases()
    {
        foreach (int size in new[] { 1, 2, 3, 4, 5, 9 })
            yield return new TestCaseData(new TensorShape(3, 7, 5, 3), size).SetArgDisplayNames($"(3,7,5,3) size {size}");
        yield return new TestCaseData(new TensorShape(1, 96, 13, 13), 5).SetArgDisplayNames("AlexNet-like (1,96,13,13) size 5");
        yield return new TestCaseData(new TensorShape(7, 6), 4).SetArgDisplayNames("(7,6) size 4");
        yield return new TestCaseData(new TensorShape(2, 1, 3, 3), 3).SetArgDisplayNames("(2,1,3,3) one channel");
    }

    [TestCaseSource(nameof(LrnCases))]
    public void LocalResponseNormMatchesCpu(TensorShape shape, int size)
    {
        const float alpha = 0.4f, beta = 0.75f, k = 1.5f;
        using var twins = new TwinBackends(Backend, Seed(shape, size));
        var x = twins.Random(shape, "x", 2);
        var y = twins.Random(shape, "y", 100);
        var scale = twins.Random(shape, "scale", 100);
        twins.Run(be => be.LocalResponseNormForward(x[be], y[be], scale[be], size, alpha, beta, k));
        TwinBackends.AssertSame(y, "lrn forward y");
        TwinBackends.AssertSame(scale, "lrn forward scale");
        var dy = twins.Random(shape, "dy");
        var dx = twins.Random(shape, "dx");
        twins.Run(be => be.LocalResponseNormBackward(x[be], y[be], scale[be], dy[be], dx[be], size, alpha, beta));
        TwinBackends.AssertSame(dx, "lrn backward");
    }

    [TestCase(1, 1, 1, 1)]
    [TestCase(7, 3, 5, 4)]
    [TestCase(2, 16, 28, 28)]
    [TestCase(3, 5, 1, 9)]
    public void GlobalPoolsMatchCpu(int batch, int channels, int height, int width)
    {
        var shape = new TensorShape(batch, channels, height, width);
        foreach (Layer layer in new Layer[] { new GlobalAvgPool2d(), new GlobalMaxPool2d() })
        {
            using var twins = new TwinBackends(Backend, Seed(shape, layer.Type));
            var outputShape = layer.InferOutputShape("pool", [shape]);
            var x = twins.Random(shape, "x");
            var y = twins.Random(outputShape, "y", 100);
            var workspace = layer.WorkspaceShapes([shape], outputShape).Select(s => twins.Random(s, "workspace", 100)).ToArray();
            var dy = twins.Random(outputShape, "dy");
            var dx = twins.Random(shape, "dx");
            twins.Run(be =>
            {
                var node = new NodeTensors("pool", [x[be]], [dx[be]], y[be], dy[be], [], [], workspace.Select(w => w[be]).ToArray());
                layer.Forward(be, node);
                layer.Backward(be, node);
            });
            TwinBackends.AssertSame(y, $"{layer.Type} forward");
            TwinBackends.AssertSame(dx, $"{layer.Type} backward");
        }
    }

    [Test]
    public void NetworkOfEveryNewLayerHasTheSameGradientsOnBothBackends()
    {
        // through the execution plan: workspaces (LRN's scale, the global max pool's argmax), views, fan-in
        var graph = ActivationLayerTests.ToolkitNetwork();
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
}

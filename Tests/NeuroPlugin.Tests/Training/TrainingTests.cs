namespace NeuroPlugin.Tests.Training;

/// <summary>Training through the execution plan on the CPU backend (the GL twins live in OpenGL/).</summary>
public class TrainingTests
{
    [Test]
    public void TrainStep_AllocatesNothingAndReadsNothingBack()
    {
        using var backend = new CpuBackend();
        TrainingChecks.AssertStepsAllocateNothingAndReadNothing(backend);
    }

    [Test]
    public void LeNet5_LearnsASubsetOfFashionMnist()
    {
        using var backend = new CpuBackend();
        var (before, after) = TrainingChecks.TrainOnSubset(backend, images: 4096, epochs: 2);
        Assert.That(after, Is.LessThan(before * 0.6), "loss falls");
    }
}

/// <summary>Checks shared by the CPU and GL training tests.</summary>
public static class TrainingChecks
{
    public static void AssertStepsAllocateNothingAndReadNothing(IBackend backend)
    {
        using var network = Network.Create(ModelZoo.Build("lenet5"), backend, seed: 1);
        using var plan = ExecutionPlan.ForTraining(network, 16);
        var random = new Random(2);
        var images = new float[plan.Input.Length];
        for (int i = 0; i < images.Length; i++) images[i] = (float)random.NextDouble();
        var targets = new float[plan.Target!.Length];
        for (int n = 0; n < 16; n++) targets[n * 10 + n % 10] = 1f;
        using var optimizer = new Sgd(0.01f, momentum: 0.9f);
        AllocationAssert.SteadyStateAllocatesNothing(_ => Step(plan, images, targets, optimizer), 100, "managed bytes allocated by 100 training steps", backend);
        long downloads = backend.ReadbackCount;
        Assert.That(float.IsFinite(plan.ReadLoss()), Is.True);
        Assert.That(backend.ReadbackCount, Is.EqualTo(downloads + 1), "ReadLoss is the one readback, when asked");
    }

    static void Step(ExecutionPlan plan, float[] images, float[] targets, Optimizer optimizer)
    {
        plan.Input.Upload(images);
        plan.Target!.Upload(targets);
        plan.TrainStep(optimizer);
    }

    /// <summary>Trains LeNet-5 on the first <paramref name="images"/> training images; returns the mean loss of the first and last 20 batches.</summary>
    public static (double Before, double After) TrainOnSubset(IBackend backend, int images, int epochs)
    {
        var data = FashionMnist.LoadTrain().Take(images);
        using var network = Network.Create(ModelZoo.Build("lenet5"), backend, seed: 1);
        using var trainer = new Trainer(network, new Sgd(0.05f), 32) { ReportEvery = 1 };
        var loader = new DataLoader(data, 32, seed: 1, dropLast: true);
        var losses = new List<float>();
        for (int epoch = 0; epoch < epochs; epoch++)
            trainer.TrainEpoch(loader, epoch, p => losses.Add(p.Loss));
        return (losses.Take(20).Average(), losses.TakeLast(20).Average());
    }
}

/// <summary>Finite-difference check of a whole network through the execution plan: the plan's wiring of
/// layers, views, fan-out and the loss must give the gradient of the loss it reports.</summary>
public class PlanGradientTests
{
    /// <summary>A LeNet-shaped network built from smooth ops only (tanh, sigmoid, average pooling), so that a
    /// finite difference never crosses a ReLU or max-pool kink; 'fc1' fans out to a dead branch as well.</summary>
    static NetworkGraph SmoothNetwork()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(2, 9, 9));
        x = graph.Add("conv1", new Conv2d(2, 4, kernelSize: 3, stride: 2, padding: 1), x);
        x = graph.Add("tanh1", Activation.Tanh(), x);
        x = graph.Add("pool1", new AvgPool2d(3, stride: 2, padding: 1), x);
        x = graph.Add("conv2", new Conv2d(4, 5, kernelSize: 2), x);
        x = graph.Add("sigmoid2", Activation.Sigmoid(), x);
        x = graph.Add("flatten", new Flatten(), x);
        x = graph.Add("fc1", new Linear(20, 7), x);
        graph.Add("side", Activation.Tanh(), x);
        x = graph.Add("tanh3", Activation.Tanh(), x);
        graph.Add("fc2", new Linear(7, 10), x);
        graph.Output = "fc2";
        return graph;
    }

    [Test]
    public void PlanGradientsMatchFiniteDifferences()
    {
        var cpu = new CpuBackend();
        using var network = Network.Create(SmoothNetwork(), cpu, seed: 4);
        using var plan = ExecutionPlan.ForTraining(network, 3);
        var random = new Random(9);
        plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray());
        plan.Target!.Upload([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        plan.ComputeGradients();
        // read every gradient before perturbing anything: each loss evaluation below recomputes them
        float[][] gradients = plan.ParameterGradients.Select(g => g.ToArray()).ToArray();
        const double epsilon = 5e-2; // the network is smooth, so a wide step costs little truncation error and beats float32 noise
        for (int p = 0; p < plan.Parameters.Count; p++)
        {
            var parameter = plan.Parameters[p];
            float[] analytic = gradients[p];
            float[] values = parameter.ToArray();
            var numeric = new List<float>();
            var expected = new List<float>();
            for (int sample = 0; sample < 12; sample++)
            {
                int j = random.Next(values.Length);
                float original = values[j];
                values[j] = (float)(original + epsilon); parameter.Upload(values); double plus = Loss(plan);
                values[j] = (float)(original - epsilon); parameter.Upload(values); double minus = Loss(plan);
                values[j] = original; parameter.Upload(values);
                numeric.Add((float)((plus - minus) / (2 * epsilon)));
                expected.Add(analytic[j]);
            }
            // The loss (about 2.3) comes out of a float32 forward pass whose roundings move it by several units of
            // 2.3·2⁻²⁴ ≈ 1.4e-7; divided by 2ε = 0.1 that resolves gradients to about 1e-5.
            for (int i = 0; i < numeric.Count; i++)
                Assert.That(Math.Abs(numeric[i] - expected[i]), Is.LessThanOrEqualTo(1e-2 * Math.Abs(expected[i]) + 1e-5),
                    $"{parameter.Name}: numeric {numeric[i]:G6} vs backward {expected[i]:G6}");
        }
    }

    static double Loss(ExecutionPlan plan)
    {
        plan.ComputeGradients();
        return plan.ReadLoss();
    }
}

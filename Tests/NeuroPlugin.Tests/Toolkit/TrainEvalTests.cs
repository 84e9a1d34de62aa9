namespace NeuroPlugin.Tests.Toolkit;

/// <summary>Training and eval mode through the execution plan and the trainer, on a network with both kinds of
/// mode-dependent layer (batch norm and dropout), on the CPU.</summary>
public class TrainEvalTests
{
    [Test]
    public void EvalForwardOfATrainingPlanEqualsTheInferencePlan()
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(TrainEvalChecks.Graph(), cpu, seed: 4);
        using var plan = TrainEvalChecks.TrainedPlan(network, steps: 2);
        var buffers = TrainEvalChecks.Buffers(network);
        long step = plan.RandomCounter;

        plan.Forward(training: false);
        float[] eval = plan.Output.ToArray();
        Assert.That(TrainEvalChecks.Buffers(network), Is.EqualTo(buffers), "eval mode leaves the running statistics alone");
        Assert.That(plan.RandomCounter, Is.EqualTo(step), "eval mode draws no random numbers");
        plan.Forward(training: false);
        Assert.That(plan.Output.ToArray(), Is.EqualTo(eval), "eval mode is deterministic");

        using var inference = ExecutionPlan.ForInference(network, plan.BatchSize);
        inference.Input.Upload(plan.Input.ToArray());
        inference.Forward();
        Assert.That(inference.Output.ToArray(), Is.EqualTo(eval), "an inference plan runs in eval mode");

        plan.Forward(training: true);
        Assert.That(plan.Output.ToArray(), Is.Not.EqualTo(eval), "training mode uses batch statistics and dropout");
        Assert.That(TrainEvalChecks.Buffers(network), Is.Not.EqualTo(buffers), "training mode moves the running statistics");
        Assert.That(plan.RandomCounter, Is.EqualTo(step + 1));
        Assert.That(() => inference.Forward(training: true), Throws.InvalidOperationException.With.Message.Contains("ForTraining"));
    }

    [Test]
    public void EvaluateRunsInEvalMode()
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(TrainEvalChecks.Graph(), cpu, seed: 4);
        TrainEvalChecks.TrainedPlan(network, steps: 3).Dispose();
        var random = new Random(12);
        var images = new byte[24 * 64];
        random.NextBytes(images);
        var labels = Enumerable.Range(0, 24).Select(i => (byte)(i % 3)).ToArray();
        var dataset = new ImageDataset("noise", images, labels, 24, 8, 8, ["a", "b", "c"]);
        var buffers = TrainEvalChecks.Buffers(network);

        double whole = Classification.Accuracy(network, dataset, batchSize: 24);
        // In training mode each batch's statistics (and dropout) would change the predictions; in eval mode the
        // batch size cannot matter.
        Assert.That(Classification.Accuracy(network, dataset, batchSize: 4), Is.EqualTo(whole));
        Assert.That(Classification.Accuracy(network, dataset, batchSize: 3), Is.EqualTo(whole));
        Assert.That(TrainEvalChecks.Buffers(network), Is.EqualTo(buffers), "evaluation leaves the running statistics alone");
    }

    [Test]
    public void TrainStepWithBatchNormAndDropoutAllocatesNothing()
    {
        using var cpu = new CpuBackend();
        TrainEvalChecks.AssertStepsAllocateNothing(cpu);
    }
}

/// <summary>The network and checks the CPU and GL train/eval tests share.</summary>
static class TrainEvalChecks
{
    /// <summary>image (1,8,8) → conv1 (4) → bn1 → relu → pool → flatten → fc1 (16) → bn2 → relu → dropout → fc2 (3).</summary>
    public static NetworkGraph Graph()
    {
        var graph = new NetworkGraph();
        graph.AddInput("image", TensorShape.Of([1, 8, 8]));
        graph.Add("conv1", new Conv2d(1, 4, 3, padding: 1), "image");
        graph.Add("bn1", new BatchNorm2d(4), "conv1");
        graph.Add("relu1", Activation.ReLU(), "bn1");
        graph.Add("pool1", new MaxPool2d(2), "relu1");
        graph.Add("flatten", new Flatten(), "pool1");
        graph.Add("fc1", new Linear(64, 16), "flatten");
        graph.Add("bn2", new BatchNorm1d(16), "fc1");
        graph.Add("relu2", Activation.ReLU(), "bn2");
        graph.Add("drop", new Dropout(0.3f), "relu2");
        graph.Add("fc2", new Linear(16, 3), "drop");
        return graph;
    }

    /// <summary>A training plan at batch 6 with a seeded batch uploaded, after <paramref name="steps"/> SGD steps.</summary>
    public static ExecutionPlan TrainedPlan(Network network, int steps)
    {
        var plan = ExecutionPlan.ForTraining(network, 6);
        var random = new Random(3);
        plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(_ => (float)random.NextDouble()).ToArray());
        plan.Target!.Upload(Enumerable.Range(0, plan.Target.Length).Select(i => i % 3 == i / 3 % 3 ? 1f : 0f).ToArray());
        using var optimizer = new Sgd(0.1f, momentum: 0.9f);
        for (int i = 0; i < steps; i++) plan.TrainStep(optimizer);
        return plan;
    }

    /// <summary>Every buffer's values, in order.</summary>
    public static float[][] Buffers(Network network) => network.BufferNames.Select(name => network.Buffer(name).ToArray()).ToArray();

    public static void AssertStepsAllocateNothing(IBackend backend)
    {
        using var network = Network.Create(Graph(), backend, seed: 1);
        using var plan = TrainedPlan(network, steps: 0);
        using var optimizer = new Sgd(0.01f, momentum: 0.9f);
        AllocationAssert.SteadyStateAllocatesNothing(_ =>
        {
            plan.TrainStep(optimizer);
            plan.Forward(training: false);
        }, 50, "managed bytes allocated by 50 training steps and eval forwards", backend);
        Assert.That(float.IsFinite(plan.ReadLoss()), Is.True);
    }
}

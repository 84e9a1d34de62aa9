namespace NeuroPlugin.Tests.Toolkit;

/// <summary>The batch-norm + dropout network trained on GL and on the CPU from the same seed: the dropout masks
/// are identical, so losses, running statistics and outputs in both modes agree within 1e-4.</summary>
public sealed class TrainEvalGLTests : GLFixture
{
    [Test]
    public void TrainingAndEvalMatchCpu()
    {
        using var cpu = new CpuBackend();
        var graph = TrainEvalChecks.Graph();
        using var cpuNetwork = Network.Create(graph, cpu, seed: 8);
        using var glNetwork = Network.Create(graph, Backend, seed: 8);
        using var cpuPlan = TrainEvalChecks.TrainedPlan(cpuNetwork, steps: 3);
        using var glPlan = TrainEvalChecks.TrainedPlan(glNetwork, steps: 3);
        Assert.That(glPlan.ReadLoss(), Is.EqualTo(cpuPlan.ReadLoss()).Within(1e-4 * Math.Abs(cpuPlan.ReadLoss())), "loss after 3 steps");
        foreach (string name in cpuNetwork.BufferNames)
            TensorAssert.AreClose(cpuNetwork.Buffer(name).ToArray(), glNetwork.Buffer(name).ToArray(), TwinBackends.Tolerance, name);
        // the last training forward's dropout output: zeros in the same places on both backends
        float[] cpuDrop = cpuPlan.Tensor("drop").ToArray(), glDrop = glPlan.Tensor("drop").ToArray();
        Assert.That(glDrop.Select(v => v == 0f), Is.EqualTo(cpuDrop.Select(v => v == 0f)), "same dropout mask");
        TensorAssert.AreClose(cpuDrop, glDrop, TwinBackends.Tolerance, "training-mode dropout output");

        cpuPlan.Forward(training: false);
        glPlan.Forward(training: false);
        TensorAssert.AreClose(cpuPlan.Output.ToArray(), glPlan.Output.ToArray(), TwinBackends.Tolerance, "eval-mode output");
        using var inference = ExecutionPlan.ForInference(glNetwork, glPlan.BatchSize);
        inference.Input.Upload(glPlan.Input.ToArray());
        inference.Forward();
        TensorAssert.AreClose(glPlan.Output.ToArray(), inference.Output.ToArray(), TwinBackends.Tolerance, "GL inference plan = eval mode");
    }

    [Test]
    public void TrainStepAllocatesNothing() => TrainEvalChecks.AssertStepsAllocateNothing(Backend);
}

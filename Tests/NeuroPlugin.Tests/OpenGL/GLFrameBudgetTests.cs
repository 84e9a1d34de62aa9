using NeuroPlugin.Tests.Training;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>What only the GL backend has in frame-budgeted training and the non-finite guard: the flag kernel's vec4 padding and
/// the GPU timing (the checks both backends share are in Training/FrameBudgetTests).</summary>
public sealed class GLFrameBudgetTests : GLFixture
{
    /// <summary>Tensors are stored in whole vec4s; the flag kernel reads vec4s but must judge only the tensor's own
    /// values, whatever the padding lanes hold.</summary>
    [Test]
    public void FlagNonFinite_IgnoresThePaddingLanesOfTheLastVec4()
    {
        using var x = Backend.Allocate(new TensorShape(5), "x");
        using var flags = Backend.Allocate(new TensorShape(2), "flags");
        x.Upload([1f, 2f, 3f, 4f, 5f]);
        WritePadding(x, float.NaN, float.PositiveInfinity, float.NaN); // lanes 5..7 are padding
        Backend.FlagNonFinite(x, flags, 0);
        x.Upload([1f, 2f, 3f, 4f, float.NegativeInfinity]);
        Backend.FlagNonFinite(x, flags, 1);
        Assert.That(flags.ToArray(), Is.EqualTo(new[] { 0f, 1f }));
    }

    /// <summary>FlagNonFiniteTensors over a group's tensors reads whole vec4s of the shared buffer, but judges only each
    /// tensor's own lanes; a run of neighbours in one buffer is one dispatch, the other tensors one dispatch per seven.</summary>
    [Test]
    public void FlagNonFiniteTensors_OneDispatchPerRunOfGroupedTensors_IgnoringTheirPadding()
    {
        var (group, lone, inputs, indices) = FrameBudgetChecks.FlagTensors(Backend);
        using var flags = Backend.Allocate(new TensorShape(inputs.Length + 1), "flags");
        try
        {
            foreach (var tensor in inputs)
            {
                tensor.Upload(Enumerable.Repeat(1f, tensor.Length).ToArray());
                if (tensor.Length % 4 != 0) WritePadding(tensor, [.. Enumerable.Repeat(float.NaN, 4 - tensor.Length % 4)]);
            }
            Backend.Fill(flags, 0f);
            Backend.FlagNonFiniteTensors(inputs, flags, indices); // the first call uploads the runs' tables
            Assert.That(flags.ToArray(), Is.EqualTo(new float[inputs.Length + 1]), "NaN in the padding lanes only");
            long before = Device.DispatchCount;
            Backend.FlagNonFiniteTensors(inputs, flags, indices);
            Assert.That(Device.DispatchCount - before, Is.EqualTo(3), "g0..g3 in one dispatch, lone0..lone6 in one, then g4 and lone7 in one");
            Assert.That(flags.ToArray(), Is.EqualTo(new float[inputs.Length + 1]));
        }
        finally
        {
            foreach (var tensor in group.Concat(lone)) tensor.Dispose();
        }
    }

    /// <summary>The guard's check of a LeNet-5 step: the flags' fill, one dispatch for the loss, one for all ten gradients
    /// (a group), the latch; watching the forward pass adds one dispatch for all parameters, and the input and the node
    /// outputs join the loss, seven tensors of their own to a dispatch.
    /// Per tensor it was one dispatch for each parameter and each gradient. Prints the check's and the step's counts.</summary>
    [TestCase(false)]
    [TestCase(true)]
    public void GuardCheckOfLeNet5_FlagsAllGradientsInOneDispatch(bool watchForward)
    {
        using var network = Network.Create(ModelZoo.Build("lenet5"), Backend, seed: 1);
        using var plan = ExecutionPlan.ForTraining(network, 32);
        using var optimizer = new Sgd(0.01f);
        using var guard = new NonFiniteGuard(plan, optimizer, watchForward);
        new ZeroBatches().FillBatch(plan, 0);
        guard.TrainStep(); // uploads the tables
        long before = Device.DispatchCount;
        guard.Check();
        long check = Device.DispatchCount - before;
        int parameters = plan.Parameters.Count, nodes = network.Graph.Nodes.Count;
        Assert.That(parameters, Is.EqualTo(10), "test setup: LeNet-5's weights and biases");
        // tensors of their own: the loss, and with watchForward the input and every node output; seven to a dispatch
        int lone = 1 + (watchForward ? 1 + nodes : 0);
        Assert.That(guard.Watched.Count, Is.EqualTo(lone + (watchForward ? 2 : 1) * parameters), "test setup: the watched tensors");
        long expected = 1 + (lone + 6) / 7 + (watchForward ? 1 : 0) + 1 + 1 + network.BufferNames.Count;
        long perTensor = 1 + guard.Watched.Count + 1 + network.BufferNames.Count; // the fill, one FlagNonFinite each, the latch
        Assert.That(check, Is.EqualTo(expected), $"per tensor it was {perTensor}");

        before = Device.DispatchCount;
        guard.TrainStep();
        long guarded = Device.DispatchCount - before;
        before = Device.DispatchCount;
        plan.TrainStep(optimizer);
        long plain = Device.DispatchCount - before;
        Assert.That(guarded - plain, Is.EqualTo(check + network.BufferNames.Count), "a guarded step adds the statistics' copies and the check");
        TestContext.Out.WriteLine($"LeNet-5 batch 32, watchForward {watchForward}: the check {check} dispatches (per tensor {perTensor}), " +
            $"a guarded step {guarded} (per tensor {guarded - check + perTensor}), unguarded {plain}");
        Assert.That(guard.ReadNow(), Is.Null, "finite steps");
    }

    [Test]
    public void BudgetTimings_ComeBackFromTimerQueriesWithoutReadingTensorsBack()
    {
        // without a guard, budgeted training reads no tensor back; the stage costs arrive from GL timestamps a few frames late
        using var network = Network.Create(ModelZoo.Build("lenet5"), Backend, seed: 1);
        using var plan = ExecutionPlan.ForTraining(network, 8);
        using var optimizer = new Sgd(0.01f);
        using var trainer = new FrameBudgetedTrainer(plan, optimizer, new ZeroBatches());
        long readbacks = Backend.ReadbackCount;
        for (int frame = 0; frame < 4 * trainer.StageCount && trainer.CompletedSteps < 3; frame++)
            trainer.Advance(TimeSpan.FromMilliseconds(1));
        Backend.Device.GL.Finish(); // let every timestamp land, then give the trainer frames to collect them
        for (int frame = 0; frame < 3; frame++) trainer.Advance(TimeSpan.Zero, maxSteps: 0);
        Assert.That(Backend.ReadbackCount, Is.EqualTo(readbacks), "tensor downloads during budgeted training");
        Assert.That(trainer.LastDeviceFrameTime, Is.Not.Null, "GPU time of a frame came back");
        Assert.That(trainer.LastDeviceFrameTime!.Value, Is.GreaterThan(TimeSpan.Zero));
        for (int stage = 0; stage < trainer.StageCount; stage++)
            Assert.That(trainer.StageEstimate(stage), Is.Not.Null, $"stage {trainer.StageName(stage)} has a GPU-backed estimate");
    }

    sealed class ZeroBatches : IBatchSource
    {
        public void FillBatch(ExecutionPlan plan, long step)
        {
            plan.Input.Backend.Fill(plan.Input, 0.5f);
            plan.Target!.Backend.Fill(plan.Target, 0.1f);
        }
    }
}

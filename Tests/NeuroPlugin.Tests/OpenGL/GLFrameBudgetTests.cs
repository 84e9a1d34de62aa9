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

using NeuroPlugin.Tests.Training;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>Frame-budgeted training and inference and the non-finite guard on the GL backend: the same checks as the CPU
/// fixture (Training/FrameBudgetTests), plus the GPU timing that only GL has.</summary>
public sealed class GLFrameBudgetTests : GLFixture
{
    [TestCase(0.0)]
    [TestCase(0.05)]
    [TestCase(3_600_000.0)]
    public void Budgeted_EqualsUnbudgetedTrainStep_BitForBit(double budgetMilliseconds) =>
        FrameBudgetChecks.BudgetedEqualsUnbudgeted(Backend, TimeSpan.FromMilliseconds(budgetMilliseconds));

    [Test]
    public void GuardedTrainingInParts_EqualsUnbudgetedSteps_BitForBit() => FrameBudgetChecks.GuardedPartsEqualUnbudgeted(Backend);

    [Test]
    public void BudgetedInference_EqualsOneShotForward() => FrameBudgetChecks.InferenceEqualsOneShot(Backend);

    [Test]
    public void BudgetedAdvance_AllocatesNothing() => FrameBudgetChecks.AdvanceAllocatesNothing(Backend);

    [Test]
    public void Budget_SpreadsCostlyStepsAndReportsOverruns() => FrameBudgetChecks.ReportOverrun(Backend, TimeSpan.FromMilliseconds(4));

    [Test]
    public void NonFiniteGradient_SkipsTheUpdateAndNamesTheLayer() => FrameBudgetChecks.NonFiniteGradientNamesLayer(Backend);

    [Test]
    public void NonFiniteActivation_NamesTheLayerThatOverflowed() => FrameBudgetChecks.NonFiniteActivationNamesLayer(Backend);

    [Test]
    public void NonFiniteInput_KeepsLastGoodWeightsAndAdamContinuesAsIfSkipped() => FrameBudgetChecks.NonFiniteInputSkipsStep(Backend);

    [Test]
    public void NonFiniteInBudgetedTraining_IsReportedAndTrainingContinues() => FrameBudgetChecks.BudgetedTrainingRecoversFromNonFinite(Backend);

    [Test]
    public void HugeLearningRate_StopsAtTheLastFiniteWeights() => FrameBudgetChecks.HugeLearningRateKeepsLastFiniteWeights(Backend);

    [Test]
    public void NonFiniteWithoutHandler_ThrowsNonFiniteException() => FrameBudgetChecks.UnhandledNonFiniteThrows(Backend);

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
    public void Settle_FinishesTheStepAndCollectsTheGuardsReport() => FrameBudgetChecks.SettleBeforeSaving(Backend);

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

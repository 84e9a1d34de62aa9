using NeuroPlugin.Monitoring;

namespace NeuroPlugin.Tests.Training;

/// <summary>The warm-up's checks, shared by the CPU and GL fixtures: <see cref="FrameBudgetedTrainer.WarmUp"/> trains a scratch
/// copy and leaves the trainer's network, optimizer and counters alone, while its scheduler comes out knowing every stage's
/// cost; <see cref="FrameBudgetedInference.WarmUp"/> likewise for passes.</summary>
public static partial class FrameBudgetChecks
{
    /// <summary>After a warm-up at 1 ms the guarded trainer has taken no step (weights, batch norm's buffers, Adam's
    /// state and counters as they were), every stage has an estimate, and the first frame with room for three steps runs
    /// all three (without a warm-up it runs one stage: items with no estimate run alone); those steps are the bits of
    /// unbudgeted ones.</summary>
    public static void WarmUpTouchesNothingAndLearnsEveryCost(IBackend backend)
    {
        const int steps = 3;
        var batches = new CycledBatches(seed: 17);
        using var run = new GuardedRun(backend, batches);
        run.Trainer!.WarmUp(TimeSpan.FromMilliseconds(1));

        var trainer = run.Trainer;
        using var untouched = Network.Create(SmallCnn(), backend, seed: 3);

        AssertSameWeights(untouched, run.Network, "after the warm-up");
        Assert.That(trainer.CompletedSteps, Is.Zero);
        Assert.That(trainer.StepInProgress, Is.False);
        Assert.That(run.Optimizer.StepCount, Is.Zero);
        Assert.That(run.Optimizer.NamedState(), Is.Empty, "Adam's moments are made by the trainer's first step, not the warm-up's");
        Assert.That(run.Plan.RandomCounter, Is.Zero);
        Assert.That(trainer.Overruns, Is.Zero, "the warm-up's overruns are forgotten");
        for (int stage = 0; stage < trainer.StageCount; stage++)
            Assert.That(trainer.StageEstimate(stage), Is.Not.Null, $"stage {trainer.StageName(stage)} has an estimate");
        Assert.That(Enumerable.Range(0, trainer.StageCount).Any(s => trainer.StagePartCount(s) > 1), "split stages keep their splits");

        using var expected = Reference(backend, steps, _ => true, batches);
        trainer.Advance(TimeSpan.FromHours(1), maxSteps: steps);
        Assert.That(trainer.LastFrame.StepsCompleted, Is.EqualTo(steps), "the first frame plans with measured costs");
        Assert.That(run.Optimizer.StepCount, Is.EqualTo(steps));
        AssertSameWeights(expected, run.Network, $"after a warm-up and {steps} budgeted steps");
    }

    /// <summary>After an inference warm-up at 1 ms every node has an estimate, no pass is counted, and the first pass with
    /// room for it runs in one frame and equals a one-shot forward bit for bit.</summary>
    public static void InferenceWarmUpLearnsEveryCost(IBackend backend)
    {
        using var network = Network.Create(SmallCnn(), backend, seed: 3);
        using var plan = ExecutionPlan.ForInference(network, Batch);
        float[] expected = OneShotForward(plan, new CycledBatches(seed: 12).Images(1));
        using var inference = new FrameBudgetedInference(plan);
        inference.WarmUp(TimeSpan.FromMilliseconds(1)); // passes over the same input
        Assert.That(inference.CompletedPasses, Is.Zero);
        Assert.That(inference.IsRunning, Is.False);
        Assert.That(inference.EstimatedPassTime, Is.GreaterThan(TimeSpan.Zero));

        backend.Fill(plan.Output, 0f);
        inference.Begin();
        Assert.That(inference.Advance(TimeSpan.FromHours(1)), Is.True, "the first pass after the warm-up fits one frame");
        Assert.That(plan.Output.ToArray(), Is.EqualTo(expected), "bit-for-bit");
        Assert.That(inference.CompletedPasses, Is.EqualTo(1));
    }

    /// <summary>What a warm-up refuses: a budget that is not positive, no measured step, a step in progress, an attached
    /// monitor, and a pass in progress; each refusal leaves the runner as it was.</summary>
    public static void WarmUpRefusesWhatItCannotDo(IBackend backend)
    {
        using var run = new GuardedRun(backend, new CycledBatches(seed: 19));
        var trainer = run.Trainer!;
        var budget = TimeSpan.FromMilliseconds(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.WarmUp(TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => trainer.WarmUp(budget, measuredSteps: 0));
        trainer.Advance(TimeSpan.Zero); // one item, the batch: a step is in progress
        var inProgress = Assert.Throws<InvalidOperationException>(() => trainer.WarmUp(budget));
        Assert.That(inProgress!.Message, Does.Contain("stage 1 is in progress"));
        trainer.CompleteStep();
        using (TrainingMonitor.Attach(trainer))
            Assert.That(() => trainer.WarmUp(budget), Throws.InvalidOperationException.With.Message.Contains("monitor"));
        Assert.That((trainer.CompletedSteps, run.Optimizer.StepCount), Is.EqualTo((1L, 1L)));

        using var plan = ExecutionPlan.ForInference(run.Network, Batch);
        using var inference = new FrameBudgetedInference(plan);
        inference.Begin();
        Assert.Throws<InvalidOperationException>(() => inference.WarmUp(budget));
        inference.Cancel();
        inference.WarmUp(budget, measuredPasses: 1);
        Assert.That(inference.CompletedPasses, Is.Zero);
    }
}

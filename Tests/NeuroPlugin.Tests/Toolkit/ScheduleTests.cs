namespace NeuroPlugin.Tests.Toolkit;

/// <summary>Learning-rate schedules by formula (the torch schedulers' values are in OptimizerGoldenTests) and their invalid settings.</summary>
public class ScheduleTests
{
    [Test]
    public void StepAndExponentialDecay()
    {
        var step = LearningRateSchedule.Step(stepSize: 3, gamma: 0.5f);
        Assert.That(Enumerable.Range(0, 7).Select(t => step.Factor(t, 100)), Is.EqualTo(new[] { 1f, 1f, 1f, 0.5f, 0.5f, 0.5f, 0.25f }));
        var exponential = LearningRateSchedule.Exponential(0.5f);
        Assert.That(Enumerable.Range(0, 4).Select(t => exponential.Factor(t, 100)), Is.EqualTo(new[] { 1f, 0.5f, 0.25f, 0.125f }));
    }

    [Test]
    public void WarmupRampsLinearlyThenHandsOverTheRemainingSteps()
    {
        var schedule = LearningRateSchedule.Cosine.WithWarmup(4);
        Assert.That(Enumerable.Range(0, 5).Select(t => schedule.Factor(t, 14)), Is.EqualTo(new[] { 0.25f, 0.5f, 0.75f, 1f, 1f }));
        Assert.That(schedule.Factor(9, 14), Is.EqualTo(0.5f).Within(1e-6), "cosine over the 10 steps after warm-up: half-way at step 4 + 5");
        Assert.That(schedule.Name, Is.EqualTo("warmup+cosine"));
        Assert.That(LearningRateSchedule.Constant.WithWarmup(0), Is.SameAs(LearningRateSchedule.Constant));
    }

    [Test]
    public void InvalidSettingsThrowNamingTheParameter()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Step(0, 0.5f))!.ParamName, Is.EqualTo("stepSize"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Step(2, 1.5f))!.ParamName, Is.EqualTo("gamma"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Exponential(0f))!.ParamName, Is.EqualTo("gamma"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Cosine.WithWarmup(-1))!.ParamName, Is.EqualTo("warmupSteps"));
        Assert.That(Assert.Throws<ArgumentException>(() => LearningRateSchedule.Parse("linear"))!.Message, Does.Contain("'linear'"));
    }
}

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>The training monitor on each backend (<see cref="MonitorChecks"/>): the CPU reference, and GL (llvmpipe here)
/// with device statistics from statistics.comp and node times from timer queries.</summary>
[TestFixture(BackendUnderTest.Cpu)]
[TestFixture(BackendUnderTest.GL)]
public sealed class MonitorTests(BackendUnderTest kind) : BackendFixture(kind)
{
    [Test]
    public void Samples_MatchHostStatistics() => MonitorChecks.SamplesMatchHostStatistics(Backend);

    [Test]
    public void Samples_MatchHostStatistics_HardSigmoidSaturation() => MonitorChecks.SamplesMatchHostStatistics(Backend, ActivationKind.HardSigmoid);

    [Test]
    public void CostsNothingOff_NoReadbackOn() => MonitorRunChecks.CostsNothingOffAndNoReadbackOn(Backend);

    [Test]
    public void Monitor_DoesNotChangeTraining() => MonitorRunChecks.DoesNotChangeTraining(Backend);

    [Test]
    public void Schedule_FirstEveryKthLastAndRequested() => MonitorRunChecks.SchedulesFirstEveryKthLastAndRequested(Backend);

    [Test]
    public void BusySlots_WaitOrSkip() => MonitorRunChecks.BusySlotsWaitOrSkip(Backend);

    [Test]
    public void FrameBudgetedTrainer_CarriesTheMonitor() => MonitorRunChecks.RidesAlongAFrameBudgetedTrainer(Backend);

    [Test]
    public void FrameBudgetedTrainer_RunsStatisticsInParts() => MonitorRunChecks.StatisticsRunInPartsWithinTheBudget(Backend);

    [Test]
    public void Attach_OnceAndDetaches() => MonitorRunChecks.AttachesOnceAndDetaches(Backend);

    [Test]
    public void JsonlRun_MatchesTheSavedModel() => MonitorOutputChecks.JsonlRunMatchesTheSavedModel(Backend);

    [Test]
    public void Evaluation_MatchesHost() => MonitorOutputChecks.EvaluationMatchesHost(Backend);

    [Test]
    public void Probes_ShowFiltersAndFeatureMaps() => MonitorOutputChecks.ProbesShowFiltersAndFeatureMaps(Backend);
}

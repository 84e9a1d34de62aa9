namespace NeuroPlugin.Tests.Monitoring;

/// <summary>The training monitor on the CPU reference backend (<see cref="MonitorChecks"/>).</summary>
public sealed class MonitorTests
{
    readonly CpuBackend backend = new();

    [Test]
    public void Samples_MatchHostStatistics() => MonitorChecks.SamplesMatchHostStatistics(backend);

    [Test]
    public void Samples_MatchHostStatistics_HardSigmoidSaturation() => MonitorChecks.SamplesMatchHostStatistics(backend, ActivationKind.HardSigmoid);

    [Test]
    public void CostsNothingOff_NoReadbackOn() => MonitorRunChecks.CostsNothingOffAndNoReadbackOn(backend);

    [Test]
    public void Monitor_DoesNotChangeTraining() => MonitorRunChecks.DoesNotChangeTraining(backend);

    [Test]
    public void Schedule_FirstEveryKthLastAndRequested() => MonitorRunChecks.SchedulesFirstEveryKthLastAndRequested(backend);

    [Test]
    public void BusySlots_WaitOrSkip() => MonitorRunChecks.BusySlotsWaitOrSkip(backend);

    [Test]
    public void FrameBudgetedTrainer_CarriesTheMonitor() => MonitorRunChecks.RidesAlongAFrameBudgetedTrainer(backend);

    [Test]
    public void FrameBudgetedTrainer_RunsStatisticsInParts() => MonitorRunChecks.StatisticsRunInPartsWithinTheBudget(backend);

    [Test]
    public void Attach_OnceAndDetaches() => MonitorRunChecks.AttachesOnceAndDetaches(backend);

    [Test]
    public void JsonlRun_MatchesTheSavedModel() => MonitorOutputChecks.JsonlRunMatchesTheSavedModel(backend);

    [Test]
    public void Evaluation_MatchesHost() => MonitorOutputChecks.EvaluationMatchesHost(backend);

    [Test]
    public void Probes_ShowFiltersAndFeatureMaps() => MonitorOutputChecks.ProbesShowFiltersAndFeatureMaps(backend);
}

/// <summary>The training monitor on the GL backend (llvmpipe here): the same checks, device statistics from statistics.comp
/// and node times from timer queries.</summary>
public sealed class MonitorGLTests : GLFixture
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

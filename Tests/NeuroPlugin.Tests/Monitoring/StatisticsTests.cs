namespace NeuroPlugin.Tests.Monitoring;

/// <summary>The statistics ops on each backend (statistics.comp on GL), against host loops (<see cref="StatisticsChecks"/>).</summary>
[TestFixture(BackendUnderTest.Cpu)]
[TestFixture(BackendUnderTest.GL)]
public sealed class StatisticsTests(BackendUnderTest kind) : BackendFixture(kind)
{
    [TestCase(1, 1)]
    [TestCase(5, 30)]
    [TestCase(1000, 30)]
    [TestCase(300_001, 64)]
    public void Summary_MatchesHost(int length, int bins) => StatisticsChecks.SummaryMatchesHost(Backend, length, bins);

    [Test]
    public void ConstantTensor_FillsTheMiddleBin() => StatisticsChecks.ConstantTensorFillsTheMiddleBin(Backend);

    [Test]
    public void NonFiniteTensor_HasNoRange() => StatisticsChecks.NonFiniteTensorHasNoRange(Backend);

    [Test]
    public void DeadChannels_MatchHost() => StatisticsChecks.DeadChannelsMatchHost(Backend);

    [Test]
    public void ClassifyRows_MatchesHost() => StatisticsChecks.ClassifyRowsMatchesHost(Backend);

    [Test]
    public void BadArguments_AreRefused() => StatisticsChecks.BadArgumentsAreRefused(Backend);
}

/// <summary>The statistics kernel's handling of GL's vec4 storage.</summary>
public sealed class StatisticsGLTests : GLFixture
{
    /// <summary>GL tensors are whole vec4s: the padding lanes after the last value must not be summarized.</summary>
    [Test]
    public void Summary_IgnoresThePaddingLanes()
    {
        using var x = Backend.Allocate(new NeuroPlugin.Tensors.TensorShape(5), "x");
        using var statistics = Backend.Allocate(new NeuroPlugin.Tensors.TensorShape(NeuroPlugin.Backends.StatisticsLayout.Length(4)), "statistics");
        x.Upload([1f, 2f, 3f, 4f, 5f]);
        WritePadding(x, float.NaN, 1000f, 0f);
        Backend.Summarize(x, statistics, 0, 4);
        HostStatistics.Of([1f, 2f, 3f, 4f, 5f], 4).AssertMatches(statistics.ToArray(), "5 values in 2 vec4s");
    }
}

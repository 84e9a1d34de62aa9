using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Tests.OpenGL;

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>The training monitor on the CPU reference backend (<see cref="MonitorChecks"/>).</summary>
public sealed class MonitorTests
{
    readonly CpuBackend backend = new();

    [Test]
    public void Samples_MatchHostStatistics() => MonitorChecks.SamplesMatchHostStatistics(backend);
}

/// <summary>The training monitor on the GL backend (llvmpipe here): the same checks, device statistics from statistics.comp
/// and node times from timer queries.</summary>
public sealed class MonitorGLTests : GLFixture
{
    [Test]
    public void Samples_MatchHostStatistics() => MonitorChecks.SamplesMatchHostStatistics(Backend);
}

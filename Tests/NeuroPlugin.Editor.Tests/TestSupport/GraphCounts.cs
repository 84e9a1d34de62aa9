using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Editor.Tests.TestSupport;

/// <summary>Figures of a runtime graph computed by the runtime itself, to check what the editor shows against.</summary>
internal static class GraphCounts
{
    /// <summary>Learnable parameters of <paramref name="graph"/> as <see cref="Network.ParameterCount"/> counts them.</summary>
    public static long Parameters(NetworkGraph graph)
    {
        using var network = Network.CreateUninitialized(graph, new CpuBackend());
        return network.ParameterCount;
    }
}

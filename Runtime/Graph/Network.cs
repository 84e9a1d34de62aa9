using NeuroPlugin.Backends;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Graph;

/// <summary>
/// A graph together with its parameters, allocated on one backend. Parameters are named as in
/// PyTorch's state dict, <c>node.weight</c> and <c>node.bias</c>. Execution plans (one per batch size
/// and mode) share these parameter tensors.
/// </summary>
public sealed class Network : IDisposable
{
    readonly Dictionary<string, Tensor> parameters = new(StringComparer.Ordinal);
    readonly List<string> parameterOrder = [];

    Network(NetworkGraph graph, IBackend backend)
    {
        Graph = graph;
        Backend = backend;
        graph.InferShapes(1); // validates the graph once, before anything is allocated
        foreach (var node in graph.Nodes)
            foreach (var spec in node.Layer.Parameters)
            {
                string name = $"{node.Name}.{spec.Name}";
                parameters[name] = backend.Allocate(spec.Shape, name);
                parameterOrder.Add(name);
            }
    }

    /// <summary>Allocates the parameters of <paramref name="graph"/> on <paramref name="backend"/> and initializes them from <paramref name="seed"/>.</summary>
    public static Network Create(NetworkGraph graph, IBackend backend, int seed)
    {
        var network = new Network(graph, backend);
        network.Initialize(seed);
        return network;
    }

    /// <summary>Allocates the parameters (zero) without initializing them, for loading from a file.</summary>
    public static Network CreateUninitialized(NetworkGraph graph, IBackend backend) => new(graph, backend);

    public NetworkGraph Graph { get; }
    public IBackend Backend { get; }

    /// <summary>Parameter names in order (nodes in graph order, weight before bias).</summary>
    public IReadOnlyList<string> ParameterNames => parameterOrder;

    /// <summary>The parameter tensor named <paramref name="name"/> (e.g. <c>conv1.weight</c>).</summary>
    public Tensor Parameter(string name) =>
        parameters.TryGetValue(name, out var tensor) ? tensor : throw new GraphException($"no parameter named '{name}'");

    /// <summary>Total number of learnable values.</summary>
    public long ParameterCount => parameters.Values.Sum(p => (long)p.Length);

    /// <summary>Re-initializes every parameter with its layer's initializer, drawing from one generator seeded with <paramref name="seed"/> in parameter order (so the CPU and GL backends start from identical weights).</summary>
    public void Initialize(int seed)
    {
        var random = new Random(seed);
        foreach (var node in Graph.Nodes)
            foreach (var spec in node.Layer.Parameters)
            {
                var values = new float[spec.Shape.Length];
                spec.Initializer.Fill(values, spec.FanIn, spec.FanOut, random);
                parameters[$"{node.Name}.{spec.Name}"].Upload(values);
            }
    }

    public void Dispose()
    {
        foreach (var tensor in parameters.Values) tensor.Dispose();
        parameters.Clear();
    }
}

namespace NeuroPlugin.Graph;

/// <summary>
/// A graph together with its parameters, allocated on one backend. Parameters are named as in
/// PyTorch's state dict, <c>node.weight</c> and <c>node.bias</c>. Execution plans (one per batch size
/// and mode) share these parameter tensors. Layers' non-learnable state (PyTorch's buffers, e.g.
/// <c>bn1.running_mean</c>) lives here too, named the same way, but is not a parameter: the optimizer never
/// sees it and <see cref="ParameterCount"/> does not count it.
/// </summary>
public sealed class Network : IDisposable
{
    readonly Dictionary<string, Tensor> parameters = new(StringComparer.Ordinal);
    readonly List<string> parameterOrder = [];
    readonly Dictionary<string, Tensor> buffers = new(StringComparer.Ordinal);
    readonly List<string> bufferOrder = [];

    Network(NetworkGraph graph, IBackend backend)
    {
        Graph = graph;
        Backend = backend;
        graph.InferShapes(1); // validates the graph once, before anything is allocated
        // One group (IBackend.AllocateGroup), so that the optimizer can update every parameter in one kernel.
        var specs = graph.Nodes.SelectMany(node => node.Layer.Parameters.Select(spec => (Name: $"{node.Name}.{spec.Name}", spec.Shape))).ToArray();
        var tensors = backend.AllocateGroup(specs.Select(s => s.Shape).ToArray(), specs.Select(s => s.Name).ToArray(), "parameters");
        for (int i = 0; i < specs.Length; i++)
        {
            parameters[specs[i].Name] = tensors[i];
            parameterOrder.Add(specs[i].Name);
        }
        foreach (var node in graph.Nodes)
            foreach (var spec in node.Layer.Buffers)
            {
                string name = $"{node.Name}.{spec.Name}";
                buffers[name] = backend.Allocate(spec.Shape, name);
                bufferOrder.Add(name);
            }
        ResetBuffers();
    }

    /// <summary>Allocates the parameters of <paramref name="graph"/> on <paramref name="backend"/> and initializes them from <paramref name="seed"/>.</summary>
    public static Network Create(NetworkGraph graph, IBackend backend, int seed)
    {
        var network = new Network(graph, backend);
        network.Initialize(seed);
        return network;
    }

    /// <summary>Allocates the parameters (zero) without initializing them, for loading from a file
    /// (buffers start at their initial values).</summary>
    public static Network CreateUninitialized(NetworkGraph graph, IBackend backend) => new(graph, backend);

    /// <summary>The graph whose layers' parameters and buffers this network holds (validated at creation).</summary>
    public NetworkGraph Graph { get; }
    /// <summary>The backend every parameter and buffer tensor is allocated on; plans built for this network run there.</summary>
    public IBackend Backend { get; }
    /// <summary>The seed the parameters were initialized from (0 for a loaded network); execution plans derive
    /// their random numbers (dropout masks) from it unless given another seed.</summary>
    public int Seed { get; private set; }

    /// <summary>Parameter names in order (nodes in graph order, weight before bias).</summary>
    public IReadOnlyList<string> ParameterNames => parameterOrder;

    /// <summary>The parameter tensor named <paramref name="name"/> (e.g. <c>conv1.weight</c>).</summary>
    public Tensor Parameter(string name) =>
        parameters.TryGetValue(name, out var tensor) ? tensor : throw new GraphException($"no parameter named '{name}'");

    /// <summary>Buffer names in order (nodes in graph order, each layer's <see cref="Layers.Layer.Buffers"/> order),
    /// e.g. <c>bn1.running_mean</c>, <c>bn1.running_var</c>.</summary>
    public IReadOnlyList<string> BufferNames => bufferOrder;

    /// <summary>The buffer tensor named <paramref name="name"/> (non-learnable state such as <c>bn1.running_var</c>).</summary>
    public Tensor Buffer(string name) =>
        buffers.TryGetValue(name, out var tensor) ? tensor : throw new GraphException($"no buffer named '{name}'");

    /// <summary>Total number of learnable values (buffers excluded, as torchvision counts parameters).</summary>
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
        ResetBuffers();
        Seed = seed;
    }

    /// <summary>Sets every buffer to its initial value (running mean 0, running variance 1).</summary>
    void ResetBuffers()
    {
        foreach (var node in Graph.Nodes)
            foreach (var spec in node.Layer.Buffers)
                Backend.Fill(buffers[$"{node.Name}.{spec.Name}"], spec.InitialValue);
    }

    /// <summary>Releases every parameter and buffer tensor (plans built on the network must not run afterwards);
    /// safe to call twice.</summary>
    public void Dispose()
    {
        foreach (var tensor in parameters.Values) tensor.Dispose();
        foreach (var tensor in buffers.Values) tensor.Dispose();
        parameters.Clear();
        buffers.Clear();
    }
}

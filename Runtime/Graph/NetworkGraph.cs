namespace NeuroPlugin.Graph;

/// <summary>
/// A network as a directed acyclic graph. Tensors are named: each graph input has a name and a
/// per-item shape (no batch axis, e.g. <c>(1,28,28)</c>), and each node produces one tensor named
/// after the node. A node's inputs name earlier tensors, so nodes are always in a topological order;
/// a tensor may feed several nodes (fan-out) and a node may take several inputs (residual Add,
/// Concat), which the execution plan handles without special cases.
/// </summary>
public sealed class NetworkGraph
{
    readonly List<GraphInput> inputs = [];
    readonly List<Node> nodes = [];
    readonly Dictionary<string, int> producers = new(StringComparer.Ordinal); // tensor name → node index, −1 for graph inputs

    /// <summary>The graph's inputs, in order.</summary>
    public IReadOnlyList<GraphInput> Inputs => inputs;
    /// <summary>Nodes in topological order.</summary>
    public IReadOnlyList<Node> Nodes => nodes;
    /// <summary>The tensor the network outputs (logits for classifiers); defaults to the last node.</summary>
    public string Output
    {
        get => output ?? (nodes.Count > 0 ? nodes[^1].Name : throw new GraphException("the graph has no nodes"));
        set
        {
            if (!producers.TryGetValue(value, out int producer) || producer < 0)
                throw new GraphException($"output '{value}' is not a node of the graph");
            output = value;
        }
    }
    string? output;

    /// <summary>Auxiliary classifier heads (GoogLeNet's aux1, aux2): logits (N,K) that a training plan also scores with
    /// softmax cross-entropy against the same targets, <c>loss = main + Σᵢ wᵢ·auxᵢ</c>. Inference plans skip the nodes
    /// that only feed them.</summary>
    public IReadOnlyList<AuxiliaryOutput> AuxiliaryOutputs => auxiliaryOutputs;
    readonly List<AuxiliaryOutput> auxiliaryOutputs = [];

    /// <summary>Declares node <paramref name="name"/> an auxiliary output whose loss counts <paramref name="weight"/> times
    /// (GoogLeNet: 0.3). Throws <see cref="GraphException"/> for an unknown, repeated or main output and
    /// <see cref="ArgumentOutOfRangeException"/> for a weight that is not positive and finite.</summary>
    public void AddAuxiliaryOutput(string name, float weight)
    {
        if (!(weight > 0f && float.IsFinite(weight)))
            throw new ArgumentOutOfRangeException(nameof(weight), weight, $"auxiliary output '{name}': weight must be positive and finite");
        if (!producers.TryGetValue(name, out int producer) || producer < 0)
            throw new GraphException($"auxiliary output '{name}' is not a node of the graph");
        if (auxiliaryOutputs.Any(a => a.Name == name))
            throw new GraphException($"auxiliary output '{name}' is already declared");
        auxiliaryOutputs.Add(new AuxiliaryOutput(name, weight));
    }

    /// <summary>Declares a graph input named <paramref name="name"/> with per-item shape <paramref name="itemShape"/>.</summary>
    public string AddInput(string name, TensorShape itemShape)
    {
        CheckNewName(name);
        inputs.Add(new GraphInput(name, itemShape));
        producers[name] = -1;
        return name;
    }

    /// <summary>Appends a node computing <paramref name="layer"/> of the named input tensors; returns its output's name (= <paramref name="name"/>).</summary>
    public string Add(string name, Layer layer, params string[] inputNames)
    {
        CheckNewName(name);
        ArgumentNullException.ThrowIfNull(layer);
        if (inputNames.Length != layer.InputCount)
            throw new GraphException($"{name}: {layer.Type} takes {layer.InputCount} input(s), got {inputNames.Length}");
        foreach (string input in inputNames)
            if (!producers.ContainsKey(input))
                throw new GraphException($"{name}: input '{input}' is neither a graph input nor an earlier node");
        producers[name] = nodes.Count;
        nodes.Add(new Node(name, layer, [.. inputNames]));
        return name;
    }

    /// <summary>The node producing <paramref name="tensorName"/>, or null for a graph input.</summary>
    public Node? Producer(string tensorName) =>
        producers.TryGetValue(tensorName, out int index)
            ? index >= 0 ? nodes[index] : null
            : throw new GraphException($"no tensor named '{tensorName}' in the graph");

    /// <summary>
    /// Infers every tensor's shape for batch size <paramref name="batch"/>, checking each node once.
    /// Throws <see cref="GraphException"/> naming the node and the shapes that do not fit.
    /// </summary>
    public IReadOnlyDictionary<string, TensorShape> InferShapes(int batch)
    {
        if (batch < 1) throw new GraphException($"batch size must be at least 1, got {batch}");
        if (nodes.Count == 0) throw new GraphException("the graph has no nodes");
        var shapes = new Dictionary<string, TensorShape>(StringComparer.Ordinal);
        foreach (var input in inputs) shapes[input.Name] = input.ItemShape.PrependBatch(batch);
        foreach (var node in nodes)
        {
            var inputShapes = new TensorShape[node.Inputs.Count];
            for (int i = 0; i < inputShapes.Length; i++) inputShapes[i] = shapes[node.Inputs[i]];
            try
            {
                shapes[node.Name] = node.Layer.InferOutputShape(node.Name, inputShapes);
            }
            catch (ShapeException e) when (e is not GraphException)
            {
                throw new GraphException(e.Message.StartsWith(node.Name + ":", StringComparison.Ordinal) ? e.Message : $"{node.Name}: {e.Message}");
            }
        }
        return shapes;
    }

    void CheckNewName(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new GraphException("a tensor or node name must not be empty");
        if (producers.ContainsKey(name)) throw new GraphException($"the name '{name}' is already used in the graph");
    }
}

/// <summary>A graph input: name and per-item shape (without the batch axis).</summary>
public sealed record GraphInput(string Name, TensorShape ItemShape);

/// <summary>An auxiliary classifier head: the node whose output (N,K) is scored, and its loss weight.</summary>
public sealed record AuxiliaryOutput(string Name, float Weight);

/// <summary>One node: a layer applied to named input tensors; its output tensor carries the node's name.</summary>
public sealed record Node(string Name, Layer Layer, IReadOnlyList<string> Inputs);

/// <summary>A graph that is not valid: unknown names, wrong input counts, shapes that do not fit. The message names the node.</summary>
public sealed class GraphException(string message) : ShapeException(message);

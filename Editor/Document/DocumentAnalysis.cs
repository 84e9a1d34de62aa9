using System.Text.Json.Nodes;
using NeuroPlugin.Editor.Cli;
using NeuroPlugin.Graph;
using NeuroPlugin.Layers;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Document;

/// <summary>What the analysis found for one node: its output shape for batch 1 (null on error or upstream error), its
/// message (starting with the node id), learnable parameters and FLOPs per item (2 per multiply–accumulate).</summary>
internal sealed record NodeAnalysis(TensorShape? OutputShape, string? Error, long Parameters, long Flops)
{
    /// <summary>The one-click repair of <see cref="Error"/>, when there is an obvious one (<see cref="DocumentFixes"/>).</summary>
    public JsonObject? Fix { get; init; }
}

/// <summary>
/// Validation and shape inference of a document with the runtime's own code: each node's layer is created by
/// its <see cref="LayerDescriptor"/> (with the inferred attributes filled from its inputs' shapes) and checked by the
/// layer's <see cref="Layer.InferOutputShape"/>, in topological order, so an error names the node and both shapes
/// exactly as the runtime would. Every node that works goes into a <see cref="NetworkGraph"/> (a node whose input
/// failed is left out), so <see cref="Graph"/> is always a graph the runtime accepts; parameters and FLOPs are the
/// rows of <c>neuro inspect</c> (<see cref="InspectCommand.Describe"/>) on that graph. When the whole document works,
/// has one input and an output, <see cref="IsValid"/> is true and <see cref="Graph"/> is the network to save or train.
/// </summary>
internal sealed class DocumentAnalysis
{
    readonly Dictionary<string, NodeAnalysis> nodes = new(StringComparer.Ordinal);
    readonly List<(string Node, string Message)> errors = [];

    public DocumentAnalysis(EditorDocument document)
    {
        var order = TopologicalOrder(document, out var cyclic);
        foreach (var node in cyclic)
            Fail(node.Id, $"{node.Id}: is part of a cycle");

        var graph = new NetworkGraph();
        var shapes = new Dictionary<string, TensorShape>(StringComparer.Ordinal);
        int inputCount = 0;
        foreach (var node in order)
        {
            if (node.Type == LayerPalette.InputType)
            {
                inputCount++;
                try
                {
                    var item = InputShape(node);
                    graph.AddInput(node.Id, item);
                    shapes[node.Id] = item.PrependBatch(1);
                    nodes[node.Id] = new NodeAnalysis(shapes[node.Id], null, 0, 0);
                }
                catch (Exception e) when (e is FormatException or ShapeException)
                {
                    Fail(node.Id, $"{node.Id}: {e.Message}");
                }
                continue;
            }
            if (!TryInputShapes(node, shapes, out var inputShapes, out string? problem))
            {
                Fail(node.Id, problem!);
                continue;
            }
            try
            {
                var layer = CreateLayer(node, inputShapes);
                var output = layer.InferOutputShape(node.Id, inputShapes);
                // the runtime allocates tensors of these shapes: each must have at most int.MaxValue elements
                _ = output.Length;
                foreach (var parameter in layer.Parameters) _ = parameter.Shape.Length;
                graph.Add(node.Id, layer, [.. node.Inputs!]);
                shapes[node.Id] = output;
                nodes[node.Id] = new NodeAnalysis(output, null, 0, 0);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or ShapeException)
            {
                string message = CleanMessage(e);
                Fail(node.Id, message.StartsWith(node.Id + ":", StringComparison.Ordinal) ? message : $"{node.Id}: {message}");
                nodes[node.Id] = nodes[node.Id] with { Fix = DocumentFixes.For(node, inputShapes) };
            }
            catch (Exception e)
            {
                throw new DocumentCommandException($"{node.Id}: {node.Type} could not be analysed ({e.GetType().Name}: {CleanMessage(e)})");
            }
        }

        if (graph.Nodes.Count > 0)
            foreach (var row in Unexpected("counting parameters and FLOPs", () => InspectCommand.Describe(graph)))
                nodes[row.Name] = nodes[row.Name] with { Parameters = row.Parameters, Flops = 2 * row.MultiplyAccumulates };
        TotalParameters = nodes.Values.Sum(n => n.Parameters);
        TotalFlops = nodes.Values.Sum(n => n.Flops);

        var layers = order.Where(n => n.Type != LayerPalette.InputType).ToList();
        Output = document.Output is string chosen && document.Contains(chosen) ? chosen : layers.Count > 0 ? layers[^1].Id : null;
        if (inputCount != 1) errors.Add(("", inputCount == 0 ? "the network has no Input node" : $"the network has {inputCount} Input nodes; training and saving take one"));
        if (Output is null) errors.Add(("", "the network has no layer"));
        bool valid = errors.Count == 0 && Output is not null && graph.Nodes.Any(n => n.Name == Output);
        if (valid)
        {
            try
            {
                graph.Output = Output!;
                foreach (var aux in document.AuxiliaryOutputs)
                    if (graph.Nodes.Any(n => n.Name == aux.Node)) graph.AddAuxiliaryOutput(aux.Node, aux.Weight);
                Unexpected("checking the whole graph", () => graph.InferShapes(1)); // the runtime's own whole-graph check, as training will run it
            }
            catch (Exception e) when (e is ArgumentException or ShapeException && e is not DocumentCommandException)
            {
                errors.Add(("", CleanMessage(e)));
                valid = false;
            }
        }
        IsValid = valid;
        Graph = graph;
    }

    /// <summary>Runs <paramref name="step"/>; exceptions other than the runtime's refusals (argument, shape) become a
    /// <see cref="DocumentCommandException"/> saying what failed.</summary>
    static T Unexpected<T>(string what, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (Exception e) when (e is not (ArgumentException or ShapeException or FormatException))
        {
            throw new DocumentCommandException($"the network could not be analysed while {what} ({e.GetType().Name}: {CleanMessage(e)})");
        }
    }

    /// <summary>The node's result; nodes in a cycle or after a failed input have an error and no shape.</summary>
    public NodeAnalysis this[string id] => nodes.TryGetValue(id, out var n) ? n : new NodeAnalysis(null, null, 0, 0);

    /// <summary>Every problem, (node id or "" for the whole network, message), in topological order.</summary>
    public IReadOnlyList<(string Node, string Message)> Errors => errors;

    /// <summary>Every node infers a shape, there is one input and an output: <see cref="Graph"/> can be saved and trained.</summary>
    public bool IsValid { get; }

    /// <summary>The runtime graph of every node that works (the whole network when <see cref="IsValid"/>).</summary>
    public NetworkGraph Graph { get; }

    /// <summary>The output node: the document's choice, else the last node in topological order; null without layers.</summary>
    public string? Output { get; }

    public long TotalParameters { get; }
    public long TotalFlops { get; }

    /// <summary>The runtime graph of a valid document; throws <see cref="DocumentCommandException"/> listing the first errors otherwise.</summary>
    public NetworkGraph RequireValidGraph(string purpose) =>
        IsValid ? Graph : throw new DocumentCommandException($"cannot {purpose}: the network is not valid: {string.Join("; ", errors.Take(3).Select(e => e.Message))}");

    void Fail(string id, string message)
    {
        nodes[id] = new NodeAnalysis(null, message, 0, 0);
        errors.Add((id, message));
    }

    /// <summary>The layer of <paramref name="node"/>: its attributes, the defaults of absent ones and the inferred ones
    /// from <paramref name="inputShapes"/>, through its <see cref="LayerDescriptor"/>.</summary>
    internal static Layer CreateLayer(DocumentNode node, TensorShape[] inputShapes) =>
        LayerRegistry.Get(node.Type).Create(node.Id, node.Attributes, inputShapes);

    static TensorShape InputShape(DocumentNode node)
    {
        var a = node.Attributes;
        int Dim(string name) => a[name] is JsonValue v && v.TryGetValue(out int d) && d >= 1 ? d : throw new FormatException($"attribute '{name}' must be a positive integer");
        return a.ContainsKey("features") ? new TensorShape(Dim("features")) : new TensorShape(Dim("channels"), Dim("height"), Dim("width"));
    }

    /// <summary>The shapes feeding <paramref name="node"/>; false with a message naming the node and port when a port is
    /// unconnected or its input failed.</summary>
    static bool TryInputShapes(DocumentNode node, Dictionary<string, TensorShape> shapes, out TensorShape[] inputShapes, out string? problem)
    {
        inputShapes = new TensorShape[node.Inputs.Count];
        problem = null;
        if (node.Inputs.Count == 0)
        {
            problem = $"{node.Id}: input port 0 is not connected";
            return false;
        }
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            string? source = node.Inputs[i];
            if (source is null)
            {
                problem = $"{node.Id}: input port {i} is not connected";
                return false;
            }
            if (!shapes.TryGetValue(source, out inputShapes[i]))
            {
                problem = $"{node.Id}: input '{source}' has no shape (fix it first)";
                return false;
            }
        }
        return true;
    }

    /// <summary>Nodes sorted so that every node follows its inputs (Kahn's algorithm, stable in document order);
    /// <paramref name="cyclic"/> gets the nodes on or after a cycle.</summary>
    internal static List<DocumentNode> TopologicalOrder(EditorDocument document, out List<DocumentNode> cyclic)
    {
        var byId = new Dictionary<string, DocumentNode>(StringComparer.Ordinal);
        foreach (var node in document.Nodes) byId[node.Id] = node;
        var pending = new Dictionary<string, int>(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<DocumentNode>>(StringComparer.Ordinal);
        foreach (var node in document.Nodes)
        {
            int count = 0;
            foreach (string? input in node.Inputs.Distinct())
                if (input is not null && byId.ContainsKey(input))
                {
                    count++;
                    (consumers.TryGetValue(input, out var list) ? list : consumers[input] = []).Add(node);
                }
            pending[node.Id] = count;
        }
        var order = new List<DocumentNode>(document.Nodes.Count);
        var ready = new PriorityQueue<DocumentNode, int>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < document.Nodes.Count; i++) index[document.Nodes[i].Id] = i;
        foreach (var node in document.Nodes) if (pending[node.Id] == 0) ready.Enqueue(node, index[node.Id]);
        while (ready.TryDequeue(out var node, out _))
        {
            order.Add(node);
            if (!consumers.TryGetValue(node.Id, out var list)) continue;
            foreach (var consumer in list)
                if (--pending[consumer.Id] == 0) ready.Enqueue(consumer, index[consumer.Id]);
        }
        cyclic = document.Nodes.Where(n => pending[n.Id] > 0).ToList();
        return order;
    }

    /// <summary>An exception's message without .NET's "(Parameter 'x')" and "Actual value was" lines.</summary>
    static string CleanMessage(Exception e)
    {
        string message = e.Message.Split('\n')[0].Trim();
        int parameter = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return parameter >= 0 ? message[..parameter] : message;
    }
}

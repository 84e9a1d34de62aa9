using NeuroPlugin.Graph;
using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Execution;

/// <summary>
/// A network compiled for one batch size: every activation, gradient, workspace and loss tensor is
/// allocated here, once. <see cref="Forward()"/> and <see cref="TrainStep"/> then only dispatch ops on
/// the backend: they allocate nothing on the managed heap and read nothing back. Results come back
/// only through <see cref="ReadLoss"/> or by downloading <see cref="Output"/>, when the caller asks.
/// <para>A training plan runs forward in training mode (batch statistics, dropout) unless asked for eval mode
/// (<see cref="Forward(bool)"/>); an inference plan always runs in eval mode (running statistics, no dropout).
/// Random layers draw from counter-based numbers keyed by <see cref="Seed"/> and <see cref="RandomCounter"/>, so a run
/// is reproducible from its seed on either backend.</para>
/// <para>Training plans also hold the softmax cross-entropy head on <see cref="NetworkGraph.Output"/>:
/// <see cref="Target"/> (N,K) in, <see cref="Loss"/> (1) out. With <see cref="NetworkGraph.AuxiliaryOutputs"/> (GoogLeNet's
/// auxiliary classifiers) each head is scored against the same targets and <c>Loss = main + Σᵢ wᵢ·auxᵢ</c>; each head's
/// gradient enters scaled by its weight. Nodes that only feed auxiliary heads are not planned in inference plans and
/// are skipped by eval-mode forwards of training plans.</para>
/// </summary>
public sealed partial class ExecutionPlan : IDisposable
{
    readonly IBackend backend;
    readonly NodeTensors[] nodes;             // per planned node: its inputs, output, gradients, parameters, workspace
    readonly Layer[] layers;
    readonly List<Tensor> owned = [];           // every tensor this plan allocated (views excluded)
    readonly Tensor[] gradientsToZero;          // owning gradient tensors no backward sets, cleared once per step
    readonly Tensor[] parameters, parameterGrads;
    readonly Dictionary<string, Tensor> tensors = new(StringComparer.Ordinal);
    readonly float[] lossReadback = new float[1];
    readonly Tensor? logitsGrad;
    readonly bool[] auxiliaryOnly;              // per planned node: it only feeds auxiliary heads (skipped in eval)
    readonly AuxiliaryHead[] auxiliaryHeads = [];

    /// <summary>One auxiliary loss head: its logits and their gradient, softmax, loss (1) and weight.</summary>
    sealed record AuxiliaryHead(Tensor Logits, Tensor LogitsGrad, Tensor Probabilities, Tensor Loss, float Weight);

    ExecutionPlan(Network network, int batch, bool training, bool fuseLayers = false, bool setGradients = true)
    {
        Network = network;
        backend = network.Backend;
        BatchSize = batch;
        IsTraining = training;
        var graph = network.Graph;
        var shapes = graph.InferShapes(batch);
        var gradients = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var outputGradList = new List<(string Node, Tensor Gradient)>();
        var parameterList = new List<Tensor>();
        var parameterGradList = new List<Tensor>();

        foreach (var input in graph.Inputs)
            tensors[input.Name] = Own(backend.Allocate(shapes[input.Name], input.Name));

        // Which tensors need a gradient: anything downstream of a parameter. Graph inputs never do.
        var needsGradient = new HashSet<string>(StringComparer.Ordinal);
        if (training)
            foreach (var node in graph.Nodes)
                if (node.Layer.Parameters.Count > 0 || node.Inputs.Any(needsGradient.Contains))
                    needsGradient.Add(node.Name);

        // Gradients come in two groups (IBackend.AllocateGroup), so that each is zeroed as one range: the node outputs'
        // (in node order) and the parameters' (in parameter order), which the optimizer updates in one kernel.
        var outputGradNodes = graph.Nodes.Where(node => needsGradient.Contains(node.Name) && !node.Layer.OutputIsViewOfInput).ToArray();
        var outputGrads = backend.AllocateGroup(outputGradNodes.Select(node => shapes[node.Name]).ToArray(),
            outputGradNodes.Select(node => node.Name + ".grad").ToArray(), "output gradients");
        var allParameterGrads = training ? AllocateParameterGradients(network) : [];
        int nextOutputGrad = 0, nextParameterGrad = 0;

        var auxiliaryOnlyNodes = AuxiliaryOnlyNodes(graph);
        var nodeList = new List<NodeTensors>(graph.Nodes.Count);
        var layerList = new List<Layer>(graph.Nodes.Count);
        var auxiliaryOnlyList = new List<bool>(graph.Nodes.Count);
        for (int k = 0; k < graph.Nodes.Count; k++)
        {
            var node = graph.Nodes[k];
            var layer = node.Layer;
            bool onlyAuxiliary = auxiliaryOnlyNodes.Contains(node.Name);
            if (onlyAuxiliary && !training) continue; // inference never computes auxiliary heads
            var inputShapes = node.Inputs.Select(name => shapes[name]).ToArray();
            var inputs = node.Inputs.Select(name => tensors[name]).ToArray();
            var inputGrads = node.Inputs.Select(name => gradients.GetValueOrDefault(name)).ToArray();
            var outputShape = shapes[node.Name];

            Tensor output;
            Tensor? outputGrad = null;
            if (layer.OutputIsViewOfInput)
            {
                output = inputs[0].Reshape(outputShape, node.Name);
                if (needsGradient.Contains(node.Name) && inputGrads[0] is { } inputGrad)
                    outputGrad = inputGrad.Reshape(outputShape, node.Name + ".grad");
            }
            else
            {
                output = Own(backend.Allocate(outputShape, node.Name));
                if (needsGradient.Contains(node.Name))
                    outputGradList.Add((node.Name, outputGrad = Own(outputGrads[nextOutputGrad++])));
            }
            tensors[node.Name] = output;
            if (outputGrad is not null) gradients[node.Name] = outputGrad;

            var parameterTensors = layer.Parameters.Select(p => network.Parameter($"{node.Name}.{p.Name}")).ToArray();
            var parameterGradTensors = new Tensor?[parameterTensors.Length];
            if (training)
                for (int p = 0; p < parameterTensors.Length; p++)
                {
                    var grad = Own(allParameterGrads[nextParameterGrad++]);
                    parameterGradTensors[p] = grad;
                    parameterList.Add(parameterTensors[p]);
                    parameterGradList.Add(grad);
                }
            var workspace = layer.WorkspaceShapes(inputShapes, outputShape)
                .Select((shape, i) => Own(backend.Allocate(shape, $"{node.Name}.workspace{i}"))).ToArray();

            nodeList.Add(new NodeTensors(node.Name, inputs, inputGrads, output, outputGrad, parameterTensors, parameterGradTensors, workspace)
            {
                Training = training,
                Buffers = layer.Buffers.Select(b => network.Buffer($"{node.Name}.{b.Name}")).ToArray(),
                Stream = (uint)k, // the graph index, so skipping auxiliary nodes changes no other node's numbers
            });
            layerList.Add(layer);
            auxiliaryOnlyList.Add(onlyAuxiliary);
        }
        nodes = [.. nodeList];
        layers = [.. layerList];
        auxiliaryOnly = [.. auxiliaryOnlyList];

        Output = tensors[graph.Output];
        if (training)
        {
            if (Output.Shape.Rank != 2)
                throw new GraphException($"{graph.Output}: the loss needs logits (N,K), got {Output.Shape}");
            logitsGrad = gradients.GetValueOrDefault(graph.Output)
                ?? throw new GraphException($"{graph.Output}: the output does not depend on any parameter, nothing to train");
            Target = Own(backend.Allocate(Output.Shape, "target"));
            Probabilities = Own(backend.Allocate(Output.Shape, "probabilities"));
            Loss = Own(backend.Allocate(new TensorShape(1), "loss"));
            auxiliaryHeads = graph.AuxiliaryOutputs.Select(aux =>
            {
                var logits = tensors[aux.Name];
                if (logits.Shape != Output.Shape)
                    throw new GraphException($"{aux.Name}: an auxiliary head needs logits shaped as the output {graph.Output} {Output.Shape}, got {logits.Shape}");
                var grad = gradients.GetValueOrDefault(aux.Name)
                    ?? throw new GraphException($"{aux.Name}: the auxiliary output does not depend on any parameter, nothing to train");
                return new AuxiliaryHead(logits, grad, Own(backend.Allocate(logits.Shape, aux.Name + ".probabilities")),
                    Own(backend.Allocate(new TensorShape(1), aux.Name + ".loss")), aux.Weight);
            }).ToArray();
        }
        Seed = network.Seed;
        var zeroedOutputGrads = !training ? [] : setGradients ? PlanGradientWrites(graph, outputGradList) : outputGradList;
        ZeroedOutputGradients = [.. zeroedOutputGrads.Select(gradient => gradient.Node)];
        gradientsToZero = [.. zeroedOutputGrads.Select(gradient => gradient.Gradient), .. parameterGradList];
        parameters = [.. parameterList];
        parameterGrads = [.. parameterGradList];
        if (fuseLayers && !training && backend is IFusedForward) FindFusedChains(graph);
        (trainingStages, inferenceStages) = PlanStages();
    }

    /// <summary>The gradients of every node's parameters, in node order (the order the constructor takes them in), as one group.</summary>
    static Tensor[] AllocateParameterGradients(Network network)
    {
        var parameters = network.Graph.Nodes.SelectMany(node => node.Layer.Parameters.Select(p => network.Parameter($"{node.Name}.{p.Name}"))).ToArray();
        return network.Backend.AllocateGroup(parameters.Select(p => p.Shape).ToArray(), parameters.Select(p => p.Name + ".grad").ToArray(), "parameter gradients");
    }

    /// <summary>Plans <paramref name="network"/> for training at batch size <paramref name="batch"/>.</summary>
    public static ExecutionPlan ForTraining(Network network, int batch) => new(network, batch, training: true);

    /// <summary>A training plan whose step zeroes every gradient and whose every backward adds into it (no first writer sets
    /// one, see <see cref="NodeTensors.SetsInputGrad"/>): the reference the tests hold <see cref="ForTraining"/> to, bit for bit.</summary>
    internal static ExecutionPlan ForTrainingZeroingEveryGradient(Network network, int batch) => new(network, batch, training: true, setGradients: false);

    /// <summary>Plans <paramref name="network"/> for inference at batch size <paramref name="batch"/> (no gradients). With
    /// <paramref name="fuseLayers"/>, on a backend that can (<see cref="IFusedForward"/>), a convolution and the batch norm,
    /// residual Add and activation that only it feeds run as one stage (the same bits, faster); their intermediate outputs
    /// are then not computed, so <see cref="Tensor"/> refuses them — plan without fusion to read them.</summary>
    public static ExecutionPlan ForInference(Network network, int batch, bool fuseLayers = true) => new(network, batch, training: false, fuseLayers);

    /// <summary>The network planned: its graph, backend, and the parameters and buffers this plan shares with it.</summary>
    public Network Network { get; }
    /// <summary>N, the batch axis of every tensor the plan allocated; a batch of another size needs another plan.</summary>
    public int BatchSize { get; }
    /// <summary>True for a <see cref="ForTraining"/> plan (gradients, target and loss allocated, random layers active);
    /// false for <see cref="ForInference"/>.</summary>
    public bool IsTraining { get; }

    /// <summary>The first graph input, (N, item shape): upload a batch here.</summary>
    public Tensor Input => tensors[Network.Graph.Inputs[0].Name];
    /// <summary>The network's output (logits for classifiers).</summary>
    public Tensor Output { get; }
    /// <summary>Training targets (N,K): one-hot or soft labels. Null in inference plans.</summary>
    public Tensor? Target { get; }
    /// <summary>Softmax of the output, filled by the loss. Null in inference plans.</summary>
    public Tensor? Probabilities { get; }
    /// <summary>The last training step's loss on the device (1): mean softmax cross-entropy of the output plus, with
    /// auxiliary heads, <c>Σᵢ wᵢ·auxᵢ</c>. Null in inference plans.</summary>
    public Tensor? Loss { get; }

    /// <summary>The auxiliary heads' own (unweighted) mean cross-entropies (1), in
    /// <see cref="NetworkGraph.AuxiliaryOutputs"/> order; empty in inference plans.</summary>
    public IReadOnlyList<Tensor> AuxiliaryLosses => auxiliaryHeads.Select(h => h.Loss).ToArray();

    /// <summary>Any named tensor of the plan: a graph input or a node's output.</summary>
    public Tensor Tensor(string name) =>
        fusedAway.TryGetValue(name, out string? chain)
            ? throw new GraphException($"'{name}' runs inside the fused stage {chain} of this inference plan and is not stored; plan with ExecutionPlan.ForInference(network, batch, fuseLayers: false) to read it")
            : tensors.TryGetValue(name, out var tensor) ? tensor : throw new GraphException($"no tensor named '{name}' in the plan");

    /// <summary>Parameters and their gradients, in the same order (training plans).</summary>
    public IReadOnlyList<Tensor> Parameters => parameters;
    /// <summary>dL/dparameter for each of <see cref="Parameters"/>, same order and shapes; backward adds into them
    /// (zeroed once at the start of each backward pass). Empty in inference plans.</summary>
    public IReadOnlyList<Tensor> ParameterGradients => parameterGrads;

    /// <summary>Seed of the random layers' numbers (dropout masks); defaults to the network's seed.</summary>
    public int Seed { get; set; }

    /// <summary>The random layers' counter: training forwards run so far, each drawing fresh numbers (the <c>step</c>
    /// word of <see cref="Backends.CounterRandom"/>'s counter). Not a training step: a forward without an update counts
    /// too. Set it to replay or resume a run.</summary>
    public long RandomCounter { get; set; }

    /// <summary>Runs every node forward in the plan's mode: training for training plans, eval for inference plans.</summary>
    public void Forward() => Forward(IsTraining);

    /// <summary>Runs every node forward in training mode (batch statistics, updated running statistics, dropout;
    /// advances <see cref="RandomCounter"/>) or in eval mode (running statistics, dropout off). Only training plans can
    /// run in training mode.</summary>
    public void Forward(bool training)
    {
        if (training && !IsTraining) throw new InvalidOperationException("training mode needs a plan made by ExecutionPlan.ForTraining");
        if (training)
            for (int stage = 0; stage < nodes.Length; stage++) RunTrainingStage(stage); // the forward stages
        else
            for (int stage = 0; stage < inferenceStages.Length; stage++) RunInferenceStage(stage);
    }

    /// <summary>
    /// One training step on the batch already in <see cref="Input"/> and <see cref="Target"/>:
    /// <see cref="ComputeGradients"/>, then the optimizer's update.
    /// </summary>
    public void TrainStep(Optimizer optimizer)
    {
        ComputeGradients();
        optimizer.Step(backend, parameters, parameterGrads);
    }

    /// <summary>
    /// Forward in training mode, the loss, and every gradient: accumulated node by node in reverse topological order
    /// (so a tensor that fans out has every consumer's share before its producer's backward runs), each set by its first
    /// writer or zeroed once before (see <see cref="NodeTensors.SetsInputGrad"/>). Parameters are not changed.
    /// </summary>
    public void ComputeGradients()
    {
        if (!IsTraining) throw new InvalidOperationException("gradients need a plan made by ExecutionPlan.ForTraining");
        for (int stage = 0; stage < trainingStages.Length; stage++) RunTrainingStage(stage);
    }

    /// <summary>Reads the last step's loss back to the host (waits for the device).</summary>
    public float ReadLoss()
    {
        if (Loss is null) throw new InvalidOperationException("an inference plan has no loss");
        Loss.Download(lossReadback);
        return lossReadback[0];
    }

    /// <summary>Nodes that feed some auxiliary output but not the main output (their whole head).</summary>
    static HashSet<string> AuxiliaryOnlyNodes(NetworkGraph graph)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        if (graph.AuxiliaryOutputs.Count == 0) return result;
        var feedsMain = Ancestors(graph, [graph.Output]);
        foreach (string name in Ancestors(graph, graph.AuxiliaryOutputs.Select(a => a.Name)))
            if (!feedsMain.Contains(name)) result.Add(name);
        return result;
    }

    /// <summary>The given tensors and every tensor they are computed from (walking the topological order backwards).</summary>
    static HashSet<string> Ancestors(NetworkGraph graph, IEnumerable<string> roots)
    {
        var found = new HashSet<string>(roots, StringComparer.Ordinal);
        for (int k = graph.Nodes.Count - 1; k >= 0; k--)
            if (found.Contains(graph.Nodes[k].Name))
                foreach (string input in graph.Nodes[k].Inputs) found.Add(input);
        return found;
    }

    Tensor Own(Tensor tensor)
    {
        owned.Add(tensor);
        return tensor;
    }

    /// <summary>Frees every tensor this plan allocated (inputs, outputs, gradients, workspaces, target, loss); the parameters
    /// and buffers belong to the network and stay.</summary>
    public void Dispose()
    {
        foreach (var tensor in owned) tensor.Dispose();
        owned.Clear();
    }
}

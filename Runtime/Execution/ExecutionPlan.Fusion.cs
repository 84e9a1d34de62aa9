using NeuroPlugin.Graph;

namespace NeuroPlugin.Execution;

// Inference-time fusion: in an inference plan on a backend with IFusedForward, a convolution and the layers that
// only it feeds — an eval-mode BatchNorm2d, a two-input Add (a residual), an activation, in that order, each optional —
// run as one stage that writes the last one's output; so do a Linear and the activation that only it feeds. The fused op gives the bits of the separate ops, so fusion changes
// the speed and nothing else; the outputs of the layers inside a chain are not computed (Tensor throws for them).
// On a backend with IFusedPairForward, a chain whose convolution is pointwise and whose output only a depthwise
// convolution's chain reads joins that chain as one stage (its Before): the backend may then hold the intermediate
// tensor a band of rows at a time (inverted residual blocks: expansion, depthwise).
// On a backend with IFusedPoolForward, a MaxPool2d that alone reads a convolution chain's output (or the convolution's,
// where nothing else follows it) joins the chain as its last node (its Pool), where the backend takes that pooling:
// conv → relu → pool as one op (LeNet-5), the convolution's output never written out whole.
public sealed partial class ExecutionPlan
{
    /// <summary>A convolution or linear layer (node index) and what follows it: a batch norm, an Add with its other input
    /// (convolutions only), an activation, a max pooling (convolutions only); <see cref="Last"/> is the node whose output
    /// the chain writes, where its stage sits.</summary>
    sealed record FusedChain(int Producer, int? BatchNorm, int? Add, Tensor? Residual, int? Activation, int Last)
    {
        /// <summary>The chain that runs first in the same op and whose output only this one reads (a fused pair), or null.</summary>
        public FusedChain? Before { get; init; }

        /// <summary>The MaxPool2d that alone reads the chain's convolution part and ends the chain (then <see cref="Last"/>), or null.</summary>
        public int? Pool { get; init; }

        /// <summary>The node whose output the convolution part writes: <see cref="Last"/>, or the node before the pool.</summary>
        public int BeforePool => Activation ?? Add ?? BatchNorm ?? Producer;

        public IEnumerable<int> Nodes => (Before?.Nodes ?? []).Concat(new int?[] { Producer, BatchNorm, Add, Activation, Pool }.OfType<int>());
    }

    /// <summary>The chains of an inference plan, by the index of their last node; empty when not fusing.</summary>
    readonly Dictionary<int, FusedChain> fusedChains = [];
    /// <summary>Nodes inside a chain whose outputs are not computed, and the chain's stage name.</summary>
    readonly Dictionary<string, string> fusedAway = new(StringComparer.Ordinal);

    /// <summary>Finds every chain (see the file's remarks) among the planned nodes.</summary>
    void FindFusedChains(NetworkGraph graph)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < nodes.Length; k++) index[nodes[k].Node] = k;
        var consumers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
            if (index.TryGetValue(node.Name, out int k))
                foreach (string input in node.Inputs)
                {
                    if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                    list.Add(k);
                }
        var outputs = graph.AuxiliaryOutputs.Select(a => a.Name).Append(graph.Output).ToHashSet(StringComparer.Ordinal);
        var claimed = new HashSet<int>();
        var fusing = (IFusedForward)backend;
        // the one node that reads k's output, when nothing else does (and it is no graph output) and no chain has it yet
        // (two branches meeting in an Add: the first chain found takes the Add, the other ends before it)
        int SoleConsumer(int k) =>
            !outputs.Contains(nodes[k].Node) && consumers.TryGetValue(nodes[k].Node, out var list) && list.Count == 1 && !claimed.Contains(list[0]) ? list[0] : -1;

        for (int k = 0; k < nodes.Length; k++)
        {
            if (layers[k] is not (Conv2d or Linear)) continue;
            int last = k, next = SoleConsumer(k);
            int? batchNorm = null, add = null, activation = null;
            Tensor? residual = null;
            if (layers[k] is Linear)
                next = next >= 0 && layers[next] is Activation ? next : -1; // a linear layer takes an activation only
            if (next >= 0 && layers[next] is BatchNorm2d)
                (batchNorm, last, next) = (next, next, SoleConsumer(next));
            if (next >= 0 && layers[k] is Conv2d convolution && layers[next] is Add { InputCount: 2 } &&
                nodes[next].Inputs[0] != nodes[next].Inputs[1] && fusing.CanFuse(convolution.HasBias, batchNorm is not null, residual: true))
            {
                var output = nodes[last].Output;
                (add, residual, last) = (next, nodes[next].Inputs[0] == output ? nodes[next].Inputs[1] : nodes[next].Inputs[0], next);
                next = SoleConsumer(next);
            }
            if (next >= 0 && layers[next] is Activation)
                (activation, last, next) = (next, next, SoleConsumer(next));
            int? pool = null;
            if (next >= 0 && layers[k] is Conv2d && layers[next] is MaxPool2d maxPool && backend is IFusedPoolForward pooling &&
                pooling.CanFusePool(nodes[last].Output.Shape, maxPool.Window))
                (pool, last) = (next, next);
            if (last == k) continue;
            var chain = new FusedChain(k, batchNorm, add, residual, activation, last) { Pool = pool };
            fusedChains[last] = chain;
            claimed.UnionWith(chain.Nodes);
            string name = string.Join("+", chain.Nodes.Select(n => nodes[n].Node));
            foreach (int n in chain.Nodes)
                if (n != last) fusedAway[nodes[n].Node] = name;
        }
        if (backend is IFusedPairForward pairs) PairFusedChains(pairs, consumers, outputs);
    }

    /// <summary>Joins each chain whose output only another chain's convolution reads to that chain, where the backend
    /// takes the two convolutions as one op (<see cref="IFusedPairForward.CanFusePair"/>).</summary>
    void PairFusedChains(IFusedPairForward pairs, Dictionary<string, List<int>> consumers, HashSet<string> outputs)
    {
        var byProducer = fusedChains.Values.Where(c => layers[c.Producer] is Conv2d).ToDictionary(c => c.Producer);
        foreach (var first in fusedChains.Values.ToArray())
        {
            string output = nodes[first.Last].Node;
            if (layers[first.Producer] is not Conv2d a || outputs.Contains(output) || !consumers.TryGetValue(output, out var readers) ||
                readers.Count != 1 || !byProducer.TryGetValue(readers[0], out var second) || second.Before is not null || first.Before is not null ||
                first.Pool is not null || second.Pool is not null) // a pair op pools nothing
                continue;
            var b = (Conv2d)layers[second.Producer];
            if (!pairs.CanFusePair(nodes[first.Producer].Inputs[0].Shape, nodes[first.Producer].Parameters[0].Shape, a.Window, a.Groups,
                    nodes[second.Producer].Parameters[0].Shape, b.Window, b.Groups))
                continue;
            var pair = second with { Before = first };
            fusedChains.Remove(first.Last);
            fusedChains[second.Last] = pair;
            byProducer[second.Producer] = pair;
            string name = string.Join("+", pair.Nodes.Select(n => nodes[n].Node));
            foreach (int n in pair.Nodes)
                if (n != pair.Last) fusedAway[nodes[n].Node] = name;
        }
    }

    /// <summary>A chain's convolution and what it folds in, as <see cref="IFusedPairForward"/> takes them.</summary>
    FusedConvolution Describe(FusedChain chain)
    {
        var t = nodes[chain.Producer];
        var convolution = (Conv2d)layers[chain.Producer];
        var activation = chain.Activation is { } a ? (Activation)layers[a] : null;
        FoldedBatchNorm? batchNorm = null;
        if (chain.BatchNorm is { } b)
            batchNorm = new FoldedBatchNorm(nodes[b].Parameters[0], nodes[b].Parameters[1], nodes[b].Buffers[0], nodes[b].Buffers[1], ((BatchNorm)layers[b]).Epsilon);
        return new FusedConvolution(t.Parameters[0], convolution.HasBias ? t.Parameters[1] : null, batchNorm, chain.Residual,
            activation?.Kind, activation?.NegativeSlope ?? 0f, convolution.Window, convolution.Groups);
    }

    /// <summary>Runs a chain's one op: the convolution's or linear layer's input and weights, the batch norm's parameters
    /// and running statistics, the residual, the activation, into the last node's output.</summary>
    void RunFused(FusedChain chain)
    {
        var fusing = (IFusedForward)backend;
        var t = nodes[chain.Producer];
        var activation = chain.Activation is { } a ? (Activation)layers[a] : null;
        if (layers[chain.Producer] is Linear linear)
        {
            fusing.LinearFusedForward(t.Inputs[0], t.Parameters[0], linear.HasBias ? t.Parameters[1] : null, activation!.Kind,
                activation.NegativeSlope, nodes[chain.Last].Output);
            return;
        }
        if (chain.Before is { } before)
        {
            ((IFusedPairForward)backend).Conv2dPairFusedForward(nodes[before.Producer].Inputs[0], Describe(before), nodes[before.Last].Output,
                Describe(chain), nodes[chain.Last].Output);
            return;
        }
        var c = Describe(chain);
        if (chain.Pool is { } pool)
        {
            ((IFusedPoolForward)backend).Conv2dMaxPoolFusedForward(t.Inputs[0], c, nodes[chain.BeforePool].Output, ((MaxPool2d)layers[pool]).Window,
                nodes[pool].Workspace[0], nodes[pool].Output);
            return;
        }
        fusing.Conv2dFusedForward(t.Inputs[0], c.Weight, c.Bias, c.BatchNorm, c.Residual, c.Activation, c.Alpha, nodes[chain.Last].Output, c.Window, c.Groups);
    }
}

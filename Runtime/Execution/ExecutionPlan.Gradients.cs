using NeuroPlugin.Graph;

namespace NeuroPlugin.Execution;

// Which gradients of node outputs a training step zeroes, decided once when the plan is built. Backward adds into
// gradients, so the step used to zero every one of them first (for ResNet-20 at batch 64, some 160 MB of writes) and then
// read each back to add into it. Most have one contributor, and the first backward to write a gradient can as well set
// it: dx = 0 + its contribution, the bits of adding it to a zeroed dx, without the fill or the read.
public sealed partial class ExecutionPlan
{
    /// <summary>
    /// Marks, in each node's <see cref="NodeTensors.SetsInputGrad"/>, the input gradients its backward sets, and returns the
    /// owning node-output gradients that must still be zeroed each step. Backward runs in reverse topological order, so a
    /// gradient's first writer is the backward of its last consumer; where that layer can set its input gradients
    /// (<see cref="Layer.CanSetInputGradients"/>), it does, and later contributors (a fork's, such as a residual block's
    /// input) add as before. Gradients stay zeroed when their first writer is a layer that only adds (a max pool's scatter
    /// leaves elements untouched), when the loss writes them (the logits', which the loss backward adds into), when one node
    /// takes the tensor twice (both contributions may come from one kernel), or when no backward writes them at all. A view's
    /// consumers (Flatten's) write the gradient of the tensor it views, so they count as that tensor's contributors.
    /// </summary>
    /// <param name="graph">The planned graph; every node is planned (training plans skip none).</param>
    /// <param name="outputGradients">Each owning node-output gradient and its node's name, in node order.</param>
    List<(string Node, Tensor Gradient)> PlanGradientWrites(NetworkGraph graph, List<(string Node, Tensor Gradient)> outputGradients)
    {
        // the tensor whose gradient storage each name's gradient is: itself, or for a view the one it views
        var storage = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs) storage[input.Name] = input.Name;
        foreach (var node in graph.Nodes)
            storage[node.Name] = node.Layer.OutputIsViewOfInput ? storage[node.Inputs[0]] : node.Name;

        var written = new HashSet<string>(StringComparer.Ordinal) { storage[graph.Output] };
        foreach (var aux in graph.AuxiliaryOutputs) written.Add(storage[aux.Name]);
        var set = new HashSet<string>(StringComparer.Ordinal);
        for (int k = nodes.Length - 1; k >= 0; k--)
        {
            var node = nodes[k];
            if (node.OutputGrad is null || layers[k].OutputIsViewOfInput) continue; // not run, or writes nothing itself
            var inputs = graph.Nodes[k].Inputs;
            var sets = new bool[inputs.Count];
            for (int i = 0; i < inputs.Count; i++)
            {
                if (node.InputGrads[i] is null) continue;
                string target = storage[inputs[i]];
                bool takenOnce = inputs.Count(name => storage[name] == target) == 1;
                if (written.Add(target) && layers[k].CanSetInputGradients && takenOnce)
                {
                    sets[i] = true;
                    set.Add(target);
                }
            }
            if (sets.Contains(true)) node.SetsInputGrad = sets;
        }
        return outputGradients.Where(gradient => !set.Contains(gradient.Node)).ToList();
    }

    /// <summary>The nodes whose output gradients this plan zeroes at the start of each step's backward, in node order (the
    /// others' first writers set them, see <see cref="NodeTensors.SetsInputGrad"/>); for tests and reports.</summary>
    internal IReadOnlyList<string> ZeroedOutputGradients { get; private set; } = [];
}

namespace NeuroPlugin.Graph;

/// <summary>
/// Puts a bilinear <see cref="Upsample"/> node in front of a network, so that a model built for S×S images takes the
/// data's own images (Fashion-MNIST's 1×28×28 for <c>neuro train --image-size S</c>): the resize runs on the device
/// inside every forward, backward ignores it (no parameter upstream), and a saved model keeps it, so it loads and runs
/// on the original images.
/// </summary>
public static class InputResize
{
    /// <summary>The node name of the resize.</summary>
    public const string NodeName = "resize";

    /// <summary>
    /// A graph whose one input is (C,H,W) = <paramref name="sourceItemShape"/>, resized to the single input shape of
    /// <paramref name="model"/> (same C) and then <paramref name="model"/>'s nodes, outputs and auxiliary heads unchanged
    /// (they reuse its layers). Throws <see cref="GraphException"/> if the model has not exactly one (C,H,W) input of
    /// the source's channels, or already has a node named <see cref="NodeName"/>.
    /// </summary>
    public static NetworkGraph Prepend(NetworkGraph model, TensorShape sourceItemShape)
    {
        if (model.Inputs.Count != 1) throw new GraphException($"input resize: the model has {model.Inputs.Count} inputs, expected 1");
        var (inputName, target) = (model.Inputs[0].Name, model.Inputs[0].ItemShape);
        if (target.Rank != 3 || sourceItemShape.Rank != 3 || target[0] != sourceItemShape[0])
            throw new GraphException($"input resize: cannot resize images {sourceItemShape} to the model's input {target} (both must be (C,H,W) with equal C)");
        var graph = new NetworkGraph();
        graph.AddInput(inputName, sourceItemShape);
        string resized = graph.Add(NodeName, new Upsample(target[1], target[2]), inputName);
        foreach (var node in model.Nodes)
            graph.Add(node.Name, node.Layer, [.. node.Inputs.Select(name => name == inputName ? resized : name)]);
        graph.Output = model.Output;
        foreach (var auxiliary in model.AuxiliaryOutputs) graph.AddAuxiliaryOutput(auxiliary.Name, auxiliary.Weight);
        return graph;
    }
}

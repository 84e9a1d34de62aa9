using NeuroPlugin.Graph;

namespace NeuroPlugin.Models;

/// <summary>
/// LeNet-5 in its modern form (ReLU, max pooling):
/// conv1 5×5 (6, padding 2) → ReLU → pool 2×2 → conv2 5×5 (16) → ReLU → pool 2×2 → flatten →
/// fc1 120 → ReLU → fc2 84 → ReLU → fc3 classes. For 28×28 inputs the flattened size is 16·5·5 = 400;
/// other sizes are inferred.
/// </summary>
public static class LeNet5
{
    /// <summary>LeNet-5 for <paramref name="options"/>; for the default 1×28×28 input and 10 classes, 61,706 parameters.</summary>
    public static NetworkGraph Build(ModelOptions options)
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(options.InputChannels, options.ImageSize, options.ImageSize));
        x = graph.Add("conv1", new Conv2d(options.InputChannels, 6, kernelSize: 5, padding: 2), x);
        x = graph.Add("relu1", Activation.ReLU(), x);
        x = graph.Add("pool1", new MaxPool2d(2), x);
        x = graph.Add("conv2", new Conv2d(6, 16, kernelSize: 5), x);
        x = graph.Add("relu2", Activation.ReLU(), x);
        x = graph.Add("pool2", new MaxPool2d(2), x);
        x = graph.Add("flatten", new Flatten(), x);
        int features = graph.InferShapes(1)[x][1];
        x = graph.Add("fc1", new Linear(features, 120), x);
        x = graph.Add("relu3", Activation.ReLU(), x);
        x = graph.Add("fc2", new Linear(120, 84), x);
        x = graph.Add("relu4", Activation.ReLU(), x);
        graph.Add("fc3", new Linear(84, options.Classes), x);
        return graph;
    }
}

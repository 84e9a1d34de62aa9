using NeuroPlugin.Layers;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Editor.Experiments;

/// <summary>
/// The fully connected classifier the course's experiments use: input (N,1,28,28) → Flatten → for each hidden
/// layer <c>l</c>: <c>fc{l}</c> (Linear) [→ <c>bn{l}</c> (BatchNorm1d)] → <c>act{l}</c> [→ <c>drop{l}</c> (Dropout)],
/// then <c>out</c> (Linear to 10 logits). Batch normalization sits between the affine map and the activation,
/// as the course places it (on <c>u = Wz + b</c>).
/// </summary>
internal sealed record Perceptron(int[] Hidden, ActivationKind Activation)
{
    /// <summary>Initializer of the hidden and output weights (PyTorch's default when null).</summary>
    public Initializer? WeightInit { get; init; }
    /// <summary>Initializer of the biases (PyTorch's default when null).</summary>
    public Initializer? BiasInit { get; init; }
    /// <summary>Batch normalization after every hidden Linear.</summary>
    public bool BatchNorm { get; init; }
    /// <summary>Dropout probability after every hidden activation; 0 for none.</summary>
    public float Dropout { get; init; }

    /// <summary>The Linear node of hidden layer <paramref name="layer"/> (1-based).</summary>
    public static string LinearName(int layer) => $"fc{layer}";
    /// <summary>The activation node (its output is the layer's activation) of hidden layer <paramref name="layer"/>.</summary>
    public static string ActivationName(int layer) => $"act{layer}";
    /// <summary>The output Linear.</summary>
    public const string OutputName = "out";

    /// <summary>The graph, for 28×28 grayscale images and 10 classes.</summary>
    public NetworkGraph Build()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("image", new TensorShape(1, FashionMnist.ImageSize, FashionMnist.ImageSize));
        x = graph.Add("flatten", new Flatten(), x);
        int width = FashionMnist.ImageSize * FashionMnist.ImageSize;
        for (int l = 1; l <= Hidden.Length; l++)
        {
            x = graph.Add(LinearName(l), new Linear(width, Hidden[l - 1], bias: true, WeightInit, BiasInit), x);
            if (BatchNorm) x = graph.Add($"bn{l}", new BatchNorm1d(Hidden[l - 1]), x);
            x = graph.Add(ActivationName(l), new Activation(Activation), x);
            if (Dropout > 0f) x = graph.Add($"drop{l}", new Dropout(Dropout), x);
            width = Hidden[l - 1];
        }
        graph.Add(OutputName, new Linear(width, FashionMnist.ClassCount, bias: true, WeightInit, BiasInit), x);
        return graph;
    }

    /// <summary>Creates the network on <paramref name="backend"/>, initialized from <paramref name="seed"/>.</summary>
    public Network Create(IBackend backend, int seed) => Network.Create(Build(), backend, seed);

    /// <summary>Names of the weight matrices in order: <c>fc1.weight</c> … <c>out.weight</c>.</summary>
    public IEnumerable<string> WeightNames() =>
        Enumerable.Range(1, Hidden.Length).Select(l => $"{LinearName(l)}.weight").Append($"{OutputName}.weight");
}

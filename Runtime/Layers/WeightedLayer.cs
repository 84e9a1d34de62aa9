using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// What <see cref="Linear"/> and the convolutions (<see cref="WindowedConvolution"/>) share: a learnable <c>weight</c> and,
/// with <see cref="HasBias"/>, a <c>bias</c> of one value per output feature or channel, in PyTorch's state-dict order
/// (weight, then bias), each started by its initializer (PyTorch's default <c>U(−1/√fanIn, 1/√fanIn)</c> unless given).
/// </summary>
public abstract class WeightedLayer : Layer
{
    /// <summary>Declares <c>weight</c> of <paramref name="weightShape"/> and, with <paramref name="bias"/>, <c>bias</c>
    /// (<paramref name="outputs"/>), both initialized with <paramref name="fanIn"/> and <paramref name="fanOut"/>.</summary>
    private protected WeightedLayer(TensorShape weightShape, int outputs, bool bias, Initializer? weightInit, Initializer? biasInit,
        int fanIn, int fanOut)
    {
        HasBias = bias;
        WeightInit = weightInit ?? Initializer.PyTorchDefault;
        BiasInit = biasInit ?? Initializer.PyTorchDefault;
        var parameters = new List<ParameterSpec> { new("weight", weightShape, WeightInit, fanIn, fanOut) };
        if (bias) parameters.Add(new("bias", new TensorShape(outputs), BiasInit, fanIn, fanOut));
        Parameters = parameters;
    }

    /// <summary>Whether the layer adds the bias b, one value per output feature or channel (PyTorch's <c>bias=True</c>).</summary>
    public bool HasBias { get; }
    /// <summary>How the weight starts (<see cref="Initializer.PyTorchDefault"/> unless given).</summary>
    public Initializer WeightInit { get; }
    /// <summary>How the bias starts (<see cref="Initializer.PyTorchDefault"/> unless given).</summary>
    public Initializer BiasInit { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <summary>The bias tensor of <paramref name="t"/>'s parameters, or null without a bias.</summary>
    private protected Tensor? Bias(NodeTensors t) => HasBias ? t.Parameters[1] : null;

    /// <summary>The bias's gradient of <paramref name="t"/>, or null without a bias (or in a plan without gradients).</summary>
    private protected Tensor? BiasGradient(NodeTensors t) => HasBias ? t.ParameterGrads[1] : null;
}

using System.Text.Json.Nodes;
using NeuroPlugin.Backends;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Layers;

/// <summary>An element-wise activation (<see cref="ActivationKind"/> gives the formulas); any shape in, the same shape out.</summary>
public sealed class Activation(ActivationKind kind) : Layer
{
    public ActivationKind Kind { get; } = kind;
    public override string Type => Kind.ToString();

    public static Activation ReLU() => new(ActivationKind.ReLU);
    public static Activation Sigmoid() => new(ActivationKind.Sigmoid);
    public static Activation Tanh() => new(ActivationKind.Tanh);

    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) => inputs[0];

    public override void Forward(IBackend backend, NodeTensors t) => backend.ActivationForward(Kind, t.Inputs[0], t.Output);

    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.ActivationBackward(Kind, t.Inputs[0], t.Output, t.Gradient, dx);
    }

    public override JsonObject Attributes() => [];
}

/// <summary>Flattens (N,C,H,W) to (N,C·H·W). A view: no data moves forward or backward.</summary>
public sealed class Flatten : Layer
{
    public override string Type => "Flatten";
    public override bool OutputIsViewOfInput => true;

    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) =>
        new(inputs[0].N, inputs[0].ItemLength);

    public override void Forward(IBackend backend, NodeTensors t) { }   // the output is a view of the input
    public override void Backward(IBackend backend, NodeTensors t) { }  // and its gradient a view of the input's gradient

    public override JsonObject Attributes() => [];
}

using NeuroPlugin.Backends;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Layers;

/// <summary>
/// Softmax over the class axis (PyTorch's <c>Softmax(dim=1)</c>): input and output (N,K),
/// <c>y[n,k] = e^(x[n,k] − max_j x[n,j]) / Σ_j e^(x[n,j] − max_j x[n,j])</c>. Backward:
/// <c>dx = y⊙(dy − Σ_k dy⊙y)</c>. For training a classifier, leave it out: the loss head already applies
/// softmax fused with cross-entropy. This layer is for networks that output probabilities or use them inside.
/// </summary>
public sealed class Softmax : Layer
{
    // the training loss is softmax cross-entropy on the output node, applied by the plan; this layer is for inference
    internal static LayerDescriptor Definition { get; } =
        new LayerDescriptorBuilder<Softmax>("Softmax", LayerGroup.Loss, "turns (N,K) logits into probabilities (training applies it with the loss already)")
            .Build(_ => new Softmax(), OnnxMapping.Same("Softmax"), exampleInputs: [new TensorShape(10)]);

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 2)
            throw new ShapeException($"{node}: Softmax takes (N,K), got {x} (add a Flatten before it)");
        return x;
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) => backend.SoftmaxForward(t.Inputs[0], t.Output);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.SoftmaxBackward(t.Output, t.Gradient, dx);
    }
}

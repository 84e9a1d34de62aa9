namespace NeuroPlugin.Layers;

/// <summary>
/// Inverted dropout (PyTorch's <c>Dropout</c>): in training, each element is kept with probability 1 − p and
/// scaled, <c>y = x·mask</c> with <c>mask = Bernoulli(1 − p)/(1 − p)</c>, so the expected output equals the input
/// and eval mode is the identity. Any shape; output shape = input shape. The mask comes from counter-based
/// random numbers (<see cref="CounterRandom"/>) keyed by the plan's seed, the training step and the node, so it
/// is identical on every backend and reproducible; it is saved (workspace, same shape) for backward.
/// </summary>
public sealed class Dropout : Layer
{
    /// <param name="p">Probability of dropping an element, in [0, 1) (PyTorch's default 0.5).</param>
    public Dropout(float p = 0.5f)
    {
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout: p must be in [0, 1)");
        P = p;
    }

    /// <summary>Probability of dropping an element.</summary>
    public float P { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Dropout>("Dropout", LayerGroup.Regularization,

        "in training, zeroes each element with probability p and scales the rest by 1/(1 − p)", d =>
        {
            var p = d.Float("p", l => l.P, 0.5f, AttributeBounds.Probability);
            return d.Build(a => new Dropout(p.Read(a)), OnnxMapping.Same("Dropout"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) => inputs[0];

    /// <summary>The mask, shaped as the output.</summary>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [output];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        // eval mode is p = 0: the identity, with a mask of ones so backward stays correct in either mode
        backend.DropoutForward(t.Inputs[0], t.Output, t.Workspace[0], t.Training ? P : 0f, t.Seed, t.Stream, t.RandomCounter);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.DropoutBackward(t.Workspace[0], t.Gradient, dx);
    }
}

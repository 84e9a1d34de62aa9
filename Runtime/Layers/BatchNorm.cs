using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// Batch normalization with PyTorch's semantics, per channel c over the batch (and H,W):
/// training: <c>x̂ = (x − μ_B)/√(σ²_B + ε)</c> with the batch mean and biased variance, and the running
/// statistics move toward the batch's, <c>running = (1 − momentum)·running + momentum·batch</c> (unbiased variance);
/// eval: <c>x̂ = (x − running_mean)/√(running_var + ε)</c>. Then <c>y = γ·x̂ + β</c>.
/// Parameters <c>weight</c> γ (C, init 1) and <c>bias</c> β (C, init 0); buffers <c>running_mean</c> (C, init 0)
/// and <c>running_var</c> (C, init 1); workspace: the mean and 1/√(σ² + ε) forward used, for backward.
/// </summary>
public abstract class BatchNorm : Layer
{
    /// <summary>PyTorch's defaults.</summary>
    public const float DefaultEpsilon = 1e-5f, DefaultMomentum = 0.1f;

    private protected BatchNorm(int numFeatures, float eps, float momentum)
    {
        if (numFeatures < 1)
            throw new ShapeException($"{Type} needs a positive channel count, got numFeatures {numFeatures}");
        if (!(eps > 0f) || !float.IsFinite(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{Type}: eps must be a positive number");
        if (!(momentum >= 0f && momentum < 1f))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, $"{Type}: momentum must be in [0, 1)");
        NumFeatures = numFeatures;
        Epsilon = eps;
        Momentum = momentum;
        var shape = new TensorShape(numFeatures);
        Parameters =
        [
            new("weight", shape, Initializer.Ones, numFeatures, numFeatures),
            new("bias", shape, Initializer.Zeros, numFeatures, numFeatures),
        ];
        Buffers = [new("running_mean", shape, 0f), new("running_var", shape, 1f)];
    }

    /// <summary>Channels C (PyTorch's <c>num_features</c>).</summary>
    public int NumFeatures { get; }
    /// <summary>ε added to the variance (PyTorch's <c>eps</c>).</summary>
    public float Epsilon { get; }
    /// <summary>Weight m of the batch statistics in the running averages.</summary>
    public float Momentum { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters { get; }
    /// <inheritdoc/>
    public override IReadOnlyList<BufferSpec> Buffers { get; }

    /// <summary>The descriptor of batch norm type <paramref name="type"/>, created by <paramref name="create"/>(numFeatures, eps, momentum).</summary>
    private protected static LayerDescriptor Describe<TLayer>(string type, string input, Func<int, float, float, TLayer> create,
        IReadOnlyList<TensorShape>? exampleInputs = null) where TLayer : BatchNorm
    {
        var d = new LayerDescriptorBuilder<TLayer>(type, LayerGroup.Normalization, $"normalizes each channel of {input} over the batch, then scales and shifts (learned γ, β)");
        var numFeatures = d.Int("numFeatures", l => l.NumFeatures, inferred: InferredFrom.InputChannels);
        var eps = d.Float("eps", l => l.Epsilon, DefaultEpsilon, AttributeBounds.Above(0));
        var momentum = d.Float("momentum", l => l.Momentum, DefaultMomentum, AttributeBounds.Probability);
        return d.Build(a => create(numFeatures.Read(a), eps.Read(a), momentum.Read(a)), OnnxMapping.Same("BatchNormalization"), exampleInputs);
    }

    /// <summary>Checks the channel axis; the ranks are the subclass's.</summary>
    private protected TensorShape CheckChannels(string node, TensorShape x)
    {
        if (x[1] != NumFeatures)
            throw new ShapeException($"{node}: input {x} needs {NumFeatures} channels, got {x[1]}");
        return x;
    }

    /// <summary>The saved mean and inverse standard deviation, (C) each.</summary>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) =>
        [new TensorShape(NumFeatures), new TensorShape(NumFeatures)];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        var x = t.Inputs[0];
        if (t.Training && x.Length / NumFeatures < 2)
            // as PyTorch: one value per channel has no variance (and M − 1 = 0 in the unbiased running variance)
            throw new InvalidOperationException($"{t.Node}: {Type} in training mode needs more than one value per channel, got input {x.Shape}");
        backend.BatchNormForward(x, t.Parameters[0], t.Parameters[1], t.Buffers[0], t.Buffers[1],
            t.Workspace[0], t.Workspace[1], t.Output, t.Training, Momentum, Epsilon);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t) =>
        backend.BatchNormBackward(t.Inputs[0], t.Parameters[0], t.Workspace[0], t.Workspace[1], t.Gradient,
            t.InputGrads[0], t.ParameterGrads[0], t.ParameterGrads[1], t.Training, t.AddsToInputGrad(0));

    /// <inheritdoc/>
    public override bool CanSetInputGradients => true;
}

/// <summary>Batch normalization after a Linear: input and output (N,C) (or (N,C,L), statistics over N and L).
/// See <see cref="BatchNorm"/>.</summary>
public sealed class BatchNorm1d(int numFeatures, float eps = BatchNorm.DefaultEpsilon, float momentum = BatchNorm.DefaultMomentum)
    : BatchNorm(numFeatures, eps, momentum)
{
    internal static LayerDescriptor Definition { get; } =
        Describe("BatchNorm1d", "(N,C) features", (c, eps, momentum) => new BatchNorm1d(c, eps, momentum), [new TensorShape(4)]);

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank is not (2 or 3))
            throw new ShapeException($"{node}: BatchNorm1d takes (N,{NumFeatures}) or (N,{NumFeatures},L), got {x}");
        return CheckChannels(node, x);
    }
}

/// <summary>Batch normalization after a Conv2d: input and output (N,C,H,W), statistics over N, H and W.
/// See <see cref="BatchNorm"/>.</summary>
public sealed class BatchNorm2d(int numFeatures, float eps = BatchNorm.DefaultEpsilon, float momentum = BatchNorm.DefaultMomentum)
    : BatchNorm(numFeatures, eps, momentum)
{
    internal static LayerDescriptor Definition { get; } =
        Describe("BatchNorm2d", "(N,C,H,W) images", (c, eps, momentum) => new BatchNorm2d(c, eps, momentum));

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4)
            throw new ShapeException($"{node}: BatchNorm2d takes (N,{NumFeatures},H,W), got {x}");
        return CheckChannels(node, x);
    }
}

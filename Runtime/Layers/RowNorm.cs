using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// Normalization of each item on its own (no batch statistics, the same in training and eval): the input is read as rows
/// of contiguous values, each row normalized by its own mean and biased variance,
/// <c>x̂ = (x − μ_row)/√(σ²_row + ε)</c>, then scaled and shifted by a learned affine map, <c>y = γ·x̂ + β</c>
/// (<see cref="IBackend.RowNormForward"/>). <see cref="LayerNorm"/> normalizes the trailing axes with one γ, β per
/// element; <see cref="GroupNorm"/> groups of channels and <see cref="InstanceNorm2d"/> single channels, with one γ, β per
/// channel. Parameters <c>weight</c> γ (init 1) and <c>bias</c> β (init 0), PyTorch's names, where the layer is affine;
/// workspace: the mean and 1/√(σ² + ε) of every row, for backward.
/// </summary>
public abstract class RowNorm : Layer
{
    /// <summary>PyTorch's ε.</summary>
    public const float DefaultEpsilon = 1e-5f;

    private protected RowNorm(float eps, TensorShape? affineShape)
    {
        if (!(eps > 0f) || !float.IsFinite(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{GetType().Name}: eps must be a positive number");
        Epsilon = eps;
        Parameters = affineShape is { } shape
            ?
            [
                new("weight", shape, Initializer.Ones, shape.Length, shape.Length),
                new("bias", shape, Initializer.Zeros, shape.Length, shape.Length),
            ]
            : [];
    }

    /// <summary>ε added to the variance (PyTorch's <c>eps</c>).</summary>
    public float Epsilon { get; }

    /// <summary>Whether the layer has the learned γ and β (LayerNorm's <c>elementwise_affine</c>, the others' <c>affine</c>);
    /// without them <c>y = x̂</c>.</summary>
    public bool IsAffine => Parameters.Count > 0;

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <summary>Values per row, L, for an input of <paramref name="input"/>'s shape (with the batch axis).</summary>
    private protected abstract int RowLength(TensorShape input);

    /// <summary>Consecutive elements that share one γ, β: 1 for LayerNorm, the spatial size for the channel-wise layers.</summary>
    private protected abstract int AffineStride(TensorShape input);

    /// <summary>The saved mean and inverse standard deviation, one per row: (N·Length/L) each.</summary>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output)
    {
        var rows = new TensorShape(inputs[0].Length / RowLength(inputs[0]));
        return [rows, rows];
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        var x = t.Inputs[0];
        backend.RowNormForward(x, IsAffine ? t.Parameters[0] : null, IsAffine ? t.Parameters[1] : null,
            t.Workspace[0], t.Workspace[1], t.Output, AffineStride(x.Shape), Epsilon);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        var x = t.Inputs[0];
        backend.RowNormBackward(x, IsAffine ? t.Parameters[0] : null, t.Workspace[0], t.Workspace[1], t.Gradient, t.InputGrads[0],
            IsAffine ? t.ParameterGrads[0] : null, IsAffine ? t.ParameterGrads[1] : null, AffineStride(x.Shape));
    }

    /// <summary>Checks the rank (<paramref name="form"/> names the accepted shapes) and the channel axis against <paramref name="channels"/>.</summary>
    private protected static TensorShape CheckChannels(string node, string form, TensorShape x, int channels, int minRank, int maxRank)
    {
        if (x.Rank < minRank || x.Rank > maxRank)
            throw new ShapeException($"{node}: {form}, got {x}");
        if (x[1] != channels)
            throw new ShapeException($"{node}: input {x} needs {channels} channels, got {x[1]}");
        return x;
    }
}

/// <summary>PyTorch's <c>nn.LayerNorm(normalized_shape, eps, elementwise_affine)</c>: input (N,…,D₁…D_k) whose last k axes
/// are <see cref="NormalizedShape"/>; each item's last k axes (D = ΠDᵢ values) are normalized together, and γ, β have the
/// normalized shape (one per element). See <see cref="RowNorm"/>.</summary>
public sealed class LayerNorm : RowNorm
{
    /// <summary>Normalizes the last <paramref name="normalizedShape"/>.Length axes (1 to 3 sizes, each ≥ 1); γ and β of that
    /// shape when <paramref name="elementwiseAffine"/>.</summary>
    public LayerNorm(int[] normalizedShape, float eps = DefaultEpsilon, bool elementwiseAffine = true)
        : base(eps, AffineShape(normalizedShape, elementwiseAffine))
    {
        NormalizedShape = [.. normalizedShape];
    }

    static TensorShape? AffineShape(int[] shape, bool affine)
    {
        if (shape.Length is < 1 or > TensorShape.MaxRank - 1 || shape.Any(d => d < 1))
            throw new ShapeException($"LayerNorm: normalizedShape must be 1 to {TensorShape.MaxRank - 1} positive sizes, got [{string.Join(",", shape)}]");
        return affine ? TensorShape.Of(shape) : null;
    }

    /// <summary>The sizes of the normalized trailing axes (PyTorch's <c>normalized_shape</c>).</summary>
    public int[] NormalizedShape { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<LayerNorm>("LayerNorm", LayerGroup.Normalization,
        "normalizes each item over its last axes (normalizedShape), then scales and shifts each element (learned γ, β)", d =>
        {
            var shape = d.VariableInts("normalizedShape", l => l.NormalizedShape, 1, [16], AttributeBounds.AtLeast(1));
            var eps = d.Float("eps", l => l.Epsilon, DefaultEpsilon, AttributeBounds.Above(0));
            var affine = d.Bool("elementwiseAffine", l => l.IsAffine, true);
            return d.Build(a => new LayerNorm(shape.Read(a), eps.Read(a), affine.Read(a)), OnnxMapping.Same("LayerNormalization"), [new TensorShape(16)]);
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        int k = NormalizedShape.Length;
        bool fits = x.Rank > k;
        for (int i = 0; fits && i < k; i++) fits = x[x.Rank - k + i] == NormalizedShape[i];
        if (!fits)
            throw new ShapeException($"{node}: LayerNorm over the last axes ({string.Join(",", NormalizedShape)}) needs an input (N,…,{string.Join(",", NormalizedShape)}), got {x}");
        return x;
    }

    private protected override int RowLength(TensorShape input) => NormalizedShape.Aggregate(1, (a, b) => a * b);
    private protected override int AffineStride(TensorShape input) => 1;
}

/// <summary>PyTorch's <c>nn.GroupNorm(num_groups, num_channels, eps, affine)</c>: input (N,C,…) (rank 2 to 4), the C channels
/// split into <see cref="NumGroups"/> groups of C/G consecutive channels, each group of each item normalized over its
/// channels and positions together; γ, β (C), one per channel. See <see cref="RowNorm"/>.</summary>
public sealed class GroupNorm : RowNorm
{
    /// <summary>Groups <paramref name="numChannels"/> channels into <paramref name="numGroups"/> groups (a divisor of it).</summary>
    public GroupNorm(int numGroups, int numChannels, float eps = DefaultEpsilon, bool affine = true)
        : base(eps, AffineShape(numGroups, numChannels, affine))
    {
        NumGroups = numGroups;
        NumChannels = numChannels;
    }

    static TensorShape? AffineShape(int groups, int channels, bool affine)
    {
        if (channels < 1) throw new ShapeException($"GroupNorm needs a positive channel count, got numChannels {channels}");
        if (groups < 1 || channels % groups != 0)
            throw new ArgumentOutOfRangeException(nameof(groups), groups, $"GroupNorm: numGroups must divide the {channels} channels");
        return affine ? new TensorShape(channels) : null;
    }

    /// <summary>G, the number of channel groups (PyTorch's <c>num_groups</c>).</summary>
    public int NumGroups { get; }
    /// <summary>C, the input's channel count (PyTorch's <c>num_channels</c>).</summary>
    public int NumChannels { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<GroupNorm>("GroupNorm", LayerGroup.Normalization,
        "normalizes each item's groups of channels on their own, then scales and shifts each channel (learned γ, β)", d =>
        {
            var groups = d.Int("numGroups", l => l.NumGroups, 1, AttributeBounds.AtLeast(1));
            var channels = d.Int("numChannels", l => l.NumChannels, inferred: InferredFrom.InputChannels);
            var eps = d.Float("eps", l => l.Epsilon, DefaultEpsilon, AttributeBounds.Above(0));
            var affine = d.Bool("affine", l => l.IsAffine, true);
            return d.Build(a => new GroupNorm(groups.Read(a), channels.Read(a), eps.Read(a), affine.Read(a)),
                new OnnxMapping([new OnnxForm("Reshape", "InstanceNormalization", "Mul", "Add")], ["InstanceNormalization", "Reshape", "Mul", "Add", "GroupNormalization"]));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) =>
        CheckChannels(node, $"GroupNorm takes (N,{NumChannels},…)", inputs[0], NumChannels, 2, TensorShape.MaxRank);

    private protected override int RowLength(TensorShape input) => input.ItemLength / NumGroups;
    private protected override int AffineStride(TensorShape input) => input.ItemLength / NumChannels;
}

/// <summary>PyTorch's <c>nn.InstanceNorm2d(num_features, eps, affine)</c> with its default
/// <c>track_running_stats=False</c>: input (N,C,H,W), each channel of each item normalized over its H·W positions, in
/// training and eval alike; γ, β (C) when <see cref="RowNorm.IsAffine"/> (PyTorch's default: not). See <see cref="RowNorm"/>.</summary>
public sealed class InstanceNorm2d : RowNorm
{
    /// <summary>Normalizes each of <paramref name="numFeatures"/> channels per item.</summary>
    public InstanceNorm2d(int numFeatures, float eps = DefaultEpsilon, bool affine = false)
        : base(eps, AffineShape(numFeatures, affine))
    {
        NumFeatures = numFeatures;
    }

    static TensorShape? AffineShape(int channels, bool affine)
    {
        if (channels < 1) throw new ShapeException($"InstanceNorm2d needs a positive channel count, got numFeatures {channels}");
        return affine ? new TensorShape(channels) : null;
    }

    /// <summary>C, the input's channel count (PyTorch's <c>num_features</c>).</summary>
    public int NumFeatures { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<InstanceNorm2d>("InstanceNorm2d", LayerGroup.Normalization,
        "normalizes each channel of each (N,C,H,W) image on its own (style transfer, small batches); optional learned γ, β", d =>
        {
            var features = d.Int("numFeatures", l => l.NumFeatures, inferred: InferredFrom.InputChannels);
            var eps = d.Float("eps", l => l.Epsilon, DefaultEpsilon, AttributeBounds.Above(0));
            var affine = d.Bool("affine", l => l.IsAffine, false);
            return d.Build(a => new InstanceNorm2d(features.Read(a), eps.Read(a), affine.Read(a)), OnnxMapping.Same("InstanceNormalization"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs) =>
        CheckChannels(node, $"InstanceNorm2d takes (N,{NumFeatures},H,W)", inputs[0], NumFeatures, 4, 4);

    private protected override int RowLength(TensorShape input) => input.ItemLength / NumFeatures;
    private protected override int AffineStride(TensorShape input) => input.ItemLength / NumFeatures;
}

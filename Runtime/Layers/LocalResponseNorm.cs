namespace NeuroPlugin.Layers;

/// <summary>
/// Local response normalization across channels (AlexNet), as PyTorch's
/// <c>LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=1)</c>: input and output (N,C,H,W) or (N,C),
/// <c>b[c] = a[c] / (k + (α/size)·Σ_{c′=c−⌊size/2⌋}^{c+⌊(size−1)/2⌋} a[c′]²)^β</c>, channels outside [0,C)
/// counting as zero. Forward saves the denominator's base <c>s = k + (α/size)·Σ a²</c> (a workspace of the
/// input's shape) for backward.
/// </summary>
public sealed class LocalResponseNorm : Layer
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the parameter unless size ≥ 1,
    /// α and β finite and non-negative, and k &gt; 0 (so the denominator is never 0).</summary>
    public LocalResponseNorm(int size, float alpha = 1e-4f, float beta = 0.75f, float k = 1f)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "LocalResponseNorm: size must be at least 1");
        if (!(alpha >= 0f) || !float.IsFinite(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "LocalResponseNorm: alpha must be finite and ≥ 0");
        if (!(beta >= 0f) || !float.IsFinite(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "LocalResponseNorm: beta must be finite and ≥ 0");
        if (!(k > 0f) || !float.IsFinite(k)) throw new ArgumentOutOfRangeException(nameof(k), k, "LocalResponseNorm: k must be finite and > 0");
        Size = size;
        Alpha = alpha;
        Beta = beta;
        K = k;
    }

    /// <summary>Number of neighbouring channels summed over (PyTorch's <c>size</c>).</summary>
    public int Size { get; }
    /// <summary>Multiplier of the mean square, α.</summary>
    public float Alpha { get; }
    /// <summary>Exponent of the denominator, β.</summary>
    public float Beta { get; }
    /// <summary>Additive constant of the denominator, k.</summary>
    public float K { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<LocalResponseNorm>("LocalResponseNorm", LayerGroup.Normalization,
        "divides each value by (k + α/size·Σ squares of its size neighbouring channels)^β (AlexNet)", d =>
        {
            var size = d.Int("size", l => l.Size, 5, AttributeBounds.AtLeast(1));
            var alpha = d.Float("alpha", l => l.Alpha, 1e-4f, AttributeBounds.AtLeast(0));
            var beta = d.Float("beta", l => l.Beta, 0.75f, AttributeBounds.AtLeast(0));
            var k = d.Float("k", l => l.K, 1f, AttributeBounds.Above(0));
            return d.Build(a => new LocalResponseNorm(size.Read(a), alpha.Read(a), beta.Read(a), k.Read(a)), OnnxMapping.Same("LRN"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank < 2)
            throw new ShapeException($"{node}: LocalResponseNorm takes (N,C,H,W) or (N,C), got {x}");
        return x;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<TensorShape> WorkspaceShapes(ReadOnlySpan<TensorShape> inputs, TensorShape output) => [output];

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.LocalResponseNormForward(t.Inputs[0], t.Output, t.Workspace[0], Size, Alpha, Beta, K);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx)
            backend.LocalResponseNormBackward(t.Inputs[0], t.Output, t.Workspace[0], t.Gradient, dx, Size, Alpha, Beta);
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => (long)output.ItemLength * Size;
}

using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// Fully connected layer, <c>y = x·Wᵀ + b</c>. input (N,InFeatures), weight (OutFeatures,InFeatures),
/// bias (OutFeatures), output (N,OutFeatures). Default initialization is PyTorch's:
/// <c>U(−1/√InFeatures, 1/√InFeatures)</c> for weight and bias; <c>weightInit</c> and <c>biasInit</c> choose others
/// (e.g. <see cref="Initializer.For"/>), kept in the attributes by name.
/// </summary>
public sealed class Linear : WeightedLayer
{
    /// <summary>A fully connected layer from <paramref name="inFeatures"/> to <paramref name="outFeatures"/> (both ≥ 1, else
    /// <see cref="ShapeException"/>); <paramref name="bias"/> adds the (OutFeatures) bias.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Initializer? weightInit = null, Initializer? biasInit = null)
        : base(WeightShape(inFeatures, outFeatures), outFeatures, bias, weightInit, biasInit, inFeatures, outFeatures)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
    }

    /// <summary>(OutFeatures,InFeatures), once both are checked.</summary>
    static TensorShape WeightShape(int inFeatures, int outFeatures) => inFeatures >= 1 && outFeatures >= 1
        ? new TensorShape(outFeatures, inFeatures)
        : throw new ShapeException($"Linear needs positive feature counts, got in {inFeatures}, out {outFeatures}");

    /// <summary>The input's feature count (PyTorch's <c>in_features</c>): x is (N,InFeatures).</summary>
    public int InFeatures { get; }
    /// <summary>The output's feature count (PyTorch's <c>out_features</c>): y is (N,OutFeatures).</summary>
    public int OutFeatures { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Linear>("Linear", LayerGroup.Linear,

        "fully connected layer y = x·Wᵀ + b on (N,features)", d =>
        {
            var inFeatures = d.Int("inFeatures", l => l.InFeatures, inferred: InferredFrom.InputFeatures);
            var outFeatures = d.Int("outFeatures", l => l.OutFeatures, 10, AttributeBounds.AtLeast(1));
            var bias = d.Bool("bias", l => l.HasBias, true);
            var weightInit = d.Initializer("weightInit", l => l.WeightInit);
            var biasInit = d.Initializer("biasInit", l => l.BiasInit);
            return d.Build(a => new Linear(inFeatures.Read(a), outFeatures.Read(a), bias.Read(a), weightInit.Read(a), biasInit.Read(a)),
                new OnnxMapping([new OnnxForm("Gemm")], ["Gemm", "MatMul"]), exampleInputs: [new TensorShape(8)]);
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 2)
            throw new ShapeException($"{node}: Linear takes (N,{InFeatures}), got {x} (add a Flatten before it)");
        if (x[1] != InFeatures)
            throw new ShapeException($"{node}: input {x} needs {InFeatures} features, got {x[1]}");
        return new TensorShape(x.N, OutFeatures);
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) =>
        backend.LinearForward(t.Inputs[0], t.Parameters[0], Bias(t), t.Output);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t) =>
        backend.LinearBackward(t.Inputs[0], t.Parameters[0], t.Gradient, t.InputGrads[0], t.ParameterGrads[0]!, BiasGradient(t));

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => (long)InFeatures * OutFeatures;
}

using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// A matrix product with NumPy's <c>matmul</c> rules (<c>torch.matmul</c>, ONNX MatMul): the last two axes are matrices,
/// <c>y[…,m,p] = Σ_k a[…,m,k]·b[…,k,p]</c>, and the axes before them are batch axes that broadcast. Two forms, one class:
/// <list type="bullet">
/// <item><c>MatMul</c>: a and b are two inputs of one rank ≥ 3, (N,…,M,K) and (N,…,K,P) (attention's <c>q·kᵀ</c>); the batch
///   axis N is each item's own, the axes between may broadcast. y is (N,…,M,P).</item>
/// <item><c>MatMulConstant</c>: one input x and a learnable constant W of shape <see cref="TwoOperandLayer.ConstantShape"/> (2 or 3 axes, no
///   batch axis), <c>y = x·W</c> or, when <see cref="TwoOperandLayer.ConstantFirst"/>, <c>y = W·x</c>. x·W with x (N,…,M,K) and W (…,K,P) is
///   (N,…,M,P) (x of rank 2, (N,K), is the rows of one matrix); W·x with W (…,M,K) and x (N,…,K,P), x of rank ≥ 3, is
///   (N,…,M,P). W is a parameter named <c>weight</c> (PyTorch's default start, U(−1/√K, 1/√K)).</item>
/// </list>
/// Backward: <c>da += dy·bᵀ</c>, <c>db += aᵀ·dy</c>, each summed over the batches its operand was repeated in.
/// </summary>
public sealed class MatMul : TwoOperandLayer
{
    /// <summary>The two-input form: <c>y = a·b</c>.</summary>
    public MatMul() { }

    /// <summary>The one-input form: <c>y = x·W</c> (<c>W·x</c> if <paramref name="constantFirst"/>), W a learnable constant of
    /// <paramref name="constantShape"/> (2 or 3 axes, sizes ≥ 1).</summary>
    public MatMul(TensorShape constantShape, bool constantFirst = false)
        : base(constantShape.Rank is < 2 or >= TensorShape.MaxRank
            ? throw new ArgumentOutOfRangeException(nameof(constantShape), constantShape, "a matrix product's constant has 2 or 3 axes (matrices, with one batch axis at most)")
            : constantShape, constantFirst)
    {
    }

    /// <summary>The two forms' descriptors: <c>MatMul</c> (two inputs) and <c>MatMulConstant</c> (one).</summary>
    internal static IReadOnlyList<LayerDescriptor> Definitions { get; } = [DescribeBinary(), DescribeConstant()];

    private protected override IReadOnlyList<LayerDescriptor> Forms => Definitions;

    /// <summary>The constant W (…, rows, columns): the parameter <c>weight</c>.</summary>
    private protected override (Tensor Value, Tensor? Gradient) Constant(NodeTensors t) => (t.Parameters[0], t.ParameterGrads[0]);

    static LayerDescriptor DescribeBinary() =>
        new LayerDescriptorBuilder<MatMul>("MatMul", LayerGroup.Linear, "y = a·b over the last two axes, batch axes broadcast (torch.matmul of two tensors)", inputs: 2)
            .Build(_ => new MatMul(), OnnxMapping.Same("MatMul"), exampleInputs: [new TensorShape(2, 3, 4), new TensorShape(2, 4, 5)]);

    static LayerDescriptor DescribeConstant()
    {
        var d = new LayerDescriptorBuilder<MatMul>("MatMulConstant", LayerGroup.Linear, "y = x·W (or W·x) over the last two axes with a learnable matrix W, batch axes broadcast");
        var shape = d.VariableInts("constantShape", l => l.ConstantShape.ToArray(), 2, [4, 6], AttributeBounds.AtLeast(1));
        var constantFirst = d.Bool("constantFirst", l => l.ConstantFirst, false);
        var onnx = new OnnxMapping(
        [
            new OnnxForm("MatMul"),
            new OnnxForm("MatMul") { Attributes = new() { ["constantShape"] = new System.Text.Json.Nodes.JsonArray(5, 3), ["constantFirst"] = true }, Inputs = [new TensorShape(2, 3, 4)] },
        ], ["MatMul"]);
        return d.Build(a => new MatMul(TensorShape.Of(shape.Read(a)), constantFirst.Read(a)), onnx, exampleInputs: [new TensorShape(3, 4)]);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters
    {
        get
        {
            if (!HasConstant) return [];
            int k = ConstantShape[ConstantShape.Rank - (ConstantFirst ? 1 : 2)];
            int outputs = ConstantShape[ConstantShape.Rank - (ConstantFirst ? 2 : 1)];
            return [new ParameterSpec("weight", ConstantShape, Initializer.PyTorchDefault, k, outputs)];
        }
    }

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (!HasConstant)
        {
            var b = inputs[1];
            if (x.Rank < 3 || b.Rank != x.Rank)
                throw new ShapeException($"{node}: MatMul of input 0 {x} and input 1 {b}: both need one rank ≥ 3 (N, …, rows, columns)");
            if (b[0] != x[0]) throw new ShapeException($"{node}: MatMul of {x} and {b} would broadcast the batch axis");
            return Product(node, x, b, $"input 0 {x}", $"input 1 {b}");
        }
        if (ConstantFirst && x.Rank < 3)
            throw new ShapeException($"{node}: W·x with W {ConstantShape} needs x of rank ≥ 3 (N, …, rows, columns), got {x}");
        if (ConstantShape.Rank > (ConstantFirst ? x.Rank - 1 : Math.Max(x.Rank - 1, 2)))
            throw new ShapeException($"{node}: constant {ConstantShape} has more batch axes than input {x}");
        return ConstantFirst
            ? Product(node, ConstantShape, x, $"constant {ConstantShape}", $"input {x}")
            : Product(node, x, ConstantShape, $"input {x}", $"constant {ConstantShape}");
    }

    /// <summary>The shape of a·b: a's rank (or b's, if larger), the batch axes broadcast, (…, rows of a, columns of b).</summary>
    static TensorShape Product(string node, TensorShape a, TensorShape b, string aName, string bName)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        if (a[a.Rank - 1] != b[b.Rank - 2])
            throw new ShapeException($"{node}: MatMul of {aName} by {bName}: {a[a.Rank - 1]} columns against {b[b.Rank - 2]} rows");
        Span<int> dims = stackalloc int[rank];
        for (int k = 0; k < rank - 2; k++)
        {
            // the shorter shape is padded on the left with 1
            int ia = k - (rank - a.Rank), ib = k - (rank - b.Rank);
            int sa = ia >= 0 ? a[ia] : 1, sb = ib >= 0 ? b[ib] : 1;
            if (sa != sb && sa != 1 && sb != 1)
                throw new ShapeException($"{node}: MatMul of {aName} by {bName}: batch axes do not broadcast ({sa} against {sb})");
            dims[k] = Math.Max(sa, sb);
        }
        dims[rank - 2] = a[a.Rank - 2];
        dims[rank - 1] = b[b.Rank - 1];
        return TensorShape.Of(dims);
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        var (a, b) = Operands(t);
        backend.MatMulForward(a, b, t.Output);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        var (a, b) = Operands(t);
        var (da, db) = OperandGradients(t);
        if (da is not null || db is not null) backend.MatMulBackward(a, b, t.Gradient, da, db);
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output)
    {
        var a = ConstantFirst ? ConstantShape : inputs[0];
        return (long)output.ItemLength * a[a.Rank - 1];
    }
}

namespace NeuroPlugin.Layers;

/// <summary>
/// A reduction over some axes after the batch axis (<see cref="ReduceOp"/>: PyTorch's <c>x.sum(dims)</c>,
/// <c>x.mean(dims)</c>, <c>x.amax(dims)</c>, <c>x.amin(dims)</c>; ONNX ReduceSum, ReduceMean, ReduceMax, ReduceMin):
/// <c>y[o] = ⊕ x</c> over the input elements that differ from o only on the axes <see cref="Dims"/>. The output is the
/// input's shape with those axes of size 1 (<see cref="KeepDims"/>) or dropped, e.g. the mean over dim 3 of (N,C,H,W) is
/// (N,C,H,1) or (N,C,H). Backward hands each input element its share of dy (all of it for a sum, 1/|R| for a mean, split
/// evenly among the elements equal to the maximum or minimum). A layer norm written out reduces its last axis.
/// </summary>
public sealed class Reduce : Layer
{
    /// <summary>Reduces with <paramref name="op"/> over <paramref name="dims"/> (distinct axes ≥ 1; one past the input's rank is
    /// refused by <see cref="InferOutputShape"/>), keeping them as size 1 when <paramref name="keepDims"/>.</summary>
    public Reduce(ReduceOp op, int[] dims, bool keepDims = true)
    {
        if (!Enum.IsDefined(op)) throw new ArgumentOutOfRangeException(nameof(op), op, "unknown reduction");
        if (dims.Length is < 1 or >= TensorShape.MaxRank || dims.Any(d => d is < 1 or >= TensorShape.MaxRank) || dims.Distinct().Count() != dims.Length)
            throw new ArgumentOutOfRangeException(nameof(dims), $"[{string.Join(",", dims)}]: a reduction names 1 to {TensorShape.MaxRank - 1} distinct axes after the batch axis (1 to {TensorShape.MaxRank - 1})");
        Op = op;
        Dims = [.. dims.Order()];
        KeepDims = keepDims;
        foreach (int d in Dims) Axes |= 1 << d;
    }

    /// <summary>The reduction ⊕ (<see cref="ReduceOp"/> gives its formula and gradient).</summary>
    public ReduceOp Op { get; }
    /// <summary>The reduced axes, ascending, each ≥ 1 (the batch axis is never reduced).</summary>
    public IReadOnlyList<int> Dims { get; }
    /// <summary>True: the reduced axes stay as size 1 (ONNX's keepdims = 1, PyTorch's keepdim=True); false: dropped.</summary>
    public bool KeepDims { get; }
    /// <summary>The reduced axes as bits (bit k: axis k), what the backend takes.</summary>
    public int Axes { get; }

    static readonly ReduceOp[] ops = Enum.GetValues<ReduceOp>();

    /// <summary>One descriptor per <see cref="ReduceOp"/>: <c>ReduceSum</c>, <c>ReduceMean</c>, <c>ReduceMax</c>, <c>ReduceMin</c>.</summary>
    internal static IReadOnlyList<LayerDescriptor> Definitions { get; } = [.. ops.Select(Describe)];

    /// <summary>The layer type (and ONNX op) of <paramref name="op"/>: <c>ReduceSum</c>…<c>ReduceMin</c>.</summary>
    public static string TypeOf(ReduceOp op) => "Reduce" + op;

    static LayerDescriptor Describe(ReduceOp op)
    {
        string type = TypeOf(op);
        var d = new LayerDescriptorBuilder<Reduce>(type, LayerGroup.Pooling, $"the {op.ToString().ToLowerInvariant()} over some axes after the batch (keeping them as size 1, or dropping them)");
        var dims = d.VariableInts("dims", l => [.. l.Dims], 1, [1], AttributeBounds.Between(1, TensorShape.MaxRank - 1));
        var keepDims = d.Bool("keepDims", l => l.KeepDims, true);
        var onnx = new OnnxMapping(
        [
            new OnnxForm(type),
            new OnnxForm(type) { Attributes = new() { ["dims"] = new System.Text.Json.Nodes.JsonArray(1, 3), ["keepDims"] = false }, Inputs = [new TensorShape(3, 4, 5)] },
        ], [type]);
        return d.Build(a => new Reduce(op, dims.Read(a), keepDims.Read(a)), onnx, exampleInputs: [new TensorShape(4, 5)]);
    }

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definitions[(int)Op];

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (Dims[^1] >= x.Rank)
            throw new ShapeException($"{node}: {Type} over axes [{string.Join(",", Dims)}] of {x}, which has {x.Rank} axes");
        Span<int> dims = stackalloc int[x.Rank];
        int rank = 0;
        for (int k = 0; k < x.Rank; k++)
        {
            bool reduced = (Axes >> k & 1) != 0;
            if (!reduced) dims[rank++] = x[k];
            else if (KeepDims) dims[rank++] = 1;
        }
        return TensorShape.Of(dims[..rank]);
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) => backend.ReduceForward(Op, t.Inputs[0], t.Output, Axes);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.ReduceBackward(Op, t.Inputs[0], t.Output, t.Gradient, dx, Axes);
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => inputs[0].ItemLength;
}

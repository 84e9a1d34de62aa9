using NeuroPlugin.Init;

namespace NeuroPlugin.Layers;

/// <summary>
/// An element-wise binary op with NumPy broadcasting, <c>y = a ∘ b</c> (<see cref="BinaryOp"/>: add, sub, mul, div, pow,
/// minimum, maximum, prelu; the formulas and derivatives are there). Two forms, one class:
/// <list type="bullet">
/// <item><c>Elementwise</c>: a and b are two inputs of one rank, (N,…) each; every other axis has equal sizes or size 1
///   in one of them, and the batch axis is not broadcast. <c>Elementwise(sub)</c> of (N,C,H,W) and (N,C,1,1) is (N,C,H,W).</item>
/// <item><c>ElementwiseConstant</c>: one input x (N,…) and a constant c of shape <see cref="TwoOperandLayer.ConstantShape"/> (no batch
///   axis, or a leading 1), <c>y = x ∘ c</c>, or <c>c ∘ x</c> when <see cref="TwoOperandLayer.ConstantFirst"/>. The constant is a learnable
///   parameter named <c>constant</c> when <see cref="Learnable"/> (a layer norm's weight written out as a Mul), else a
///   buffer of that name (an epsilon, an exponent), saved with the model either way; a new layer starts it at
///   <see cref="Value"/>.</item>
/// </list>
/// Backward sums the gradient over the broadcast axes of each operand.
/// </summary>
public sealed class Elementwise : TwoOperandLayer
{
    /// <summary>The op names of files and the editor, in <see cref="BinaryOp"/> order.</summary>
    static readonly string[] opNames = [.. Enum.GetValues<BinaryOp>().Select(op => op.ToString().ToLowerInvariant())];

    /// <summary>The two-input form: <c>y = a ∘ b</c>.</summary>
    public Elementwise(BinaryOp op) => Op = CheckOp(op);

    /// <summary>The one-input form: <c>y = x ∘ c</c> (<c>c ∘ x</c> if <paramref name="constantFirst"/>), c of shape
    /// <paramref name="constantShape"/>, learnable if <paramref name="learnable"/>, starting at <paramref name="value"/>.</summary>
    public Elementwise(BinaryOp op, TensorShape constantShape, bool constantFirst = false, bool learnable = false, float value = 1f)
        : base(constantShape, constantFirst)
    {
        Op = CheckOp(op);
        if (!float.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "the constant's initial value must be finite");
        Learnable = learnable;
        Value = value;
    }

    /// <summary>The op ∘ of <c>y = a ∘ b</c> (or <c>x ∘ c</c>); <see cref="BinaryOp"/> gives its formula and derivatives.</summary>
    public BinaryOp Op { get; }
    /// <summary>The constant is a parameter the optimizer trains, rather than a buffer.</summary>
    public bool Learnable { get; }
    /// <summary>The value every element of the constant starts at in a new network.</summary>
    public float Value { get; }

    /// <summary>The two forms' descriptors: <c>Elementwise</c> (two inputs) and <c>ElementwiseConstant</c> (one).</summary>
    internal static IReadOnlyList<LayerDescriptor> Definitions { get; } = [DescribeBinary(), DescribeConstant()];

    private protected override IReadOnlyList<LayerDescriptor> Forms => Definitions;

    /// <summary>The constant: the parameter when <see cref="Learnable"/>, else the buffer (no gradient).</summary>
    private protected override (Tensor Value, Tensor? Gradient) Constant(NodeTensors t) =>
        Learnable ? (t.Parameters[0], t.ParameterGrads[0]) : (t.Buffers[0], null);

    static LayerDescriptor DescribeBinary()
    {
        var d = new LayerDescriptorBuilder<Elementwise>("Elementwise", LayerGroup.Merge,
            "y = a ∘ b element-wise (add, sub, mul, div, pow, minimum, maximum, prelu) with NumPy broadcasting", inputs: 2);
        var op = d.String("op", l => l.OpName, opNames);
        var onnx = new OnnxMapping(
        [
            // two equal shapes added are a residual Add
            new OnnxForm("Add") { ImportsAs = "Add" },
            .. Enum.GetValues<BinaryOp>().Skip(1).Select(o => new OnnxForm(OnnxOp(o)) { Attributes = new() { ["op"] = NameOf(o) } }),
            new OnnxForm("Mul") { Attributes = new() { ["op"] = "mul" }, Inputs = [LayerDescriptor.ExampleImage, new TensorShape(1, 8, 1)] },
        ], [.. Enum.GetValues<BinaryOp>().Select(OnnxOp)]);
        return d.Build(a => new Elementwise(ParseOp(op.Read(a))), onnx);
    }

    static LayerDescriptor DescribeConstant()
    {
        var d = new LayerDescriptorBuilder<Elementwise>("ElementwiseConstant", LayerGroup.Merge,
            "y = x ∘ c element-wise with a constant c (a buffer, or a learnable parameter), NumPy broadcasting");
        var op = d.String("op", l => l.OpName, opNames);
        var shape = d.VariableInts("constantShape", l => l.ConstantShape.ToArray(), 1, [1], AttributeBounds.AtLeast(1));
        var constantFirst = d.Bool("constantFirst", l => l.ConstantFirst, false);
        var learnable = d.Bool("learnable", l => l.Learnable, false);
        var value = d.Float("value", l => l.Value, 1f);
        var onnx = new OnnxMapping(
        [
            new OnnxForm("Add"),
            // PRelu with a constant slope is read as the PReLU layer
            .. Enum.GetValues<BinaryOp>().Skip(1).Select(o => new OnnxForm(OnnxOp(o)) { Attributes = new() { ["op"] = NameOf(o), ["value"] = 2f }, ImportsAs = o == BinaryOp.PReLU ? "PReLU" : null }),
            new OnnxForm("Div") { Attributes = new() { ["op"] = "div", ["constantShape"] = new System.Text.Json.Nodes.JsonArray(4, 1, 1), ["constantFirst"] = true, ["learnable"] = true, ["value"] = 0.5f } },
        ], [.. Enum.GetValues<BinaryOp>().Select(OnnxOp)]);
        return d.Build(a => new Elementwise(ParseOp(op.Read(a)), TensorShape.Of(shape.Read(a)), constantFirst.Read(a), learnable.Read(a), value.Read(a)), onnx);
    }

    /// <summary>The op's name in files (<c>add</c>, …, <c>maximum</c>).</summary>
    public string OpName => NameOf(Op);

    static string NameOf(BinaryOp op) => opNames[(int)op];

    static BinaryOp ParseOp(string name) => (BinaryOp)Array.IndexOf(opNames, name);

    /// <summary>The ONNX op computing <paramref name="op"/> (Add, Sub, Mul, Div, Pow, Min, Max).</summary>
    public static string OnnxOp(BinaryOp op) => op switch
    {
        BinaryOp.Minimum => "Min",
        BinaryOp.Maximum => "Max",
        BinaryOp.PReLU => "PRelu",
        _ => op.ToString(),
    };

    static BinaryOp CheckOp(BinaryOp op) =>
        Enum.IsDefined(op) ? op : throw new ArgumentOutOfRangeException(nameof(op), op, "unknown element-wise op");

    /// <inheritdoc/>
    public override IReadOnlyList<ParameterSpec> Parameters =>
        HasConstant && Learnable ? [new ParameterSpec("constant", ConstantShape, new Initializer.Constant(Value), 1, 1)] : [];

    /// <inheritdoc/>
    public override IReadOnlyList<BufferSpec> Buffers =>
        HasConstant && !Learnable ? [new BufferSpec("constant", ConstantShape, Value)] : [];

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        var other = HasConstant ? ConstantShape : inputs[1];
        string otherName = HasConstant ? "constant" : "input 1";
        if (!HasConstant && other.Rank != x.Rank)
            throw new ShapeException($"{node}: {OpName} of inputs of ranks {x.Rank} and {other.Rank}: input 0 is {x} and input 1 is {other} (both carry the batch axis, so their ranks must be equal)");
        if (HasConstant && (other.Rank > x.Rank || (other.Rank == x.Rank && other[0] != 1)))
            throw new ShapeException($"{node}: constant {other} does not fit input {x}: it may not have more axes than the input, nor a batch axis other than 1");
        var y = Broadcast.Shape(x, other)
            ?? throw new ShapeException($"{node}: {OpName} cannot broadcast input 0 {x} with {otherName} {other} (aligned sizes must be equal or 1)");
        if (y[0] != x[0])
            throw new ShapeException($"{node}: {OpName} of {x} and {otherName} {other} would broadcast the batch axis");
        return y;
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        var (a, b) = Operands(t);
        backend.BinaryForward(Op, a, b, t.Output);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        var (a, b) = Operands(t);
        var (da, db) = OperandGradients(t);
        if (da is not null || db is not null) backend.BinaryBackward(Op, a, b, t.Output, t.Gradient, da, db);
    }

    /// <inheritdoc/>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => output.ItemLength;
}

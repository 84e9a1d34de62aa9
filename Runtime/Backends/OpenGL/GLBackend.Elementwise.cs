using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Element-wise binary ops with NumPy broadcasting (elementwise.comp), one variant per op and direction.
public sealed partial class GLBackend
{
    static readonly int BinaryOpCount = Enum.GetValues<BinaryOp>().Length;
    // per op: forward, gradient of a, gradient of b
    readonly ComputeProgram?[] binaryPrograms = new ComputeProgram?[BinaryOpCount * 3];

    /// <summary><c>y = a ∘ b</c> with broadcasting: one invocation per output element.</summary>
    public void BinaryForward(BinaryOp op, Tensor a, Tensor b, Tensor output)
    {
        EnsureUsable();
        var program = BinaryProgram(op, 0, "FORWARD");
        BindBinary(program, a, b, output, forward: true);
        program.SetUniform("count", output.Length);
        program.Dispatch(output.Length, 1, 1);
    }

    /// <summary>Adds <c>da += Σ dy·∂y/∂a</c> and <c>db += Σ dy·∂y/∂b</c>: one invocation per operand element, which
    /// gathers over the output elements that read it (no atomics).</summary>
    public void BinaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor output, Tensor outputGrad, Tensor? aGrad, Tensor? bGrad)
    {
        EnsureUsable();
        if (aGrad is not null) BinaryGradient(op, a, b, output, outputGrad, aGrad, a.Shape, 1, "GRADIENT_A");
        if (bGrad is not null) BinaryGradient(op, a, b, output, outputGrad, bGrad, b.Shape, 2, "GRADIENT_B");
    }

    void BinaryGradient(BinaryOp op, Tensor a, Tensor b, Tensor output, Tensor outputGrad, Tensor operandGrad, TensorShape operand, int variant, string define)
    {
        var program = BinaryProgram(op, variant, define);
        BindBinary(program, a, b, output, forward: false);
        Bind(Input3, outputGrad);
        Bind(Output0, operandGrad);
        var r = Broadcast.Repeats(operand, output.Shape);
        program.SetUniform("count", operandGrad.Length);
        program.SetUniform("operandDims", Broadcast.Padded(operand, 0), Broadcast.Padded(operand, 1), Broadcast.Padded(operand, 2), Broadcast.Padded(operand, 3));
        program.SetUniform("repeats", r.D0, r.D1, r.D2, r.D3);
        program.Dispatch(operandGrad.Length, 1, (long)r.D0 * r.D1 * r.D2 * r.D3);
    }

    /// <summary>Binds a, b and y (y as the output in the forward variant, as an input in the gradients) and sets the
    /// broadcast geometry.</summary>
    void BindBinary(ComputeProgram program, Tensor a, Tensor b, Tensor output, bool forward)
    {
        var g = Broadcast.Of(a.Shape, b.Shape, output.Shape);
        Bind(Input0, a);
        Bind(Input1, b);
        if (forward) Bind(Output0, output);
        else Bind(Input2, output);
        program.SetUniform("outputDims", g.OutputDims.D0, g.OutputDims.D1, g.OutputDims.D2, g.OutputDims.D3);
        program.SetUniform("stridesA", g.StridesA.D0, g.StridesA.D1, g.StridesA.D2, g.StridesA.D3);
        program.SetUniform("stridesB", g.StridesB.D0, g.StridesB.D1, g.StridesB.D2, g.StridesB.D3);
    }

    ComputeProgram BinaryProgram(BinaryOp op, int variant, string define)
    {
        int index = (int)op;
        if ((uint)index >= (uint)BinaryOpCount) throw new ArgumentOutOfRangeException(nameof(op), op, "unknown binary op");
        // the op's variant is its name in upper case (ADD, SUB, …, MAXIMUM)
        return binaryPrograms[index * 3 + variant] ??= Shaders.Get("elementwise.comp", define + ";" + op.ToString().ToUpperInvariant());
    }
}

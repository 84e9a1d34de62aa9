namespace NeuroPlugin.Backends.OpenGL;

// Element-wise binary ops with NumPy broadcasting (elementwise.comp), one variant per op and direction.
public sealed partial class GLBackend
{
    // per op: forward, gradient of a, gradient of b
    readonly ComputeProgram?[] binaryForwardPrograms = new ComputeProgram?[Enum.GetValues<BinaryOp>().Length];
    readonly ComputeProgram?[] binaryGradientAPrograms = new ComputeProgram?[Enum.GetValues<BinaryOp>().Length];
    readonly ComputeProgram?[] binaryGradientBPrograms = new ComputeProgram?[Enum.GetValues<BinaryOp>().Length];

    /// <summary><c>y = a ∘ b</c>, b read as <paramref name="bShape"/>: one invocation per output element.</summary>
    public void BinaryForward(BinaryOp op, Tensor a, Tensor b, TensorShape bShape, Tensor output)
    {
        EnsureUsable();
        var program = Bound(BinaryProgram(binaryForwardPrograms, op, "FORWARD"), [a, b], [output]);
        SetBroadcast(program, a.Shape, bShape, output.Shape);
        program.SetUniform("count", output.Length);
        program.Dispatch(output.Length, 1, 1);
    }

    /// <summary>Adds <c>da += Σ dy·∂y/∂a</c> and <c>db += Σ dy·∂y/∂b</c>: one invocation per operand element, which
    /// gathers over the output elements that read it (no atomics).</summary>
    public void BinaryBackward(BinaryOp op, Tensor a, Tensor b, TensorShape bShape, Tensor output, Tensor outputGrad, Tensor? aGrad, Tensor? bGrad)
    {
        EnsureUsable();
        if (aGrad is not null) BinaryGradient(op, a, b, bShape, output, outputGrad, aGrad, a.Shape, binaryGradientAPrograms, "GRADIENT_A");
        if (bGrad is not null) BinaryGradient(op, a, b, bShape, output, outputGrad, bGrad, bShape, binaryGradientBPrograms, "GRADIENT_B");
    }

    void BinaryGradient(BinaryOp op, Tensor a, Tensor b, TensorShape bShape, Tensor output, Tensor outputGrad, Tensor operandGrad, TensorShape operand, ComputeProgram?[] cache, string pass)
    {
        var program = Bound(BinaryProgram(cache, op, pass), [a, b, output, outputGrad], [operandGrad]);
        SetBroadcast(program, a.Shape, bShape, output.Shape);
        var r = Broadcast.Repeats(operand, output.Shape);
        program.SetUniform("count", operandGrad.Length);
        program.SetUniform("operandDims", Broadcast.Padded(operand, 0), Broadcast.Padded(operand, 1), Broadcast.Padded(operand, 2), Broadcast.Padded(operand, 3));
        program.SetUniform("repeats", r.D0, r.D1, r.D2, r.D3);
        program.Dispatch(operandGrad.Length, 1, (long)r.D0 * r.D1 * r.D2 * r.D3);
    }

    /// <summary>Sets the broadcast geometry of a and b (as <paramref name="bShape"/>) against y, which every variant reads.</summary>
    static void SetBroadcast(ComputeProgram program, TensorShape aShape, TensorShape bShape, TensorShape outputShape)
    {
        var g = Broadcast.Of(aShape, bShape, outputShape);
        program.SetUniform("outputDims", g.OutputDims.D0, g.OutputDims.D1, g.OutputDims.D2, g.OutputDims.D3);
        program.SetUniform("stridesA", g.StridesA.D0, g.StridesA.D1, g.StridesA.D2, g.StridesA.D3);
        program.SetUniform("stridesB", g.StridesB.D0, g.StridesB.D1, g.StridesB.D2, g.StridesB.D3);
    }

    // the op's variant is its name in upper case (ADD, SUB, …, MAXIMUM, PRELU)
    ComputeProgram BinaryProgram(ComputeProgram?[] cache, BinaryOp op, string pass) =>
        OpProgram(cache, op, (int)op, "elementwise.comp", pass, nameof(op), "unknown binary op");
}

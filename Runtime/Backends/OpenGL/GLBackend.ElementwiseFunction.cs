namespace NeuroPlugin.Backends.OpenGL;

// Element-wise math functions (elementwise_function.comp), one variant per function and direction: the same passes
// as the activations' (GLBackend.Activation.cs), with no parameter.
public sealed partial class GLBackend
{
    readonly ComputeProgram?[] unaryForwardPrograms = new ComputeProgram?[Enum.GetValues<UnaryOp>().Length];
    readonly ComputeProgram?[] unaryBackwardPrograms = new ComputeProgram?[Enum.GetValues<UnaryOp>().Length];

    /// <summary><c>y = f(x)</c> element-wise (see <see cref="UnaryOp"/> for the functions).</summary>
    public void UnaryForward(UnaryOp op, Tensor input, Tensor output)
    {
        EnsureUsable();
        DispatchVectors(Bound(UnaryProgram(unaryForwardPrograms, op, "FORWARD"), [input], [output]), input.Length);
    }

    /// <summary>Adds <c>dx += f′·dy</c>, f′ from the input or the saved output.</summary>
    public void UnaryBackward(UnaryOp op, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad)
    {
        EnsureUsable();
        DispatchVectors(Bound(UnaryProgram(unaryBackwardPrograms, op, "BACKWARD"), [input, output, outputGrad], [inputGrad]), input.Length);
    }

    // the variant is the function's name in upper case (NEG, SQRT, ERF…)
    ComputeProgram UnaryProgram(ComputeProgram?[] cache, UnaryOp op, string pass) =>
        OpProgram(cache, op, (int)op, "elementwise_function.comp", pass, nameof(op), "unknown element-wise function");
}

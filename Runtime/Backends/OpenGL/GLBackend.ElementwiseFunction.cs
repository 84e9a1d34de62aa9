using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Element-wise math functions (elementwise_function.comp), one variant per function and direction.
public sealed partial class GLBackend
{
    static readonly int UnaryOpCount = Enum.GetValues<UnaryOp>().Length;
    readonly ComputeProgram?[] unaryForwardPrograms = new ComputeProgram?[UnaryOpCount];
    readonly ComputeProgram?[] unaryBackwardPrograms = new ComputeProgram?[UnaryOpCount];

    /// <summary><c>y = f(x)</c> element-wise (see <see cref="UnaryOp"/> for the functions).</summary>
    public void UnaryForward(UnaryOp op, Tensor input, Tensor output)
    {
        EnsureUsable();
        var program = UnaryProgram(unaryForwardPrograms, op, "FORWARD");
        Bind(Input0, input);
        Bind(Output0, output);
        UnaryDispatch(program, input.Length);
    }

    /// <summary>Adds <c>dx += f′·dy</c>, f′ from the input or the saved output.</summary>
    public void UnaryBackward(UnaryOp op, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad)
    {
        EnsureUsable();
        var program = UnaryProgram(unaryBackwardPrograms, op, "BACKWARD");
        Bind(Input0, input);
        Bind(Input1, output);
        Bind(Input2, outputGrad);
        Bind(Output0, inputGrad);
        UnaryDispatch(program, input.Length);
    }

    static void UnaryDispatch(ComputeProgram program, int length)
    {
        int vectors = DivideRoundingUp(length, VectorWidth);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, 1);
    }

    ComputeProgram UnaryProgram(ComputeProgram?[] cache, UnaryOp op, string direction)
    {
        int index = (int)op;
        if ((uint)index >= (uint)cache.Length) throw new ArgumentOutOfRangeException(nameof(op), op, "unknown element-wise function");
        // the variant is the function's name in upper case (NEG, SQRT, ERF…); built once per function
        return cache[index] ??= Shaders.Get("elementwise_function.comp", direction + ";" + op.ToString().ToUpperInvariant());
    }
}

using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Element-wise activations (activation.comp), one variant per function and direction.
public sealed partial class GLBackend
{
    static readonly int ActivationKindCount = Enum.GetValues<ActivationKind>().Length;
    readonly ComputeProgram?[] activationForwardPrograms = new ComputeProgram?[ActivationKindCount];
    readonly ComputeProgram?[] activationBackwardPrograms = new ComputeProgram?[ActivationKindCount];

    /// <summary><c>y = f(x)</c> element-wise (see <see cref="ActivationKind"/> for the formulas);
    /// <paramref name="alpha"/> is LeakyReLU's negative slope.</summary>
    public void ActivationForward(ActivationKind kind, Tensor input, Tensor output, float alpha = 0.01f)
    {
        EnsureUsable();
        var program = ActivationProgram(activationForwardPrograms, kind, forward: true);
        Bind(Input0, input);
        Bind(Output0, output);
        ActivationDispatch(program, input.Length, alpha);
    }

    /// <summary>Adds <c>dx += f′·dy</c>, f′ from the saved output (sigmoid, tanh) or the input (the others).</summary>
    public void ActivationBackward(ActivationKind kind, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad, float alpha = 0.01f)
    {
        EnsureUsable();
        var program = ActivationProgram(activationBackwardPrograms, kind, forward: false);
        Bind(Input0, input);
        Bind(Input1, output);
        Bind(Input2, outputGrad);
        Bind(Output0, inputGrad);
        ActivationDispatch(program, input.Length, alpha);
    }

    static void ActivationDispatch(ComputeProgram program, int length, float alpha)
    {
        int vectors = DivideRoundingUp(length, VectorWidth);
        program.SetUniform("count", vectors);
        program.SetUniform("alpha", alpha); // compiled out, and ignored by GL, in every variant but LeakyReLU
        program.Dispatch(vectors, 1, 1);
    }

    ComputeProgram ActivationProgram(ComputeProgram?[] cache, ActivationKind kind, bool forward)
    {
        int index = (int)kind;
        if ((uint)index >= (uint)cache.Length) throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        // the variant is the kind's name in upper case (RELU, LEAKYRELU, HARDSWISH…); built once per kind
        return cache[index] ??= Shaders.Get("activation.comp", (forward ? "FORWARD;" : "BACKWARD;") + kind.ToString().ToUpperInvariant());
    }
}

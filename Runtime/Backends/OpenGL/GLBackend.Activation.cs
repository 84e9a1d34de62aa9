namespace NeuroPlugin.Backends.OpenGL;

// Element-wise activations (activation.comp), one variant per function and direction, one invocation per vec4.
public sealed partial class GLBackend
{
    readonly ComputeProgram?[] activationForwardPrograms = new ComputeProgram?[Enum.GetValues<ActivationKind>().Length];
    readonly ComputeProgram?[] activationBackwardPrograms = new ComputeProgram?[Enum.GetValues<ActivationKind>().Length];

    /// <summary><c>y = f(x)</c> element-wise (see <see cref="ActivationKind"/> for the formulas);
    /// <paramref name="alpha"/> is LeakyReLU's negative slope.</summary>
    public void ActivationForward(ActivationKind kind, Tensor input, Tensor output, float alpha = 0.01f)
    {
        EnsureUsable();
        var program = Bound(ActivationProgram(activationForwardPrograms, kind, "FORWARD"), [input], [output]);
        program.SetUniform("alpha", alpha); // compiled out, and ignored by GL, in every variant but LeakyReLU
        DispatchVectors(program, input.Length);
    }

    /// <summary>Adds <c>dx += f′·dy</c>, f′ from the saved output (sigmoid, tanh) or the input (the others).</summary>
    public void ActivationBackward(ActivationKind kind, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad, float alpha = 0.01f,
        bool accumulate = true)
    {
        EnsureUsable();
        var program = Bound(ActivationProgram(activationBackwardPrograms, kind, "BACKWARD"), [input, output, outputGrad], [inputGrad]);
        program.SetUniform("alpha", alpha);
        program.SetUniform("accumulate", accumulate ? 1 : 0);
        DispatchVectors(program, input.Length);
    }

    // the variant is the kind's name in upper case (RELU, LEAKYRELU, HARDSWISH…)
    ComputeProgram ActivationProgram(ComputeProgram?[] cache, ActivationKind kind, string pass) =>
        OpProgram(cache, kind, (int)kind, "activation.comp", pass, nameof(kind), "unknown activation");
}

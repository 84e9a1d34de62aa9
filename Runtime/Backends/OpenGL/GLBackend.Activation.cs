using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Element-wise activations (activation.comp), one variant per function and direction.
public sealed partial class GLBackend
{
    readonly ComputeProgram?[] activationForwardPrograms = new ComputeProgram?[3];
    readonly ComputeProgram?[] activationBackwardPrograms = new ComputeProgram?[3];

    /// <summary><c>y = f(x)</c> element-wise (see <see cref="ActivationKind"/> for the formulas).</summary>
    public void ActivationForward(ActivationKind kind, Tensor input, Tensor output)
    {
        EnsureUsable();
        var program = ActivationProgram(activationForwardPrograms, kind, forward: true);
        Bind(Input0, input);
        Bind(Input1, output);
        int vectors = DivideRoundingUp(input.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, 1);
    }

    /// <summary>Adds <c>dx += f′·dy</c>, f′ from the input (ReLU) or the saved output (sigmoid, tanh).</summary>
    public void ActivationBackward(ActivationKind kind, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad)
    {
        EnsureUsable();
        var program = ActivationProgram(activationBackwardPrograms, kind, forward: false);
        Bind(Input0, input);
        Bind(Input1, output);
        Bind(Input2, outputGrad);
        Bind(Output0, inputGrad);
        int vectors = DivideRoundingUp(input.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, 1);
    }

    ComputeProgram ActivationProgram(ComputeProgram?[] cache, ActivationKind kind, bool forward)
    {
        int index = (int)kind;
        if ((uint)index >= (uint)cache.Length) throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        return cache[index] ??= Shaders.Get("activation.comp", (forward ? "FORWARD;" : "BACKWARD;") + kind switch
        {
            ActivationKind.ReLU => "RELU",
            ActivationKind.Sigmoid => "SIGMOID",
            _ => "TANH",
        });
    }
}

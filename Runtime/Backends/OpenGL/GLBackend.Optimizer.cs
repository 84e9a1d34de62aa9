using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Optimizer steps on the device (sgd.comp).
public sealed partial class GLBackend
{
    ComputeProgram? sgdProgram;

    /// <summary>Plain SGD: <c>w ← w − lr·g</c>.</summary>
    public void SgdUpdate(Tensor parameter, Tensor gradient, float learningRate)
    {
        EnsureUsable();
        var program = Program(ref sgdProgram, "sgd.comp", "");
        Bind(Input0, gradient);
        Bind(Output0, parameter);
        int vectors = DivideRoundingUp(parameter.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.SetUniform("learningRate", learningRate);
        program.Dispatch(vectors, 1, 1);
    }
}

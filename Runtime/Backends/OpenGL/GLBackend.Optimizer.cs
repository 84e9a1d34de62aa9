using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Optimizer steps on the device (sgd.comp).
public sealed partial class GLBackend
{
    ComputeProgram? sgdProgram, sgdMomentumProgram;

    /// <summary>SGD: <c>w ← w − lr·g</c>, or with a velocity <c>v ← μ·v + g</c>, <c>w ← w − lr·v</c>.</summary>
    public void SgdUpdate(Tensor parameter, Tensor gradient, Tensor? velocity, float learningRate, float momentum)
    {
        EnsureUsable();
        var program = velocity is null
            ? Program(ref sgdProgram, "sgd.comp", "")
            : Program(ref sgdMomentumProgram, "sgd.comp", "MOMENTUM");
        Bind(Input0, gradient);
        Bind(Output0, parameter);
        if (velocity is not null)
        {
            Bind(Output1, velocity);
            program.SetUniform("momentum", momentum);
        }
        int vectors = DivideRoundingUp(parameter.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.SetUniform("learningRate", learningRate);
        program.Dispatch(vectors, 1, 1);
    }
}

using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Inverted dropout (dropout.comp + random.glsl): the mask comes from the same counter-based generator as the
// CPU backend's (CounterRandom), so both backends drop exactly the same elements.
public sealed partial class GLBackend
{
    ComputeProgram? dropoutForwardProgram, dropoutBackwardProgram;

    /// <summary><c>mask = u ≥ p ? 1/(1−p) : 0</c>, <c>y = x·mask</c>, u from Philox4x32-10 of
    /// <c>(⌊i/4⌋, step, 0, 0)</c> under <c>(seed, stream)</c>; p = 0 is the identity with mask 1.</summary>
    public void DropoutForward(Tensor input, Tensor output, Tensor mask, float p, uint seed, uint stream, uint step)
    {
        EnsureUsable();
        var program = Program(ref dropoutForwardProgram, "dropout.comp", "FORWARD");
        Bind(Input0, input);
        Bind(Output0, output);
        Bind(Output1, mask);
        int vectors = DivideRoundingUp(input.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.SetUniform("p", p);
        program.SetUniform("keepScale", 1f / (1f - p));
        // GLSL's uint(int) keeps the bit pattern, so the 32-bit words travel as ints
        program.SetUniform("key", unchecked((int)seed), unchecked((int)stream), unchecked((int)step), 0);
        program.Dispatch(vectors, 1, 40); // cost: ten Philox rounds per invocation
    }

    /// <summary>In the forward pass this was <c>y = x·mask</c>; adds <c>dx += dy·mask</c>.</summary>
    public void DropoutBackward(Tensor mask, Tensor outputGrad, Tensor inputGrad)
    {
        EnsureUsable();
        var program = Program(ref dropoutBackwardProgram, "dropout.comp", "BACKWARD");
        Bind(Input0, mask);
        Bind(Input1, outputGrad);
        Bind(Output0, inputGrad);
        int vectors = DivideRoundingUp(inputGrad.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, 1);
    }
}

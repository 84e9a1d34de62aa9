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
        var program = Kernel(ref dropoutForwardProgram, "dropout.comp", "FORWARD", [input], [output, mask]);
        program.SetUniform("p", p);
        program.SetUniform("keepScale", 1f / (1f - p));
        SetRandomKey(program, seed, stream, step);
        DispatchVectors(program, input.Length, cost: 40); // ten Philox rounds per invocation
    }

    /// <summary>In the forward pass this was <c>y = x·mask</c>; adds <c>dx += dy·mask</c>.</summary>
    public void DropoutBackward(Tensor mask, Tensor outputGrad, Tensor inputGrad) =>
        DispatchVectors(Kernel(ref dropoutBackwardProgram, "dropout.comp", "BACKWARD", [mask, outputGrad], [inputGrad]), inputGrad.Length);
}

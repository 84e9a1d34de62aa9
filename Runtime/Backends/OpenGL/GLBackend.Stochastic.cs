using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Stochastic regularizers (stochastic.comp + random.glsl): per-sample scaled residuals (Stochastic Depth, Shake-Shake,
// ShakeDrop, whose coefficients the layers draw on the host and upload) and Swapout's per-unit masks, drawn here from the
// same counter-based generator as the CPU backend's, so both backends keep exactly the same units. Swapout's backward is
// DropoutBackward with each mask.
public sealed partial class GLBackend
{
    ComputeProgram? accumulatePerSampleProgram, swapoutForwardProgram;

    /// <summary><c>destination[n,i] += coefficients[n,column]·source[n,i]</c>, four elements per invocation.</summary>
    public void AccumulatePerSample(Tensor source, Tensor coefficients, int column, Tensor destination)
    {
        EnsureUsable();
        CheckLength(destination, source.Length, "per-sample accumulate");
        var program = Program(ref accumulatePerSampleProgram, "stochastic.comp", "ACCUMULATE_PER_SAMPLE");
        Bind(Input0, source);
        Bind(Input1, coefficients);
        Bind(Output0, destination);
        int batch = source.Shape.N, vectors = DivideRoundingUp(source.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.SetUniform("block", source.Length / batch);
        program.SetUniform("batch", batch);
        program.SetUniform("width", coefficients.Length / batch);
        program.SetUniform("column", column);
        program.Dispatch(vectors, 1, 1);
    }

    /// <summary><c>y = θ₁⊙x + θ₂⊙F</c>, masks drawn by Philox4x32-10 as <see cref="IBackend.SwapoutForward"/> states,
    /// or the expectations in eval.</summary>
    public void SwapoutForward(Tensor identity, Tensor branch, Tensor output, Tensor identityMask, Tensor branchMask,
        float identityDropProbability, float branchDropProbability, bool training, uint seed, uint stream, uint step)
    {
        EnsureUsable();
        var program = Program(ref swapoutForwardProgram, "stochastic.comp", "SWAPOUT_FORWARD");
        Bind(Input0, identity);
        Bind(Input1, branch);
        Bind(Output0, output);
        Bind(Output1, identityMask);
        Bind(Output2, branchMask);
        int vectors = DivideRoundingUp(identity.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.SetUniform("p1", identityDropProbability);
        program.SetUniform("p2", branchDropProbability);
        program.SetUniform("training", training ? 1 : 0);
        // GLSL's uint(int) keeps the bit pattern, so the 32-bit words travel as ints
        program.SetUniform("key", unchecked((int)seed), unchecked((int)stream), unchecked((int)step), 0);
        program.Dispatch(vectors, 1, 80); // cost: two Philox calls of ten rounds per invocation
    }
}

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
        var program = Kernel(ref accumulatePerSampleProgram, "stochastic.comp", "ACCUMULATE_PER_SAMPLE", [source, coefficients], [destination]);
        int batch = source.Shape.N;
        program.SetUniform("block", source.Length / batch);
        program.SetUniform("batch", batch);
        program.SetUniform("width", coefficients.Length / batch);
        program.SetUniform("column", column);
        DispatchVectors(program, source.Length);
    }

    /// <summary><c>y = θ₁⊙x + θ₂⊙F</c>, masks drawn by Philox4x32-10 as <see cref="IBackend.SwapoutForward"/> states,
    /// or the expectations in eval.</summary>
    public void SwapoutForward(Tensor identity, Tensor branch, Tensor output, Tensor identityMask, Tensor branchMask,
        float identityDropProbability, float branchDropProbability, bool training, uint seed, uint stream, uint step)
    {
        var program = Kernel(ref swapoutForwardProgram, "stochastic.comp", "SWAPOUT_FORWARD", [identity, branch], [output, identityMask, branchMask]);
        program.SetUniform("p1", identityDropProbability);
        program.SetUniform("p2", branchDropProbability);
        program.SetUniform("training", training ? 1 : 0);
        SetRandomKey(program, seed, stream, step);
        DispatchVectors(program, identity.Length, cost: 80); // two Philox calls of ten rounds per invocation
    }
}

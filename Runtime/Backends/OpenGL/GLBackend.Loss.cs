namespace NeuroPlugin.Backends.OpenGL;

// Softmax cross-entropy, fused (softmax_cross_entropy.comp): one invocation per row, then the row losses
// are summed in order by reduce.comp.
public sealed partial class GLBackend
{
    ComputeProgram? softmaxCrossEntropyForwardProgram, softmaxCrossEntropyBackwardProgram;

    /// <summary><c>p = softmax(z)</c> per row, <c>loss = −(1/N) Σ_n Σ_k t[n,k]·log p[n,k]</c>:
    /// logits and target (N,K), probabilities (N,K), loss (1).</summary>
    public void SoftmaxCrossEntropyForward(Tensor logits, Tensor target, Tensor probabilities, Tensor loss)
    {
        var program = Kernel(ref softmaxCrossEntropyForwardProgram, "softmax_cross_entropy.comp", "FORWARD", [logits, target], [probabilities]);
        int rows = logits.Shape.N, classes = logits.Length / rows;
        var rowLoss = Scratch(rows);
        Bind(Output1, rowLoss);
        program.SetUniform("rows", rows);
        program.SetUniform("classes", classes);
        program.Dispatch(rows, 1, classes);
        ReduceSlices(rowLoss, rows, 1, RangeOf(loss), accumulate: false);
    }

    /// <summary>Adds <c>dz += scale·(p − t)/N</c>.</summary>
    public void SoftmaxCrossEntropyBackward(Tensor probabilities, Tensor target, Tensor logitsGrad, float scale)
    {
        var program = Kernel(ref softmaxCrossEntropyBackwardProgram, "softmax_cross_entropy.comp", "BACKWARD", [probabilities, target], [logitsGrad]);
        program.SetUniform("factor", scale / probabilities.Shape.N);
        DispatchVectors(program, probabilities.Length);
    }
}

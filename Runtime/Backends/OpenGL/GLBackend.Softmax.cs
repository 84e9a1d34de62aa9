namespace NeuroPlugin.Backends.OpenGL;

// Softmax and log-softmax over any axis (softmax.comp): one invocation per row, forward and backward.
public sealed partial class GLBackend
{
    ComputeProgram? softmaxForwardProgram, softmaxBackwardProgram, logSoftmaxForwardProgram, logSoftmaxBackwardProgram;

    /// <summary><c>y[o,k,i] = e^(x[o,k,i] − m) / Σ_j e^(x[o,j,i] − m)</c> over <paramref name="axis"/> (or its logarithm).</summary>
    public void SoftmaxForward(Tensor input, Tensor output, int axis = 1, bool logarithm = false)
    {
        var program = logarithm
            ? Kernel(ref logSoftmaxForwardProgram, "softmax.comp", "FORWARD;LOGARITHM", [input], [output])
            : Kernel(ref softmaxForwardProgram, "softmax.comp", "FORWARD", [input], [output]);
        SoftmaxDispatch(program, input.Shape, axis);
    }

    /// <summary>Adds <c>dx += y⊙(dy − Σ_k dy⊙y)</c> per row (for the logarithm <c>dx += dy − e^y·Σ_k dy</c>).</summary>
    public void SoftmaxBackward(Tensor output, Tensor outputGrad, Tensor inputGrad, int axis = 1, bool logarithm = false)
    {
        var program = logarithm
            ? Kernel(ref logSoftmaxBackwardProgram, "softmax.comp", "BACKWARD;LOGARITHM", [output, outputGrad], [inputGrad])
            : Kernel(ref softmaxBackwardProgram, "softmax.comp", "BACKWARD", [output, outputGrad], [inputGrad]);
        SoftmaxDispatch(program, output.Shape, axis);
    }

    static void SoftmaxDispatch(ComputeProgram program, TensorShape shape, int axis)
    {
        var (outer, classes, inner) = shape.AroundAxis(axis);
        program.SetUniform("rows", outer * inner);
        program.SetUniform("classes", classes);
        program.SetUniform("inner", inner);
        program.Dispatch(outer * inner, 1, 3L * classes);
    }
}

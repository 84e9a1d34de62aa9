using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Softmax over axis 1 of (N,K) (softmax.comp): one invocation per row, forward and backward.
public sealed partial class GLBackend
{
    ComputeProgram? softmaxForwardProgram, softmaxBackwardProgram;

    /// <summary><c>y[n,k] = e^(x[n,k] − max) / Σ_j e^(x[n,j] − max)</c>: input and output (N,K).</summary>
    public void SoftmaxForward(Tensor input, Tensor output)
    {
        EnsureUsable();
        var program = Program(ref softmaxForwardProgram, "softmax.comp", "FORWARD");
        Bind(Input0, input);
        Bind(Output0, output);
        SoftmaxDispatch(program, input);
    }

    /// <summary>Adds <c>dx += y⊙(dy − Σ_k dy⊙y)</c> per row.</summary>
    public void SoftmaxBackward(Tensor output, Tensor outputGrad, Tensor inputGrad)
    {
        EnsureUsable();
        var program = Program(ref softmaxBackwardProgram, "softmax.comp", "BACKWARD");
        Bind(Input0, output);
        Bind(Input1, outputGrad);
        Bind(Output0, inputGrad);
        SoftmaxDispatch(program, output);
    }

    static void SoftmaxDispatch(ComputeProgram program, Tensor rowsByClasses)
    {
        int rows = rowsByClasses.Shape.N, classes = rowsByClasses.Length / rows;
        program.SetUniform("rows", rows);
        program.SetUniform("classes", classes);
        program.Dispatch(rows, 1, 3L * classes);
    }
}

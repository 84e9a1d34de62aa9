namespace NeuroPlugin.Backends.OpenGL;

// Local response normalization across channels (local_response_norm.comp): one invocation per element,
// forward and backward (a gather over the windows that hold the element's channel).
public sealed partial class GLBackend
{
    ComputeProgram? localResponseNormForwardProgram, localResponseNormBackwardProgram;

    /// <summary><c>s = k + (α/size)·Σ_window x²</c>, <c>y = x·s^−β</c>: input, output, scale (N,C,H,W) or (N,C).</summary>
    public void LocalResponseNormForward(Tensor input, Tensor output, Tensor scale, int size, float alpha, float beta, float k)
    {
        var program = Kernel(ref localResponseNormForwardProgram, "local_response_norm.comp", "FORWARD", [input], [output, scale]);
        program.SetUniform("k", k);
        LocalResponseNormDispatch(program, input.Shape, size, alpha, beta);
    }

    /// <summary>Adds <c>dx += dy·s^−β − (2αβ/size)·x·Σ_{windows holding x} dy·y/s</c>.</summary>
    public void LocalResponseNormBackward(Tensor input, Tensor output, Tensor scale, Tensor outputGrad, Tensor inputGrad, int size, float alpha, float beta) =>
        LocalResponseNormDispatch(Kernel(ref localResponseNormBackwardProgram, "local_response_norm.comp", "BACKWARD", [input, output, scale, outputGrad], [inputGrad]),
            input.Shape, size, alpha, beta);

    static void LocalResponseNormDispatch(ComputeProgram program, TensorShape shape, int size, float alpha, float beta)
    {
        int channels = shape[1];
        program.SetUniform("total", shape.Length);
        program.SetUniform("channels", channels);
        program.SetUniform("inner", shape.Length / (shape.N * channels));
        program.SetUniform("before", size / 2);
        program.SetUniform("after", (size - 1) / 2);
        program.SetUniform("alphaOverSize", alpha / size);
        program.SetUniform("beta", beta);
        program.Dispatch(shape.Length, 1, size);
    }
}

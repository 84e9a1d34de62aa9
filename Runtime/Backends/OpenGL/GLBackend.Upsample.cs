namespace NeuroPlugin.Backends.OpenGL;

// Bilinear resizing (upsample.comp): forward one invocation per output element, backward one per input element
// gathering over the output elements whose four neighbours include it.
public sealed partial class GLBackend
{
    ComputeProgram? upsampleBilinearForwardProgram, upsampleBilinearBackwardProgram;

    /// <summary>y (N,C,OH,OW) = x (N,C,H,W) resized bilinearly, as <see cref="IBackend.UpsampleBilinear2dForward"/> states.</summary>
    public void UpsampleBilinear2dForward(Tensor input, Tensor output, float ratioHeight, float ratioWidth)
    {
        EnsureUsable();
        var program = WindowForward(Program(ref upsampleBilinearForwardProgram, "upsample.comp", "FORWARD"), input, output);
        program.SetUniform("ratioHeight", ratioHeight);
        program.SetUniform("ratioWidth", ratioWidth);
        program.Dispatch(output.Length, 1, 8);
    }

    /// <summary>In the forward pass each output mixed four inputs: dx (N,C,H,W) += the weighted dy of every output that read each element.</summary>
    public void UpsampleBilinear2dBackward(Tensor outputGrad, Tensor inputGrad, float ratioHeight, float ratioWidth)
    {
        EnsureUsable();
        var program = WindowBackward(Program(ref upsampleBilinearBackwardProgram, "upsample.comp", "BACKWARD"), outputGrad, inputGrad);
        program.SetUniform("ratioHeight", ratioHeight);
        program.SetUniform("ratioWidth", ratioWidth);
        // candidates per input element: about 2/ratio + 3 outputs along each axis
        long candidates = (long)(2f / ratioHeight + 4) * (long)(2f / ratioWidth + 4);
        program.Dispatch(inputGrad.Length, 1, candidates);
    }
}

namespace NeuroPlugin.Backends.OpenGL;

// Adaptive average pooling (adaptive_pool2d.comp): forward one invocation per output element, backward one per
// input element gathering over the windows that contain it.
public sealed partial class GLBackend
{
    ComputeProgram? adaptiveAvgPoolForwardProgram, adaptiveAvgPoolBackwardProgram;

    /// <summary>y (N,C,OH,OW) = the mean of each adaptive window of x (N,C,H,W).</summary>
    public void AdaptiveAvgPool2dForward(Tensor input, Tensor output)
    {
        EnsureUsable();
        var program = WindowForward(Program(ref adaptiveAvgPoolForwardProgram, "adaptive_pool2d.comp", "FORWARD"), input, output);
        // cost per invocation: one window, at most ⌈H/OH⌉+1 by ⌈W/OW⌉+1 taps
        long taps = (long)(input.Shape.H / output.Shape.H + 2) * (input.Shape.W / output.Shape.W + 2);
        program.Dispatch(output.Length, 1, taps);
    }

    /// <summary>In the forward pass this was a window mean: dx (N,C,H,W) += dy/|window| over the windows holding each element.</summary>
    public void AdaptiveAvgPool2dBackward(Tensor outputGrad, Tensor inputGrad)
    {
        EnsureUsable();
        var program = WindowBackward(Program(ref adaptiveAvgPoolBackwardProgram, "adaptive_pool2d.comp", "BACKWARD"), outputGrad, inputGrad);
        long candidates = (long)(outputGrad.Shape.H / inputGrad.Shape.H + 3) * (outputGrad.Shape.W / inputGrad.Shape.W + 3);
        program.Dispatch(inputGrad.Length, 1, candidates);
    }
}

namespace NeuroPlugin.Backends.OpenGL;

// Max and average pooling (pool2d.comp): one invocation per output element forward; backward one per
// input element (a gather over the windows that contain it), or one per output when windows are disjoint.
public sealed partial class GLBackend
{
    /// <summary>Max pooling (padding is −∞): input (N,C,H,W), output and argmax (N,C,OH,OW); argmax holds the
    /// flat index <c>h·W + w</c> in the input plane of the first maximum, as a float.</summary>
    public void MaxPool2dForward(Tensor input, Tensor output, Tensor argmax, Window2d window)
    {
        EnsureUsable();
        var program = WindowForward(WindowProgram("pool2d.comp", "MAX_FORWARD", window), input, output);
        Bind(Output1, argmax);
        PoolDispatch(program, window, output.Length);
    }

    /// <summary>In the forward pass this was <c>y = x[argmax]</c>; adds <c>dy</c> into <c>dx[argmax]</c>.</summary>
    public void MaxPool2dBackward(Tensor argmax, Tensor outputGrad, Tensor inputGrad, Window2d window)
    {
        EnsureUsable();
        Bind(Input0, argmax);
        PoolBackward("MAX_BACKWARD", "MAX_BACKWARD_DISJOINT", outputGrad, inputGrad, window, countIncludePad: false);
    }

    /// <summary>Average pooling: <c>y = Σ window / count</c>, count = <c>KH·KW</c> when
    /// <paramref name="countIncludePad"/>, else the number of in-bounds taps.</summary>
    public void AvgPool2dForward(Tensor input, Tensor output, Window2d window, bool countIncludePad)
    {
        EnsureUsable();
        var program = WindowForward(WindowProgram("pool2d.comp", "AVG_FORWARD", window), input, output);
        program.SetUniform("countIncludePad", countIncludePad ? 1 : 0);
        PoolDispatch(program, window, output.Length);
    }

    /// <summary>Adds <c>dy / count</c> into every input element of each window.</summary>
    public void AvgPool2dBackward(Tensor outputGrad, Tensor inputGrad, Window2d window, bool countIncludePad)
    {
        EnsureUsable();
        PoolBackward("AVG_BACKWARD", "AVG_BACKWARD_DISJOINT", outputGrad, inputGrad, window, countIncludePad);
    }

    /// <summary>Runs a backward variant: the gather (one invocation per input element) or, when windows are
    /// disjoint, the scatter form (one invocation per output element).</summary>
    void PoolBackward(string gatherVariant, string disjointVariant, Tensor outputGrad, Tensor inputGrad, Window2d window, bool countIncludePad)
    {
        bool disjoint = WindowsAreDisjoint(window);
        var program = WindowBackward(WindowProgram("pool2d.comp", disjoint ? disjointVariant : gatherVariant, window), outputGrad, inputGrad);
        program.SetUniform("countIncludePad", countIncludePad ? 1 : 0);
        PoolDispatch(program, window, disjoint ? outputGrad.Length : inputGrad.Length);
    }

    /// <summary>True when no two windows share an input element (stride ≥ the dilated kernel extent on both
    /// axes): then backward can write from each output without racing, instead of gathering per input.</summary>
    static bool WindowsAreDisjoint(Window2d window) =>
        window.StrideHeight >= (window.KernelHeight - 1) * window.DilationHeight + 1 &&
        window.StrideWidth >= (window.KernelWidth - 1) * window.DilationWidth + 1;

    static void PoolDispatch(ComputeProgram program, Window2d window, int invocations) =>
        program.Dispatch(invocations, 1, (long)window.KernelHeight * window.KernelWidth);
}

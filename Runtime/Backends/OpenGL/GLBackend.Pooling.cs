using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Max and average pooling (pool2d.comp): one invocation per output element forward, one per input
// element backward (a gather over the windows that contain it).
public sealed partial class GLBackend
{
    ComputeProgram? maxPoolForwardProgram, maxPoolBackwardProgram, avgPoolForwardProgram, avgPoolBackwardProgram;

    /// <summary>Max pooling (padding is −∞): input (N,C,H,W), output and argmax (N,C,OH,OW); argmax holds the
    /// flat index <c>h·W + w</c> in the input plane of the first maximum, as a float.</summary>
    public void MaxPool2dForward(Tensor input, Tensor output, Tensor argmax, Window2d window)
    {
        EnsureUsable();
        var program = Program(ref maxPoolForwardProgram, "pool2d.comp", "MAX_FORWARD");
        Bind(Input0, input);
        Bind(Output0, output);
        Bind(Output1, argmax);
        PoolDispatch(program, input.Shape, output.Shape, window, output.Length);
    }

    /// <summary>In the forward pass this was <c>y = x[argmax]</c>; adds <c>dy</c> into <c>dx[argmax]</c>.</summary>
    public void MaxPool2dBackward(Tensor argmax, Tensor outputGrad, Tensor inputGrad, Window2d window)
    {
        EnsureUsable();
        var program = Program(ref maxPoolBackwardProgram, "pool2d.comp", "MAX_BACKWARD");
        Bind(Input0, argmax);
        Bind(Input1, outputGrad);
        Bind(Output0, inputGrad);
        PoolDispatch(program, inputGrad.Shape, outputGrad.Shape, window, inputGrad.Length);
    }

    /// <summary>Average pooling: <c>y = Σ window / count</c>, count = <c>KH·KW</c> when
    /// <paramref name="countIncludePad"/>, else the number of in-bounds taps.</summary>
    public void AvgPool2dForward(Tensor input, Tensor output, Window2d window, bool countIncludePad)
    {
        EnsureUsable();
        var program = Program(ref avgPoolForwardProgram, "pool2d.comp", "AVG_FORWARD");
        Bind(Input0, input);
        Bind(Output0, output);
        program.SetUniform("countIncludePad", countIncludePad ? 1 : 0);
        PoolDispatch(program, input.Shape, output.Shape, window, output.Length);
    }

    /// <summary>Adds <c>dy / count</c> into every input element of each window.</summary>
    public void AvgPool2dBackward(Tensor outputGrad, Tensor inputGrad, Window2d window, bool countIncludePad)
    {
        EnsureUsable();
        var program = Program(ref avgPoolBackwardProgram, "pool2d.comp", "AVG_BACKWARD");
        Bind(Input1, outputGrad);
        Bind(Output0, inputGrad);
        program.SetUniform("countIncludePad", countIncludePad ? 1 : 0);
        PoolDispatch(program, inputGrad.Shape, outputGrad.Shape, window, inputGrad.Length);
    }

    static void PoolDispatch(ComputeProgram program, TensorShape input, TensorShape output, Window2d window, int invocations)
    {
        SetWindow(program, input, output, window);
        program.Dispatch(invocations, 1, (long)window.KernelHeight * window.KernelWidth);
    }
}

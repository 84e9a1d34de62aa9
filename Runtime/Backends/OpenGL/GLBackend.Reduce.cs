namespace NeuroPlugin.Backends.OpenGL;

// Reductions over any set of axes (reduce_axes.comp): one invocation per output element, forward and backward.
public sealed partial class GLBackend
{
    readonly ComputeProgram?[] reducePrograms = new ComputeProgram?[2 * 4];

    /// <summary><c>y[o] = ⊕ x</c> over the elements of output o (<see cref="ReduceOp"/>), the axes whose bits are set in
    /// <paramref name="axes"/> reduced.</summary>
    public void ReduceForward(ReduceOp op, Tensor input, Tensor output, int axes)
    {
        EnsureUsable();
        var program = ReduceProgram(op, backward: false);
        Bind(Input0, input);
        Bind(Output0, output);
        ReduceDispatch(program, new ReduceGeometry(input.Shape, axes));
    }

    /// <summary>Adds each output's share of dy into the input elements it reduced (<see cref="ReduceOp"/>).</summary>
    public void ReduceBackward(ReduceOp op, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad, int axes)
    {
        EnsureUsable();
        var program = ReduceProgram(op, backward: true);
        Bind(Input0, input);
        Bind(Input1, output);
        Bind(Input2, outputGrad);
        Bind(Output0, inputGrad);
        ReduceDispatch(program, new ReduceGeometry(input.Shape, axes));
    }

    ComputeProgram ReduceProgram(ReduceOp op, bool backward) =>
        reducePrograms[(backward ? 4 : 0) + (int)op] ??= Shaders.Get("reduce_axes.comp", (backward ? "BACKWARD;" : "FORWARD;") + op.ToString().ToUpperInvariant());

    static void ReduceDispatch(ComputeProgram program, ReduceGeometry g)
    {
        program.SetUniform("kept", g.Kept.D0, g.Kept.D1, g.Kept.D2, g.Kept.D3);
        program.SetUniform("reduced", g.Reduced.D0, g.Reduced.D1, g.Reduced.D2, g.Reduced.D3);
        program.SetUniform("strides", g.Strides.D0, g.Strides.D1, g.Strides.D2, g.Strides.D3);
        program.SetUniform("outputs", g.Outputs);
        program.SetUniform("count", g.Count);
        program.Dispatch(g.Outputs, 1, 2L * g.Count);
    }
}

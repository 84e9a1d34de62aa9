namespace NeuroPlugin.Backends.OpenGL;

// Batched matrix products with broadcast batch axes (matmul.comp): one invocation per element written.
public sealed partial class GLBackend
{
    ComputeProgram? matMulForwardProgram, matMulGradientAProgram, matMulGradientBProgram;

    /// <summary><c>y[…,m,p] = Σ_k a[…,m,k]·b[…,k,p]</c> with broadcast batch axes.</summary>
    public void MatMulForward(Tensor a, Tensor b, Tensor output)
    {
        EnsureUsable();
        var program = Program(ref matMulForwardProgram, "matmul.comp", "FORWARD");
        var g = new MatMulGeometry(a.Shape, b.Shape);
        Bind(Input0, a);
        Bind(Input1, b);
        Bind(Output0, output);
        MatMulDispatch(program, g, output.Length, g.K);
    }

    /// <summary>Adds <c>da += dy·bᵀ</c> and <c>db += aᵀ·dy</c>, summed over the batches each operand was repeated in.</summary>
    public void MatMulBackward(Tensor a, Tensor b, Tensor outputGrad, Tensor? aGrad, Tensor? bGrad)
    {
        EnsureUsable();
        var g = new MatMulGeometry(a.Shape, b.Shape);
        // each gradient element reads the other operand and dy over the free index of every batch that read it
        if (aGrad is not null)
            MatMulGradient(Program(ref matMulGradientAProgram, "matmul.comp", "GRADIENT_A"), g, b, outputGrad, aGrad, g.P);
        if (bGrad is not null)
            MatMulGradient(Program(ref matMulGradientBProgram, "matmul.comp", "GRADIENT_B"), g, a, outputGrad, bGrad, g.M);
    }

    void MatMulGradient(ComputeProgram program, in MatMulGeometry g, Tensor other, Tensor outputGrad, Tensor gradient, int freeSize)
    {
        Bind(Input0, other);
        Bind(Input1, outputGrad);
        Bind(Output0, gradient);
        MatMulDispatch(program, g, gradient.Length, (long)freeSize * g.Y0 * g.Y1);
    }

    static void MatMulDispatch(ComputeProgram program, in MatMulGeometry g, int count, long costPerInvocation)
    {
        program.SetUniform("batches", g.Y0, g.Y1);
        program.SetUniform("sizes", g.M, g.K, g.P, 0);
        program.SetUniform("aStrides", g.A0, g.A1);
        program.SetUniform("bStrides", g.B0, g.B1);
        program.SetUniform("repeated", g.ARepeated0 ? 1 : 0, g.ARepeated1 ? 1 : 0, g.BRepeated0 ? 1 : 0, g.BRepeated1 ? 1 : 0);
        program.SetUniform("count", count);
        program.Dispatch(count, 1, Math.Max(1, costPerInvocation));
    }
}

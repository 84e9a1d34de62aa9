namespace NeuroPlugin.Backends.OpenGL;

// A constant repeated over the batch (batch_expand.comp), forward and backward.
public sealed partial class GLBackend
{
    ComputeProgram? batchExpandForwardProgram, batchExpandBackwardProgram;

    /// <summary><c>y[n,i] = c[i]</c>: one invocation per output element.</summary>
    public void BatchExpandForward(Tensor constant, Tensor output)
    {
        int item = Cpu.CpuBackend.BatchExpandItem(constant, output);
        var program = Kernel(ref batchExpandForwardProgram, "batch_expand.comp", "FORWARD", [constant], [output]);
        program.SetUniform("item", item);
        DispatchElements(program, output.Length);
    }

    /// <summary><c>dc[i] += Σ_n dy[n,i]</c>: one invocation per constant element, summing over the batch in order.</summary>
    public void BatchExpandBackward(Tensor outputGrad, Tensor constantGrad)
    {
        int item = Cpu.CpuBackend.BatchExpandItem(constantGrad, outputGrad);
        var program = Kernel(ref batchExpandBackwardProgram, "batch_expand.comp", "BACKWARD", [outputGrad], [constantGrad]);
        program.SetUniform("item", item);
        program.SetUniform("batch", outputGrad.Length / item);
        DispatchElements(program, item, cost: outputGrad.Length / item);
    }
}

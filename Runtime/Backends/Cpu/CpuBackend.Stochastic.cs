using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

// Stochastic regularizers: per-sample scaled residuals (Stochastic Depth, Shake-Shake, ShakeDrop) and Swapout's
// per-unit masks. Swapout's backward is DropoutBackward with each mask (dx += dy·θ₁, dF += dy·θ₂).
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void AccumulatePerSample(Tensor source, Tensor coefficients, int column, Tensor destination)
    {
        if (Skips) return;
        // source and destination (N,…): sample n is one contiguous block of L values, scaled by c[n, column]
        Span<float> x = Data(source), y = Data(destination), c = Data(coefficients);
        int batch = source.Shape.N, block = x.Length / batch, width = c.Length / batch;
        for (int n = 0; n < batch; n++)
        {
            Span<float> target = y.Slice(n * block, block);
            TensorPrimitives.MultiplyAdd(x.Slice(n * block, block), c[n * width + column], target, target);
        }
    }

    /// <inheritdoc/>
    public void SwapoutForward(Tensor identity, Tensor branch, Tensor output, Tensor identityMask, Tensor branchMask,
        float identityDropProbability, float branchDropProbability, bool training, uint seed, uint stream, uint step)
    {
        if (Skips) return;
        Span<float> x = Data(identity), f = Data(branch), y = Data(output), m1 = Data(identityMask), m2 = Data(branchMask);
        if (!training)
        {
            m1.Fill(1f - identityDropProbability);
            m2.Fill(1f - branchDropProbability);
        }
        else
        {
            Span<uint> bits1 = stackalloc uint[4], bits2 = stackalloc uint[4];
            for (int block = 0; block * 4 < x.Length; block++)
            {
                // one Philox call per mask gives elements 4·block … 4·block + 3 (a vec4 on GL); counter word 2 tells the masks apart
                (bits1[0], bits1[1], bits1[2], bits1[3]) = CounterRandom.Philox4x32(((uint)block, step, 0, 0), (seed, stream));
                (bits2[0], bits2[1], bits2[2], bits2[3]) = CounterRandom.Philox4x32(((uint)block, step, 1, 0), (seed, stream));
                for (int lane = 0, i = block * 4; lane < 4 && i < x.Length; lane++, i++)
                {
                    m1[i] = CounterRandom.ToUniform(bits1[lane]) >= identityDropProbability ? 1f : 0f;
                    m2[i] = CounterRandom.ToUniform(bits2[lane]) >= branchDropProbability ? 1f : 0f;
                }
            }
        }
        for (int i = 0; i < y.Length; i++) y[i] = m1[i] * x[i] + m2[i] * f[i];
    }
}

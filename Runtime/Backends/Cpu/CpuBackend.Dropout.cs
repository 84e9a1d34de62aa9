namespace NeuroPlugin.Backends.Cpu;

// Inverted dropout with counter-based random numbers (CounterRandom), forward and backward side by side.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void DropoutForward(Tensor input, Tensor output, Tensor mask, float p, uint seed, uint stream, uint step)
    {
        if (Skips) return;
        Span<float> x = Data(input), y = Data(output), m = Data(mask);
        if (p == 0f)
        {
            m.Fill(1f);
            x.CopyTo(y);
            return;
        }
        float keepScale = 1f / (1f - p); // computed once, as the GL backend does, so masks match bit for bit
        Span<uint> bits = stackalloc uint[4];
        for (int block = 0; block * 4 < x.Length; block++)
        {
            // one Philox call gives the four numbers of elements 4·block … 4·block + 3 (a vec4 on GL)
            (bits[0], bits[1], bits[2], bits[3]) = CounterRandom.Philox4x32(((uint)block, step, 0, 0), (seed, stream));
            for (int lane = 0, i = block * 4; lane < 4 && i < x.Length; lane++, i++)
            {
                m[i] = CounterRandom.ToUniform(bits[lane]) >= p ? keepScale : 0f;
                y[i] = x[i] * m[i];
            }
        }
    }

    /// <inheritdoc/>
    public void DropoutBackward(Tensor mask, Tensor outputGrad, Tensor inputGrad)
    {
        if (Skips) return;
        // in the forward pass this was y = x·mask
        Span<float> m = Data(mask), dy = Data(outputGrad), dx = Data(inputGrad);
        for (int i = 0; i < dx.Length; i++) dx[i] += dy[i] * m[i];
    }
}

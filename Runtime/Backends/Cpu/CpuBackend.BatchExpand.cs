namespace NeuroPlugin.Backends.Cpu;

// A constant repeated over the batch (BatchExpand), forward and backward.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void BatchExpandForward(Tensor constant, Tensor output)
    {
        int item = BatchExpandItem(constant, output);
        if (Skips) return;
        Span<float> c = Data(constant), y = Data(output);
        for (int n = 0; n < output.Length / item; n++) c.CopyTo(y.Slice(n * item, item));
    }

    /// <inheritdoc/>
    public void BatchExpandBackward(Tensor outputGrad, Tensor constantGrad)
    {
        int item = BatchExpandItem(constantGrad, outputGrad);
        if (Skips) return;
        // in the forward pass this was y[n,i] = c[i]: dc[i] += Σ_n dy[n,i], summed in batch order as the GL kernel sums
        Span<float> dy = Data(outputGrad), dc = Data(constantGrad);
        int batch = outputGrad.Length / item;
        for (int i = 0; i < item; i++)
        {
            float sum = 0f;
            for (int n = 0; n < batch; n++) sum += dy[n * item + i];
            dc[i] += sum;
        }
    }

    /// <summary>The item length of <paramref name="batched"/> (N,…), which must be <paramref name="constant"/>'s length.</summary>
    internal static int BatchExpandItem(Tensor constant, Tensor batched) =>
        batched.Shape.ItemLength == constant.Length ? constant.Length
            : throw new ShapeException($"batch expand: '{batched.Name}' {batched.Shape} has items of {batched.Shape.ItemLength} values, the constant '{constant.Name}' {constant.Shape} {constant.Length}");
}

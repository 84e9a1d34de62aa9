using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

// Merging branches: residual sums, channel concatenation, channel-wise scaling.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void Accumulate(Tensor source, Tensor destination, float scale, bool accumulate = true)
    {
        if (destination.Length != source.Length) throw new ArgumentException($"accumulating '{source.Name}' {source.Shape} into '{destination.Name}' {destination.Shape}");
        if (Skips) return;
        copyWork.Run(accumulate ? CopyWork.Mode.Accumulate : CopyWork.Mode.Assign, ArrayOf(source), ArrayOf(destination), source.Length, scale, Threads);
    }

    /// <inheritdoc/>
    public void ConcatForward(Tensor input, Tensor output, int channelOffset)
    {
        if (Skips) return;
        // input (N,Ci,H,W) lands in output (N,C,H,W) at channels [offset, offset + Ci): per sample one contiguous block
        var (batch, block, outputBlock, offset) = ConcatBlocks(input, output, channelOffset);
        Span<float> x = Data(input), y = Data(output);
        for (int n = 0; n < batch; n++)
            x.Slice(n * block, block).CopyTo(y.Slice(n * outputBlock + offset, block));
    }

    /// <inheritdoc/>
    public void ConcatBackward(Tensor outputGrad, Tensor inputGrad, int channelOffset)
    {
        if (Skips) return;
        var (batch, block, outputBlock, offset) = ConcatBlocks(inputGrad, outputGrad, channelOffset);
        Span<float> dy = Data(outputGrad), dx = Data(inputGrad);
        for (int n = 0; n < batch; n++)
        {
            Span<float> target = dx.Slice(n * block, block);
            TensorPrimitives.Add(target, dy.Slice(n * outputBlock + offset, block), target);
        }
    }

    /// <inheritdoc/>
    public void ChannelMultiplyForward(Tensor input, Tensor scale, Tensor output)
    {
        if (Skips) return;
        // x, y (N,C,H,W); s (N,C): each (n,c) plane is scaled by one number
        int planes = scale.Length, pixels = input.Length / planes;
        Span<float> x = Data(input), s = Data(scale), y = Data(output);
        for (int k = 0; k < planes; k++)
            TensorPrimitives.Multiply(x.Slice(k * pixels, pixels), s[k], y.Slice(k * pixels, pixels));
    }

    /// <inheritdoc/>
    public void ChannelMultiplyBackward(Tensor input, Tensor scale, Tensor outputGrad, Tensor? inputGrad, Tensor? scaleGrad)
    {
        if (Skips) return;
        // in the forward pass this was y = x·s[n,c]: dx += dy·s, ds += Σ_plane dy·x
        int planes = scale.Length, pixels = input.Length / planes;
        Span<float> x = Data(input), s = Data(scale), dy = Data(outputGrad), dx = DataOrEmpty(inputGrad), ds = DataOrEmpty(scaleGrad);
        for (int k = 0; k < planes; k++)
        {
            Span<float> dyPlane = dy.Slice(k * pixels, pixels);
            if (!dx.IsEmpty)
            {
                Span<float> dxPlane = dx.Slice(k * pixels, pixels);
                TensorPrimitives.MultiplyAdd(dyPlane, s[k], dxPlane, dxPlane);
            }
            if (!ds.IsEmpty) ds[k] += TensorPrimitives.Dot(dyPlane, x.Slice(k * pixels, pixels));
        }
    }

    /// <summary>Axis 1 of a (N,C) or (N,C,H,W) shape.</summary>
    internal static int ChannelCount(TensorShape shape) => shape[1];

    /// <summary>Per-sample sizes of a concatenation: the part's block (Ci·H·W), the output's (C·H·W), and where the part
    /// starts in the output's block (channel <paramref name="channelOffset"/> times H·W).</summary>
    static (int Batch, int Block, int OutputBlock, int Offset) ConcatBlocks(Tensor part, Tensor whole, int channelOffset)
    {
        int block = part.Shape.ItemLength;
        return (part.Shape.N, block, whole.Shape.ItemLength, channelOffset * (block / ChannelCount(part.Shape)));
    }
}

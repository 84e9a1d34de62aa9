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
        concatWork.Run(ArrayOf(input), ArrayOf(output), batch, block, outputBlock, offset, backward: false, Threads);
    }

    /// <inheritdoc/>
    public void ConcatBackward(Tensor outputGrad, Tensor inputGrad, int channelOffset)
    {
        if (Skips) return;
        var (batch, block, outputBlock, offset) = ConcatBlocks(inputGrad, outputGrad, channelOffset);
        concatWork.Run(ArrayOf(inputGrad), ArrayOf(outputGrad), batch, block, outputBlock, offset, backward: true, Threads);
    }

    readonly ConcatWork concatWork = new();

    /// <summary>
    /// A part's channels within the whole's, sample by sample: the part (N, block) sits at
    /// <c>whole[n·outputBlock + offset …)</c>. Forward copies the part there (<c>y = x</c>), backward adds it back
    /// (<c>dx += dy</c>), in chunks of the part's elements on the pool's threads (a ResNet shortcut's channel padding at
    /// batch 64 moves 2–4 MB); each element is the same copy or sum whatever chunk holds it.
    /// </summary>
    sealed class ConcatWork : ChunkedWork
    {
        float[] part = [], whole = [];
        int block, outputBlock, offset;
        bool backward;

        public void Run(float[] part, float[] whole, int batch, int block, int outputBlock, int offset, bool backward, int threads)
        {
            (this.part, this.whole, this.block, this.outputBlock, this.offset, this.backward) = (part, whole, block, outputBlock, offset, backward);
            RunChunks(batch * block, threads);
            (this.part, this.whole) = ([], []);
        }

        protected override void RunRange(int start, int count)
        {
            // the range, cut where it crosses from one sample's block to the next
            for (int end = start + count; start < end;)
            {
                int n = start / block, length = Math.Min(end - start, (n + 1) * block - start);
                Span<float> inPart = part.AsSpan(start, length), inWhole = whole.AsSpan(n * outputBlock + offset + start - n * block, length);
                if (backward) TensorPrimitives.Add(inPart, inWhole, inPart);
                else inPart.CopyTo(inWhole);
                start += length;
            }
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

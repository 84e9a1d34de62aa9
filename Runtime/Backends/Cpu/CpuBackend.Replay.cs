namespace NeuroPlugin.Backends.Cpu;

// In-game learning's on-device data (Data/ReplayBuffer): range copies into the buffer's ring, and the gather of
// uniformly drawn rows (CounterRandom.RowIndex) that samples a training batch from it.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void CopyRange(Tensor source, int sourceOffset, Tensor destination, int destinationOffset, int count)
    {
        if (Skips) return;
        Data(source).Slice(sourceOffset, count).CopyTo(Data(destination).Slice(destinationOffset, count));
    }

    /// <inheritdoc/>
    public void GatherRandomRows(Tensor source, int rowCount, Tensor destination, uint seed, uint stream, long step)
    {
        if (Skips) return;
        Span<float> x = Data(source), y = Data(destination);
        int batch = destination.Shape[0], row = destination.Length / batch;
        for (int b = 0; b < batch; b++)
        {
            int r = CounterRandom.RowIndex(seed, stream, step, b, rowCount);
            x.Slice(r * row, row).CopyTo(y.Slice(b * row, row));
        }
    }
}

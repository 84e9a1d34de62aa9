namespace NeuroPlugin.Backends.Cpu;

// The non-finite guard: the same logic as nonfinite.comp, and the update rules' skip (read by each rule in
// CpuBackend.Optimizer.cs). The CPU runs synchronously, so it has no device timer: the wall clock measures it.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public Tensor? UpdateGuard { get; set; }

    /// <summary>True when an <see cref="UpdateGuard"/> is set and its first word is not 0: the update rules return at once.</summary>
    bool UpdateBlocked => UpdateGuard is { } guard && BitConverter.SingleToUInt32Bits(Data(guard)[0]) != 0;

    /// <inheritdoc/>
    public void FlagNonFinite(Tensor input, Tensor flags, int index)
    {
        if (Skips) return;
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, flags.Length);
        ReadOnlySpan<float> x = Data(input);
        for (int i = 0; i < x.Length; i++)
            if (!float.IsFinite(x[i]))
            {
                Data(flags)[index] = 1f;
                return;
            }
    }

    /// <inheritdoc/>
    public void FlagNonFiniteTensors(ReadOnlySpan<Tensor> inputs, Tensor flags, ReadOnlySpan<int> indices) =>
        MultiTensor.FlagNonFiniteEach(this, inputs, flags, indices);

    /// <inheritdoc/>
    public void LatchNonFinite(Tensor flags, Tensor report, uint step)
    {
        if (Skips) return;
        if (report.Length != flags.Length + 1)
            throw new ShapeException($"report '{report.Name}' {report.Shape} needs 1 + {flags.Length} values for flags '{flags.Name}' {flags.Shape}");
        ReadOnlySpan<float> f = Data(flags);
        Span<float> r = Data(report);
        if (BitConverter.SingleToUInt32Bits(r[0]) != 0 || !f.ContainsAnyExcept(0f)) return;
        f.CopyTo(r[1..]);
        r[0] = BitConverter.UInt32BitsToSingle(step);
    }

    /// <inheritdoc/>
    public void RestoreOrSave(Tensor saved, Tensor target, Tensor report)
    {
        if (saved.Length != target.Length)
            throw new ShapeException($"saved '{saved.Name}' {saved.Shape} and target '{target.Name}' {target.Shape} differ in length");
        if (Skips) return;
        if (BitConverter.SingleToUInt32Bits(Data(report)[0]) != 0) Data(saved).CopyTo(Data(target));
        else Data(target).CopyTo(Data(saved));
    }

    /// <inheritdoc/>
    public IDeviceTimer? CreateDeviceTimer(int capacity) => null;
}

using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// In-game learning's on-device data (Data/ReplayBuffer): range copies are glCopyNamedBufferSubData, the random-row
// gather is replay.comp (Philox from random.glsl, so the rows match CounterRandom.RowIndex on the CPU).
public sealed partial class GLBackend
{
    ComputeProgram? gatherRandomRowsProgram;

    /// <summary>Values one invocation of the gather copies (replay.comp's SPAN): one Philox draw serves them all.</summary>
    const int GatherSpan = 16;

    /// <summary>One <c>glCopyNamedBufferSubData</c> of <paramref name="count"/> floats (ordered after earlier kernels
    /// by their <c>BUFFER_UPDATE</c> barrier).</summary>
    public void CopyRange(Tensor source, int sourceOffset, Tensor destination, int destinationOffset, int count)
    {
        EnsureUsable();
        CheckRange(source, sourceOffset, count);
        CheckRange(destination, destinationOffset, count);
        if (count == 0) return;
        GLBuffer from = BufferOf(source), to = BufferOf(destination);
        if (Device.Validator is { } validator)
        {
            validator.Tracker.BeginCommand();
            validator.Tracker.Transfer("copy", from.Handle, from.Label, (long)sourceOffset * sizeof(float), (long)count * sizeof(float), read: true, write: false);
            validator.Tracker.Transfer("copy", to.Handle, to.Label, (long)destinationOffset * sizeof(float), (long)count * sizeof(float), read: false, write: true);
        }
        Device.GL.CopyNamedBufferSubData(from.Handle, to.Handle,
            (nint)sourceOffset * sizeof(float), (nint)destinationOffset * sizeof(float), (nuint)count * sizeof(float));
        if (Device.SynchronousCommands) Device.Finish();
    }

    static void CheckRange(Tensor tensor, int offset, int count)
    {
        if (offset < 0 || count < 0 || (long)offset + count > tensor.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {(long)offset + count}) is outside '{tensor.Name}' {tensor.Shape} ({tensor.Length} values)");
    }

    /// <summary><c>y[b,l] = x[r_b·L + l]</c> with <c>r_b</c> drawn by Philox on the device; work group row y is batch row b,
    /// each invocation copies 16 values of it.</summary>
    public void GatherRandomRows(Tensor source, int rowCount, Tensor destination, uint seed, uint stream, long step)
    {
        EnsureUsable();
        var program = Program(ref gatherRandomRowsProgram, "replay.comp", "GATHER_RANDOM_ROWS");
        int batch = destination.Shape[0], row = destination.Length / batch;
        Bind(Input0, source);
        Bind(Output0, destination);
        program.SetUniform("row", row);
        program.SetUniform("rowCount", rowCount);
        Device.GL.ProgramUniform4(program.Handle, program.UniformLocation("key"), seed, stream, (uint)step, (uint)((ulong)step >> 32));
        program.Dispatch(DivideRoundingUp(row, GatherSpan), batch, GatherSpan);
    }
}

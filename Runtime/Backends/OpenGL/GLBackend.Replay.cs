namespace NeuroPlugin.Backends.OpenGL;

// In-game learning's on-device data (Data/ReplayBuffer): range copies are CopyRange (GLBackend.Transfers.cs), the
// random-row gather is replay.comp (Philox from random.glsl, so the rows match CounterRandom.RowIndex on the CPU).
public sealed partial class GLBackend
{
    ComputeProgram? gatherRandomRowsProgram;

    /// <summary>Values one invocation of the gather copies (replay.comp's SPAN): one Philox draw serves them all.</summary>
    const int GatherSpan = 16;

    /// <summary><c>y[b,l] = x[r_b·L + l]</c> with <c>r_b</c> drawn by Philox on the device; work group row y is batch row b,
    /// each invocation copies 16 values of it.</summary>
    public void GatherRandomRows(Tensor source, int rowCount, Tensor destination, uint seed, uint stream, long step)
    {
        var program = Kernel(ref gatherRandomRowsProgram, "replay.comp", "GATHER_RANDOM_ROWS", [source], [destination]);
        int batch = destination.Shape[0], row = destination.Length / batch;
        program.SetUniform("row", row);
        program.SetUniform("rowCount", rowCount);
        Device.GL.ProgramUniform4(program.Handle, program.UniformLocation("key"), seed, stream, (uint)step, (uint)((ulong)step >> 32));
        program.Dispatch(DivideRoundingUp(row, GatherSpan), batch, GatherSpan);
    }
}

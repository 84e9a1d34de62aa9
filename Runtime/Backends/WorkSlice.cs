namespace NeuroPlugin.Backends;

/// <summary>
/// A window over the units of work that one run of a stage's host code issues on a backend, so that a large stage (a
/// convolution's backward, a parameter's update) can be spread over several frames and still give the bits of one
/// unsplit run (<see cref="IBackend.Slice"/>, <see cref="Execution.ExecutionPlan.RunTrainingStage(int, WorkSlice, long, long)"/>).
/// <para>The stage's host code runs whole each time; the backend numbers the units it would issue, in issue order, and
/// issues only those in <c>[First, End)</c>. Units are the backend's own independent pieces: on GL the work groups of each
/// dispatch (which validation mode already proves independent: each group is run alone, in shuffled order), pieces of a
/// costly group for kernels whose lanes share nothing (<see cref="OpenGL.ComputeProgram.PiecesPerGroup"/>), a
/// convolution forward's ranges of input channels, and every transfer kernel; on the CPU one per op call, finer where an op is a sequence of independent pieces (a convolution's
/// outputs and input gradient by sample and channel tile, its weight gradient by output-channel tile, an update rule's
/// element blocks). Running windows <c>[0, a)</c>, <c>[a, b)</c>, …, <c>[z, ∞)</c> one
/// after another therefore issues every kernel of the stage once, in its order: the same results bit for bit, provided
/// the host code issues the same units on every run (it reads no device results and changes no host state).</para>
/// <para>A slice also owns the backend memory that a stage's multi-pass ops keep between their passes (GL's reduction
/// scratch), so other work that runs between two windows cannot overwrite it. Dispose releases that memory.</para>
/// </summary>
public sealed class WorkSlice : IDisposable
{
    long position, first, end = long.MaxValue;

    /// <summary>Units counted so far by the current run: after a run whose window reaches the end, the stage's total.</summary>
    public long Position => position;
    /// <summary>First unit the current run issues.</summary>
    public long First => first;
    /// <summary>One past the last unit the current run issues (<see cref="long.MaxValue"/>: to the end).</summary>
    public long End => end;

    /// <summary>Backend memory kept for this slice between windows (GL: the reduction scratch buffer); the backend's to
    /// set and read, disposed with the slice.</summary>
    internal IDisposable? BackendState { get; set; }

    /// <summary>Starts a run that issues units <c>[first, end)</c>.</summary>
    public void Start(long first, long end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfLessThan(end, first);
        (position, this.first, this.end) = (0, first, end);
    }

    /// <summary>Numbers the next <paramref name="count"/> units and returns which of them to issue, as
    /// <c>[From, To)</c> relative to the first of them (empty when none lies in the window).</summary>
    public (long From, long To) Take(long count)
    {
        long start = position;
        position += count;
        long from = Math.Max(first - start, 0), to = Math.Min(end - start, count);
        return to > from ? (from, to) : (0, 0);
    }

    /// <summary>Numbers one unit: true when it lies in the window and is to be issued.</summary>
    public bool TakeOne()
    {
        long unit = position++;
        return unit >= first && unit < end;
    }

    /// <summary>Releases the backend memory kept between windows; the slice can start a new run afterwards and
    /// the backend allocates again when it needs to.</summary>
    public void Dispose()
    {
        BackendState?.Dispose();
        BackendState = null;
    }
}

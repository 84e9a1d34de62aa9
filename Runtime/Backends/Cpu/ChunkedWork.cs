namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// Element-wise work over indices [0, length), split into fixed chunks of <see cref="ChunkLength"/> elements that run on
/// <see cref="CpuWorkers"/>. Each index is computed by the same code whatever chunk or thread it falls in, so the result
/// does not depend on the thread count. A subclass holds its operands in fields (set before <see cref="RunChunks(int, int, int)"/>,
/// cleared after), made once per backend: a run allocates nothing.
/// </summary>
internal abstract class ChunkedWork : IParallelWork
{
    /// <summary>Elements per task: 64 KiB of floats per operand, enough to pay for handing a task to another thread.</summary>
    public const int ChunkLength = 1 << 14;
    /// <summary>Below this many elements a run stays on the calling thread (waking a worker costs more).</summary>
    const int ParallelThreshold = 1 << 15;

    int first, end;

    /// <summary>Runs <see cref="RunRange"/> over [0, <paramref name="length"/>) in chunks on up to <paramref name="threads"/> threads.</summary>
    protected void RunChunks(int length, int threads) => RunChunks(0, length, threads);

    /// <summary>Runs <see cref="RunRange"/> over [<paramref name="first"/>, <paramref name="end"/>) in chunks on up to
    /// <paramref name="threads"/> threads (a work slice's window of an element-wise op).</summary>
    protected void RunChunks(int first, int end, int threads)
    {
        (this.first, this.end) = (first, end);
        int length = end - first, chunks = (length + ChunkLength - 1) / ChunkLength;
        CpuWorkers.Shared.Run(this, chunks, length >= ParallelThreshold ? threads : 1);
    }

    void IParallelWork.Run(int task, int participant)
    {
        int start = first + task * ChunkLength;
        RunRange(start, Math.Min(ChunkLength, end - start));
    }

    /// <summary>Computes elements [start, start + count).</summary>
    protected abstract void RunRange(int start, int count);
}

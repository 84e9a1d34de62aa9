namespace NeuroPlugin.Backends.Cpu;

/// <summary>How the CPU backend rounds (<see cref="CpuBackend.Arithmetic"/>). Both are deterministic: the same inputs
/// give the same bits for any <see cref="CpuBackend.Threads"/>.</summary>
public enum CpuArithmetic
{
    /// <summary>The fastest kernels: fused multiply-add where the processor has it (one rounding per step of a sum, so
    /// closer to the exact sum than <see cref="Reference"/>), and convolutions as implicit GEMMs on phase planes
    /// (<c>DirectConvolution</c>). Results differ from <see cref="Reference"/> by float rounding (about 1e-6
    /// relative per layer).</summary>
    Fast,
    /// <summary>Every product rounded before it is added, every convolution by im2col + GEMM with sums in a fixed
    /// order: the arithmetic of the GL backend's shaders on llvmpipe, for comparisons that need the same bits.</summary>
    Reference,
}

public sealed partial class CpuBackend
{
    /// <summary>The matrix multiply behind convolution and the fully connected layers, with its packing buffers.</summary>
    readonly Gemm gemm = new(CpuWorkers.Shared.MaxParticipants);

    /// <summary>
    /// How many threads an op may use: the calling thread plus workers of one small process-wide pool (default: every
    /// logical processor, at most 8). Set 1 to keep all work on the calling thread.
    /// Results are identical for every value: the work is split into tiles of the output, each summed in a fixed order.
    /// </summary>
    public int Threads
    {
        get => gemm.Threads;
        set => gemm.Threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "CpuBackend.Threads must be at least 1");
    }

    /// <summary>
    /// How long the pool's threads, after a job, keep watching for the next one before they sleep (process-wide, for
    /// every CPU backend; default 250 µs, at most 10 ms). Waking a sleeping thread costs tens of microseconds, as much
    /// as a small layer, so the spin makes a pass of many small ops faster; but it holds a processor after each job.
    /// On a machine with few cores where the render thread (or a software GL driver) needs that processor between
    /// inference passes, set it lower, or <see cref="TimeSpan.Zero"/> to sleep at once. Results are the same for any value.
    /// </summary>
    public static TimeSpan WorkerSpin
    {
        get => CpuWorkers.SpinBeforeSleep;
        set => CpuWorkers.SpinBeforeSleep = value >= TimeSpan.Zero && value <= TimeSpan.FromMilliseconds(10) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "CpuBackend.WorkerSpin must be between 0 and 10 ms");
    }

    /// <summary>How products are rounded and which convolution methods may run (default <see cref="CpuArithmetic.Fast"/>).</summary>
    public CpuArithmetic Arithmetic
    {
        get => arithmetic;
        set
        {
            if (value is not (CpuArithmetic.Fast or CpuArithmetic.Reference))
                throw new ArgumentOutOfRangeException(nameof(value), value, "CpuBackend.Arithmetic must be Fast or Reference");
            arithmetic = value;
            gemm.Kernel = value == CpuArithmetic.Fast ? Gemm.FastestKernel : Gemm.ReferenceKernel;
        }
    }
    CpuArithmetic arithmetic = CpuArithmetic.Fast;

    /// <summary>Whether sums fuse each product (the GEMM kernel in use has FMA): the direct kernels follow the GEMM.</summary>
    bool FusedProducts => gemm.Kernel is GemmKernel.Vector256Fma or GemmKernel.Vector512Fma;

    /// <summary>The array behind a CPU tensor (its first <c>tensor.Length</c> elements are the tensor), for kernels that
    /// hand it to worker threads.</summary>
    internal static float[] ArrayOf(Tensor tensor)
    {
        var storage = StorageOf(tensor);
        storage.Touch();
        return storage.Data;
    }

    /// <summary><see cref="ArrayOf"/> for an op that only reads the tensor (a convolution's weights in its forward pass):
    /// the version stays, so packed copies of the values stay valid. Never write through it.</summary>
    internal static float[] ReadOnlyArrayOf(Tensor tensor) => StorageOf(tensor).Data;
}

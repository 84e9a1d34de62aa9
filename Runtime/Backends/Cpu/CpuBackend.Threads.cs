using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <summary>The matrix multiply behind convolution and the fully connected layers, with its packing buffers.</summary>
    readonly Gemm gemm = new(CpuWorkers.Shared.MaxParticipants);

    /// <summary>
    /// How many threads a convolution or fully connected layer may use: the calling thread plus workers of one small
    /// process-wide pool (default: every logical processor, at most 8). Set 1 to keep all work on the calling thread.
    /// Results are identical for every value: the work is split into tiles of the output, each summed in a fixed order.
    /// </summary>
    public int Threads
    {
        get => gemm.Threads;
        set => gemm.Threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "CpuBackend.Threads must be at least 1");
    }

    /// <summary>The array behind a CPU tensor (its first <c>tensor.Length</c> elements are the tensor), for kernels that
    /// hand it to worker threads.</summary>
    internal static float[] ArrayOf(Tensor tensor)
    {
        Data(tensor); // validates the backend and that the tensor is alive
        return ((CpuTensorStorage)tensor.Storage).Data;
    }
}

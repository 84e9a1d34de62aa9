using System.Runtime.InteropServices;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// The reference backend: every op is a plain loop over float arrays, written to be read next to the
/// formula in <see cref="IBackend"/>. Inner loops use <see cref="System.Numerics.Tensors.TensorPrimitives"/>
/// (SIMD) where a row of the loop is a dot product or an axpy; convolution goes through im2col + GEMM as
/// the course teaches it. Single-threaded, so a game can run it on any thread without a pool.
/// Its only allocations are the tensors themselves and one grow-only im2col workspace.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    /// <summary>"cpu".</summary>
    public string Name => "cpu";

    /// <summary>The processor, for reports.</summary>
    public string DeviceName { get; } = DescribeProcessor();

    /// <inheritdoc/>
    public Tensor Allocate(TensorShape shape, string name) =>
        new(this, new CpuTensorStorage(shape.Length), shape, name, ownsStorage: true);

    /// <inheritdoc/>
    public void Upload(Tensor tensor, ReadOnlySpan<float> source) => source.CopyTo(Data(tensor));

    /// <inheritdoc/>
    public void Download(Tensor tensor, Span<float> destination)
    {
        Data(tensor).CopyTo(destination);
        ReadbackCount++;
    }

    /// <inheritdoc/>
    public long ReadbackCount { get; private set; }

    /// <inheritdoc/>
    public void Fill(Tensor tensor, float value) => Data(tensor).Fill(value);

    /// <inheritdoc/>
    public void Copy(Tensor source, Tensor destination) => Data(source).CopyTo(Data(destination));

    /// <summary>Nothing to release: arrays belong to the garbage collector.</summary>
    public void Dispose() { }

    /// <summary>The elements of a CPU tensor (exactly <c>tensor.Length</c> of them).</summary>
    internal static Span<float> Data(Tensor tensor)
    {
        if (tensor.Storage is not CpuTensorStorage storage)
            throw new ArgumentException($"tensor '{tensor.Name}' lives on the {tensor.Backend.Name} backend, not on the CPU");
        if (storage.IsDisposed)
            throw new ObjectDisposedException(tensor.Name);
        return storage.Data.AsSpan(0, tensor.Length);
    }

    static Span<float> DataOrEmpty(Tensor? tensor) => tensor is null ? Span<float>.Empty : Data(tensor);

    static string DescribeProcessor()
    {
        string model = "unknown processor";
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal))
                {
                    model = line[(line.IndexOf(':') + 1)..].Trim();
                    break;
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"CPU: {model} ({RuntimeInformation.ProcessArchitecture}, 1 thread)";
    }
}

/// <summary>CPU tensor storage: a float array.</summary>
internal sealed class CpuTensorStorage : TensorStorage
{
    float[]? data;

    public CpuTensorStorage(int length) => data = new float[length];

    public float[] Data => data ?? throw new ObjectDisposedException(nameof(CpuTensorStorage));
    public override int Length => data?.Length ?? 0;
    public override bool IsDisposed => data is null;
    public override void Dispose() => data = null;
}

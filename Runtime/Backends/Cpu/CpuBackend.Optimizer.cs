using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SgdUpdate(Tensor parameter, Tensor gradient, float learningRate)
    {
        Span<float> w = Data(parameter);
        TensorPrimitives.MultiplyAdd(Data(gradient), -learningRate, w, w); // w ← w − lr·g
    }
}

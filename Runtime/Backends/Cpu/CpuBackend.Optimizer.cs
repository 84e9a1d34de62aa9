using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void SgdUpdate(Tensor parameter, Tensor gradient, Tensor? velocity, float learningRate, float momentum)
    {
        Span<float> w = Data(parameter), g = Data(gradient);
        if (velocity is null)
        {
            TensorPrimitives.MultiplyAdd(g, -learningRate, w, w); // w ← w − lr·g
            return;
        }
        Span<float> v = Data(velocity);
        TensorPrimitives.MultiplyAdd(v, momentum, g, v);          // v ← μ·v + g
        TensorPrimitives.MultiplyAdd(v, -learningRate, w, w);     // w ← w − lr·v
    }
}

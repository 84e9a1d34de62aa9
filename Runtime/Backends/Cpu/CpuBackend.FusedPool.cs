namespace NeuroPlugin.Backends.Cpu;

// A fused convolution followed by the max pooling that alone reads it (inference plans): the reference, the two ops in turn.
public sealed partial class CpuBackend : IFusedPoolForward
{
    /// <inheritdoc/>
    public bool CanFusePool(TensorShape convolutionOutput, Window2d pool) => true;

    /// <inheritdoc/>
    /// <remarks>The two ops one after the other through <paramref name="intermediate"/>: the same code as the unfused
    /// plan's, so the same bits by construction (the GL kernel's reference). Under a <see cref="Slice"/> the units are the
    /// convolution's, then the pooling's, in that order.</remarks>
    public void Conv2dMaxPoolFusedForward(Tensor input, in FusedConvolution convolution, Tensor intermediate, Window2d pool, Tensor argmax, Tensor output)
    {
        Conv2dFusedForward(input, convolution.Weight, convolution.Bias, convolution.BatchNorm, convolution.Residual,
            convolution.Activation, convolution.Alpha, intermediate, convolution.Window, convolution.Groups);
        MaxPool2dForward(intermediate, output, argmax, pool);
    }
}

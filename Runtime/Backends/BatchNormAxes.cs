namespace NeuroPlugin.Backends;

/// <summary>
/// How every backend reads a batch-norm input: (N, C, S) with S = H·W, channel count taken from the
/// parameter's length, so (N,C) after a Linear is (N,C,1,1). Channel c's <see cref="Count"/> = N·S values are
/// <c>x[(n·C + c)·S + j]</c>.
/// </summary>
internal readonly record struct BatchNormAxes(int Batch, int Channels, int Spatial)
{
    public static BatchNormAxes Of(Tensor input, Tensor weight)
    {
        int batch = input.Shape.N, channels = weight.Length;
        return new(batch, channels, input.Length / (batch * channels));
    }

    /// <summary>Values per channel, M = N·S.</summary>
    public int Count => Batch * Spatial;
}

namespace NeuroPlugin.Backends;

// Transposed convolution: the input gradient of a convolution, run forward.
public partial interface IBackend
{
    /// <summary>
    /// 2-D transposed convolution (PyTorch's <c>ConvTranspose2d</c>), the adjoint of <see cref="Conv2dForward"/>: every
    /// input element scatters its kernel into the output,
    /// <c>y[n,o,i·s − pad + p·d, j·s − pad + q·d] += x[n, g·C/G + c, i, j]·W[g·C/G + c, o − g·O/G, p, q]</c>, then
    /// <c>y += b[o]</c> (computed as a gather, so every output element has one writer). input (N,C,H,W), weight
    /// (C, O/G, KH, KW), bias (O) or null, output (N,O,OH,OW) with
    /// <c>OH = (H − 1)·s − padTop − padBottom + d·(KH − 1) + 1 + outputPadding</c>, 0 ≤ outputPadding &lt; s: the
    /// output is overwritten. It is <see cref="Conv2dBackward"/>'s input gradient with the convolution's input and output
    /// swapped (a convolution from O to C channels with this window maps (OH,OW) back to (H,W)).
    /// </summary>
    void ConvTranspose2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window, int groups = 1);

    /// <summary>Sums each channel of <paramref name="input"/> into <paramref name="sums"/>: <c>sums[c] += Σ_{n,h,w} x[n,c,h,w]</c>.
    /// input (N,C,H,W) or (N,C), sums (C). The bias gradient of a layer that adds a bias per channel (ConvTranspose2d).</summary>
    void AddChannelSums(Tensor input, Tensor sums);
}

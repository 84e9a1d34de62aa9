using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

/// <summary>
/// What follows a convolution's sum on each output element, applied while the element is still in cache:
/// <c>y = act(((s + b[o]) − μ[o])·k[o] + β[o] + r)</c>, each part optional — the bias b, an eval-mode batch norm
/// folded in as its per-channel shift μ (the running mean), scale k = γ/√(σ² + ε) and offset β, a residual r (a tensor of
/// y's shape, added), an activation. Every part is the same arithmetic, rounding for rounding, as the separate op
/// (<c>Conv2dForward</c>'s bias, <c>BatchNormForward</c> in eval mode, <c>Accumulate</c>, <c>ActivationForward</c>), so
/// a fused convolution gives the bits of the unfused sequence. One instance per backend, reset for each call.
/// </summary>
internal sealed class ConvolutionEpilogue : IGemmEpilogue
{
    float[]? bias, shift, scale, offset, residual;
    ActivationKind? activation;
    float alpha;
    int pixels, outChannels;

    /// <summary>Output channel of GEMM row 0 (the group's first channel) and the y index of the sample's first element.</summary>
    public int RowOffset, SampleOffset;

    /// <summary>True when there is nothing to do after the sum (no bias, no batch norm, no residual, no activation).</summary>
    public bool IsEmpty => bias is null && scale is null && residual is null && activation is null;

    /// <summary>Only a bias (or nothing): the plain convolution.</summary>
    public ConvolutionEpilogue For(float[]? bias, int outChannels, int pixels) =>
        For(bias, null, null, null, null, null, 0f, outChannels, pixels);

    /// <summary>Every part; <paramref name="scale"/>, <paramref name="shift"/> and <paramref name="offset"/> come together.</summary>
    public ConvolutionEpilogue For(float[]? bias, float[]? shift, float[]? scale, float[]? offset, float[]? residual,
        ActivationKind? activation, float alpha, int outChannels, int pixels)
    {
        (this.bias, this.shift, this.scale, this.offset, this.residual, this.activation, this.alpha) = (bias, shift, scale, offset, residual, activation, alpha);
        (this.outChannels, this.pixels, RowOffset, SampleOffset) = (outChannels, pixels, 0, 0);
        return this;
    }

    /// <summary>Drops the operands (so the backend holds no reference to a disposed tensor's array).</summary>
    public void Clear() => bias = shift = scale = offset = residual = null;

    /// <summary>The GEMM's row segment: row <paramref name="row"/> is channel RowOffset + row of the current sample,
    /// <paramref name="column"/> its first pixel.</summary>
    public void Apply(int row, int column, Span<float> values)
    {
        int channel = RowOffset + row;
        ApplyToChannel(channel, SampleOffset + channel * pixels + column, values);
    }

    /// <summary>
    /// Output channel <paramref name="channel"/>'s rows moved out of a kernel's virtual rows and finished in one pass:
    /// <c>target[r·width + s] = epilogue(source[r·sourceStride + s])</c> for r &lt; <paramref name="rows"/>, s &lt;
    /// <paramref name="width"/>, the bits of <see cref="DirectConvolution.CopyRows"/> then <see cref="ApplyToChannel"/>.
    /// Only for a batch norm alone or followed by a piecewise-linear activation (MobileNet's layers); false, with nothing
    /// done, otherwise (then the caller copies and applies).
    /// </summary>
    public bool CopyRowsAndApply(int channel, ReadOnlySpan<float> source, int sourceStride, Span<float> target, int width, int rows) =>
        scale is not null && bias is null && residual is null &&
        ActivationMath.NormalizeRowsThenForward(activation, source, sourceStride, target, width, rows, shift![channel], scale[channel], offset![channel], alpha);

    /// <summary>Whether <see cref="CopyPixelsAndApply"/> can finish a fused convolution's values stored channels-last: no
    /// residual (a tensor in (N,C,H,W) order), and no activation or a piecewise-linear one.</summary>
    public static bool AppliesChannelsLast(Tensors.Tensor? residual, ActivationKind? activation) => residual is null && ActivationMath.IsPiecewise(activation);

    /// <summary>Values stored channels-last moved and finished in one pass: channels [<paramref name="firstChannel"/>, +
    /// <paramref name="channels"/>) of <paramref name="pixels"/> pixels, pixel t's at <c>source[t·sourceStride …]</c>, into
    /// <c>target[t·targetStride …]</c>, each finished as <see cref="ApplyToChannel"/> finishes its channel (the same bits);
    /// only where <see cref="AppliesChannelsLast"/> (otherwise it throws).</summary>
    public void CopyPixelsAndApply(int firstChannel, int channels, ReadOnlySpan<float> source, int sourceStride, Span<float> target, int targetStride, int pixels)
    {
        bool done = residual is null && ActivationMath.ChannelsThenForward(activation, source, sourceStride, target, targetStride, pixels, channels,
            bias is null ? default : bias.AsSpan(firstChannel, channels),
            scale is null ? default : shift!.AsSpan(firstChannel, channels), scale is null ? default : scale.AsSpan(firstChannel, channels),
            scale is null ? default : offset!.AsSpan(firstChannel, channels), alpha);
        if (!done) throw new InvalidOperationException("this epilogue does not apply to channels-last values");
    }

    /// <summary>Output channel <paramref name="channel"/>'s values that sit at <c>y[yIndex …)</c>.</summary>
    public void ApplyToChannel(int channel, int yIndex, Span<float> values)
    {
        if (bias is not null) TensorPrimitives.Add(values, bias[channel], values);
        // batch norm straight into a piecewise-linear activation: one pass over the values, the same bits as two
        if (scale is not null && residual is null && activation is { } direct &&
            ActivationMath.NormalizeThenForward(direct, values, shift![channel], scale[channel], offset![channel], alpha))
            return;
        if (scale is not null) ActivationMath.Normalize(values, values, shift![channel], scale[channel], offset![channel]);
        if (residual is not null)
        {
            ReadOnlySpan<float> other = residual.AsSpan(yIndex, values.Length);
            TensorPrimitives.Add(values, other, values);
        }
        if (activation is { } kind) ActivationMath.Forward(kind, values, values, alpha);
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace NeuroPlugin.Backends.Cpu;

public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void ActivationForward(ActivationKind kind, Tensor input, Tensor output, float alpha = 0.01f)
    {
        if (Skips) return;
        activationWork.Run(kind, alpha, ArrayOf(input), ArrayOf(output), null, null, input.Length, backward: false, Threads);
    }

    /// <inheritdoc/>
    public void ActivationBackward(ActivationKind kind, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad, float alpha = 0.01f,
        bool accumulate = true)
    {
        if (Skips) return;
        activationWork.Run(kind, alpha, ArrayOf(input), ArrayOf(output), ArrayOf(outputGrad), ArrayOf(inputGrad), input.Length, backward: true, Threads, accumulate);
    }

    readonly ActivationWork activationWork = new();

    /// <summary>One activation call's operands, run in chunks (<see cref="ChunkedWork"/>). A backward that sets dx rather
    /// than adding into it zeroes each chunk of dx right before adding into it (64 KiB, still in cache): the bits of a dx
    /// zeroed at the step's start, for every kind, with one formula per kind.</summary>
    sealed class ActivationWork : ChunkedWork
    {
        ActivationKind kind;
        float alpha;
        bool backward, accumulate;
        float[] x = [], y = [], dy = [], dx = [];

        public void Run(ActivationKind kind, float alpha, float[] x, float[] y, float[]? dy, float[]? dx, int length, bool backward, int threads,
            bool accumulate = true)
        {
            (this.kind, this.alpha, this.x, this.y, this.dy, this.dx, this.backward) = (kind, alpha, x, y, dy ?? [], dx ?? [], backward);
            this.accumulate = accumulate;
            RunChunks(length, threads);
            this.x = this.y = this.dy = this.dx = [];
        }

        protected override void RunRange(int start, int count)
        {
            if (backward)
                ActivationMath.Backward(kind, x.AsSpan(start, count), y.AsSpan(start, count), dy.AsSpan(start, count), dx.AsSpan(start, count), alpha, accumulate);
            else
                ActivationMath.Forward(kind, x.AsSpan(start, count), y.AsSpan(start, count), alpha);
        }
    }
}

/// <summary>
/// The activation functions of <see cref="ActivationKind"/> on spans, forward and backward side by side: the one
/// definition that <c>ActivationForward</c>/<c>ActivationBackward</c> and the convolution's fused epilogue share, so a fused
/// activation gives the same bits as a separate one. The piecewise functions run on 512/256-bit vectors with exactly the
/// scalar formula's operations (comparisons, min/max, one rounding per operation, no fused multiply-add), so every width
/// gives the same bits; NaN passes through as in the scalar code. Batch norm's eval-mode normalization lives here too,
/// alone or followed by a piecewise activation in the same pass (a fused convolution's epilogue).
/// </summary>
internal static class ActivationMath
{
    const double InverseSqrt2 = 0.70710678118654752, InverseSqrt2Pi = 0.39894228040143268;
    const float SqrtTwoOverPi = 0.7978845608f, GeluCubic = 0.044715f;

    /// <summary>GELU's tanh form's argument <c>u = √(2/π)·(x + 0.044715·x³)</c>.</summary>
    static float GeluTanhArgument(float x) => SqrtTwoOverPi * (x + GeluCubic * x * x * x);

    /// <summary><c>y = f(x)</c>; <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Forward(ActivationKind kind, ReadOnlySpan<float> x, Span<float> y, float alpha)
    {
        switch (kind)
        {
            case ActivationKind.ReLU:        // y = max(0, x)
                TensorPrimitives.Max(x, 0f, y);
                break;
            case ActivationKind.Sigmoid:     // y = 1 / (1 + e^−x)
                TensorPrimitives.Sigmoid(x, y);
                break;
            case ActivationKind.Tanh:        // y = tanh x
                TensorPrimitives.Tanh(x, y);
                break;
            case ActivationKind.LeakyReLU:   // y = x if x > 0 else α·x
                Piecewise<LeakyReLU>(x, y, alpha);
                break;
            case ActivationKind.ReLU6:       // y = min(max(0, x), 6)
                Piecewise<ReLU6>(x, y, alpha);
                break;
            case ActivationKind.SiLU:        // y = x·σ(x), written x / (1 + e^−x) as PyTorch does
                for (int i = 0; i < x.Length; i++) y[i] = x[i] / (1f + MathF.Exp(-x[i]));
                break;
            case ActivationKind.HardSigmoid: // y = relu6(x + 3) / 6
                Piecewise<HardSigmoid>(x, y, alpha);
                break;
            case ActivationKind.HardSwish:   // y = x·relu6(x + 3) / 6
                Piecewise<HardSwish>(x, y, alpha);
                break;
            case ActivationKind.GELU:        // y = x·Φ(x) = x/2·(1 + erf(x/√2))
                for (int i = 0; i < x.Length; i++) y[i] = (float)(0.5 * x[i] * (1.0 + CpuBackend.Erf(x[i] * InverseSqrt2)));
                break;
            case ActivationKind.GELUTanh:    // y = x/2·(1 + tanh u), u = √(2/π)·(x + 0.044715·x³)
                for (int i = 0; i < x.Length; i++) y[i] = 0.5f * x[i] * (1f + MathF.Tanh(GeluTanhArgument(x[i])));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        }
    }

    /// <summary>In the forward pass this was y = f(x): <c>dx += f′·dy</c>. At the kinks f′ takes PyTorch's side (see
    /// <see cref="ActivationKind"/>).</summary>
    public static void Backward(ActivationKind kind, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx, float alpha,
        bool accumulate = true)
    {
        // to set dx: 0 + f′·dy, the bits of adding into a zeroed dx (ReLU stores them without reading dx)
        if (!accumulate && kind != ActivationKind.ReLU) dx.Clear();
        switch (kind)
        {
            case ActivationKind.ReLU:        // f′ = 1 where x > 0
                ReLUBackward(x, dy, dx, accumulate);
                break;
            case ActivationKind.Sigmoid:     // f′ = y(1 − y)
                for (int i = 0; i < x.Length; i++) dx[i] += dy[i] * y[i] * (1f - y[i]);
                break;
            case ActivationKind.Tanh:        // f′ = 1 − y²
                for (int i = 0; i < x.Length; i++) dx[i] += dy[i] * (1f - y[i] * y[i]);
                break;
            case ActivationKind.LeakyReLU:   // f′ = 1 where x > 0, else α
                for (int i = 0; i < x.Length; i++) dx[i] += x[i] > 0f ? dy[i] : alpha * dy[i];
                break;
            case ActivationKind.ReLU6:       // f′ = 1 where 0 < x < 6
                for (int i = 0; i < x.Length; i++) if (x[i] > 0f && x[i] < 6f) dx[i] += dy[i];
                break;
            case ActivationKind.SiLU:        // f′ = σ(x)·(1 + x·(1 − σ(x)))
                for (int i = 0; i < x.Length; i++)
                {
                    float s = 1f / (1f + MathF.Exp(-x[i]));
                    dx[i] += dy[i] * s * (1f + x[i] * (1f - s));
                }
                break;
            case ActivationKind.HardSigmoid: // f′ = 1/6 where −3 < x < 3
                for (int i = 0; i < x.Length; i++) if (x[i] > -3f && x[i] < 3f) dx[i] += dy[i] / 6f;
                break;
            case ActivationKind.HardSwish:   // f′ = 0 below −3, x/3 + 1/2 from −3 (inclusive) to 3, 1 from 3 on
                for (int i = 0; i < x.Length; i++)
                    dx[i] += x[i] < -3f ? 0f : x[i] < 3f ? dy[i] * (x[i] / 3f + 0.5f) : dy[i];
                break;
            case ActivationKind.GELU:        // f′ = Φ(x) + x·φ(x)
                for (int i = 0; i < x.Length; i++)
                {
                    double v = x[i], cdf = 0.5 * (1.0 + CpuBackend.Erf(v * InverseSqrt2)), pdf = Math.Exp(-0.5 * v * v) * InverseSqrt2Pi;
                    dx[i] += (float)(dy[i] * (cdf + v * pdf));
                }
                break;
            case ActivationKind.GELUTanh:    // f′ = (1 + t)/2 + x/2·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), t = tanh u
                for (int i = 0; i < x.Length; i++)
                {
                    float v = x[i], t = MathF.Tanh(GeluTanhArgument(v));
                    dx[i] += dy[i] * (0.5f * (1f + t) + 0.5f * v * (1f - t * t) * SqrtTwoOverPi * (1f + 3f * GeluCubic * v * v));
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown activation");
        }
    }

    /// <summary>ReLU's backward, the one on every training step of a CNN: <c>dx += dy</c> where x &gt; 0, vectorized as a
    /// select (elements where x ≤ 0 keep their dx untouched, as in the scalar loop).</summary>
    static void ReLUBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx, bool accumulate)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= x.Length; i += 16)
            {
                var target = accumulate ? Vector512.Create(dx.Slice(i, 16)) : Vector512<float>.Zero;
                var mask = Vector512.GreaterThan(Vector512.Create(x.Slice(i, 16)), Vector512<float>.Zero);
                Vector512.ConditionalSelect(mask, target + Vector512.Create(dy.Slice(i, 16)), target).CopyTo(dx.Slice(i, 16));
            }
        else if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= x.Length; i += 8)
            {
                var target = accumulate ? Vector256.Create(dx.Slice(i, 8)) : Vector256<float>.Zero;
                var mask = Vector256.GreaterThan(Vector256.Create(x.Slice(i, 8)), Vector256<float>.Zero);
                Vector256.ConditionalSelect(mask, target + Vector256.Create(dy.Slice(i, 8)), target).CopyTo(dx.Slice(i, 8));
            }
        for (; i < x.Length; i++)
        {
            float target = accumulate ? dx[i] : 0f;
            dx[i] = x[i] > 0f ? target + dy[i] : target;
        }
    }

    /// <summary>
    /// Batch norm's normalization then f in one pass: <c>values[i] = f((values[i] − shift)·scale + offset)</c>, the
    /// normalization rounded as <see cref="Normalize"/> rounds it and f as <see cref="Forward"/> computes it, so the bits
    /// are those of the two passes. A fused convolution's epilogue (conv → batch norm → ReLU6 in MobileNet v2) then
    /// reads and writes each output once instead of twice. Only the piecewise-linear activations (ReLU6, LeakyReLU,
    /// HardSigmoid, HardSwish); false, with nothing done, for the others.
    /// </summary>
    public static bool NormalizeThenForward(ActivationKind kind, Span<float> values, float shift, float scale, float offset, float alpha)
    {
        switch (kind)
        {
            case ActivationKind.ReLU6: NormalizeThen<ReLU6>(values, values, shift, scale, offset, alpha); return true;
            case ActivationKind.LeakyReLU: NormalizeThen<LeakyReLU>(values, values, shift, scale, offset, alpha); return true;
            case ActivationKind.HardSigmoid: NormalizeThen<HardSigmoid>(values, values, shift, scale, offset, alpha); return true;
            case ActivationKind.HardSwish: NormalizeThen<HardSwish>(values, values, shift, scale, offset, alpha); return true;
            default: return false;
        }
    }

    /// <summary>
    /// <see cref="NormalizeThenForward"/> while moving rows: <c>y[r·width + s] = f((x[r·xStride + s] − shift)·scale + offset)</c>
    /// for r &lt; <paramref name="rows"/>, s &lt; <paramref name="width"/> (f the identity where <paramref name="kind"/> is
    /// null), the same bits as <see cref="DirectConvolution.CopyRows"/> followed by the in-place pass. A convolution's
    /// virtual rows go to the output and through its batch norm and activation in one pass instead of two. False, with
    /// nothing done, for other activations and for rows of fewer than 8 floats between gaps (the copy's vectors are
    /// narrower there).
    /// </summary>
    public static bool NormalizeRowsThenForward(ActivationKind? kind, ReadOnlySpan<float> x, int xStride, Span<float> y, int width, int rows,
        float shift, float scale, float offset, float alpha)
    {
        if (rows <= 0 || width <= 0) return true;
        if (xStride == width) (width, rows) = (rows * width, 1); // contiguous: one long row
        if (width < 8 && rows > 1) return false;
        if (x.Length < (rows - 1) * (long)xStride + width || y.Length < (long)rows * width)
            throw new ArgumentException($"{rows} rows of {width} floats do not fit the spans ({x.Length} and {y.Length} floats)");
        switch (kind)
        {
            case null: NormalizeThen<Identity>(x, xStride, y, width, rows, shift, scale, offset, alpha); return true;
            case ActivationKind.ReLU6: NormalizeThen<ReLU6>(x, xStride, y, width, rows, shift, scale, offset, alpha); return true;
            case ActivationKind.LeakyReLU: NormalizeThen<LeakyReLU>(x, xStride, y, width, rows, shift, scale, offset, alpha); return true;
            case ActivationKind.HardSigmoid: NormalizeThen<HardSigmoid>(x, xStride, y, width, rows, shift, scale, offset, alpha); return true;
            case ActivationKind.HardSwish: NormalizeThen<HardSwish>(x, xStride, y, width, rows, shift, scale, offset, alpha); return true;
            default: return false;
        }
    }

    /// <summary>
    /// A convolution's epilogue on values stored channels-last, while moving them: for each of <paramref name="pixels"/>
    /// pixels t and channel c &lt; <paramref name="channels"/>, <c>y[t·yStride + c] = f(((x[t·xStride + c] + bias[c]) −
    /// shift[c])·scale[c] + offset[c])</c>, the bias and the normalization each skipped when its span is empty, f the
    /// identity where <paramref name="kind"/> is null. Element by element the arithmetic of the per-channel passes
    /// (<c>TensorPrimitives.Add</c>, <see cref="Normalize"/>, <see cref="Forward"/>), so the bits are theirs; vectors of 8
    /// channels, their coefficients loaded once for all the pixels. Only the piecewise-linear activations; false, with
    /// nothing done, for the others.
    /// </summary>
    public static bool ChannelsThenForward(ActivationKind? kind, ReadOnlySpan<float> x, int xStride, Span<float> y, int yStride, int pixels, int channels,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> shift, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, float alpha)
    {
        if (pixels <= 0 || channels <= 0) return IsPiecewise(kind);
        if (x.Length < (pixels - 1) * (long)xStride + channels || y.Length < (pixels - 1) * (long)yStride + channels ||
            (!bias.IsEmpty && bias.Length < channels) || (!scale.IsEmpty && (shift.Length < channels || scale.Length < channels || offset.Length < channels)))
            throw new ArgumentException($"{pixels} pixels of {channels} channels do not fit the spans");
        switch (kind)
        {
            case null: ChannelsThen<Identity>(x, xStride, y, yStride, pixels, channels, bias, shift, scale, offset, alpha); return true;
            case ActivationKind.ReLU6: ChannelsThen<ReLU6>(x, xStride, y, yStride, pixels, channels, bias, shift, scale, offset, alpha); return true;
            case ActivationKind.LeakyReLU: ChannelsThen<LeakyReLU>(x, xStride, y, yStride, pixels, channels, bias, shift, scale, offset, alpha); return true;
            case ActivationKind.HardSigmoid: ChannelsThen<HardSigmoid>(x, xStride, y, yStride, pixels, channels, bias, shift, scale, offset, alpha); return true;
            case ActivationKind.HardSwish: ChannelsThen<HardSwish>(x, xStride, y, yStride, pixels, channels, bias, shift, scale, offset, alpha); return true;
            default: return false;
        }
    }

    /// <summary>Whether <see cref="ChannelsThenForward"/> computes <paramref name="kind"/>.</summary>
    public static bool IsPiecewise(ActivationKind? kind) =>
        kind is null or ActivationKind.ReLU6 or ActivationKind.LeakyReLU or ActivationKind.HardSigmoid or ActivationKind.HardSwish;

    /// <summary><see cref="ChannelsThenForward"/> for one f; the caller has checked that the spans hold the values.</summary>
    static void ChannelsThen<TFunction>(ReadOnlySpan<float> x, int xStride, Span<float> y, int yStride, int pixels, int channels,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> shift, ReadOnlySpan<float> scale, ReadOnlySpan<float> offset, float alpha)
        where TFunction : struct, IPiecewise
    {
        bool biased = !bias.IsEmpty, normalized = !scale.IsEmpty;
        ref float from = ref MemoryMarshal.GetReference(x);
        ref float to = ref MemoryMarshal.GetReference(y);
        int c = Vector256.IsHardwareAccelerated ? channels / 8 * 8 : 0;
        // pixel by pixel, each pixel's channels front to back (its values are stored as one run; the coefficients come
        // from L1): channel vector by channel vector over all the pixels, the stores would go to a part of a line each
        ref float b0 = ref MemoryMarshal.GetReference(bias), s0 = ref MemoryMarshal.GetReference(shift);
        ref float k0 = ref MemoryMarshal.GetReference(scale), o0 = ref MemoryMarshal.GetReference(offset);
        for (int t = 0; t < pixels && c > 0; t++)
        {
            ref float source = ref Unsafe.Add(ref from, t * xStride), target = ref Unsafe.Add(ref to, t * yStride);
            if (normalized && !biased)
                // a convolution's batch norm (no bias): the common case, without the tests in the loop
                for (int v = 0; v < c; v += 8)
                    TFunction.Apply((Vector256.LoadUnsafe(ref source, (nuint)v) - Vector256.LoadUnsafe(ref s0, (nuint)v)) * Vector256.LoadUnsafe(ref k0, (nuint)v)
                        + Vector256.LoadUnsafe(ref o0, (nuint)v), alpha).StoreUnsafe(ref target, (nuint)v);
            else
                for (int v = 0; v < c; v += 8)
                {
                    var value = Vector256.LoadUnsafe(ref source, (nuint)v);
                    if (biased) value += Vector256.LoadUnsafe(ref b0, (nuint)v);
                    if (normalized)
                        value = (value - Vector256.LoadUnsafe(ref s0, (nuint)v)) * Vector256.LoadUnsafe(ref k0, (nuint)v) + Vector256.LoadUnsafe(ref o0, (nuint)v);
                    TFunction.Apply(value, alpha).StoreUnsafe(ref target, (nuint)v);
                }
        }
        for (; c < channels; c++)
            for (int t = 0; t < pixels; t++)
            {
                float v = Unsafe.Add(ref from, t * xStride + c);
                if (biased) v += bias[c];
                if (normalized) v = (v - shift[c]) * scale[c] + offset[c];
                Unsafe.Add(ref to, t * yStride + c) = TFunction.Apply(v, alpha);
            }
    }

    /// <summary>Batch norm's normalization of one channel: <c>y = (x − shift)·scale + offset</c>, three roundings, no fused
    /// multiply-add, on vectors of any width (the same bits as the scalar formula); <paramref name="y"/> may be <paramref name="x"/>.</summary>
    public static void Normalize(ReadOnlySpan<float> x, Span<float> y, float shift, float scale, float offset) =>
        NormalizeThen<Identity>(x, y, shift, scale, offset, 0f);

    /// <summary><c>y = f((x − shift)·scale + offset)</c>; <paramref name="y"/> is <paramref name="x"/> or does not overlap it.</summary>
    static void NormalizeThen<TFunction>(ReadOnlySpan<float> x, Span<float> y, float shift, float scale, float offset, float alpha)
        where TFunction : struct, IPiecewise
    {
        if (y.Length < x.Length) throw new ArgumentException($"{y.Length} outputs for {x.Length} inputs", nameof(y));
        NormalizeThen<TFunction>(x, x.Length, y, x.Length, x.Length == 0 ? 0 : 1, shift, scale, offset, alpha);
    }

    /// <summary>
    /// <c>y[r·width + s] = f((x[r·xStride + s] − shift)·scale + offset)</c>, each row in vectors of any width, then scalars;
    /// the caller has checked that the rows fit, and y is x (one row) or does not overlap it. A convolution's epilogue
    /// calls this once per channel and block of rows (7 to a few thousand values a row), so the vectors are read and
    /// written through refs (no per-vector span checks), and a row's tail is one more vector, its last values, computed
    /// before the loop may overwrite them and stored after it.
    /// </summary>
    static void NormalizeThen<TFunction>(ReadOnlySpan<float> x, int xStride, Span<float> y, int width, int rows, float shift, float scale, float offset, float alpha)
        where TFunction : struct, IPiecewise
    {
        ref float from = ref MemoryMarshal.GetReference(x);
        ref float to = ref MemoryMarshal.GetReference(y);
        for (int r = 0; r < rows; r++, from = ref Unsafe.Add(ref from, xStride), to = ref Unsafe.Add(ref to, width))
        {
            int i = 0;
            if (Vector512.IsHardwareAccelerated && width >= 16)
            {
                Vector512<float> s = Vector512.Create(shift), k = Vector512.Create(scale), o = Vector512.Create(offset);
                var last = TFunction.Apply((Vector512.LoadUnsafe(ref from, (nuint)(width - 16)) - s) * k + o, alpha);
                for (; i + 16 <= width; i += 16)
                    TFunction.Apply((Vector512.LoadUnsafe(ref from, (nuint)i) - s) * k + o, alpha).StoreUnsafe(ref to, (nuint)i);
                last.StoreUnsafe(ref to, (nuint)(width - 16));
                continue;
            }
            if (Vector256.IsHardwareAccelerated && width >= 8)
            {
                Vector256<float> s = Vector256.Create(shift), k = Vector256.Create(scale), o = Vector256.Create(offset);
                var last = TFunction.Apply((Vector256.LoadUnsafe(ref from, (nuint)(width - 8)) - s) * k + o, alpha);
                for (; i + 8 <= width; i += 8)
                    TFunction.Apply((Vector256.LoadUnsafe(ref from, (nuint)i) - s) * k + o, alpha).StoreUnsafe(ref to, (nuint)i);
                last.StoreUnsafe(ref to, (nuint)(width - 8));
                continue;
            }
            for (; i < width; i++) Unsafe.Add(ref to, i) = TFunction.Apply((Unsafe.Add(ref from, i) - shift) * scale + offset, alpha);
        }
    }

    /// <summary>f(x) = x: <see cref="NormalizeThen{TFunction}(ReadOnlySpan{float}, Span{float}, float, float, float, float)"/> as the normalization alone.</summary>
    readonly struct Identity : IPiecewise
    {
        public static float Apply(float x, float alpha) => x;
        public static Vector512<float> Apply(Vector512<float> x, float alpha) => x;
        public static Vector256<float> Apply(Vector256<float> x, float alpha) => x;
    }

    /// <summary>A piecewise-linear function written once for scalars and for vectors of any width.</summary>
    interface IPiecewise
    {
        static abstract float Apply(float x, float alpha);
        static abstract Vector512<float> Apply(Vector512<float> x, float alpha);
        static abstract Vector256<float> Apply(Vector256<float> x, float alpha);
    }

    static void Piecewise<TFunction>(ReadOnlySpan<float> x, Span<float> y, float alpha) where TFunction : struct, IPiecewise
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= x.Length; i += 16) TFunction.Apply(Vector512.Create(x.Slice(i, 16)), alpha).CopyTo(y.Slice(i, 16));
        else if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= x.Length; i += 8) TFunction.Apply(Vector256.Create(x.Slice(i, 8)), alpha).CopyTo(y.Slice(i, 8));
        for (; i < x.Length; i++) y[i] = TFunction.Apply(x[i], alpha);
    }

    // Clamp to [0, 6] as min(max(v, 0), 6): NaN stays NaN (MathF and the vector Max/Min propagate it), as in Math.Clamp.
    readonly struct ReLU6 : IPiecewise
    {
        public static float Apply(float x, float alpha) => MathF.Min(MathF.Max(x, 0f), 6f);
        public static Vector512<float> Apply(Vector512<float> x, float alpha) => Vector512.Min(Vector512.Max(x, Vector512<float>.Zero), Vector512.Create(6f));
        public static Vector256<float> Apply(Vector256<float> x, float alpha) => Vector256.Min(Vector256.Max(x, Vector256<float>.Zero), Vector256.Create(6f));
    }

    readonly struct HardSigmoid : IPiecewise
    {
        public static float Apply(float x, float alpha) => ReLU6.Apply(x + 3f, alpha) / 6f;
        public static Vector512<float> Apply(Vector512<float> x, float alpha) => ReLU6.Apply(x + Vector512.Create(3f), alpha) / Vector512.Create(6f);
        public static Vector256<float> Apply(Vector256<float> x, float alpha) => ReLU6.Apply(x + Vector256.Create(3f), alpha) / Vector256.Create(6f);
    }

    readonly struct HardSwish : IPiecewise
    {
        public static float Apply(float x, float alpha) => x * ReLU6.Apply(x + 3f, alpha) / 6f;
        public static Vector512<float> Apply(Vector512<float> x, float alpha) => x * ReLU6.Apply(x + Vector512.Create(3f), alpha) / Vector512.Create(6f);
        public static Vector256<float> Apply(Vector256<float> x, float alpha) => x * ReLU6.Apply(x + Vector256.Create(3f), alpha) / Vector256.Create(6f);
    }

    readonly struct LeakyReLU : IPiecewise
    {
        public static float Apply(float x, float alpha) => x > 0f ? x : alpha * x;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Apply(Vector512<float> x, float alpha) =>
            Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, Vector512.Create(alpha) * x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Apply(Vector256<float> x, float alpha) =>
            Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, Vector256.Create(alpha) * x);
    }
}

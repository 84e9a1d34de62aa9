using System.Text.Json.Nodes;

namespace NeuroPlugin.Layers;

/// <summary>
/// Bilinear resizing, PyTorch's <c>nn.Upsample(size | scale_factor, mode='bilinear', align_corners=False)</c>
/// (= <c>F.interpolate</c>): (N,C,H,W) → (N,C,OH,OW), enlarging or shrinking. Output row i samples the input at
/// <c>s = max(0, r·(i + ½) − ½)</c> with <c>r = H/OH</c> for a fixed size, or <c>r = 1/scaleFactor</c> and
/// <c>OH = ⌊H·scaleFactor⌋</c> for a scale factor (PyTorch keeps the factor, not the rounded ratio); columns likewise,
/// and <c>y = Σ</c> of the two rows' and two columns' neighbours weighted by <c>(1 − λ)</c> and <c>λ</c>, λ the
/// fractional part of s (see <see cref="IBackend.UpsampleBilinear2dForward"/>). No parameters; backward spreads each
/// dy over the same four inputs with the same weights.
/// </summary>
public sealed class Upsample : Layer
{
    /// <summary>The only mode so far: bilinear with align_corners=False.</summary>
    public const string Bilinear = "bilinear";

    /// <summary>Resizes to a fixed <paramref name="outputHeight"/> × <paramref name="outputWidth"/> (PyTorch's <c>size</c>).</summary>
    public Upsample(int outputHeight, int outputWidth)
    {
        if (outputHeight < 1) throw new ArgumentOutOfRangeException(nameof(outputHeight), outputHeight, "Upsample: outputHeight must be positive");
        if (outputWidth < 1) throw new ArgumentOutOfRangeException(nameof(outputWidth), outputWidth, "Upsample: outputWidth must be positive");
        Size = (outputHeight, outputWidth);
    }

    Upsample(float scaleHeight, float scaleWidth)
    {
        if (!(scaleHeight > 0f && float.IsFinite(scaleHeight))) throw new ArgumentOutOfRangeException(nameof(scaleHeight), scaleHeight, "Upsample: scaleHeight must be positive and finite");
        if (!(scaleWidth > 0f && float.IsFinite(scaleWidth))) throw new ArgumentOutOfRangeException(nameof(scaleWidth), scaleWidth, "Upsample: scaleWidth must be positive and finite");
        ScaleFactor = (scaleHeight, scaleWidth);
    }

    /// <summary>Resizes by <paramref name="scaleHeight"/> and <paramref name="scaleWidth"/> (PyTorch's <c>scale_factor</c>):
    /// <c>OH = ⌊H·scaleHeight⌋</c>, <c>OW = ⌊W·scaleWidth⌋</c>.</summary>
    public static Upsample WithScaleFactor(float scaleHeight, float scaleWidth) => new(scaleHeight, scaleWidth);

    /// <summary>The fixed output size, or null when <see cref="ScaleFactor"/> is set.</summary>
    public (int Height, int Width)? Size { get; }
    /// <summary>The scale factors, or null when <see cref="Size"/> is set.</summary>
    public (float Height, float Width)? ScaleFactor { get; }
    /// <summary>PyTorch's <c>mode</c>: always <see cref="Bilinear"/> (align_corners=False) (the only mode implemented); written to model files as the <c>mode</c> attribute.</summary>
    public string Mode => Bilinear;

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Upsample>("Upsample", LayerGroup.Shape,
        "bilinear resizing of (N,C,H,W) to a fixed size or by a scale factor (PyTorch's align_corners=False)", d =>
        {
            var mode = d.String("mode", l => l.Mode, Bilinear);
            var size = d.Ints("size", l => l.Size is { } s ? [s.Height, s.Width] : null, 2, null, AttributeBounds.AtLeast(1));
            var scaleFactor = d.Floats("scaleFactor", l => l.ScaleFactor is { } f ? [f.Height, f.Width] : null, 2, [2f, 2f], AttributeBounds.Above(0));
            d.OneOf(size, scaleFactor);
            var onnx = new OnnxMapping(
            [
                new OnnxForm("Resize"),
                // the batch axis is symbolic in ONNX: the sizes input is the input's (N, C) from Shape, then (OH, OW)
                new OnnxForm("Shape", "Slice", "Concat", "Resize") { Attributes = new() { ["size"] = new JsonArray(16, 12) } },
            ], ["Resize"]);
            return d.Build(a =>
            {
                if (size.IsGiven(a) && size.Read(a) is [int height, int width]) return new Upsample(height, width);
                float[] factor = scaleFactor.Read(a);
                return WithScaleFactor(factor[0], factor[1]);
            }, onnx);
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4) throw new ShapeException($"{node}: Upsample takes (N,C,H,W), got {x}");
        var (height, width) = Size ?? ((int)Math.Floor((double)x.H * ScaleFactor!.Value.Height), (int)Math.Floor((double)x.W * ScaleFactor.Value.Width));
        if (height < 1 || width < 1)
            throw new ShapeException($"{node}: Upsample of {x} by scale factor {ScaleFactor} gives an empty {height}×{width} image");
        return new TensorShape(x.N, x.C, height, width);
    }

    /// <summary>PyTorch's source-per-output ratios (r_h, r_w): <c>1/scaleFactor</c> when a factor is set, else <c>H/OH</c>,
    /// in float32 as PyTorch computes them.</summary>
    public (float Height, float Width) Ratios(TensorShape input, TensorShape output) => ScaleFactor is { } s
        ? ((float)(1.0 / s.Height), (float)(1.0 / s.Width))
        : ((float)input.H / output.H, (float)input.W / output.W);

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        var (rh, rw) = Ratios(t.Inputs[0].Shape, t.Output.Shape);
        backend.UpsampleBilinear2dForward(t.Inputs[0], t.Output, rh, rw);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is not { } dx) return;
        var (rh, rw) = Ratios(t.Inputs[0].Shape, t.Output.Shape);
        backend.UpsampleBilinear2dBackward(t.Gradient, dx, rh, rw);
    }

    /// <summary>Four multiply-adds per output element.</summary>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) => 4L * output.ItemLength;
}

using System.Text.Json.Nodes;

namespace NeuroPlugin.Layers;

/// <summary>
/// Adaptive average pooling (PyTorch's <c>AdaptiveAvgPool2d((OH, OW))</c>): (N,C,H,W) → (N,C,OH,OW) for any H, W;
/// <c>y[n,c,i,j] = mean of x[n,c,h,w]</c> over <c>⌊i·H/OH⌋ ≤ h &lt; ⌈(i+1)·H/OH⌉</c>, <c>⌊j·W/OW⌋ ≤ w &lt; ⌈(j+1)·W/OW⌉</c>.
/// It fixes the classifier's input size whatever the image size (torchvision's VGG: 7×7, AlexNet: 6×6, GoogLeNet's
/// auxiliary heads: 4×4). When H is a multiple of OH the windows are plain H/OH pooling; otherwise they overlap
/// (14 → 4) or repeat elements (1 → 7, as VGG at 32×32 input).
/// </summary>
public sealed class AdaptiveAvgPool2d : Layer
{
    /// <summary>Pools any (N,C,H,W) to (N,C,<paramref name="outputHeight"/>,<paramref name="outputWidth"/>); both at least 1.</summary>
    public AdaptiveAvgPool2d(int outputHeight, int outputWidth)
    {
        if (outputHeight < 1) throw new ArgumentOutOfRangeException(nameof(outputHeight), outputHeight, "AdaptiveAvgPool2d: outputHeight must be positive");
        if (outputWidth < 1) throw new ArgumentOutOfRangeException(nameof(outputWidth), outputWidth, "AdaptiveAvgPool2d: outputWidth must be positive");
        OutputHeight = outputHeight;
        OutputWidth = outputWidth;
    }

    /// <summary>OH, the output's height (PyTorch's <c>output_size[0]</c>), whatever the input's H.</summary>
    public int OutputHeight { get; }
    /// <summary>OW, the output's width (PyTorch's <c>output_size[1]</c>), whatever the input's W.</summary>
    public int OutputWidth { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<AdaptiveAvgPool2d>("AdaptiveAvgPool2d", LayerGroup.Pooling,
        "average pooling of any (N,C,H,W) to a fixed (N,C,OH,OW), e.g. before a classifier", d =>
        {
            var outputSize = d.Ints("outputSize", l => [l.OutputHeight, l.OutputWidth], 2, [1, 1], AttributeBounds.AtLeast(1));
            // ONNX has no adaptive pooling: the exporter writes the pooling the output size allows (see OnnxExporter)
            var onnx = new OnnxMapping(
            [
                new OnnxForm("GlobalAveragePool") { ImportsAs = "GlobalAvgPool2d" },
                new OnnxForm("AveragePool") { Attributes = new() { ["outputSize"] = new JsonArray(2, 2) }, ImportsAs = "AvgPool2d" },
                new OnnxForm("MatMul") { Attributes = new() { ["outputSize"] = new JsonArray(3, 3) } },
            ], ["MatMul"]);
            return d.Build(a =>
            {
                int[] size = outputSize.Read(a);
                return new AdaptiveAvgPool2d(size[0], size[1]);
            }, onnx);
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != 4)
            throw new ShapeException($"{node}: AdaptiveAvgPool2d takes (N,C,H,W), got {x}");
        return new TensorShape(x.N, x.C, OutputHeight, OutputWidth);
    }

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t) => backend.AdaptiveAvgPool2dForward(t.Inputs[0], t.Output);

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is { } dx) backend.AdaptiveAvgPool2dBackward(t.Gradient, dx);
    }

    /// <summary>One add per input element of each window: about H·W per plane when windows do not overlap.</summary>
    public override long MultiplyAccumulates(ReadOnlySpan<TensorShape> inputs, TensorShape output) =>
        (long)output.C * Math.Max((long)inputs[0].H * inputs[0].W, (long)OutputHeight * OutputWidth);
}

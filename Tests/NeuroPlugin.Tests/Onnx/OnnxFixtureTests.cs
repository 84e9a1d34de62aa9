using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>
/// Models PyTorch exported (Tests/Golden/gen_onnx.py): imported, run on the CPU and GL backends, and compared with
/// PyTorch's output (the fixture's .output.npy) and with ONNX Runtime on the same file, within 1e-4 relative.
/// </summary>
public sealed class OnnxFixtureTests : GLFixture
{
    public static readonly string[] Fixtures =
    [
        "lenet5", "conv_pool_activations_opset11", "conv_pool_activations_opset17", "hard_activations_opset14",
        "hard_activations_opset9", "residual_se_opset13", "residual_se_opset7",
        // torchvision's own networks and blocks, random weights, reduced width and classes (files stay small)
        "zoo_squeezenet1_1", "zoo_mobilenet_v2_0.25", "zoo_densenet_g8", "zoo_resnet_googlenet_blocks",
        // more torchvision families from their own classes at reduced width and depth (Tests/Golden/gen_torchvision.py):
        // ConvNeXt (layer norms spelled out around permutes, Linear on (N,H,W,C)), MobileNetV3, EfficientNet, RegNet
        "zoo_convnext_tiny_opset13", "zoo_mobilenet_v3_small_0.25", "zoo_efficientnet_b0_0.25", "zoo_regnet_x_g8",
        // ShuffleNetV2: channel shuffles through (N,2,C/2,H,W) views (see OnnxHighRankTests), at opsets 11 and 17
        "zoo_shufflenet_v2_opset11", "zoo_shufflenet_v2_opset17",
        // MNASNet (depth multiplier 0.1) and EfficientNetV2's Fused-MBConv and MBConv blocks at a few channels
        "zoo_mnasnet_0.1", "zoo_efficientnet_v2_tiny_opset17",
        // MaxViT at a few channels (Tests/Golden/gen_torchvision_attention.py): MBConv, block and grid attention on 5- and
        // 6-axis window views, Einsum, relative position bias
        "zoo_maxvit_tiny_opset12", "zoo_maxvit_tiny_opset17",
        // ViT (three items): MultiheadAttention on (L,N,E), (L,N·heads,d) and (N·heads,L,d) views, the class token expanded
        // to the batch (see OnnxAttentionViewTests); layer norms spelled out at opset 14
        "zoo_vit_tiny_opset14", "zoo_vit_tiny_opset17",
        // Swin (three items): windows as (nW·N,L,C) views, q, k and v gathered from a (3,nW·N,heads,L,d) view, the shifted
        // windows' mask folded from ScatterND, patch merging
        "zoo_swin_tiny_opset17",
        // ResNeXt (grouped bottlenecks), Wide ResNet, Inception v3 and GoogLeNet (max pools with ceil_mode) from torchvision's
        // classes at narrowed widths (Tests/Golden/gen_torchvision.py)
        "zoo_resnext_g4_opset11", "zoo_resnext_g4_opset17", "zoo_wide_resnet_opset13", "zoo_inception_v3_opset11",
        "zoo_googlenet_opset13",
        // F.interpolate (bilinear, align_corners=False) by size and by scale factors: Resize
        "interpolations_opset11", "interpolations_opset13",
        // functions written in elementary operations (Tests/Golden/gen_onnx_ops.py): broadcasting arithmetic
        "elementary_arithmetic_opset11", "elementary_arithmetic_opset13", "elementary_arithmetic_opset17",
        // a group norm (reshape to (N,G,−1), mean, pow, sqrt, div) and a normalization by average-pooled squares, spelled out
        "elementary_norms_opset11", "elementary_norms_opset13", "elementary_norms_opset17",
        // PReLU, GELU (both forms), general clamps and hard activations (Tests/Golden/gen_onnx_ops.py)
        "general_activations_opset11", "general_activations_opset17",
        // ordinary shape code (split, chunk, flip, strided slices, indexing, cat, reshape, transpose, permute)
        "shape_ops_opset11", "shape_ops_opset13", "shape_ops_opset17",
        // a layer norm and GELU's tanh form spelled out, softmax and log_softmax over other axes, sum/amax/amin/mean over axes
        "reductions_opset11", "reductions_opset13", "reductions_opset17",
        // self-attention (q·kᵀ, softmax, ·v), a Linear on (N,T,K) and learnable matrices on either side: MatMul
        "matmuls_opset11", "matmuls_opset13", "matmuls_opset17",
        // a small vision transformer: patch embedding, LayerNorm, 2-head self-attention from MatMul/Softmax, GELU MLP
        "vit_block_opset13", "vit_block_opset17",
        // GroupNorm, InstanceNorm2d, ConvTranspose2d and LayerNorm (Tests/Golden/gen_onnx_norms.py)
        "norms_transposed_opset11", "norms_transposed_opset13", "norms_transposed_opset17", "layer_norms_opset17",
        // the same LayerNorms as the exporter spells them out below opset 17 (ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul, Add)
        "layer_norms_opset11", "layer_norms_opset13",
    ];

    /// <summary>Models whose input is too large to keep as a file, made by the test from a formula instead
    /// (<see cref="OnnxRun.PatternInput"/>, the generator's gen_onnx.pattern_input), of shape <see cref="PatternShape"/>:
    /// torchvision's AlexNet and VGG-11 at reduced widths (Tests/Golden/gen_torchvision.py), whose adaptive pooling exports
    /// only where its output (6×6, 7×7) divides its input, so they need 224×224 images.</summary>
    public static readonly string[] PatternFixtures = ["zoo_alexnet_narrow_opset13", "zoo_vgg11_narrow_opset17"];

    /// <summary>The input shape of <see cref="PatternFixtures"/>: two 224×224 RGB images.</summary>
    static readonly int[] PatternShape = [2, 3, 224, 224];

    [TestCaseSource(nameof(Fixtures))]
    public void ImportedModel_MatchesPyTorchAndOnnxRuntime(string name)
    {
        var (inputShape, input) = Npy.Read(OnnxRun.FixturePath(name + ".input.npy"));
        MatchesPyTorchAndOnnxRuntime(name, inputShape, input);
    }

    [TestCaseSource(nameof(PatternFixtures))]
    public void ImportedModelOnAPatternInput_MatchesPyTorchAndOnnxRuntime(string name) =>
        MatchesPyTorchAndOnnxRuntime(name, PatternShape, OnnxRun.PatternInput(PatternShape.Aggregate(1, (p, d) => p * d)));

    void MatchesPyTorchAndOnnxRuntime(string name, int[] inputShape, float[] input)
    {
        string path = OnnxRun.FixturePath(name + ".onnx");
        var (outputShape, expected) = Npy.Read(OnnxRun.FixturePath(name + ".output.npy"));
        var (ort, ortShape) = OnnxRun.Ort(File.ReadAllBytes(path), input, inputShape);
        Assert.That(ortShape, Is.EqualTo(outputShape), "ONNX Runtime's output shape");
        TensorAssert.AreClose(expected, ort, 1e-4, $"{name}: ONNX Runtime vs PyTorch");
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using var network = OnnxImporter.Import(path, backend);
            var (ours, shape) = OnnxRun.Ours(network, input, inputShape[0]);
            Assert.That(shape, Is.EqualTo(outputShape), $"{name} on {backend.Name}: output shape");
            TensorAssert.AreClose(expected, ours, 1e-4, $"{name} on {backend.Name} vs PyTorch");
            TensorAssert.AreClose(ort, ours, 1e-4, $"{name} on {backend.Name} vs ONNX Runtime");
        }
    }

    [Test]
    public void LeNet5_KeepsPyTorchStateDictNamesAndFoldsTheViewIntoFlatten()
    {
        var model = OnnxImporter.Convert(OnnxRun.FixturePath("lenet5.onnx"));
        Assert.That(model.Opset, Is.EqualTo(13));
        Assert.That(model.State.Keys, Is.SupersetOf(new[] { "conv1.weight", "conv1.bias", "conv2.weight", "fc1.weight", "fc3.bias" }));
        var types = model.Graph.Nodes.Select(n => n.Layer.Type).ToArray();
        Assert.That(types, Is.EqualTo(new[] { "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear" }));
        Assert.That(model.Graph.Inputs[0].ItemShape.ToArray(), Is.EqualTo(new[] { 1, 28, 28 }));
    }
}

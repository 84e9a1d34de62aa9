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
        // sequence-first (L,N,E) code: LayerNorm, Concat, reductions and a layer norm written out on views of a moved batch axis
        "sequence_first_opset13", "sequence_first_opset17",
        // GroupNorm, InstanceNorm2d, ConvTranspose2d and LayerNorm (Tests/Golden/gen_onnx_norms.py)
        "norms_transposed_opset11", "norms_transposed_opset13", "norms_transposed_opset17", "layer_norms_opset17",
        // the same LayerNorms as the exporter spells them out below opset 17 (ReduceMean, Sub, Pow, Add, Sqrt, Div, Mul, Add)
        "layer_norms_opset11", "layer_norms_opset13",
    ];

    /// <summary>Models whose input the test makes from a formula instead of a file (<see cref="OnnxRun.PatternInput"/>, the
    /// generator's gen_onnx.pattern_input), with the input's shape: torchvision's AlexNet and VGG-11 at reduced widths
    /// (Tests/Golden/gen_torchvision.py), whose adaptive pooling exports only where its output (6×6, 7×7) divides its input,
    /// so they need 224×224 images; and the families at further opsets (gen_torchvision.py's OPSET_CASES,
    /// gen_torchvision_attention.py's), which keep no input file so the opsets cost only their models.</summary>
    public static readonly (string Name, int[] Shape)[] PatternInputs =
    [
        ("zoo_alexnet_narrow_opset13", [2, 3, 224, 224]), ("zoo_vgg11_narrow_opset17", [2, 3, 224, 224]),
        ("zoo_alexnet_narrow_opset11", [2, 3, 224, 224]), ("zoo_vgg11_narrow_opset14", [2, 3, 224, 224]),
        // SqueezeNet, MobileNetV2 and V3, EfficientNet-B0 and MNASNet narrowed further than at their first opset (heads
        // of 64 or 32 channels instead of 1024–1280), Conv-BN-activation networks at opsets 12, 15 and 16
        ("zoo_squeezenet_narrow_opset15", [2, 3, 32, 32]), ("zoo_mobilenet_v2_narrow_opset16", [2, 3, 32, 32]),
        ("zoo_mobilenet_v3_small_narrow_opset15", [2, 3, 32, 32]), ("zoo_efficientnet_b0_narrow_opset16", [2, 3, 32, 32]),
        ("zoo_mnasnet_narrow_opset12", [2, 3, 32, 32]),
        ("zoo_densenet_g8_opset16", [2, 3, 32, 32]), ("zoo_resnet_googlenet_blocks_opset15", [2, 3, 32, 32]),
        // ConvNeXt's LayerNorm2d as LayerNormalization (17) and spelled out (15); RegNet; EfficientNetV2; Wide ResNet
        ("zoo_convnext_tiny_opset17", [2, 3, 32, 32]), ("zoo_convnext_tiny_opset15", [2, 3, 32, 32]),
        ("zoo_regnet_x_g8_opset12", [2, 3, 32, 32]), ("zoo_regnet_x_g8_opset16", [2, 3, 32, 32]),
        ("zoo_efficientnet_v2_tiny_opset14", [2, 3, 32, 32]), ("zoo_wide_resnet_opset16", [2, 3, 32, 32]),
        // Swin at opset 16: its layer norms spelled out on the windows' tensors
        ("zoo_swin_tiny_opset16", [3, 3, 32, 32]),
        // GoogLeNet and Inception v3 at half their first opset's widths, one item each
        ("zoo_googlenet_narrow_opset16", [1, 3, 64, 64]), ("zoo_inception_v3_narrow_opset17", [1, 3, 75, 75]),
        // a whole ResNet-18 (BasicBlock, two per stage) at 1/16 width
        ("zoo_resnet18_narrow_opset11", [2, 3, 32, 32]), ("zoo_resnet18_narrow_opset15", [2, 3, 32, 32]),
    ];

    /// <summary>The names of <see cref="PatternInputs"/>.</summary>
    public static IEnumerable<string> PatternFixtures => PatternInputs.Select(p => p.Name);

    static IEnumerable<TestCaseData> PatternCases() => PatternInputs.Select(p => new TestCaseData(p.Name, p.Shape).SetArgDisplayNames(p.Name));

    /// <summary>Each torchvision classification family's fixtures (at reduced sizes; a family may come at another width at a
    /// further opset). Every family is exported at two opsets or more, and every opset from 11 to 17 by several families.</summary>
    static readonly (string Family, string[] Fixtures)[] Families =
    [
        ("SqueezeNet", ["zoo_squeezenet1_1", "zoo_squeezenet_narrow_opset15"]),
        ("MobileNetV2", ["zoo_mobilenet_v2_0.25", "zoo_mobilenet_v2_narrow_opset16"]),
        ("MobileNetV3", ["zoo_mobilenet_v3_small_0.25", "zoo_mobilenet_v3_small_narrow_opset15"]),
        ("EfficientNet", ["zoo_efficientnet_b0_0.25", "zoo_efficientnet_b0_narrow_opset16"]),
        ("EfficientNetV2", ["zoo_efficientnet_v2_tiny_opset17", "zoo_efficientnet_v2_tiny_opset14"]),
        ("MNASNet", ["zoo_mnasnet_0.1", "zoo_mnasnet_narrow_opset12"]),
        ("DenseNet", ["zoo_densenet_g8", "zoo_densenet_g8_opset16"]),
        ("ResNet and GoogLeNet blocks", ["zoo_resnet_googlenet_blocks", "zoo_resnet_googlenet_blocks_opset15"]),
        ("ResNet", ["zoo_resnet18_narrow_opset11", "zoo_resnet18_narrow_opset15"]),
        ("ResNeXt", ["zoo_resnext_g4_opset11", "zoo_resnext_g4_opset17"]),
        ("Wide ResNet", ["zoo_wide_resnet_opset13", "zoo_wide_resnet_opset16"]),
        ("ConvNeXt", ["zoo_convnext_tiny_opset13", "zoo_convnext_tiny_opset15", "zoo_convnext_tiny_opset17"]),
        ("RegNet", ["zoo_regnet_x_g8", "zoo_regnet_x_g8_opset12", "zoo_regnet_x_g8_opset16"]),
        ("ShuffleNetV2", ["zoo_shufflenet_v2_opset11", "zoo_shufflenet_v2_opset17"]),
        ("AlexNet", ["zoo_alexnet_narrow_opset13", "zoo_alexnet_narrow_opset11"]),
        ("VGG", ["zoo_vgg11_narrow_opset17", "zoo_vgg11_narrow_opset14"]),
        ("MaxViT", ["zoo_maxvit_tiny_opset12", "zoo_maxvit_tiny_opset17"]),
        ("ViT", ["zoo_vit_tiny_opset14", "zoo_vit_tiny_opset17"]),
        ("Swin", ["zoo_swin_tiny_opset17", "zoo_swin_tiny_opset16"]),
        ("Inception v3", ["zoo_inception_v3_opset11", "zoo_inception_v3_narrow_opset17"]),
        ("GoogLeNet", ["zoo_googlenet_opset13", "zoo_googlenet_narrow_opset16"]),
    ];

    [Test]
    public void EveryOpsetFrom11To17_IsExportedBySeveralFamilies_AndFamiliesAtTwoOpsets()
    {
        long OpsetOf(string fixture) =>
            OnnxImporter.Parse(File.ReadAllBytes(OnnxRun.FixturePath(fixture + ".onnx")), fixture).OpsetImport.Single(o => o.Domain is "" or "ai.onnx").Version;
        var opsets = Families.ToDictionary(f => f.Family, f => f.Fixtures.Select(OpsetOf).ToHashSet());
        Assert.That(Families.SelectMany(f => f.Fixtures), Is.SubsetOf(Fixtures.Concat(PatternFixtures)), "every family's fixture is run against PyTorch and ONNX Runtime");
        Assert.That(opsets.Where(f => f.Value.Count < 2).Select(f => f.Key), Is.Empty, "families at one opset");
        for (long opset = 11; opset <= 17; opset++)
            Assert.That(opsets.Count(f => f.Value.Contains(opset)), Is.GreaterThanOrEqualTo(3), $"families exported at opset {opset}");
    }

    [TestCaseSource(nameof(Fixtures))]
    public void ImportedModel_MatchesPyTorchAndOnnxRuntime(string name)
    {
        var (inputShape, input) = Npy.Read(OnnxRun.FixturePath(name + ".input.npy"));
        MatchesPyTorchAndOnnxRuntime(name, inputShape, input);
    }

    [TestCaseSource(nameof(PatternCases))]
    public void ImportedModelOnAPatternInput_MatchesPyTorchAndOnnxRuntime(string name, int[] shape) =>
        MatchesPyTorchAndOnnxRuntime(name, shape, OnnxRun.PatternInput(shape.Aggregate(1, (p, d) => p * d)));

    /// <summary>The families at their further opsets fine-tune alike on the CPU and GL (the loss falls, the first
    /// convolution's weight trains): ops the exporter writes only at these opsets train as well as run.</summary>
    [TestCase("zoo_squeezenet_narrow_opset15")]
    [TestCase("zoo_mobilenet_v3_small_narrow_opset15")]
    [TestCase("zoo_efficientnet_b0_narrow_opset16")]
    [TestCase("zoo_convnext_tiny_opset15")]
    [TestCase("zoo_regnet_x_g8_opset12")]
    [TestCase("zoo_resnet18_narrow_opset15")]
    public void FamilyAtAFurtherOpset_FineTunesOnCpuAndGL(string name) =>
        OnnxRun.FineTunesAlikeOnBothBackends(name + ".onnx", Backend, seed: 19, learningRate: 0.01f, network => network.ParameterNames[0],
            "the first parameter", item: [3, 32, 32], classes: 10);

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

using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>MatMul of two tensors and of a tensor by a constant matrix or vector on either side (batch axes broadcast, a
/// vector promoted and its added axis removed), Gemm's transB, α, β and C forms, and products of constants folded in every
/// transpose: hand-made graphs against ONNX Runtime on both backends, PyTorch's exports of matrix-product code
/// (Tests/Golden/gen_onnx_ops.py, MatMuls) importing as <see cref="MatMul"/> layers, fine-tuning through them, and the typed
/// errors for the products that would mix the batch (Gemm's other transposes and errors: <see cref="OnnxGemmTests"/>).</summary>
public sealed class OnnxMatMulTests : GLFixture
{
    public static readonly OnnxOpTests.Case[] Cases =
    [
        new("matmul_of_two_tensors_rank3", [3, 4], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 0, 2, 1));
            b.Node("MatMul", ["x", "t"], "y");
        }),
        new("matmul_of_two_tensors_broadcast_rank4_opset11", [2, 3, 4], b =>
        {
            b.Node("ReduceMean", ["x"], "m", Ints("axes", 1));
            b.Node("Transpose", ["m"], "t", Ints("perm", 0, 1, 3, 2));
            b.Node("MatMul", ["x", "t"], "y");
        }, Opset: 11),
        new("matmul_by_a_constant_on_the_right_rank4", [2, 3, 4], b => b.Node("MatMul", ["x", b.Weight("W", [4, 5])], "y")),
        new("matmul_by_a_constant_on_the_left_rank3", [4, 5], b =>
        {
            b.Node("MatMul", [b.Weight("W", [3, 4]), "x"], "m");
            b.Node("Relu", ["m"], "y");
        }),
        new("matmul_by_batched_constant_on_the_left_opset17", [2, 3, 4], b => b.Node("MatMul", [b.Weight("W", [2, 5, 3]), "x"], "y"), Opset: 17),
        new("matmul_by_a_constant_with_leading_ones", [3, 4], b => b.Node("MatMul", ["x", b.Weight("W", [1, 4, 2])], "y")),
        new("gemm_transB1_scalar_C_alpha_beta", [4], b =>
            b.Node("Gemm", ["x", b.Weight("B", [5, 4]), b.Scalar("C", 0.25f)], "y", Int("transB", 1), Float("alpha", 0.7f), Float("beta", -1.5f))),
        new("gemm_transB0_vector_C_opset11", [5], b =>
            b.Node("Gemm", ["x", b.Weight("B", [5, 3]), b.Weight("C", [3])], "y", Float("beta", 0.5f)), Opset: 11),
        // NumPy's rules for a vector operand: promoted to a matrix, the added axis removed
        new("matmul_rank2_by_a_vector_then_unsqueeze", [4], b =>
        {
            b.Node("MatMul", ["x", b.Weight("v", [4])], "m");
            b.Node("Unsqueeze", ["m", b.IntTensor("axes", 1)], "y");
        }),
        new("matmul_rank3_by_a_vector_on_the_right", [3, 4], b =>
        {
            b.Node("MatMul", ["x", b.Weight("v", [4])], "m");
            b.Node("Relu", ["m"], "y");
        }),
        new("matmul_by_a_vector_on_the_left_rank3_opset11", [4, 5], b =>
        {
            b.Node("MatMul", [b.Weight("v", [4]), "x"], "m");
            b.Node("Tanh", ["m"], "y");
        }, Opset: 11),
        new("matmul_by_a_vector_on_the_left_rank4_opset17", [2, 4, 5], b => b.Node("MatMul", [b.Weight("v", [4]), "x"], "y"), Opset: 17),
        // products of constants fold at import, every transpose and NumPy's batch and vector rules
        new("gemm_of_constants_transA_transB_vector_C", [4, 3], b =>
        {
            b.Node("Gemm", [b.Weight("A", [2, 4]), b.Weight("B", [3, 2]), b.Weight("C", [3])], "g", Int("transA", 1), Int("transB", 1), Float("alpha", 0.5f), Float("beta", 2f));
            b.Node("Add", ["x", "g"], "y");
        }),
        new("gemm_of_constants_transA_column_C_opset11", [4, 3], b =>
        {
            b.Node("Gemm", [b.Weight("A", [2, 4]), b.Weight("B", [2, 3]), b.Weight("C", [4, 1])], "g", Int("transA", 1));
            b.Node("Mul", ["x", "g"], "y");
        }, Opset: 11),
        new("matmul_of_constants_batches_broadcast", [2, 4, 4], b =>
        {
            b.Node("MatMul", [b.Weight("P", [2, 4, 3]), b.Weight("Q", [1, 3, 4])], "m");
            b.Node("Add", ["x", "m"], "y");
        }),
        new("matmul_of_constants_with_vectors", [2, 4], b =>
        {
            b.Node("MatMul", [b.Weight("W", [2, 4, 3]), b.Weight("v", [3])], "right");
            b.Node("MatMul", [b.Weight("u", [4]), b.Weight("M", [2, 4, 4])], "left");
            b.Node("Add", ["x", "right"], "a");
            b.Node("Sub", ["a", "left"], "y");
        }),
    ];

    [TestCaseSource(nameof(Cases))]
    public void ImportMatchesOnnxRuntime(OnnxOpTests.Case c) => OnnxOpTests.AssertMatchesOnnxRuntime(c, Backend);

    static readonly string[] Fixtures = ["matmuls_opset11", "matmuls_opset13", "matmuls_opset17"];

    /// <summary>PyTorch's exports of attention-like code (compared with PyTorch and ONNX Runtime in
    /// <see cref="OnnxFixtureTests"/>) import as MatMul layers of both forms.</summary>
    [TestCaseSource(nameof(Fixtures))]
    public void PyTorchMatMuls_ImportAsMatMulLayers(string name)
    {
        var products = OnnxImporter.Convert(OnnxRun.FixturePath(name + ".onnx")).Graph.Nodes.Select(n => n.Layer).OfType<MatMul>()
            .Select(m => m.HasConstant ? $"{(m.ConstantFirst ? "W·x" : "x·W")} {m.ConstantShape}" : "a·b").ToArray();
        Assert.That(products, Is.EquivalentTo(new[] { "x·W (4,4)", "a·b", "a·b", "x·W (4,5)", "W·x (3,6)" }));
    }

    /// <summary>torchvision's ConvNeXt (Tests/Golden/gen_torchvision.py; compared with PyTorch and ONNX Runtime in
    /// <see cref="OnnxFixtureTests"/>): each block's two Linears run on (N,H,W,C) as MatMuls by their weights, and its five
    /// layer norms, spelled out at opset 13, take their mean and variance over the channels-last axis.</summary>
    [Test]
    public void ConvNeXt_ImportsChannelsLastLinearsAsMatMulsAndLayerNormsAsReductions()
    {
        var layers = OnnxRun.ConvertFixture("zoo_convnext_tiny_opset13.onnx").Layers;
        Assert.That(layers.OfType<MatMul>().Where(m => m.HasConstant && !m.ConstantFirst).Select(m => m.ConstantShape.ToString()),
            Is.EquivalentTo(new[] { "(8,32)", "(32,8)", "(16,64)", "(64,16)" }));
        Assert.That(layers.OfType<Reduce>().Select(r => $"{r.Op} [{string.Join(",", r.Dims)}]"), Is.EquivalentTo(Enumerable.Repeat("Mean [3]", 10)));
    }

    /// <summary>The small vision transformer (Tests/Golden/gen_onnx_ops.py; compared with PyTorch and ONNX Runtime in
    /// <see cref="OnnxFixtureTests"/>): its patch embedding trains through the attention, the layer norms and the GELU MLP.</summary>
    [TestCase("vit_block_opset13")]
    [TestCase("vit_block_opset17")]
    public void VisionTransformerBlock_FineTunesOnCpuAndGL(string name) =>
        OnnxRun.FineTunesAlikeOnBothBackends(name + ".onnx", Backend, seed: 14, learningRate: 0.05f, _ => "patch.weight", "the patch embedding",
            item: [3, 16, 16], classes: 10);

    [Test]
    public void MatMuls_FineTuneOnCpuAndGL() =>
        // the query matrix is read by both products of the attention: its gradient gathers from both
        OnnxRun.FineTunesAlikeOnBothBackends("matmuls_opset13.onnx", Backend, seed: 13, learningRate: 0.05f,
            network => network.ParameterNames.Single(p => p.EndsWith(".weight") && network.Parameter(p).Shape == new TensorShape(4, 4)), "the query matrix");

    [Test]
    public void ProductsThatMixTheBatch_AreTypedErrorsNamingTheNode()
    {
        var b = new OnnxBuilder().Input("x", 4);
        b.Node("Relu", ["x"], "r");
        b.Node("MatMul", ["x", "r"], "m");
        OnnxRun.AssertUnsupported(b.Output("m"), "m", "MatMul", "rank ≥ 3");

        b = new OnnxBuilder().Input("x", 4);
        b.Node("MatMul", [b.Weight("W", [3, 2]), "x"], "m");
        OnnxRun.AssertUnsupported(b.Output("m"), "m", "MatMul", "across the batch axis");

        // x·v of (N,K) is (N): the batch axis alone, which our tensors cannot be; an Unsqueeze gives it an item axis (above)
        b = new OnnxBuilder().Input("x", 4);
        b.Node("MatMul", ["x", b.Weight("v", [4])], "m");
        OnnxRun.AssertUnsupported(b.Output("m"), "(graph)", "output", "the output (N) has the batch axis only");

        b = new OnnxBuilder().Input("x", 4);
        b.Node("MatMul", ["x", b.Weight("v", [4])], "m");
        b.Node("MatMul", ["m", b.Weight("w", [2])], "p");
        OnnxRun.AssertUnsupported(b.Output("p"), "p", "MatMul", "has only the batch axis");

        b = new OnnxBuilder().Input("x", 3, 4);
        b.Node("MatMul", ["x", b.Weight("W", [2, 2, 4, 5])], "m");
        OnnxRun.AssertUnsupported(b.Output("m"), "m", "MatMul", "2 or 3 axes");
    }
}

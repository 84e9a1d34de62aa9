using Google.Protobuf;
using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>Views that move or merge the batch axis (PyTorch's nn.MultiheadAttention: (N,L,E) transposed to (L,N,E), heads
/// split into (L,N·heads,d) and moved first, (N·heads,L,d)), shape values that are multiples of the batch size (N·heads,
/// L·N), and a learnable constant expanded to the batch (<see cref="BatchExpand"/>, ViT's class token). torchvision's
/// VisionTransformer at a few channels (Tests/Golden/gen_torchvision_attention.py, three items; compared with PyTorch and ONNX
/// Runtime in <see cref="OnnxFixtureTests"/>) imports with its attention as batched MatMuls, its gradients match PyTorch's
/// on both backends, and it fine-tunes alike on both; so do torchvision's Swin's window views (its q, k and v gathered from a
/// (3,nW·N,heads,L,d) view); what stays out of reach is a typed error naming the node.</summary>
public sealed class OnnxAttentionViewTests : GLFixture
{
    [TestCase("zoo_vit_tiny_opset14")]
    [TestCase("zoo_vit_tiny_opset17")]
    public void ViT_ImportsTheClassTokenAsBatchExpand_AndItsAttentionAsMatMulsOverHeads(string name)
    {
        var (model, layers) = OnnxRun.ConvertFixture(name + ".onnx");
        var token = layers.OfType<BatchExpand>().Single();
        Assert.That((token.Shape, token.Learnable), Is.EqualTo((new TensorShape(1, 32), true)), "the class token (1,1,32) repeated per item");
        Assert.That(model.State["class_token.constant"], Has.Length.EqualTo(32));
        Assert.That(model.Graph.Nodes.Sum(n => n.Layer.Parameters.Sum(p => p.Shape.Length)), Is.EqualTo(24_234),
            "PyTorch's learnable parameters, those the exporter wrote as Identities of an equal one (zero biases) included");
        var shapes = model.Graph.InferShapes(3);
        var products = model.Graph.Nodes.Where(n => n.Layer is MatMul { HasConstant: false }).ToArray();
        Assert.That(products, Has.Length.EqualTo(2 * 2), "q·kᵀ and weights·v in 2 layers");
        Assert.That(products.Select(p => shapes[p.Name].ToArray()), Is.EqualTo(new[]
        {
            new[] { 3, 2, 17, 17 }, [3, 2, 17, 16], [3, 2, 17, 17], [3, 2, 17, 16],
        }), "(N·heads, L, ·) as our (N, heads, L, ·): 16 patches and the class token, 2 heads of 16");
        Assert.That(layers.OfType<Permute>().Count(), Is.EqualTo(1 + 2 * 4),
            "the patches (N,E,L) to (N,L,E), then per layer: q, kᵀ and v with their heads first, the heads' outputs back in rows");
    }

    /// <summary>PyTorch's gradients of the mean cross-entropy with respect to the class token (repeated over the three items:
    /// its gradient is their sum) and to the patch embedding (back through both attention blocks) against ours on both
    /// backends.</summary>
    [Test]
    public void ViT_GradientsOfTheClassTokenAndThePatchEmbedding_MatchPyTorch() =>
        OnnxRun.GradientsMatchPyTorch("zoo_vit_tiny_opset17", Backend, classes: 10,
            (_ => "class_token.constant", "class_token_grad", "class token's gradient"),
            (_ => "conv_proj.weight", "conv_proj_grad", "patch embedding's gradient"));

    [Test]
    public void ViT_FineTunesOnCpuAndGL() =>
        OnnxRun.FineTunesAlikeOnBothBackends("zoo_vit_tiny_opset17.onnx", Backend, seed: 17, learningRate: 0.01f,
            network => "class_token.constant", "the class token", item: [3, 32, 32], classes: 10);

    /// <summary>Each item run alone (batch 1) gives its row of the batch of three: the batch axis inside the attention views is
    /// the batch, not an axis of the item.</summary>
    [Test]
    public void ViT_ItemsAloneGiveTheirRowsOfTheBatch()
    {
        const string name = "zoo_vit_tiny_opset14";
        var (inputShape, input) = Npy.Read(OnnxRun.FixturePath(name + ".input.npy"));
        using var cpu = new CpuBackend();
        using var network = OnnxImporter.Import(OnnxRun.FixturePath(name + ".onnx"), cpu);
        var (batched, _) = OnnxRun.Ours(network, input, inputShape[0]);
        int item = input.Length / inputShape[0];
        for (int i = 0; i < inputShape[0]; i++)
        {
            var (alone, _) = OnnxRun.Ours(network, input[(i * item)..((i + 1) * item)], 1);
            TensorAssert.AreClose(batched[(i * 10)..((i + 1) * 10)], alone, 1e-5, $"item {i} alone vs in the batch");
        }
        Assert.That(batched[..10], Is.Not.EqualTo(batched[10..20]), "the items' logits differ");
    }

    /// <summary>torchvision's Swin (Tests/Golden/gen_torchvision_attention.py): its window attention as products of (N, nW·heads,
    /// L, ·) tensors (4 windows in the first stage's two blocks, one in the second's), the shifted block's mask a constant.</summary>
    [Test]
    public void Swin_ImportsItsWindowAttentionAsMatMulsOverWindowsAndHeads()
    {
        var model = OnnxImporter.Convert(OnnxRun.FixturePath("zoo_swin_tiny_opset17.onnx"));
        var shapes = model.Graph.InferShapes(3);
        var products = model.Graph.Nodes.Where(n => n.Layer is MatMul { HasConstant: false }).Select(n => shapes[n.Name].ToArray()).ToArray();
        Assert.That(products, Is.EqualTo(new[]
        {
            new[] { 3, 4 * 2, 16, 16 }, [3, 4 * 2, 16, 8], [3, 4 * 2, 16, 16], [3, 4 * 2, 16, 8], [3, 4, 16, 16], [3, 4, 16, 8],
        }), "q·kᵀ and weights·v of 4×4 windows (16 positions): 4 windows of 2 heads of 8, then 1 window of 4 heads of 8");
        Assert.That(model.Graph.Nodes.Count(n => n.Layer is Softmax), Is.EqualTo(3));
    }

    /// <summary>PyTorch's gradient of the mean cross-entropy with respect to Swin's patch embedding, back through the
    /// windows, the shifted windows and their mask, the patch merging, against ours on both backends.</summary>
    [Test]
    public void Swin_PatchEmbeddingGradient_MatchesPyTorch() =>
        OnnxRun.GradientsMatchPyTorch("zoo_swin_tiny_opset17", Backend, classes: 10,
            (_ => "features.0.0.weight", "patch_embedding_grad", "patch embedding's gradient"));

    [TestCase("zoo_swin_tiny_opset17")]
    [TestCase("zoo_swin_tiny_opset16")] // its layer norms spelled out
    public void Swin_FineTunesOnCpuAndGL(string name) =>
        OnnxRun.FineTunesAlikeOnBothBackends(name + ".onnx", Backend, seed: 18, learningRate: 0.01f,
            _ => "features.0.0.weight", "the patch embedding", item: [3, 32, 32], classes: 10);

    /// <summary>The imported ViT and Swin written back to ONNX (BatchExpand as Expand, the views as the Permutes, Reshapes and
    /// batched MatMuls they became) run in ONNX Runtime with PyTorch's output.</summary>
    [TestCase("zoo_vit_tiny_opset17")]
    [TestCase("zoo_swin_tiny_opset17")]
    public void ImportedAttentionModels_ExportBack_AndRunInOnnxRuntimeAsInPyTorch(string name)
    {
        var (inputShape, input) = Npy.Read(OnnxRun.FixturePath(name + ".input.npy"));
        var (outputShape, expected) = Npy.Read(OnnxRun.FixturePath(name + ".output.npy"));
        using var cpu = new CpuBackend();
        using var network = OnnxImporter.Import(OnnxRun.FixturePath(name + ".onnx"), cpu);
        var (ort, shape) = OnnxRun.Ort(OnnxExporter.ToModel(network).ToByteArray(), input, inputShape);
        Assert.That(shape, Is.EqualTo(outputShape));
        TensorAssert.AreClose(expected, ort, 1e-4, $"{name} exported back, in ONNX Runtime, vs PyTorch");
    }

    /// <summary>A hand-made (L,N,E) attention view's round trip (Transpose, Reshape to (L,N·2,E/2), heads first, MatMul by a
    /// constant, Softmax, back) against ONNX Runtime on both backends, at batch 3.</summary>
    [Test]
    public void HandMadeHeadsView_MatchesOnnxRuntime()
    {
        var b = new OnnxBuilder(opset: 13).Input("x", 5, 8);
        b.Node("Transpose", ["x"], "lne", Ints("perm", 1, 0, 2));                           // (5,N,8)
        b.Node("MatMul", ["lne", b.Weight("w", [8, 8])], "projected");                     // row-wise on a view
        b.Node("Add", [b.Weight("bias", [8]), "projected"], "biased");
        b.Node("Shape", ["biased"], "shape");
        b.Node("Gather", ["shape", b.IntTensor("one", 1)], "n");                           // [N]
        b.Node("Mul", ["n", b.IntTensor("two", 2)], "n_heads");                           // [2N]
        b.Node("Concat", [b.IntTensor("l", 5), "n_heads", b.IntTensor("d", 4)], "split", Int("axis", 0));
        b.Node("Reshape", ["biased", "split"], "heads");                                   // (5,2N,4)
        b.Node("Transpose", ["heads"], "first", Ints("perm", 1, 0, 2));                    // (2N,5,4)
        b.Node("Div", ["first", b.Scalar("scale", 2f)], "scaled");
        b.Node("Transpose", ["heads"], "keys", Ints("perm", 1, 2, 0));                     // (2N,4,5)
        b.Node("MatMul", ["scaled", "keys"], "scores");                                    // (2N,5,5)
        b.Node("Softmax", ["scores"], "weights", Int("axis", -1));
        b.Node("MatMul", ["weights", "first"], "mixed");                                   // (2N,5,4)
        b.Node("Transpose", ["mixed"], "back", Ints("perm", 1, 0, 2));                     // (5,2N,4)
        b.Node("Mul", ["n", b.IntTensor("five", 5)], "rows");                              // [5N]
        b.Node("Concat", ["rows", b.IntTensor("e", 8)], "flat", Int("axis", 0));
        b.Node("Reshape", ["back", "flat"], "table");                                      // (5N,8)
        b.Node("Gemm", ["table", b.Weight("out", [6, 8]), b.Weight("out_bias", [6])], "outputs", Int("transB", 1));
        b.Node("Concat", [b.IntTensor("l2", 5), "n", b.IntTensor("o", 6)], "unflat", Int("axis", 0));
        b.Node("Reshape", ["outputs", "unflat"], "lno");                                   // (5,N,6)
        b.Node("Transpose", ["lno"], "y", Ints("perm", 1, 0, 2));                          // (N,5,6)
        b.Output("y");
        byte[] bytes = b.Bytes();
        const int batch = 3;
        float[] input = OnnxRun.RandomInput(batch * 5 * 8, seed: 21);
        var (expected, shape) = OnnxRun.Ort(bytes, input, [batch, 5, 8]);
        Assert.That(shape, Is.EqualTo(new[] { batch, 5, 6 }));
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using var network = OnnxRun.Import(bytes, backend);
            var (ours, oursShape) = OnnxRun.Ours(network, input, batch);
            Assert.That(oursShape, Is.EqualTo(shape));
            TensorAssert.AreClose(expected, ours, 1e-4, $"attention view on {backend.Name} vs ONNX Runtime");
        }
    }

    [Test]
    public void WhatStaysOutOfReach_IsATypedErrorNamingTheNode()
    {
        // a reduction over a transposed view
        var b = new OnnxBuilder().Input("x", 4, 6);
        b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));
        b.Node("ReduceMean", ["t"], "m", Ints("axes", 2));
        OnnxRun.AssertUnsupported(b.Output("m"), "m", "ReduceMean", "input 0 is seen as [4,N,6]");

        // (4,N,6) to (8,N,3) would need the batch axis inside the first entry
        b = new OnnxBuilder().Input("x", 4, 6);
        b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));
        b.Node("Shape", ["t"], "s");
        b.Node("Gather", ["s", b.IntTensor("one", 1)], "n");
        b.Node("Concat", [b.IntTensor("eight", 8), "n", b.IntTensor("three", 3)], "to", Int("axis", 0));
        b.Node("Reshape", ["t", "to"], "r");
        OnnxRun.AssertUnsupported(b.Output("r"), "r", "Reshape", "reshape of [4,N,6] to [8,N,3] would split the batch axis or move it");

        // N + 1 depends on the batch size
        b = new OnnxBuilder().Input("x", 4, 6);
        b.Node("Shape", ["x"], "s");
        b.Node("Gather", ["s", b.IntTensor("zero", 0)], "n");
        b.Node("Add", ["n", b.IntTensor("one", 1)], "more");
        b.Node("Concat", ["more", b.IntTensor("rest", 24)], "to", Int("axis", 0));
        b.Node("Reshape", ["x", "to"], "r");
        OnnxRun.AssertUnsupported(b.Output("r"), "more", "Add", "Add of N and 1 depends on the batch size");

        // the batch size in any entry of Expand's shape but the first
        b = new OnnxBuilder().Input("x", 4, 2);
        b.Node("Shape", ["x"], "s");
        b.Node("Gather", ["s", b.IntTensor("zero", 0)], "n");
        b.Node("Concat", [b.IntTensor("one", 1), "n", b.IntTensor("two", 2)], "to", Int("axis", 0));
        b.Node("Expand", [b.Weight("token", [1, 1, 2]), "to"], "e");
        b.Node("Concat", ["e", "x"], "c", Int("axis", 1));
        OnnxRun.AssertUnsupported(b.Output("c"), "e", "Expand", "only the first axis may be the batch size");

        // the graph output seen with the batch axis second
        b = new OnnxBuilder().Input("x", 4, 6);
        b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));
        b.Node("Relu", ["t"], "y");
        OnnxRun.AssertUnsupported(b.Output("y"), "y", "output", "the graph output [4,N,6] does not have the batch axis alone and first");
    }
}

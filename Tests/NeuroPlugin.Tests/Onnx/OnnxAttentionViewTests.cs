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
/// (3,nW·N,heads,L,d) view). Reductions, LayerNormalization, Concat and arithmetic of two views read such views as they are
/// stored (hand-made graphs against ONNX Runtime; sequence-first (L,N,E) code as PyTorch exports it, Tests/Golden/gen_onnx_ops.py's
/// SequenceFirst, whose gradient matches PyTorch's through them and which fine-tunes alike on both backends). What stays out
/// of reach is a typed error naming the node.</summary>
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

    [TestCaseSource(nameof(BatchViewOpCases))]
    public void ViewsReadByReductionsLayerNormsConcatAndArithmetic_MatchOnnxRuntime(OnnxOpTests.Case c) => OnnxOpTests.AssertMatchesOnnxRuntime(c, Backend);

    /// <summary>Reductions, LayerNormalization, Concat and arithmetic of two views reading views that move or merge the batch
    /// axis as they are stored: x (N,4,6) seen as (4,N,6) (or x (N,4,3,2) as (4,N,2,3)).</summary>
    public static readonly OnnxOpTests.Case[] BatchViewOpCases =
    [
        new("view_mean_centred_squares_summed_over_the_sequence", [4, 6], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));                        // (4,N,6)
            b.Node("ReduceMean", ["t"], "m", Ints("axes", 2));                              // (4,N,1), a view
            b.Node("Sub", ["t", "m"], "c");                                                 // two views stored alike
            b.Node("Mul", ["c", "c"], "squares");
            b.Node("ReduceSum", ["squares", b.IntTensor("sequence", 0)], "y", Int("keepdims", 0)); // (N,6)
        }),
        new("view_max_and_min_without_keepdims", [4, 6], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 2, 0, 1));                        // (6,N,4)
            b.Node("ReduceMax", ["t"], "most", Ints("axes", -1), Int("keepdims", 0));        // (6,N)
            b.Node("Transpose", ["most"], "most_first", Ints("perm", 1, 0));              // (N,6)
            b.Node("ReduceMin", ["t"], "least", Ints("axes", 0), Int("keepdims", 0));       // (N,4)
            b.Node("Concat", ["most_first", "least"], "y", Int("axis", 1));                // (N,10)
        }),
        new("view_with_heads_merged_into_the_batch_summed", [4, 6], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));                        // (4,N,6)
            b.Node("Shape", ["t"], "shape");
            b.Node("Gather", ["shape", b.IntTensor("one", 1)], "n");
            b.Node("Mul", ["n", b.IntTensor("two", 2)], "n_heads");
            b.Node("Concat", [b.IntTensor("l", 4), "n_heads", b.IntTensor("d", 3)], "split", Int("axis", 0));
            b.Node("Reshape", ["t", "split"], "heads");                                   // (4,2N,3)
            b.Node("ReduceSum", ["heads", b.IntTensor("last", 2)], "sums", Int("keepdims", 0)); // (4,2N)
            b.Node("Transpose", ["sums"], "per_head", Ints("perm", 1, 0));                // (2N,4)
            b.Node("MatMul", ["per_head", b.Weight("w", [4, 5])], "y0");                   // (2N,5), rows in stored order
            b.Node("Concat", ["n", b.IntTensor("ten", 10)], "items", Int("axis", 0));
            b.Node("Reshape", ["y0", "items"], "y");                                       // (N,10)
        }),
        new("view_layer_norm_over_the_last_axis", [4, 6], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));                        // (4,N,6)
            b.Node("LayerNormalization", ["t", b.Weight("gamma", [6], positive: true), b.Weight("beta", [6])], "normalized", Int("axis", -1));
            b.Node("Relu", ["normalized"], "r");
            b.Node("Transpose", ["r"], "y", Ints("perm", 1, 0, 2));                        // (N,4,6)
        }, Opset: 17),
        new("view_layer_norm_over_two_axes_stored_swapped", [4, 3, 2], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 3, 2));                     // (4,N,2,3): the normalized axes stored as (3,2)
            b.Node("LayerNormalization", ["t", b.Weight("gamma", [2, 3], positive: true), b.Weight("beta", [2, 3])], "normalized",
                Int("axis", 2), Float("epsilon", 1e-3f));
            b.Node("Transpose", ["normalized"], "y", Ints("perm", 1, 0, 2, 3));            // (N,4,2,3)
        }, Opset: 17),
        new("views_stored_differently_added_and_concatenated", [4, 4], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));                        // (4,N,4) stored (N,4,4)
            b.Node("Transpose", ["x"], "u", Ints("perm", 2, 0, 1));                        // (4,N,4) stored with its axes swapped
            b.Node("Add", ["t", "u"], "s");
            b.Node("Concat", ["u", "s"], "joined", Int("axis", 2));                        // (4,N,8)
            b.Node("Transpose", ["joined"], "y", Ints("perm", 1, 0, 2));                   // (N,4,8)
        }),
        new("views_concatenated_along_the_features", [4, 6], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));                        // (4,N,6)
            b.Node("Relu", ["t"], "r");
            b.Node("MatMul", ["t", b.Weight("w", [6, 2])], "projected");                   // (4,N,2)
            b.Node("Concat", ["t", "r", "projected"], "joined", Int("axis", -1));          // (4,N,14)
            b.Node("Transpose", ["joined"], "y", Ints("perm", 1, 0, 2));                   // (N,4,14)
        }),
    ];

    /// <summary>PyTorch's gradient of the mean cross-entropy with respect to the patch convolution, back through the layer
    /// norm, the Concat, the layer norm written out and the reductions over the sequence, all on (L,N,E) views.</summary>
    [Test]
    public void SequenceFirst_PatchGradient_MatchesPyTorch() =>
        OnnxRun.GradientsMatchPyTorch("sequence_first_opset17", Backend, classes: 4, (_ => "patch.weight", "patch_grad", "the patch convolution's gradient"));

    [TestCase("sequence_first_opset13")]
    [TestCase("sequence_first_opset17")]
    public void SequenceFirst_FineTunesOnCpuAndGL(string name) =>
        OnnxRun.FineTunesAlikeOnBothBackends(name + ".onnx", Backend, seed: 23, learningRate: 0.05f, _ => "patch.weight", "the patch convolution",
            item: [3, 6, 6]);

    /// <summary>The sequence-first module's (L,N,E) views move data only where an op needs it: at opset 17 once, the
    /// patches stored (N,E,L) put as (N,L,E) for the LayerNormalization's rows, after which everything is stored so; at opset
    /// 13 the layer norm written out runs on (N,E,L) as stored, then the Linear's rows and the Concat of its output with
    /// the norm's each move one (the Concat puts both inputs in one layout; one already is).</summary>
    [TestCase("sequence_first_opset13", 2)]
    [TestCase("sequence_first_opset17", 1)]
    public void SequenceFirst_MovesDataOnlyWhereAnOpNeedsIt(string name, int permutes)
    {
        var (_, layers) = OnnxRun.ConvertFixture(name + ".onnx");
        Assert.That(layers.OfType<Permute>().Count(), Is.EqualTo(permutes));
        Assert.That(layers.OfType<NeuroPlugin.Layers.Concat>().Count(), Is.EqualTo(1));
        if (name.EndsWith("17", StringComparison.Ordinal)) Assert.That(layers.OfType<LayerNorm>().Count(), Is.EqualTo(1));
    }

    [Test]
    public void WhatStaysOutOfReach_IsATypedErrorNamingTheNode()
    {
        // an op that reads no view: a max pool of a transposed view
        var b = new OnnxBuilder().Input("x", 4, 6, 2);
        b.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2, 3));
        b.Node("MaxPool", ["t"], "m", Ints("kernel_shape", 2, 2));
        OnnxRun.AssertUnsupported(b.Output("m"), "m", "MaxPool", "input 0 is seen as [4,N,6,2]");

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

        // a reduction over the axis that holds the batch
        OnnxRun.AssertNodeUnsupported([4, 6], g =>
        {
            g.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));
            return g.Node("ReduceMean", ["t"], "m", Ints("axes", 1));
        }, "ReduceMean over axes [1] of [4,N,6] would reduce the axis that holds the batch");

        // a layer norm over axes that hold the batch
        OnnxRun.AssertNodeUnsupported([4, 6], g =>
        {
            g.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));
            return g.Node("LayerNormalization", ["t", g.Weight("gamma", [6])], "n", Int("axis", 1));
        }, "axis 1 of input [4,N,6]: only axes that do not hold the batch axis can be normalized", opset: 17);

        // (2N,3) views of (N,6), one with the batch axis outer, one with it inner: they merge the batch differently
        OnnxRun.AssertNodeUnsupported([6], g =>
        {
            g.Node("Shape", ["x"], "shape");
            g.Node("Gather", ["shape", g.IntTensor("zero", 0)], "n");
            g.Node("Mul", ["n", g.IntTensor("two", 2)], "two_n");
            g.Node("Concat", ["two_n", g.IntTensor("three", 3)], "flat", Int("axis", 0));
            g.Node("Reshape", ["x", "flat"], "outer");
            g.Node("Reshape", ["x", g.IntTensor("pairs", 0, 2, 3)], "p");
            g.Node("Transpose", ["p"], "pt", Ints("perm", 1, 0, 2));
            g.Node("Reshape", ["pt", "flat"], "inner");
            return g.Node("Add", ["outer", "inner"], "s");
        }, "Add of the views [2N,3] and [2N,3]: they do not broadcast, or merge different stored sizes with the batch axis");

        // a Concat along the axis that holds the batch, and of a view with a tensor in storage order
        OnnxRun.AssertNodeUnsupported([4, 6], g =>
        {
            g.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));
            return g.Node("Concat", ["t", "t"], "c", Int("axis", 1));
        }, "Concat of [4,N,6] along axis 1: the axis holds the batch axis");
        OnnxRun.AssertNodeUnsupported([4, 4], g =>
        {
            g.Node("Transpose", ["x"], "t", Ints("perm", 1, 0, 2));
            return g.Node("Concat", ["t", "x"], "c", Int("axis", 2));
        }, "input 1: a Concat of transposed views needs every input to be such a view");
    }
}

using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>ONNX views of more axes than our tensors have (up to 8; ours have 4): Reshape, Transpose, Flatten, Squeeze,
/// Unsqueeze and Shape read them, element-wise ops, Softmax and Einsum on views with their axes merged where the operands
/// broadcast alike (torchvision's MaxViT, Tests/Golden/gen_torchvision_attention.py, imports and fine-tunes alike on both
/// backends), and a Transpose permutes the fewest axes that describe its move (axes that move together
/// merged, axes of size 1 left out), so ShuffleNet's channel shuffle, (N,g,C/g,H,W) by (0,2,1,3,4), is a Permute(0,2,1,3)
/// of (N,g,C/g,H·W), and a move of more groups than our axes is made of block swaps. Hand-made graphs against ONNX Runtime on both backends; torchvision's ShuffleNetV2
/// (Tests/Golden/gen_torchvision.py; compared with PyTorch and ONNX Runtime in <see cref="OnnxFixtureTests"/>) imports with
/// a Permute per shuffle, its first convolution's gradient matches PyTorch's through every shuffle, and it fine-tunes alike
/// on both backends; what stays out of reach is a typed error naming the node.</summary>
public sealed class OnnxHighRankTests : GLFixture
{
    [TestCaseSource(nameof(Cases))]
    public void ImportMatchesOnnxRuntime(OnnxOpTests.Case c) => OnnxOpTests.AssertMatchesOnnxRuntime(c, Backend);

    /// <summary>Views of 5 and 6 axes made by Reshape and Unsqueeze, permuted, and read back by Reshape, Squeeze, Flatten
    /// and Shape.</summary>
    public static readonly OnnxOpTests.Case[] Cases =
    [
        new("channel_shuffle_rank5", [6, 3, 4], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("grouped", 0, 2, 3, 3, 4)], "g");
            b.Node("Transpose", ["g"], "t", Ints("perm", 0, 2, 1, 3, 4));
            b.Node("Reshape", ["t", b.IntTensor("back", 0, 6, 3, 4)], "s");
            b.Node("Relu", ["s"], "y");
        }),
        new("channel_shuffle_three_groups_opset11", [6, 2, 2], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("grouped", 0, 3, 2, 2, 2)], "g");
            b.Node("Transpose", ["g"], "t", Ints("perm", 0, 2, 1, 3, 4));
            b.Node("Reshape", ["t", b.IntTensor("back", 0, -1, 2, 2)], "s");
            b.Node("Conv", ["s", b.Weight("w", [2, 6, 1, 1])], "y");
        }, Opset: 11),
        new("rank6_transpose_merges_to_rank4", [4, 6, 2], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("split", 0, 2, 2, 3, 2, 2)], "r");
            b.Node("Transpose", ["r"], "t", Ints("perm", 0, 3, 4, 1, 2, 5));
            b.Node("Reshape", ["t", b.IntTensor("back", 0, 6, 4, 2)], "s");
            b.Node("Tanh", ["s"], "y");
        }, Opset: 14),
        // five groups that do not merge: put in order by block swaps, each a Permute of at most 4 axes
        new("rank6_reversed_by_block_swaps", [32], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("wide", 0, 2, 2, 2, 2, 2)], "w");
            b.Node("Transpose", ["w"], "t", Ints("perm", 0, 5, 4, 3, 2, 1));
            b.Node("Reshape", ["t", b.IntTensor("back", 0, 32)], "s");
            b.Node("Relu", ["s"], "y");
        }),
        new("rank6_window_partition_by_block_swaps_opset17", [3, 4, 6], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("windows", 0, 3, 2, 2, 3, 2)], "w");
            b.Node("Transpose", ["w"], "t", Ints("perm", 0, 2, 4, 3, 5, 1));
            b.Node("Reshape", ["t", b.IntTensor("back", 0, 12, 6)], "s");
            b.Node("Tanh", ["s"], "y");
        }, Opset: 17),
        new("rank5_transpose_of_size1_axes_is_a_view", [6, 4], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("wide", 0, 1, 6, 1, 4)], "r");
            b.Node("Transpose", ["r"], "t", Ints("perm", 0, 3, 2, 1, 4));
            b.Node("Reshape", ["t", b.IntTensor("back", 0, 6, 4)], "s");
            b.Node("Relu", ["s"], "y");
        }),
        new("unsqueeze_to_rank5_transpose_squeeze", [3, 4, 5], b =>
        {
            b.Node("Unsqueeze", ["x", b.IntTensor("axes", 2)], "u");
            b.Node("Transpose", ["u"], "t", Ints("perm", 0, 2, 4, 1, 3));
            b.Node("Squeeze", ["t", b.IntTensor("axes2", 1)], "s");
            b.Node("Sigmoid", ["s"], "y");
        }),
        new("rank5_transpose_then_flatten_opset9", [4, 2, 3], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("wide", 0, 2, 2, 2, 3)], "r");
            b.Node("Transpose", ["r"], "t", Ints("perm", 0, 1, 4, 2, 3));
            b.Node("Flatten", ["t"], "f");
            b.Node("Gemm", ["f", b.Weight("w", [5, 24]), b.Weight("b", [5])], "y", Int("transB", 1));
        }, Opset: 9),
        // MaxViT's attention on (N,G,heads,I,D) windows: a scale, q·kᵀ and weights·v as Einsum, a per-head bias broadcast
        // over the windows and the batch, a softmax over the last axis
        new("attention_einsum_rank5_opset12", [6, 4, 5], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("heads", 0, 2, 3, 4, 5)], "q");
            b.Node("Mul", ["q", b.Scalar("scale", 0.5f)], "scaled");
            b.Node("Einsum", ["scaled", "q"], "scores", Text("equation", "bghid,bghjd->bghij"));
            b.Node("Add", ["scores", b.Weight("bias", [3, 4, 4])], "biased");
            b.Node("Softmax", ["biased"], "weights", Int("axis", -1));
            b.Node("Einsum", ["weights", "q"], "context", Text("equation", "B G H I J, B G H J D -> B G H I D"));
            b.Node("Reshape", ["context", b.IntTensor("back", 0, 6, 4, 5)], "y");
        }, Opset: 12),
        new("attention_einsum_rank5_opset17", [6, 4, 5], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("heads", 0, 2, 3, 4, 5)], "q");
            b.Node("Einsum", ["q", "q"], "scores", Text("equation", "bghid,bghjd->bghij"));
            b.Node("Softmax", ["scores"], "weights", Int("axis", 3));
            b.Node("Einsum", ["weights", "q"], "context", Text("equation", "bghij,bghjd->bghid"));
            b.Node("Reshape", ["context", b.IntTensor("back", 0, 6, 4, 5)], "y");
        }, Opset: 17),
        // either input transposed, and the output's rows taken from the second input
        new("einsum_rank3_transposes", [4, 3], b =>
        {
            b.Node("Einsum", ["x", "x"], "gram", Text("equation", "bij,bik->bjk"));
            b.Node("Einsum", ["x", "gram"], "y", Text("equation", "bij,bkj->bki"));
        }),
        // element-wise ops on a 5-axis view: functions, two views, constants broadcast along some of its axes
        new("elementwise_on_rank5_views", [6, 4], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("wide", 0, 2, 3, 2, 2)], "w");
            b.Node("Erf", ["w"], "e");
            b.Node("Add", ["w", "e"], "s");
            b.Node("Mul", ["s", b.Weight("gate", [3, 2, 1])], "g");
            b.Node("Sub", [b.Scalar("one", 1f), "g"], "d");
            b.Node("Tanh", ["d"], "t");
            b.Node("Reshape", ["t", b.IntTensor("back", 0, 6, 4)], "y");
        }),
        new("softmax_rank5_opset11_rows_from_axis", [6, 4], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("wide", 0, 2, 3, 2, 2)], "w");
            b.Node("Softmax", ["w"], "s", Int("axis", 2));
            b.Node("Reshape", ["s", b.IntTensor("back", 0, 6, 4)], "y");
        }, Opset: 11),
        new("shape_of_a_rank5_view_in_the_reshape_back", [4, 2, 3], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("wide", 0, 2, 2, 2, 3)], "r");
            b.Node("Transpose", ["r"], "t", Ints("perm", 0, 2, 1, 3, 4));
            b.Node("Shape", ["t"], "shape");
            b.Node("Slice", ["shape", b.IntTensor("s0", 0), b.IntTensor("e0", 1)], "batch");
            b.Node("Concat", ["batch", b.IntTensor("rest", 4, 6)], "target", Int("axis", 0));
            b.Node("Reshape", ["t", "target"], "s");
            b.Node("Relu", ["s"], "y");
        }),
    ];

    [Test]
    public void ChannelShuffle_IsAPermuteOfTheGroupsAndChannelsWithHeightAndWidthMerged()
    {
        var layers = OnnxImporter.Convert(OnnxImporter.Parse(OnnxOpTests.ModelBytes(Cases[0]), "shuffle.onnx"), null, "shuffle.onnx").Graph.Nodes.Select(n => n.Layer).ToArray();
        Assert.That(layers.Select(l => l.Type), Is.EqualTo(new[] { "Reshape", "Permute", "ReLU", "Reshape" }),
            "the ReLU reads the permuted tensor as it is; the output is seen as (N,6,3,4)");
        Assert.That(((Permute)layers[1]).Dims, Is.EqualTo(new[] { 0, 2, 1, 3 }));
        Assert.That(((Reshape)layers[0]).Shape, Is.EqualTo(new[] { 2, 3, 12 }), "(N,2,3,3,4) seen as (N,2,3,12): H and W move together");
    }

    [Test]
    public void FiveGroupsThatDoNotMerge_TakeAtMostOneSwapPerGroup()
    {
        var reversed = Cases.Single(c => c.Name == "rank6_reversed_by_block_swaps");
        var layers = OnnxImporter.Convert(OnnxImporter.Parse(OnnxOpTests.ModelBytes(reversed), "reversed.onnx"), null, "reversed.onnx").Graph.Nodes.Select(n => n.Layer).ToArray();
        Assert.That(layers.OfType<Permute>().Count(), Is.InRange(2, 4), "5 groups, the last falls in place");
    }

    [TestCase("zoo_shufflenet_v2_opset11")]
    [TestCase("zoo_shufflenet_v2_opset17")]
    public void ShuffleNetV2_ImportsEachChannelShuffleAsOnePermute(string name)
    {
        var layers = OnnxRun.ConvertFixture(name + ".onnx").Layers;
        var permutes = layers.OfType<Permute>().Select(p => p.Dims.ToArray()).ToArray();
        Assert.That(permutes, Has.Length.EqualTo(4 + 8 + 4), "one shuffle per unit of the three stages");
        Assert.That(permutes[..12], Has.All.EqualTo(new[] { 0, 2, 1, 3 }), "stages 2 and 3: (N,2,C/2,H·W)");
        Assert.That(permutes[12..], Has.All.EqualTo(new[] { 0, 2, 1 }), "stage 4 at 1×1: H and W of size 1 left out, (N,2,C/2)");
        Assert.That(layers.OfType<Conv2d>().Count(), Is.EqualTo(1 + 3 * (4 + 8 + 4) + 2 * 3 + 1), "stem, three per unit, two more per stage's first unit, conv5");
    }

    /// <summary>PyTorch's gradient of the mean cross-entropy with respect to the first convolution's weight (batch norms folded
    /// as the exporter folds them; Tests/Golden/gen_torchvision.py) against ours on both backends: it comes back through all
    /// 16 channel shuffles (Permute's backward) and chunks.</summary>
    [Test]
    public void ShuffleNetV2_FirstConvolutionGradient_MatchesPyTorch() =>
        OnnxRun.GradientsMatchPyTorch("zoo_shufflenet_v2_opset17", Backend, classes: 10,
            (network => network.Graph.Nodes.First(n => n.Layer is Conv2d).Name + ".weight", "conv1_grad", "first convolution's gradient"));

    [Test]
    public void ShuffleNetV2_FineTunesOnCpuAndGL() =>
        OnnxRun.FineTunesAlikeOnBothBackends("zoo_shufflenet_v2_opset11.onnx", Backend, seed: 15, learningRate: 0.005f,
            network => network.Graph.Nodes.First(n => n.Layer is Conv2d).Name + ".weight", "the first convolution (before every shuffle)", item: [3, 32, 32], classes: 10);

    [TestCase("zoo_maxvit_tiny_opset12")]
    [TestCase("zoo_maxvit_tiny_opset17")]
    public void MaxViT_ImportsItsAttentionAsMatMulsOfMergedWindowsAndHeads(string name)
    {
        var layers = OnnxRun.ConvertFixture(name + ".onnx").Layers;
        var products = layers.OfType<MatMul>().Where(m => !m.HasConstant).ToArray();
        Assert.That(products, Has.Length.EqualTo(2 * 2 * 2), "q·kᵀ and weights·v in the block and grid attention of 2 stages");
        Assert.That(layers.OfType<Softmax>().Select(s => s.Dim), Has.All.EqualTo(2), "(N,G·heads,I,J): rows over J");
    }

    [Test]
    public void MaxViT_FineTunesOnCpuAndGL() =>
        OnnxRun.FineTunesAlikeOnBothBackends("zoo_maxvit_tiny_opset17.onnx", Backend, seed: 16, learningRate: 0.01f,
            network => network.Graph.Nodes.First(n => n.Layer is Conv2d).Name + ".weight", "the stem convolution (before every attention)", item: [3, 32, 32], classes: 10);

    [Test]
    public void WhatStaysOutOfReach_IsATypedErrorNamingTheNode()
    {
        var b = new OnnxBuilder().Input("x", 6, 3, 4);
        b.Node("Reshape", ["x", b.IntTensor("grouped", 0, 2, 3, 3, 4)], "g");
        b.Node("Concat", ["g", "g"], "c", Int("axis", 1));
        OnnxRun.AssertUnsupported(b.Output("c"), "c", "Concat", "input 0 has 5 axes [1,2,3,3,4]");

        // (1,2,3,2,2) times (3,1,2): broadcast, read, broadcast, read: four groups of axes after the batch
        b = new OnnxBuilder().Input("x", 6, 4);
        b.Node("Reshape", ["x", b.IntTensor("wide", 0, 2, 3, 2, 2)], "w");
        b.Node("Mul", ["w", b.Weight("gate", [3, 1, 2])], "m");
        OnnxRun.AssertUnsupported(b.Output("m"), "m", "Mul", "broadcast differently along more than 3 groups of axes");

        b = new OnnxBuilder(opset: 12).Input("x", 4, 3);
        b.Node("Einsum", ["x", "x"], "e", Text("equation", "...ij,...kj->...ik"));
        OnnxRun.AssertUnsupported(b.Output("e"), "e", "Einsum", "has an ellipsis");

        b = new OnnxBuilder(opset: 12).Input("x", 4, 3);
        b.Node("Einsum", ["x", "x"], "e", Text("equation", "bij,bkl->bik"));
        OnnxRun.AssertUnsupported(b.Output("e"), "e", "Einsum", "sums a letter over one input only");

        b = new OnnxBuilder(opset: 12).Input("x", 4, 3);
        b.Node("Einsum", ["x", b.Weight("w", [1, 3, 2])], "e", Text("equation", "bij,bjk->bik"));
        OnnxRun.AssertUnsupported(b.Output("e"), "e", "Einsum", "input 1 is a constant");

        b = new OnnxBuilder().Input("x", 6, 3, 4);
        b.Node("Reshape", ["x", b.IntTensor("grouped", 0, 2, 3, 3, 4)], "g");
        b.Node("Transpose", ["g"], "t", Ints("perm", 0, 2, 1, 3, 4));
        OnnxRun.AssertUnsupported(b.Output("t"), "t", "output", "has 5 axes");

        b = new OnnxBuilder().Input("x", 6, 3, 4);
        b.Node("Reshape", ["x", b.IntTensor("wide", 0, 1, 1, 1, 1, 1, 1, 1, 72)], "w");
        OnnxRun.AssertUnsupported(b.Output("w"), "w", "Reshape", "rank 9 is not supported");
    }
}

using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>What opsets 18–21 changed in the supported ops, from hand-made graphs against ONNX Runtime on both backends:
/// GroupNormalization 18 (scale and bias per group) and 21 (per channel), Gelu 20 (exact and tanh), ReduceMean/ReduceMax
/// with their axes as an input (18), Split's num_outputs (18), Pad's axes input (18), Resize's axes attribute (18), AveragePool's dilations (19) and
/// Cast's saturate (19); the layers they import as; and the typed errors for what these opsets add that is not
/// supported.</summary>
public sealed class OnnxOpset18To21Tests : GLFixture
{
    public static readonly OnnxOpTests.Case[] Cases =
    [
        new("group_normalization_per_group_opset18", [6, 4, 5], b =>
            b.Node("GroupNormalization", ["x", b.Weight("gn.scale", [3], scale: 2f), b.Weight("gn.bias", [3])], "y",
                Int("num_groups", 3), Float("epsilon", 1e-3f)), Opset: 18),
        new("group_normalization_per_channel_opset21", [6, 4, 5], b =>
            b.Node("GroupNormalization", ["x", b.Weight("gn.scale", [6], scale: 2f), b.Weight("gn.bias", [6])], "y",
                Int("num_groups", 2)), Opset: 21),
        new("group_normalization_features_opset21", [8, 3], b =>
        {
            b.Node("GroupNormalization", ["x", b.Weight("gn.scale", [8], scale: 2f), b.Weight("gn.bias", [8])], "g",
                Int("num_groups", 4), Float("epsilon", 1e-2f), Int("stash_type", 1));
            b.Node("Relu", ["g"], "y");
        }, Opset: 21),
        new("gelu_exact_opset20", [3, 4, 5], b =>
        {
            b.Node("Mul", ["x", b.Scalar("k", 3f)], "s");
            b.Node("Gelu", ["s"], "y");
        }, Opset: 20),
        new("gelu_tanh_opset20", [3, 4, 5], b =>
        {
            b.Node("Mul", ["x", b.Scalar("k", 3f)], "s");
            b.Node("Gelu", ["s"], "y", Text("approximate", "tanh"));
        }, Opset: 20),
        new("reduce_mean_axes_input_opset18", [3, 4, 5], b =>
        {
            b.Node("ReduceMean", ["x", b.IntTensor("axes", -1, 1)], "m");
            b.Node("Sub", ["x", "m"], "y");
        }, Opset: 18),
        new("reduce_max_axes_input_dropped_opset18", [3, 4, 5], b =>
        {
            b.Node("ReduceMax", ["x", b.IntTensor("axes", 2)], "m", Int("keepdims", 0));
            b.Node("Tanh", ["m"], "y");
        }, Opset: 18),
        new("split_num_outputs_uneven_opset18", [3, 7], b =>
        {
            // ⌈7/3⌉ = 3: parts of 3, 3 and 1 along the last axis
            var split = b.Node("Split", ["x"], "a", Int("axis", -1), Int("num_outputs", 3));
            split.Output.Add("b");
            split.Output.Add("c");
            b.Node("Mul", ["a", "b"], "ab");
            b.Node("Add", ["ab", "c"], "y");
        }, Opset: 18),
        new("split_num_outputs_even_opset18", [6, 2, 2], b =>
        {
            b.Node("Split", ["x"], "a", Int("axis", 1), Int("num_outputs", 2)).Output.Add("b");
            b.Node("Sub", ["a", "b"], "y");
        }, Opset: 18),
        new("pad_axes_input_then_conv_opset18", [2, 5, 6], b =>
        {
            b.Node("Pad", ["x", b.IntTensor("pads", 1, 0, 2, 1), "", b.IntTensor("axes", -2, 3)], "p");
            b.Node("Conv", ["p", b.Weight("conv.weight", [3, 2, 3, 3])], "y");
        }, Opset: 18),
        new("resize_scales_of_axes_opset18", [2, 4, 5], b =>
            b.Node("Resize", ["x", "", b.Weight("scales", [2], [2f, 1.5f])], "y", Text("mode", "linear"), Ints("axes", 2, 3)), Opset: 18),
        new("resize_sizes_of_negative_axes_in_reverse_opset18", [2, 4, 5], b =>
            b.Node("Resize", ["x", "", "", b.IntTensor("sizes", 7, 6)], "y", Text("mode", "linear"), Ints("axes", -1, -2),
                Text("coordinate_transformation_mode", "pytorch_half_pixel")), Opset: 18),
        new("average_pool_unit_dilations_and_cast_opset19", [2, 6, 6], b =>
        {
            b.Node("AveragePool", ["x"], "p", Ints("kernel_shape", 2, 2), Ints("strides", 2, 2), Ints("dilations", 1, 1));
            b.Node("Cast", ["p"], "y", Int("to", 1), Int("saturate", 1));
        }, Opset: 19),
    ];

    [TestCaseSource(nameof(Cases))]
    public void ImportMatchesOnnxRuntime(OnnxOpTests.Case c) => OnnxOpTests.AssertMatchesOnnxRuntime(c, Backend);

    static ImportedModel Convert(OnnxOpTests.Case c) =>
        OnnxImporter.Convert(OnnxImporter.Parse(OnnxOpTests.ModelBytes(c), c.Name), null, c.Name);

    static OnnxOpTests.Case Named(string name) => Cases.Single(c => c.Name == name);

    [Test]
    public void GroupNormalization_IsAGroupNormWithOneScaleAndBiasPerChannel()
    {
        var perGroup = Convert(Named("group_normalization_per_group_opset18"));
        var node = perGroup.Graph.Nodes.Single();
        Assert.That(node.Layer, Is.TypeOf<GroupNorm>().With.Property("NumGroups").EqualTo(3).And.Property("NumChannels").EqualTo(6)
            .And.Property("Epsilon").EqualTo(1e-3f));
        float[] scale = perGroup.State[node.Name + ".weight"], bias = perGroup.State[node.Name + ".bias"];
        Assert.That(scale, Has.Length.EqualTo(6));
        Assert.That(new[] { scale[0], scale[2], scale[4], bias[0], bias[2], bias[4] }, Is.EqualTo(new[] { scale[1], scale[3], scale[5], bias[1], bias[3], bias[5] }),
            "opset 18: the two channels of a group share its scale and bias");

        var perChannel = Convert(Named("group_normalization_per_channel_opset21"));
        var channelNode = perChannel.Graph.Nodes.Single();
        Assert.That(channelNode.Layer, Is.TypeOf<GroupNorm>().With.Property("NumGroups").EqualTo(2).And.Property("Epsilon").EqualTo(1e-5f));
        Assert.That(perChannel.State[channelNode.Name + ".weight"].Distinct().Count(), Is.EqualTo(6), "opset 21: a scale per channel");
    }

    [Test]
    public void Gelu_IsTheGeluActivationOfItsApproximation()
    {
        Assert.That(Convert(Named("gelu_exact_opset20")).Graph.Nodes.Select(n => n.Layer.Type), Does.Contain("GELU"));
        Assert.That(Convert(Named("gelu_tanh_opset20")).Graph.Nodes.Select(n => n.Layer.Type), Does.Contain("GELUTanh"));
    }

    [Test]
    public void SplitNumOutputs_CutsCeilingSizedParts()
    {
        var slices = Convert(Named("split_num_outputs_uneven_opset18")).Graph.Nodes.Select(n => n.Layer).OfType<Slice>()
            .Select(s => (s.Starts.Single(), s.Ends.Single())).ToArray();
        Assert.That(slices, Is.EqualTo(new[] { (0, 3), (3, 6), (6, 7) }));
    }

    [Test]
    public void WhatOpsets18To21AddAndWeDoNotSupport_AreTypedErrorsNamingTheNode()
    {
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("Mish", ["x"], "y"), "Mish", opset: 18);
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("Gelu", ["x"], "y", Text("approximate", "erf")), "attribute 'approximate' = 'erf'", opset: 20);
        OnnxRun.AssertNodeUnsupported([2, 6, 6], b => b.Node("AveragePool", ["x"], "y", Ints("kernel_shape", 2, 2), Ints("dilations", 2, 2)),
            "dilated pooling", opset: 19);
        OnnxRun.AssertNodeUnsupported([2, 4, 4], b => b.Node("Resize", ["x", "", b.Weight("scales", [4], [1f, 1f, 0.5f, 0.5f])], "y",
            Text("mode", "linear"), Int("antialias", 1)), "attribute 'antialias' = 1", opset: 18);
        OnnxRun.AssertNodeUnsupported([2, 4, 4], b => b.Node("Resize", ["x", "", b.Weight("scales", [2], [2f, 2f])], "y",
            Text("mode", "linear"), Ints("axes", 1, 3)), "scales [1,2,1,2] must be (1, 1, s_h, s_w)", opset: 18);
        OnnxRun.AssertNodeUnsupported([2, 4, 4], b => b.Node("Resize", ["x", "", "", b.IntTensor("sizes", 1, 2, 8, 6)], "y",
            Text("mode", "linear"), Text("keep_aspect_ratio_policy", "not_larger")), "keep_aspect_ratio_policy", opset: 18);
        OnnxRun.AssertNodeUnsupported([2, 4, 4], b => b.Node("Resize", ["x", "", b.Weight("scales", [4], [1f, 1f, 2f, 2f])], "y",
            Text("mode", "linear"), Text("coordinate_transformation_mode", "half_pixel_symmetric")), "half_pixel_symmetric", opset: 19);
        OnnxRun.AssertNodeUnsupported([2, 4, 4], b => b.Node("Pad", ["x", b.IntTensor("pads", 1, 1), "", b.IntTensor("axes", 3)], "y",
            Text("mode", "wrap")), "mode 'wrap'", opset: 19);
        OnnxRun.AssertNodeUnsupported([2, 4, 4], b => b.Node("Pad", ["x", b.IntTensor("pads", 1, 1), "", b.IntTensor("axes", 0)], "y"),
            "pads [1,0,0,0,1,0,0,0]", opset: 18);
        OnnxRun.AssertNodeUnsupported([4, 3], b => b.Node("Split", ["x"], "y", Int("axis", 1), Int("num_outputs", 3)).AddOutputs("z", "w"),
            "empty last output", opset: 18);
    }

    [Test]
    public void MalformedOpset18To21Nodes_AreFormatErrorsNamingTheNode()
    {
        foreach (var (build, opset, expected) in new (Func<OnnxBuilder, NodeProto>, int, string)[]
        {
            (b => b.Node("GroupNormalization", ["x", b.Weight("s", [6]), b.Weight("t", [6])], "y", Int("num_groups", 4)), 21, "'num_groups' = 4 must divide the 6 channels"),
            (b => b.Node("GroupNormalization", ["x", b.Weight("s", [6]), b.Weight("t", [6])], "y", Int("num_groups", 2)), 18, "scale"),
            (b => b.Node("GroupNormalization", ["x", b.Weight("s", [2]), b.Weight("t", [2])], "y"), 18, "'num_groups' = 0"),
            (b => b.Node("Split", ["x", b.IntTensor("split", 3, 3)], "y", Int("axis", 1), Int("num_outputs", 2)).AddOutputs("z"), 18, "both the split input and attribute 'num_outputs'"),
            (b => b.Node("Split", ["x"], "y", Int("axis", 1), Int("num_outputs", 3)).AddOutputs("z"), 18, "'num_outputs' = 3 but the node has 2 outputs"),
            (b => b.Node("Pad", ["x", b.IntTensor("pads", 1, 1, 1), "", b.IntTensor("axes", 3)], "y"), 18, "need 2 values for each of the axes"),
            (b => b.Node("Resize", ["x", "", b.Weight("scales", [3], [1f, 2f, 2f])], "y", Text("mode", "linear"), Ints("axes", 2, 3)), 18,
                "scales [1,2,2] need one value for each of the axes [2,3]"),
            (b => b.Node("Resize", ["x", "", "", b.IntTensor("sizes", 8, 8)], "y", Text("mode", "linear"), Ints("axes", 2, -2)), 18,
                "axes [2,-2] name axis 2 twice"),
            (b => b.Node("Resize", ["x", "", "", b.IntTensor("sizes", 8, 8)], "y", Text("mode", "linear"), Ints("axes", 2, 4)), 18,
                "axis 4 is outside the 4 axes"),
        })
        {
            var b = new OnnxBuilder(opset).Input("x", 6, 4, 4);
            var node = build(b);
            b.Output(node.Output[0]);
            using var cpu = new CpuBackend();
            var e = Assert.Throws<OnnxFormatException>(() => OnnxRun.Import(b.Bytes(), cpu, "bad.onnx").Dispose())!;
            Assert.That(e.Message, Does.Contain($"node 'y' ({node.OpType}, opset {opset})").And.Contain(expected));
        }
    }
}

static class NodeOutputs
{
    /// <summary>The node with further outputs named <paramref name="names"/> (a Split's parts).</summary>
    public static NodeProto AddOutputs(this NodeProto node, params string[] names)
    {
        node.Output.AddRange(names);
        return node;
    }
}

using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>ReduceSum/Mean/Max/Min over any axes and Softmax/LogSoftmax over any axis: hand-made graphs for each op's
/// attribute and input forms across opsets 11–17 (a layer norm spelled out in elementary ops among them) against ONNX
/// Runtime on both backends, the layers they import as (the global-average fast path kept), constant folding of a
/// backwards Slice, and the typed errors for what the batch axis forbids.</summary>
public sealed class OnnxReductionTests : GLFixture
{
    /// <summary>Layer norm over the last axis written out as PyTorch writes (x − mean)/√(var + ε)·γ + β.</summary>
    static void LayerNorm(OnnxBuilder b, int features)
    {
        b.Node("ReduceMean", ["x"], "mean", Ints("axes", -1));
        b.Node("Sub", ["x", "mean"], "centred");
        b.Node("Pow", ["centred", b.Scalar("two", 2f)], "square");
        b.Node("ReduceMean", ["square"], "variance", Ints("axes", -1));
        b.Node("Add", ["variance", b.Scalar("eps", 1e-5f)], "shifted");
        b.Node("Sqrt", ["shifted"], "deviation");
        b.Node("Div", ["centred", "deviation"], "normalized");
        b.Node("Mul", ["normalized", b.Weight("gamma", [features], positive: true)], "scaled");
        b.Node("Add", ["scaled", b.Weight("beta", [features])], "y");
    }

    public static readonly OnnxOpTests.Case[] Cases =
    [
        new("layer_norm_spelled_out_opset11", [4, 6], b => LayerNorm(b, 6), Opset: 11),
        new("layer_norm_spelled_out_opset17", [5, 2, 7], b => LayerNorm(b, 7), Opset: 17),
        new("reduce_sum_axes_attribute_opset11", [3, 4, 5], b =>
        {
            b.Node("ReduceSum", ["x"], "s", Ints("axes", 2));
            b.Node("Sub", ["x", "s"], "d");
            b.Node("Relu", ["d"], "y");
        }, Opset: 11),
        new("reduce_sum_axes_input_dropped_opset13", [3, 4, 5], b =>
        {
            b.Node("ReduceSum", ["x", b.IntTensor("axes", 1, -1)], "s", Int("keepdims", 0));
            b.Node("Tanh", ["s"], "y");
        }),
        new("reduce_sum_no_axes_is_a_noop_opset13", [3, 4], b =>
        {
            b.Node("ReduceSum", ["x"], "s", Int("noop_with_empty_axes", 1));
            b.Node("Relu", ["s"], "y");
        }),
        new("reduce_max_then_min_dropped_opset13", [2, 3, 4], b =>
        {
            b.Node("ReduceMax", ["x"], "m", Ints("axes", 1));
            b.Node("Sub", ["x", "m"], "d");
            b.Node("ReduceMin", ["d"], "n", Ints("axes", 2, 3), Int("keepdims", 0));
            b.Node("Sigmoid", ["n"], "y");
        }),
        new("reduce_mean_channels_and_width_opset17", [3, 4, 5], b =>
        {
            b.Node("ReduceMean", ["x"], "m", Ints("axes", -1, 1), Int("keepdims", 1));
            b.Node("Mul", ["x", "m"], "y");
        }, Opset: 17),
        new("softmax_channels_opset13", [3, 4, 5], b => b.Node("Softmax", ["x"], "y", Int("axis", 1))),
        new("softmax_coerced_to_2d_opset11", [3, 4, 5], b =>
        {
            b.Node("Softmax", ["x"], "s", Int("axis", 2));
            b.Node("Mul", ["s", b.Scalar("k", 20f)], "y");
        }, Opset: 11),
        new("log_softmax_default_axis_opset13", [3, 4], b => b.Node("LogSoftmax", ["x"], "y")),
        new("log_softmax_coerced_default_axis_opset11", [3, 4], b =>
        {
            b.Node("LogSoftmax", ["x"], "l");
            b.Node("Relu", ["x"], "r");
            b.Node("Add", ["l", "r"], "y");
        }, Opset: 11),
        // a constant sliced backwards from a start below the axis (ONNX clamps it up to 0) and above it, folded at import
        new("folded_slice_of_a_constant_backwards", [1, 3], b =>
        {
            b.Node("Slice", [b.Weight("c", [3, 5]), b.IntTensor("starts", -10, 100), b.IntTensor("ends", long.MinValue, -100),
                b.IntTensor("axes", 0, 1), b.IntTensor("steps", -1, -2)], "s");
            b.Node("Add", ["x", "s"], "y");
        }),
    ];

    [TestCaseSource(nameof(Cases))]
    public void ImportMatchesOnnxRuntime(OnnxOpTests.Case c) => OnnxOpTests.AssertMatchesOnnxRuntime(c, Backend);

    static Layer[] Layers(OnnxOpTests.Case c) =>
        [.. OnnxImporter.Convert(OnnxImporter.Parse(OnnxOpTests.ModelBytes(c), c.Name), null, c.Name).Graph.Nodes.Select(n => n.Layer)];

    [Test]
    public void ImportsAsReduceAndSoftmaxLayers()
    {
        var norm = Layers(Cases[0]);
        Assert.That(norm.OfType<Reduce>().Select(r => (r.Op, r.Dims.Single(), r.KeepDims)), Is.EqualTo(new[] { (ReduceOp.Mean, 2, true), (ReduceOp.Mean, 2, true) }),
            "the layer norm's two means over the last axis");
        var dropped = Layers(Cases.Single(c => c.Name == "reduce_sum_axes_input_dropped_opset13")).OfType<Reduce>().Single();
        Assert.That($"{dropped.Op} [{string.Join(",", dropped.Dims)}] keepDims {dropped.KeepDims}", Is.EqualTo("Sum [1,3] keepDims False"));
        Assert.That(Layers(Cases.Single(c => c.Name == "reduce_sum_no_axes_is_a_noop_opset13")).Select(l => l.Type), Is.EqualTo(new[] { "ReLU" }));
        var coerced = Layers(Cases.Single(c => c.Name == "softmax_coerced_to_2d_opset11")).OfType<Softmax>().Single();
        Assert.That((coerced.Dim, coerced.Logarithm), Is.EqualTo((2, false)), "softmax over the last axis of (N,4,20)");
        var channels = Layers(Cases.Single(c => c.Name == "softmax_channels_opset13")).OfType<Softmax>().Single();
        Assert.That(channels.Dim, Is.EqualTo(1));
        Assert.That(Layers(Cases.Single(c => c.Name == "log_softmax_default_axis_opset13")).OfType<Softmax>().Single().Logarithm, Is.True);

        // the mean over H and W stays a global average pooling
        var b = new OnnxBuilder().Input("x", 3, 4, 5);
        b.Node("ReduceMean", ["x"], "y", Ints("axes", 3, 2), Int("keepdims", 0));
        var graph = OnnxImporter.Convert(OnnxImporter.Parse(b.Output("y").Bytes(), "gap.onnx"), null, "gap.onnx").Graph;
        Assert.That(graph.Nodes.Select(n => n.Layer.Type), Is.EqualTo(new[] { "GlobalAvgPool2d", "Flatten" }).Or.EqualTo(new[] { "GlobalAvgPool2d" }));
    }

    static readonly string[] Fixtures = ["reductions_opset11", "reductions_opset13", "reductions_opset17"];

    /// <summary>PyTorch's exports of Tests/Golden/gen_onnx_ops.py's Reductions (compared with PyTorch and ONNX Runtime in
    /// <see cref="OnnxFixtureTests"/>) import as these layers.</summary>
    [TestCaseSource(nameof(Fixtures))]
    public void PyTorchReductions_ImportAsReduceAndSoftmaxLayers(string name)
    {
        var layers = OnnxRun.ConvertFixture(name + ".onnx").Layers;
        var reductions = layers.OfType<Reduce>().Select(r => $"{r.Op} [{string.Join(",", r.Dims)}] {(r.KeepDims ? "kept" : "dropped")}");
        Assert.That(reductions, Is.EquivalentTo(new[]
        {
            "Mean [3] kept", "Mean [3] kept",  // the layer norm's mean and variance
            "Sum [3] dropped", "Max [2,3] dropped", "Min [2] dropped", "Mean [2] dropped",
        }));
        var softmaxes = layers.OfType<Softmax>().Select(s => (s.Logarithm, s.Dim)).ToArray();
        // opset 11 has no softmax over a middle axis: PyTorch moves the channels last around it
        Assert.That(softmaxes, Is.EquivalentTo(name.EndsWith("11") ? new[] { (false, 3), (true, 3) } : new[] { (false, 1), (true, 3) }));
        if (name.EndsWith("11")) Assert.That(layers.OfType<Permute>().Count(), Is.EqualTo(2));
    }

    [Test]
    public void Reductions_FineTuneOnCpuAndGL() =>
        // the convolution sits before the layer norm, softmaxes and reductions: its gradient flows back through all of them
        OnnxRun.FineTunesAlikeOnBothBackends("reductions_opset13.onnx", Backend, seed: 11, learningRate: 0.1f, _ => "conv.weight", "the convolution before the reductions");

    [Test]
    public void BatchAxisReductions_AreTypedErrorsNamingTheNode()
    {
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("ReduceMean", ["x"], "m"), "reduces every axis");
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("ReduceSum", ["x", b.IntTensor("axes", 0, 1)], "s"), "batch axis");
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("ReduceMax", ["x"], "m", Ints("axes", -3)), "batch axis", opset: 11);
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("Softmax", ["x"], "s", Int("axis", 0)), "batch axis");
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("ReduceSum", ["x"], "s", Ints("axes", 1), Int("noop_with_empty_axes", 1)),
            "attribute 'noop_with_empty_axes' is not supported", opset: 11);
    }
}

using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>The shape ops as general tensor ops: hand-made graphs for each op's attribute and input forms across opsets
/// 9–17 against ONNX Runtime on both backends, the layers PyTorch's exports of ordinary shape code
/// (Tests/Golden/gen_onnx_ops.py, ShapeOps) import as, fine-tuning through them, and the typed errors for what the
/// batch axis forbids.</summary>
public sealed class OnnxShapeOpsTests : GLFixture
{
    /// <summary>Ends in a Relu after each op, so the op's output is a layer's input (a view is materialized).</summary>
    public static readonly OnnxOpTests.Case[] Cases =
    [
        new("reshape_zero_and_minus_one_rank3", [4, 3, 2], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("shape", 0, -1, 2)], "r");
            b.Node("Relu", ["r"], "y");
        }),
        new("reshape_to_rank4_opset14", [24], b =>
        {
            b.Node("Reshape", ["x", b.IntTensor("shape", -1, 2, 3, 4)], "r");
            b.Node("Conv", ["r", b.Weight("w", [2, 2, 1, 1])], "y");
        }, Opset: 14),
        new("transpose_rank4", [2, 3, 4], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 0, 3, 1, 2));
            b.Node("Relu", ["t"], "y");
        }),
        new("transpose_rank3", [5, 3], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 0, 2, 1));
            b.Node("Sigmoid", ["t"], "y");
        }),
        new("squeeze_unsqueeze_attributes_opset11", [3, 1, 4], b =>
        {
            b.Node("Squeeze", ["x"], "s", Ints("axes", 2));
            b.Node("Unsqueeze", ["s"], "u", Ints("axes", -1));
            b.Node("Relu", ["u"], "y");
        }, Opset: 11),
        new("squeeze_unsqueeze_inputs_opset13", [3, 1, 4], b =>
        {
            b.Node("Squeeze", ["x", b.IntTensor("axes", -2)], "s");
            b.Node("Unsqueeze", ["s", b.IntTensor("axes2", 2)], "u");
            b.Node("Relu", ["u"], "y");
        }),
        new("concat_width_and_negative_axis", [2, 3, 4], b =>
        {
            b.Node("Relu", ["x"], "r");
            b.Node("Concat", ["x", "r", "x"], "c", Int("axis", -1));
            b.Node("Tanh", ["c"], "y");
        }),
        new("concat_rank3_axis2", [3, 4], b =>
        {
            b.Node("Sigmoid", ["x"], "s");
            b.Node("Concat", ["x", "s"], "y", Int("axis", 2));
        }),
        new("slice_attributes_opset9", [4, 5, 6], b =>
        {
            b.Node("Slice", ["x"], "s", Ints("starts", 1, -4), Ints("ends", 100, -1), Ints("axes", 1, 3));
            b.Node("Relu", ["s"], "y");
        }, Opset: 9),
        new("slice_negative_steps_and_defaults_opset11", [4, 5, 6], b =>
        {
            b.Node("Slice", ["x", b.IntTensor("starts", -1, 0, 0), b.IntTensor("ends", long.MinValue, long.MaxValue, 4),
                b.IntTensor("axes", 3, 0, -2), b.IntTensor("steps", -2, 1, 2)], "s");
            b.Node("Relu", ["s"], "y");
        }, Opset: 11),
        new("slice_without_axes", [4, 5], b =>
        {
            b.Node("Slice", ["x", b.IntTensor("starts", 0, 1, 1), b.IntTensor("ends", long.MaxValue, 3, -1)], "s");
            b.Node("Relu", ["s"], "y");
        }),
        new("split_equal_attribute_opset11", [6, 2, 2], b =>
        {
            b.Node("Split", ["x"], "a", Int("axis", 1)).Output.Add("b");
            b.Node("Sub", ["a", "b"], "y");
        }, Opset: 11),
        new("split_sizes_attribute_opset11", [5, 3], b =>
        {
            var split = b.Node("Split", ["x"], "a", Int("axis", 1), Ints("split", 2, 3));
            split.Output.Add("b");
            b.Node("Transpose", ["b"], "bt", Ints("perm", 0, 2, 1));
            b.Node("Concat", ["a", "bt"], "c", Int("axis", 1));
            b.Node("Relu", ["c"], "y");
        }, Opset: 11),
        new("split_sizes_input_opset13_negative_axis", [3, 7], b =>
        {
            var split = b.Node("Split", ["x", b.IntTensor("split", 1, 4, 2)], "a", Int("axis", -1));
            split.Output.Add("b");
            split.Output.Add("c");
            b.Node("Concat", ["c", "a", "b"], "y", Int("axis", 2));
        }),
        new("gather_scalar_index", [4, 3, 5], b =>
        {
            b.Graph.Initializer.Add(OnnxTensorData.FromInts("i", [], [-2]));
            b.Node("Gather", ["x", "i"], "g", Int("axis", 1));
            b.Node("Relu", ["g"], "y");
        }),
        new("gather_vector_repeated_index", [4, 3, 5], b =>
        {
            b.Node("Gather", ["x", b.IntTensor("i", 4, 0, 4, -1)], "g", Int("axis", 3));
            b.Node("Relu", ["g"], "y");
        }),
        new("gather_matrix_index_opset11", [6, 5], b =>
        {
            b.Graph.Initializer.Add(OnnxTensorData.FromInts("i", [2, 2], [5, 0, 1, 1]));
            b.Node("Gather", ["x", "i"], "g", Int("axis", 1));
            b.Node("Relu", ["g"], "y");
        }, Opset: 11),
        // the bookkeeping ops folded at import (Range, Mod, Equal, Not, Where, Expand): a mask made from constants, and
        // PyTorch's expand(-1) arithmetic on a shape that holds the batch size (the batch is never −1)
        new("folded_mask_and_shape_bookkeeping", [6, 4], b =>
        {
            foreach (var (name, value) in new[] { ("start", 0L), ("limit", 4L), ("delta", 1L) })
                b.Graph.Initializer.Add(OnnxTensorData.FromInts(name, [], [value]));
            b.Node("Range", ["start", "limit", "delta"], "r");
            b.Node("Mod", ["r", b.IntTensor("three", 3)], "m");
            b.Node("Equal", ["m", b.IntTensor("zero", 0)], "eq");
            b.Node("Not", ["eq"], "ne");
            b.Node("Where", ["ne", b.Weight("on", [4]), b.Weight("off", [1])], "sel");
            b.Node("Expand", ["sel", b.IntTensor("rows", 6, 1)], "mask");
            b.Node("Mod", [b.Weight("wave", [6, 1]), b.Scalar("period", 0.3f)], "fm", Int("fmod", 1));
            b.Node("Add", ["x", "mask"], "a");
            b.Node("Shape", ["a"], "shape");
            b.Node("Equal", ["shape", b.IntTensor("minus", -1, -1, -1)], "unset");
            b.Node("Where", ["unset", b.IntTensor("ones", 1, 1, 1), "shape"], "target");
            b.Node("Reshape", ["a", "target"], "same");
            b.Node("Relu", ["same"], "h");
            b.Node("Add", ["h", "fm"], "y");
        }),
        new("flatten_after_transpose", [2, 3, 4], b =>
        {
            b.Node("Transpose", ["x"], "t", Ints("perm", 0, 2, 3, 1));
            b.Node("Flatten", ["t"], "f", Int("axis", 1));
            b.Node("Gemm", ["f", b.Weight("w", [5, 24]), b.Weight("b", [5])], "y", Int("transB", 1));
        }),
        // a mask written slice by slice (Swin's shifted windows): ScatterND of constants, folded
        new("scatternd_of_constants_folded", [2, 3], b =>
        {
            b.Graph.Initializer.Add(OnnxTensorData.FromInts("where", [2, 2], [0, 1, 1, 2]));
            b.Node("ScatterND", [b.Weight("zeros", [2, 3], new float[6]), "where", b.Weight("values", [2], [-5f, 7f])], "mask");
            b.Node("Add", ["x", "mask"], "masked");
            b.Node("Relu", ["masked"], "y");
        }, Opset: 16),
        // constants joined along their second axis and cast to booleans and back (Swin's mask comparisons)
        new("concat_of_2d_constants_cast_to_bool", [2, 3], b =>
        {
            b.Node("Concat", [b.Weight("left", [2, 1], [0f, 2f]), b.Weight("right", [2, 2], [0.5f, 0f, -1f, 0f])], "joined", Int("axis", 1));
            b.Node("Cast", ["joined"], "flags", Int("to", 9));
            b.Node("Cast", ["flags"], "ones", Int("to", 1));
            b.Node("Mul", ["x", "ones"], "y");
        }),
    ];

    [TestCaseSource(nameof(Cases))]
    public void ImportMatchesOnnxRuntime(OnnxOpTests.Case c) => OnnxOpTests.AssertMatchesOnnxRuntime(c, Backend);

    static readonly string[] Opsets = ["shape_ops_opset11", "shape_ops_opset13", "shape_ops_opset17"];

    [TestCaseSource(nameof(Opsets))]
    public void PyTorchShapeCode_ImportsAsTheShapeLayers(string name)
    {
        var (model, layers) = OnnxRun.ConvertFixture(name + ".onnx");
        Assert.That(layers.OfType<Permute>().Select(p => p.Dims.ToArray()), Is.SupersetOf(new[] { new[] { 0, 2, 1 } }), "transpose(1, 2) and permute(0, 2, 1)");
        // split by sizes (2 slices), chunk (2), flip, q[:, :, 1:, ::3], b[:, :4, :1], z[:, -8:]
        Assert.That(layers.OfType<Slice>().Count(), Is.GreaterThanOrEqualTo(8));
        Assert.That(layers.OfType<Slice>().SelectMany(s => s.Steps), Does.Contain(-1).And.Contain(3));
        Assert.That(layers.OfType<IndexSelect>().Select(s => s.Index.ToArray()), Is.SupersetOf(new[] { new[] { 0, 2, 2, 5 }, new[] { 1 } }));
        Assert.That(layers.OfType<Concat>().Select(c => c.Dim), Is.SupersetOf(new[] { 1, 3 }));
        Assert.That(layers.OfType<Reshape>(), Is.Not.Empty, "the (N,1,6,5) unsqueezed scalar gather and the (N,4,30) reshape are views");
    }

    [Test]
    public void ShapeOps_FineTuneOnCpuAndGL() =>
        // the convolution sits before every shape op: its gradient flows back through all of them
        OnnxRun.FineTunesAlikeOnBothBackends("shape_ops_opset17.onnx", Backend, seed: 9, learningRate: 0.1f, _ => "conv.weight", "the convolution before the shape ops");

    [Test]
    public void BatchAxisMoves_AreTypedErrorsNamingTheNode()
    {
        // a Transpose that moves the batch axis is a view (OnnxAttentionViewTests); an op that cannot read it names itself
        OnnxRun.AssertNodeUnsupported([3, 4], b =>
        {
            b.Node("Transpose", ["x"], "t");
            return b.Node("Concat", ["t", "t"], "c", Int("axis", 2));
        }, "Concat of [4,3,N] along axis 2: the axis holds the batch axis");
        OnnxRun.AssertNodeUnsupported([3, 4, 2], b =>
        {
            b.Node("Transpose", ["x"], "t");
            return b.Node("MaxPool", ["t"], "p", Ints("kernel_shape", 2, 2));
        }, "input 0 is seen as [2,4,3,N]");
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("Gather", ["x", b.IntTensor("i", 0)], "g", Int("axis", 0)), "batch axis");
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("Slice", ["x", b.IntTensor("s", 1), b.IntTensor("e", 2)], "s"), "batch axis");
        OnnxRun.AssertNodeUnsupported([4, 4], b =>
        {
            var split = b.Node("Split", ["x"], "a", Int("axis", 0));
            split.Output.Add("c");
            return split;
        }, "batch axis");
        OnnxRun.AssertNodeUnsupported([3, 4], b => b.Node("Concat", ["x", "x"], "c", Int("axis", 0)), "batch axis");
        OnnxRun.AssertNodeUnsupported([3, 4, 5], b => b.Node("Flatten", ["x"], "f", Int("axis", 2)), "'axis' = 2");
    }

    [Test]
    public void BookkeepingOpsOnTensorsOrOnTheBatchSize_AreTypedErrorsNamingTheNode()
    {
        var b = new OnnxBuilder().Input("x", 3, 4);
        b.Node("Equal", ["x", b.Scalar("zero", 0f)], "e");
        OnnxRun.AssertUnsupported(b.Output("e"), "e", "Equal", "Equal is supported only on constants");

        b = new OnnxBuilder().Input("x", 3, 4);
        b.Node("Shape", ["x"], "s");
        b.Node("Mod", ["s", b.IntTensor("two", 2)], "m");
        b.Node("Reshape", ["x", "m"], "r");
        OnnxRun.AssertUnsupported(b.Output("r"), "m", "Mod", "Mod of the batch size depends on the batch size");

        b = new OnnxBuilder().Input("x", 3, 4);
        b.Node("Shape", ["x"], "s");
        b.Node("Equal", ["s", b.IntTensor("two", 2, 2, 2)], "e");
        b.Node("Where", ["e", "s", "s"], "w");
        b.Node("Reshape", ["x", "w"], "r");
        OnnxRun.AssertUnsupported(b.Output("r"), "e", "Equal", "comparing the batch size with 2");

        // a weight expanded to the batch is a BatchExpand layer (OnnxAttentionViewTests), but not one repeated inside each item
        b = new OnnxBuilder().Input("x", 3, 4);
        b.Node("Shape", ["x"], "s");
        b.Node("Expand", [b.Weight("token", [1, 1, 4]), "s"], "t");
        b.Node("Concat", ["t", "x"], "c", Int("axis", 1));
        OnnxRun.AssertUnsupported(b.Output("c"), "t", "Expand", "Expand of the weight [1,1,4] to [N,3,4] repeats it inside each item");

        b = new OnnxBuilder(opset: 16).Input("x", 2, 3);
        b.Graph.Initializer.Add(OnnxTensorData.FromInts("where", [1, 2], [0, 3]));
        b.Node("ScatterND", [b.Weight("zeros", [2, 3], new float[6]), "where", b.Weight("values", [1], [1f])], "mask");
        b.Node("Add", ["x", "mask"], "y");
        using var cpu = new CpuBackend();
        Assert.That(() => OnnxRun.Import(b.Output("y").Bytes(), cpu, "bad.onnx").Dispose(),
            Throws.TypeOf<OnnxFormatException>().With.Message.Contains("node 'mask' (ScatterND, opset 16): index 3 is outside axis 1 of data [2,3]"));
    }
}

using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>
/// Hand-made ONNX graphs, one per supported op and attribute combination, with random weights: ONNX Runtime runs
/// each file, and our import of the same file must give the same output (1e-4 relative) on the CPU and GL backends.
/// </summary>
public sealed class OnnxOpTests : GLFixture
{
    /// <summary>A case: the model's builder and the input's item shape.</summary>
    public sealed record Case(string Name, int[] Item, Action<OnnxBuilder> Build, int Opset = 13)
    {
        public override string ToString() => Name;
    }

    static Case Conv(string name, params AttributeProto[] attributes) => new(name, [2, 7, 6], b =>
    {
        b.Node("Conv", ["x", b.Weight("w", [3, 2, 3, 3]), b.Weight("b", [3])], "y", attributes);
    });

    public static readonly Case[] Cases =
    [
        Conv("conv_plain"),
        Conv("conv_asymmetric_pads_strides_dilations", Ints("pads", 0, 1, 2, 1), Ints("strides", 2, 1), Ints("dilations", 1, 2)),
        Conv("conv_same_upper_stride2", Text("auto_pad", "SAME_UPPER"), Ints("strides", 2, 2)),
        Conv("conv_same_lower_stride2", Text("auto_pad", "SAME_LOWER"), Ints("strides", 2, 2), Ints("kernel_shape", 3, 3)),
        Conv("conv_valid", Text("auto_pad", "VALID")),
        new("conv_grouped", [4, 5, 5], b => b.Node("Conv", ["x", b.Weight("w", [6, 2, 3, 3]), b.Weight("b", [6])], "y", Int("group", 2), Ints("pads", 1, 1, 1, 1))),
        new("conv_depthwise_folded_mul", [3, 4, 4], b =>
        {
            b.Node("Conv", ["x", b.Weight("w", [3, 1, 3, 3])], "c", Int("group", 3));
            b.Node("Mul", ["c", b.Weight("s", [1, 3, 1, 1])], "y");
        }),
        new("conv_without_bias_then_div_per_channel_and_constant_minus", [2, 5, 5], b =>
        {
            b.Node("Conv", ["x", b.Weight("conv.weight", [3, 2, 3, 3])], "c", Ints("pads", 1, 1, 1, 1));
            b.Node("Div", ["c", b.Weight("d", [3, 1, 1], [2f, -4f, 0.5f])], "q");
            b.Node("Sub", [b.Scalar("k", 0.3f), "q"], "y");
        }),
        new("pad_opset7_attribute_then_conv", [2, 5, 4], b =>
        {
            b.Node("Pad", ["x"], "p", Ints("pads", 0, 0, 1, 2, 0, 0, 2, 0));
            b.Node("Conv", ["p", b.Weight("w", [2, 2, 3, 3])], "y");
        }, Opset: 7),
        new("pad_then_average_pool_counts_the_zeros", [2, 4, 4], b =>
        {
            b.Node("Pad", ["x", b.IntTensor("pads", 0, 0, 1, 1, 0, 0, 1, 1)], "p");
            b.Node("AveragePool", ["p"], "y", Ints("kernel_shape", 3, 3));
        }),
        new("gemm_transB0_alpha_beta_row_bias", [5], b =>
            b.Node("Gemm", ["x", b.Weight("B", [5, 4]), b.Weight("C", [1, 4])], "y", Float("alpha", 0.5f), Float("beta", 2f))),
        new("matmul_add_sum_of_three", [6], b =>
        {
            b.Node("MatMul", ["x", b.Weight("W", [6, 4])], "m");
            b.Node("Add", ["m", b.Weight("bias", [4])], "a");
            b.Node("Relu", ["a"], "r");
            b.Node("Sigmoid", ["a"], "s");
            b.Node("Sum", ["a", "r", "s"], "y");
        }),
        new("leaky_relu_tanh_identity", [3, 4], b =>
        {
            b.Node("LeakyRelu", ["x"], "l", Float("alpha", 0.3f));
            b.Node("Identity", ["l"], "i");
            b.Node("Tanh", ["i"], "t");
            b.Node("Flatten", ["t"], "y");
        }),
        new("clip_inputs_relu6_and_relu", [8], b =>
        {
            b.Node("Gemm", ["x", b.Weight("w1", [4, 8]), b.Weight("b1", [4])], "g", Int("transB", 1));
            b.Node("Clip", ["g", b.Scalar("lo", 0f), b.Scalar("hi", 6f)], "c");
            b.Node("Clip", ["c", b.Scalar("lo2", 0f)], "y");
        }),
        new("hard_sigmoid_hard_swish_silu", [2, 3, 3], b =>
        {
            b.Node("Conv", ["x", b.Weight("w", [2, 2, 1, 1], scale: 3f)], "c");
            b.Node("HardSigmoid", ["c"], "h", Float("alpha", 1f / 6f), Float("beta", 0.5f));
            b.Node("HardSwish", ["h"], "s");
            b.Node("Sigmoid", ["s"], "g");
            b.Node("Mul", ["s", "g"], "y");
        }, Opset: 14),
        new("prelu_shared_per_channel_and_on_features", [3, 4, 4], b =>
        {
            b.Node("PRelu", ["x", b.Weight("p1", [1])], "p");
            b.Node("PRelu", ["p", b.Weight("p2", [3, 1, 1])], "q");
            b.Node("GlobalAveragePool", ["q"], "g");
            b.Node("Flatten", ["g"], "f");
            b.Node("PRelu", ["f", b.Weight("p3", [3])], "y");
        }),
        new("prelu_slope_per_row_and_of_a_tensor", [3, 4, 5], b =>
        {
            b.Node("PRelu", ["x", b.Weight("rows", [4, 1])], "p");
            b.Node("Tanh", ["x"], "t");
            b.Node("PRelu", ["p", "t"], "y");
        }),
        new("hard_sigmoid_onnx_defaults_and_clip_anywhere", [2, 3, 3], b =>
        {
            b.Node("Conv", ["x", b.Weight("w", [2, 2, 1, 1], scale: 3f)], "c");
            b.Node("HardSigmoid", ["c"], "h");
            b.Node("HardSigmoid", ["c"], "h2", Float("alpha", 0.3f), Float("beta", 0.4f));
            b.Node("Clip", ["c", b.Scalar("lo", -0.5f), b.Scalar("hi", 0.8f)], "k");
            b.Node("Clip", ["c", "", b.Scalar("hi2", 0.25f)], "k2");
            b.Node("Sum", ["h", "h2", "k", "k2"], "y");
        }),
        new("clip_attributes_opset7", [5], b => b.Node("Clip", ["x"], "y", Float("min", -0.3f), Float("max", 0.4f)), Opset: 7),
        new("batch_norm_1d_and_dropout_and_softmax", [6], b =>
        {
            b.Node("BatchNormalization", ["x", b.Weight("g", [6], positive: true), b.Weight("b", [6]), b.Weight("m", [6]), b.Weight("v", [6], positive: true)], "n",
                Float("epsilon", 1e-3f), Float("momentum", 0.8f));
            b.Node("Dropout", ["n", b.Scalar("ratio", 0.3f)], "d");
            b.Node("Softmax", ["d"], "y", Int("axis", 1));
        }),
        new("softmax_opset11_default_axis", [5], b => b.Node("Softmax", ["x"], "y"), Opset: 11),
        new("lrn_size3_and_size5", [7, 3, 2], b =>
        {
            b.Node("LRN", ["x"], "l", Int("size", 3), Float("alpha", 0.01f), Float("beta", 0.6f), Float("bias", 2f));
            b.Node("LRN", ["l"], "y", Int("size", 5));
        }),
        new("max_pool_ceil_mode_without_partial_windows", [2, 7, 7], b =>
            b.Node("MaxPool", ["x"], "y", Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Int("ceil_mode", 1))),
        // 6 → ⌈(6 − 3)/2⌉ + 1 = 3 rows and columns: the last window holds two rows (and columns) of the input
        new("max_pool_ceil_mode_with_partial_windows", [2, 6, 6], b =>
            b.Node("MaxPool", ["x"], "y", Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Int("ceil_mode", 1))),
        // 5 with padding 1 → ⌈(5 + 2 − 2)/2⌉ + 1 = 4, but the 4th window would start in the bottom padding: 3, as floor
        new("max_pool_ceil_mode_last_window_in_the_padding", [2, 5, 5], b =>
            b.Node("MaxPool", ["x"], "y", Ints("kernel_shape", 2, 2), Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Int("ceil_mode", 1))),
        new("max_pool_padding_and_average_count_include_pad", [2, 6, 5], b =>
        {
            b.Node("MaxPool", ["x"], "m", Ints("kernel_shape", 2, 3), Ints("pads", 1, 1, 1, 1), Ints("strides", 1, 2));
            b.Node("AveragePool", ["m"], "y", Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1), Int("count_include_pad", 1));
        }),
        new("global_pools_concat", [3, 4, 5], b =>
        {
            b.Node("GlobalAveragePool", ["x"], "a");
            b.Node("GlobalMaxPool", ["x"], "m");
            b.Node("Concat", ["a", "m", "a"], "y", Int("axis", 1));
        }),
        new("squeeze_excite_with_gemm_unsqueeze_mul", [4, 3, 3], b =>
        {
            b.Node("ReduceMean", ["x"], "r", Ints("axes", 2, 3), Int("keepdims", 0));
            b.Node("Gemm", ["r", b.Weight("fc.weight", [4, 4]), b.Weight("fc.bias", [4])], "g", Int("transB", 1));
            b.Node("Sigmoid", ["g"], "s");
            b.Node("Unsqueeze", ["s", b.IntTensor("axes", 2, 3)], "u");
            b.Node("Mul", ["x", "u"], "y");
        }),
        new("reshape_batch_copy_and_squeeze", [3, 1, 1], b =>
        {
            b.Node("Squeeze", ["x", b.IntTensor("axes", 3)], "s");
            b.Node("Reshape", ["s", b.IntTensor("shape", 0, -1)], "r");
            b.Node("Add", ["r", "r"], "y");
        }),
        new("shape_gather_unsqueeze_concat_reshape", [2, 3, 2], b =>
        {
            b.Node("Shape", ["x"], "shape");
            b.Node("Gather", ["shape", b.IntTensor("zero", 0)], "n", Int("axis", 0));
            b.Node("Concat", ["n", b.IntTensor("minus_one", -1)], "target", Int("axis", 0));
            b.Node("Reshape", ["x", "target"], "flat");
            b.Node("MatMul", ["flat", b.Weight("w", [12, 3])], "y");
        }),
        new("mean_of_three", [2, 4, 5], b =>
        {
            b.Node("Conv", ["x", b.Weight("w", [2, 2, 3, 3])], "c", Ints("pads", 1, 1, 1, 1));
            b.Node("Relu", ["x"], "r");
            b.Node("Sigmoid", ["x"], "s");
            b.Node("Mean", ["c", "r", "s"], "y");
        }),
        new("pad_zero_channels_at_the_end", [2, 3, 3], b =>
        {
            b.Node("Pad", ["x", b.IntTensor("pads", 0, 0, 0, 0, 0, 3, 0, 0)], "p");
            b.Node("Conv", ["p", b.Weight("w", [2, 5, 1, 1])], "y");
        }),
        new("adaptive_average_pool_as_two_matmuls", [2, 5, 7], b =>
        {
            b.Node("MatMul", ["x", b.Weight("columns_t", [7, 3], AdaptivePoolingMatrix.Of(7, 3, transpose: true))], "pooled_columns");
            b.Node("MatMul", [b.Weight("rows", [2, 5], AdaptivePoolingMatrix.Of(5, 2, transpose: false)), "pooled_columns"], "y");
        }),
        new("constant_nodes_folded_into_batch_norm_2d", [2, 3, 3], b =>
        {
            b.Node("BatchNormalization", ["x", b.Weight("g", [2], positive: true), b.Weight("b", [2]), b.Weight("m", [2]), b.Weight("v", [2], positive: true)], "n");
            var value = new AttributeProto { Name = "value", Type = AttributeType.Tensor, T = Serialization.Onnx.OnnxTensorData.FromFloats("", [2, 1, 1], [3f, -1f]) };
            b.Node("Constant", [], "k", value);
            b.Node("Mul", ["n", "k"], "y");
        }),
        // general element-wise arithmetic with broadcasting (Elementwise layers)
        new("pow_of_a_tensor_and_of_a_constant_base", [2, 3, 4], b =>
        {
            b.Node("Pow", ["x", b.Scalar("three", 3f)], "cube");              // negative bases, an odd integer exponent
            b.Node("Pow", [b.Scalar("two", 2f), "x"], "exp2");                // a constant base
            b.Node("Add", ["cube", "exp2"], "y");
        }),
        new("min_max_with_constants_and_tensors", [3, 4, 4], b =>
        {
            b.Node("Max", ["x", b.Scalar("floor", -0.5f)], "floored");
            b.Node("Tanh", ["x"], "t");
            b.Node("Min", ["floored", "t"], "m");
            b.Node("Max", [b.Weight("ceiling", [3, 1, 1]), "m"], "y");
        }),
        new("sub_div_of_tensors_broadcast_per_channel", [3, 4, 5], b =>
        {
            b.Node("ReduceMean", ["x"], "mean", Ints("axes", 2, 3), Int("keepdims", 1));
            b.Node("Sub", ["x", "mean"], "centred");
            b.Node("Sigmoid", ["mean"], "s");
            b.Node("Div", ["centred", "s"], "y");
        }),
        new("constant_first_div_and_sub_not_after_a_producer", [2, 3, 3], b =>
        {
            b.Node("Mul", ["x", "x"], "square");
            b.Node("Add", ["square", b.Scalar("one", 1f)], "d");
            b.Node("Div", [b.Scalar("k", 2f), "d"], "q");
            b.Node("Sub", [b.Weight("c", [3, 1]), "q"], "y");
        }),
        new("features_times_vector_plus_row", [6], b =>
        {
            b.Node("Relu", ["x"], "r");
            b.Node("Mul", ["r", b.Weight("w", [6])], "m");
            b.Node("Add", [b.Weight("row", [1, 6]), "m"], "y");
        }),
        new("math_functions_of_tensors_and_folded_constants", [2, 3, 4], b =>
        {
            b.Node("Abs", ["x"], "a");
            b.Node("Sqrt", [b.Weight("two", [1], [2f])], "root2");            // folded at import
            b.Node("Add", ["a", "root2"], "p");
            b.Node("Log", ["p"], "l");
            b.Node("Sqrt", ["p"], "s");
            b.Node("Reciprocal", ["s"], "r");
            b.Node("Neg", ["x"], "n");
            b.Node("Exp", ["n"], "e");
            b.Node("Erf", ["x"], "f");
            b.Node("Sum", ["l", "r", "e", "f"], "y");
        }),
        new("elementwise_opset7", [2, 3, 3], b =>
        {
            b.Node("Tanh", ["x"], "t");
            b.Node("Pow", ["t", b.Scalar("p", 2f)], "p2");
            b.Node("Sub", ["x", "p2"], "y");
        }, Opset: 7),
    ];

    /// <summary>The case's ONNX model: input x (N, item…), the built nodes, the last node's output.</summary>
    internal static byte[] ModelBytes(Case c)
    {
        var builder = new OnnxBuilder(c.Opset, seed: c.Name.Length).Input("x", c.Item.Select(d => (long)d).ToArray());
        c.Build(builder);
        builder.Output(builder.Graph.Node[^1].Output[0]);
        return builder.Bytes();
    }

    [TestCaseSource(nameof(Cases))]
    public void ImportMatchesOnnxRuntime(Case c) => AssertMatchesOnnxRuntime(c, Backend);

    /// <summary>ONNX Runtime's output for the case's model against our import's on the CPU and on <paramref name="gl"/>.</summary>
    internal static void AssertMatchesOnnxRuntime(Case c, IBackend gl)
    {
        byte[] model = ModelBytes(c);
        const int batch = 3;
        int[] dims = [batch, .. c.Item];
        float[] input = OnnxRun.RandomInput(dims.Aggregate(1, (a, b) => a * b), seed: 7);
        var (expected, expectedShape) = OnnxRun.Ort(model, input, dims);
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, gl })
        {
            using var network = OnnxRun.Import(model, backend);
            var (actual, shape) = OnnxRun.Ours(network, input, batch);
            Assert.That(shape, Is.EqualTo(expectedShape), $"{c.Name} on {backend.Name}: output shape");
            TensorAssert.AreClose(expected, actual, 1e-4, $"{c.Name} on {backend.Name} vs ONNX Runtime");
        }
    }
}

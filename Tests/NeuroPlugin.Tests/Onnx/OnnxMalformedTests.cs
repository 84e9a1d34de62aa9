using Google.Protobuf;
using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>Malformed, hostile and unsupported ONNX files: each gives a typed error (naming the node, op and opset
/// where there is one) quickly, and nothing else escapes (no crash, hang or unbounded allocation).</summary>
public sealed class OnnxMalformedTests
{
    static OnnxBuilder Small(int opset = 13)
    {
        var b = new OnnxBuilder(opset).Input("x", 2, 4, 4);
        b.Node("Conv", ["x", b.Weight("conv.weight", [3, 2, 3, 3])], "c");
        b.Node("Relu", ["c"], "y");
        return b.Output("y");
    }

    static T Import<T>(byte[] bytes) where T : OnnxException
    {
        var watch = Stopwatch.StartNew();
        using var cpu = new CpuBackend();
        var e = Assert.Catch<T>(() => OnnxRun.Import(bytes, cpu, "bad.onnx").Dispose())!;
        Assert.That(watch.Elapsed.TotalSeconds, Is.LessThan(2), "a typed error within 2 seconds");
        Assert.That(e.Message, Does.StartWith("bad.onnx: "));
        return e;
    }

    static OnnxUnsupportedException Unsupported(OnnxBuilder b, string node, string op, string expected)
    {
        var e = Import<OnnxUnsupportedException>(b.Bytes());
        Assert.That((e.Node, e.Op), Is.EqualTo((node, op)));
        Assert.That(e.Message, Does.Contain(expected).And.Contain($"opset {e.Opset}"));
        return e;
    }

    [Test]
    public void ValidSmallModel_Imports()
    {
        using var cpu = new CpuBackend();
        using var network = OnnxRun.Import(Small().Bytes(), cpu);
        Assert.That(network.ParameterNames, Is.EqualTo(new[] { "conv.weight" }));
    }

    [Test]
    public void EveryTruncation_IsAFormatError()
    {
        byte[] bytes = Small().Bytes();
        for (int length = 0; length < bytes.Length; length += Math.Max(1, bytes.Length / 97))
            Assert.That(() => Import<OnnxException>(bytes[..length]), Throws.Nothing, $"truncated to {length} bytes");
    }

    [Test]
    public void BitFlips_GiveTypedErrorsOrAValidModel()
    {
        byte[] original = Small().Bytes();
        var random = new Random(11);
        using var cpu = new CpuBackend();
        for (int trial = 0; trial < 300; trial++)
        {
            byte[] bytes = (byte[])original.Clone();
            bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            try
            {
                OnnxRun.Import(bytes, cpu, "bad.onnx").Dispose(); // a flip inside a weight's value is still a valid model
            }
            catch (OnnxException)
            {
            }
        }
    }

    [TestCase(new byte[] { 0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }, TestName = "HugeLength_GraphField")]
    [TestCase(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, TestName = "OverlongVarint")]
    [TestCase(new byte[] { 0x00, 0x01 }, TestName = "TagZero")]
    [TestCase(new byte[] { 0x3B, 0x00 }, TestName = "GroupWireType")]
    [TestCase(new byte[] { 0x38, 0x01 }, TestName = "GraphAsVarint_WrongWireType")]
    [TestCase(new byte[] { }, TestName = "EmptyFile_NoGraph")]
    [TestCase(new byte[] { 0x7B, 0x22, 0x61, 0x22, 0x3A, 0x31, 0x7D }, TestName = "JsonText")]
    public void HostileBytes_AreFormatErrors(byte[] bytes) => Import<OnnxFormatException>(bytes);

    [Test]
    public void DeepNesting_HitsTheRecursionLimit()
    {
        // graph → node → attribute(g) → graph → … 200 deep, each a length-delimited message
        byte[] inner = [];
        for (int depth = 0; depth < 200; depth++)
        {
            var attribute = Wrap(6, inner);               // AttributeProto.g
            var node = Wrap(5, attribute);                // NodeProto.attribute
            inner = Wrap(1, node);                        // GraphProto.node
        }
        Import<OnnxFormatException>(Wrap(7, inner));      // ModelProto.graph

        static byte[] Wrap(int field, byte[] payload)
        {
            var stream = new MemoryStream();
            var output = new CodedOutputStream(stream);
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(payload));
            output.Flush();
            return stream.ToArray();
        }
    }

    [Test]
    public void RawDataOfTheWrongSize()
    {
        var b = Small();
        b.Graph.Initializer[0].RawData = ByteString.CopyFrom(new byte[12]);
        Assert.That(Import<OnnxFormatException>(b.Bytes()).Message, Does.Contain("tensor 'conv.weight'").And.Contain("raw data has 12 bytes"));
    }

    [TestCase(16, TestName = "UnknownDtype_BFloat16")]
    [TestCase(99, TestName = "UnknownDtype_99")]
    public void UnknownDtype(int type)
    {
        var b = Small();
        b.Graph.Initializer[0].DataType = type;
        Assert.That(Import<OnnxFormatException>(b.Bytes()).Message, Does.Contain($"data type {type}"));
    }

    [Test]
    public void NegativeAndHugeDimensions()
    {
        var b = Small();
        b.Graph.Initializer[0].Dims[0] = -3;
        Assert.That(Import<OnnxFormatException>(b.Bytes()).Message, Does.Contain("negative"));
        b.Graph.Initializer[0].Dims[0] = 1L << 40;
        Assert.That(Import<OnnxFormatException>(b.Bytes()).Message, Does.Contain("more than"));
    }

    [Test]
    public void WeightWithTheWrongShape()
    {
        var b = new OnnxBuilder().Input("x", 2, 4, 4).Output("y");
        b.Node("Conv", ["x", b.Weight("w", [3, 5, 3, 3])], "y");
        Assert.That(Import<OnnxFormatException>(b.Bytes()).Message, Does.Contain("node 'y' (Conv, opset 13)").And.Contain("channels"));
    }

    [Test]
    public void NoAiOnnxOpset()
    {
        var model = Small().Model();
        model.OpsetImport[0].Domain = "com.example";
        Assert.That(Import<OnnxFormatException>(model.ToByteArray()).Message, Does.Contain("no ai.onnx entry"));
    }

    [TestCase(6)]
    [TestCase(22)]
    public void OpsetOutsideSevenToTwentyOne(int opset)
    {
        var e = Import<OnnxUnsupportedException>(Small(opset).Bytes());
        Assert.That(e.Opset, Is.EqualTo(opset));
        Assert.That(e.Message, Does.Contain($"opset {opset} is not supported"));
    }

    [Test]
    public void UnsupportedOp()
    {
        var b = new OnnxBuilder().Input("x", 2, 4, 4).Output("y");
        b.Node("Hardmax", ["x"], "y");
        Unsupported(b, "y", "Hardmax", "op 'Hardmax' is not supported");

        b = new OnnxBuilder(opset: 12).Input("x", 2, 4, 4).Output("y");
        b.Node("Einsum", ["x"], "y", OnnxBuilder.Text("equation", "nchw->nchw"));
        Unsupported(b, "y", "Einsum", "has 1 inputs");
    }

    /// <summary>Resize is bilinear with PyTorch's align_corners=False coordinates, spatial only; every other form is
    /// refused by name, never approximated.</summary>
    [TestCase("nearest", "half_pixel", new[] { 1f, 1f, 2f, 2f }, "mode 'nearest' is not supported")]
    [TestCase("linear", "align_corners", new[] { 1f, 1f, 2f, 2f }, "coordinate_transformation_mode 'align_corners' is not supported")]
    [TestCase("linear", "asymmetric", new[] { 1f, 1f, 2f, 2f }, "coordinate_transformation_mode 'asymmetric' is not supported")]
    [TestCase("linear", "half_pixel", new[] { 1f, 2f, 2f, 2f }, "must be (1, 1, s_h, s_w)")]
    [TestCase("linear", "pytorch_half_pixel", new[] { 1f, 1f, 0.25f, 2f }, "pytorch_half_pixel to a 1-pixel side")]
    public void ResizeOtherThanBilinearHalfPixel(string mode, string coordinates, float[] scales, string expected)
    {
        var b = new OnnxBuilder().Input("x", 2, 4, 4).Output("y");
        string s = b.Weight("scales", [4], scales);
        b.Node("Resize", ["x", "", s], "y", OnnxBuilder.Text("mode", mode), OnnxBuilder.Text("coordinate_transformation_mode", coordinates));
        Unsupported(b, "y", "Resize", expected);
    }

    [Test]
    public void UnknownAttribute_IsNeverDropped()
    {
        var b = Small();
        b.Graph.Node[1].Attribute.Add(Int("fancy", 1));
        Unsupported(b, "y", "Relu", "attribute 'fancy' is not supported");
    }

    [Test]
    public void CustomDomain()
    {
        var b = Small();
        b.Graph.Node[1].Domain = "com.microsoft";
        Unsupported(b, "y", "Relu", "domain 'com.microsoft'");
    }

    [Test]
    public void GroupThatDoesNotDivide()
    {
        var b = new OnnxBuilder().Input("x", 2, 4, 4).Output("y");
        b.Node("Conv", ["x", b.Weight("w", [3, 1, 3, 3])], "y", Int("group", 2));
        Assert.That(Import<OnnxFormatException>(b.Bytes()).Message, Does.Contain("attribute 'group' = 2"));
    }

    [Test]
    public void ConstantThatDoesNotBroadcast()
    {
        var b = new OnnxBuilder().Input("x", 2, 4, 4).Output("y");
        b.Node("Tanh", ["x"], "t");
        b.Node("Mul", ["t", b.Weight("k", [5])], "y");
        Assert.That(Import<OnnxFormatException>(b.Bytes()).Message, Does.Contain("cannot broadcast input 0 (1,2,4,4) with constant (5)"));
    }

    [TestCase("LRN", "size", 4, "only odd sizes")]
    [TestCase("MaxPool", "storage_order", 1, "storage_order")]
    [TestCase("AveragePool", "ceil_mode", 1, "ceil_mode")]
    public void UnsupportedAttributeValue(string op, string attribute, long value, string expected)
    {
        var b = new OnnxBuilder().Input("x", 2, 4, 4).Output("y");
        var extra = op == "LRN" ? [] : new[] { Ints("kernel_shape", 3, 3), Ints("strides", 2, 2) };
        b.Node(op, ["x"], "y", [Int(attribute, value), .. extra]);
        Unsupported(b, "y", op, expected);
    }

    [Test]
    public void ClipBoundThatIsATensor()
    {
        var b = new OnnxBuilder().Input("x", 4).Output("y");
        b.Node("Relu", ["x"], "lo");
        b.Node("Clip", ["x", "lo", b.Scalar("hi", 1f)], "y");
        Unsupported(b, "y", "Clip", "min (input 1) must be a constant");
    }

    [Test]
    public void PReluSlopeThatDoesNotBroadcast()
    {
        var b = new OnnxBuilder().Input("x", 3, 4, 4).Output("y");
        b.Node("PRelu", ["x", b.Weight("slope", [5, 1, 1])], "y");
        Unsupported(b, "y", "PRelu", "does not broadcast");
    }

    [Test]
    public void ReshapeThatMovesTheBatch()
    {
        var b = new OnnxBuilder().Input("x", 2, 3).Output("y");
        b.Node("Reshape", ["x", b.IntTensor("s", 2, -1)], "r");
        b.Node("Relu", ["r"], "y");
        Unsupported(b, "r", "Reshape", "changes the batch axis");
    }

    [Test]
    public void TwoGraphOutputs()
    {
        var b = Small().Output("c");
        Assert.That(Import<OnnxUnsupportedException>(b.Bytes()).Message, Does.Contain("2 outputs"));
    }

    [Test]
    public void NonFloatOrSymbolicInput()
    {
        var b = Small();
        b.Graph.Input[0].Type!.TensorType!.ElemType = 7;
        Assert.That(Import<OnnxUnsupportedException>(b.Bytes()).Message, Does.Contain("only float32"));
        b.Graph.Input[0].Type!.TensorType!.ElemType = 1;
        b.Graph.Input[0].Type!.TensorType!.Shape!.Dim[2] = new DimensionProto { DimParam = "H" };
        Assert.That(Import<OnnxUnsupportedException>(b.Bytes()).Message, Does.Contain("only the batch axis may be symbolic"));
    }

    [Test]
    public void InitializerDefinedTwice()
    {
        var b = Small();
        b.Weight("conv.weight", [1]);
        Assert.That(Import<OnnxFormatException>(b.Bytes()).Message, Does.Contain("defined twice"));
    }

    /// <summary>Graphs whose nodes do not fit together are typed format errors that say why: a reference to nothing, a
    /// cycle, a value defined twice, an output nothing produces; and nodes with inputs missing or extra name the node, never
    /// an index exception or an input silently ignored (found by swapping ops and dropping inputs in every OnnxOpTests
    /// model).</summary>
    static IEnumerable<TestCaseData> MalformedGraphs()
    {
        TestCaseData Case(string name, int opset, string output, Action<OnnxBuilder> build, params string[] expected) =>
            new TestCaseData(opset, output, build, expected) { TestName = name };
        TestCaseData WrongInputCount(string name, int opset, Action<OnnxBuilder> build, string expected) =>
            Case($"WrongInputCount_{name}", opset, "y", build, "node 'y'", expected);
        yield return Case("DanglingInput", 13, "y", b => b.Node("Relu", ["nowhere"], "y"), "'nowhere'", "dangling reference or cycle");
        yield return Case("CyclicGraph", 13, "b", b => { b.Node("Add", ["x", "b"], "a"); b.Node("Relu", ["a"], "b"); }, "cycle");
        yield return Case("ValueDefinedTwice", 13, "y", b => { b.Node("Relu", ["x"], "y"); b.Node("Sigmoid", ["x"], "y"); }, "already defined");
        yield return Case("OutputNotProduced", 13, "missing", b => b.Node("Relu", ["x"], "y"));
        yield return WrongInputCount("ShapeWithoutInput", 13, b => b.Node("Shape", [], "y"), "takes 1 input(s), got 0");
        yield return WrongInputCount("ShapeOfTwoInputs", 13, b => b.Node("Shape", [b.IntTensor("c", 1), "x"], "y"), "takes 1 input(s), got 2");
        yield return WrongInputCount("PadOpset13WithoutPads", 13, b => b.Node("Pad", ["x"], "y"), "takes 2 to 3 inputs, got 1");
        yield return WrongInputCount("PadOpset7WithAnInputItWouldIgnore", 7,
            b => b.Node("Pad", ["x", b.IntTensor("p", 0, 0, 1, 1, 0, 0, 1, 1)], "y", Ints("pads", 0, 0, 1, 1, 0, 0, 1, 1)), "takes 1 input(s), got 2");
        yield return WrongInputCount("SliceOpset13WithoutEnds", 13,
            b => b.Node("Slice", [b.IntTensor("shape", 1, 32), b.IntTensor("starts", 0)], "y"), "takes 3 to 5 inputs, got 2");
    }

    [TestCaseSource(nameof(MalformedGraphs))]
    public void MalformedGraph_IsAFormatError(int opset, string output, Action<OnnxBuilder> build, string[] expected)
    {
        var b = new OnnxBuilder(opset).Input("x", 2, 4, 4).Output(output);
        build(b);
        string message = Import<OnnxFormatException>(b.Bytes()).Message;
        foreach (string part in expected) Assert.That(message, Does.Contain(part));
    }

    [Test]
    public void SecondOutputThatIsRead_IsUnsupported()
    {
        var b = new OnnxBuilder().Input("x", 2, 4, 4).Output("y");
        b.Node("Dropout", ["x"], "d").Output.Add("mask");
        b.Node("Add", ["d", "mask"], "y");
        Unsupported(b, "d", "Dropout", "output 1 ('mask') is used; only the first output is supported");
    }

    /// <summary>Sizes a layer rejects in its own validation (an empty resize, an empty weight) are unsupported, by node.</summary>
    [TestCase("Resize", "gives an empty 0×0 image")]
    [TestCase("Gemm", "Linear needs positive feature counts")]
    public void SizesTheLayerRejects_AreUnsupported(string op, string expected)
    {
        var b = new OnnxBuilder().Input("x", 2, 4, 4).Output("y");
        if (op == "Resize") b.Node("Resize", ["x", "", b.Weight("scales", [4], [1f, 1f, 0.1f, 0.1f])], "y", Text("mode", "linear"));
        else b.Node("Gemm", ["x", b.Weight("w", [0, 32], [])], "y", Int("transB", 1));
        Unsupported(b, "y", op, expected);
    }

    [TestCase("Add")]
    [TestCase("Mul")]
    public void HalfOfAnAdaptivePoolingWithAConstant_IsUnsupported(string op)
    {
        var b = new OnnxBuilder().Input("x", 2, 5, 7).Output("y");
        b.Node("MatMul", ["x", b.Weight("columns_t", [7, 3], AdaptivePoolingMatrix.Of(7, 3, transpose: true))], "pooled_columns");
        b.Node(op, ["pooled_columns", b.Scalar("k", 2f)], "y");
        Unsupported(b, "y", op, "input 0 is x·P");
    }
}

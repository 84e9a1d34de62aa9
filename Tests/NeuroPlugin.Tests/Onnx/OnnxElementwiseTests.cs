using NeuroPlugin.Serialization.Onnx;
using static NeuroPlugin.Tests.Onnx.OnnxBuilder;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>How the importer maps general element-wise arithmetic (PyTorch's elementary spellings of a normalization
/// and of GELU, Tests/Golden/gen_onnx_ops.py) to layers, which constants become learnable, and fine-tuning through them.</summary>
public sealed class OnnxElementwiseTests : GLFixture
{
    [Test]
    public void ElementaryArithmetic_ImportsAsElementwiseLayersWithALearnableScale()
    {
        var model = OnnxImporter.Convert(OnnxRun.FixturePath("elementary_arithmetic_opset13.onnx"));
        var elementwise = model.Graph.Nodes.Select(n => n.Layer).OfType<Elementwise>().ToArray();
        Assert.That(elementwise.Where(e => !e.HasConstant).Select(e => e.Op), Is.SupersetOf(new[] { BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Minimum, BinaryOp.Maximum }));
        Assert.That(elementwise.Where(e => e.HasConstant).Select(e => e.Op), Is.SupersetOf(new[] { BinaryOp.Pow, BinaryOp.Add, BinaryOp.Div, BinaryOp.Mul }));
        // gamma (4,1,1) and beta are weights (initializers of several elements); the exponent and epsilon are fixed
        var learnable = elementwise.Where(e => e.HasConstant && e.Learnable).ToArray();
        Assert.That(learnable.Select(e => e.ConstantShape.ToArray()), Has.All.EqualTo(new[] { 4, 1, 1 }));
        Assert.That(learnable.Select(e => e.Op), Is.EquivalentTo(new[] { BinaryOp.Mul, BinaryOp.Add }));
        Assert.That(elementwise.Where(e => e.HasConstant && e.Op == BinaryOp.Pow).Select(e => e.Learnable), Has.All.False);
        // the constant scale right after conv2? none: conv outputs are read twice, so nothing folds into them
        Assert.That(model.Graph.Nodes.Count(n => n.Layer is Conv2d), Is.EqualTo(2));
    }

    [Test]
    public void ConstantNodeAndScalarInitializer_AreBuffers_WeightInitializer_IsAParameter()
    {
        var b = new OnnxBuilder().Input("x", 3, 2, 2).Output("y");
        b.Node("Tanh", ["x"], "t");
        var value = new AttributeProto { Name = "value", Type = AttributeType.Tensor, T = OnnxTensorData.FromFloats("", [3, 1, 1], [1f, 2f, 3f]) };
        b.Node("Constant", [], "k", value);
        b.Node("Mul", ["t", "k"], "fixed");
        b.Node("Add", ["fixed", b.Scalar("eps", 0.1f)], "shifted");
        b.Node("Mul", ["shifted", b.Weight("gamma", [3, 1, 1])], "y");
        using var cpu = new CpuBackend();
        using var network = OnnxRun.Import(b.Bytes(), cpu);
        var layers = network.Graph.Nodes.Select(n => n.Layer).OfType<Elementwise>().ToArray();
        Assert.That(layers.Select(l => l.Learnable), Is.EqualTo(new[] { false, false, true }));
        Assert.That(network.Parameter("y.constant").ToArray(), Has.Length.EqualTo(3));
        Assert.That(network.Buffer("fixed.constant").ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f }));
    }

    [Test]
    public void ElementaryArithmetic_FineTunesOnCpuAndGL() =>
        OnnxRun.FineTunesAlikeOnBothBackends("elementary_arithmetic_opset17.onnx", Backend, seed: 5, learningRate: 0.5f,
            network => network.Graph.Nodes.Single(n => n.Layer is Elementwise { Learnable: true, Op: BinaryOp.Mul }).Name + ".constant", "the learnable scale");

    [TestCase("elementary_norms_opset11")]
    [TestCase("elementary_norms_opset17")]
    public void ElementaryNorms_FineTuneOnCpuAndGL(string name) =>
        // the group norm's learnable scale sits before the pooled normalization: its gradient comes back through both
        OnnxRun.FineTunesAlikeOnBothBackends(name + ".onnx", Backend, seed: 6, learningRate: 0.5f,
            network => network.Graph.Nodes.Single(n => n.Layer is Elementwise { Learnable: true, Op: BinaryOp.Mul }).Name + ".constant", "the group norm's scale");
}

using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>How the importer maps PyTorch's exports of PReLU, GELU (both forms), clamps and hard activations
/// (Tests/Golden/gen_onnx_ops.py, opsets 11 and 17) to layers, a PReLU layer's round trip through the exporter, and
/// fine-tuning through them on both backends. <see cref="OnnxFixtureTests"/> compares the same files with PyTorch and
/// ONNX Runtime.</summary>
public sealed class OnnxGeneralActivationTests : GLFixture
{
    [TestCase("general_activations_opset11")]
    [TestCase("general_activations_opset17")]
    public void GeneralActivations_ImportAsPReLUAndElementwiseLayers(string name)
    {
        var (model, layers) = OnnxRun.ConvertFixture(name + ".onnx");
        // nn.PReLU(4) as a per-channel PReLU with PyTorch's slopes, nn.PReLU() as a shared one
        Assert.That(layers.OfType<PReLU>().Select(p => p.NumParameters), Is.EquivalentTo(new[] { 4, 1 }));
        var perChannel = model.Graph.Nodes.Single(n => n.Layer is PReLU { NumParameters: 4 });
        Assert.That(model.State[perChannel.Name + ".weight"], Is.EqualTo(new[] { 0.1f, -0.2f, 0.3f, 0.6f }));
        // the exact GELU's Erf, the tanh form's Tanh; the clamps as element-wise maximum and minimum
        Assert.That(layers.OfType<ElementwiseFunction>().Select(f => f.Op), Does.Contain(UnaryOp.Erf));
        Assert.That(layers.OfType<Activation>().Select(a => a.Kind), Is.SupersetOf(new[] { ActivationKind.Tanh, ActivationKind.HardSwish, ActivationKind.HardSigmoid }));
        var clamps = layers.OfType<Elementwise>().Where(e => e.HasConstant && e.Op is BinaryOp.Maximum or BinaryOp.Minimum).Select(e => (e.Op, e.Value));
        Assert.That(clamps, Is.SupersetOf(new[] { (BinaryOp.Maximum, -0.5f), (BinaryOp.Minimum, 0.8f), (BinaryOp.Maximum, -0.2f) }));
    }

    [Test]
    public void PReLU_ExportsAsPReluWithASlopePerChannel_AndReadsBack()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("x", new TensorShape(3, 4, 4));
        graph.Add("act", new PReLU(3, 0.2f), x);
        using var cpu = new CpuBackend();
        using var network = Network.Create(graph, cpu, seed: 1);
        network.Parameter("act.weight").Upload([0.1f, -0.5f, 2f]);
        var model = OnnxExporter.ToModel(network);
        var slope = model.Graph!.Initializer.Single(i => i.Name == "act.weight");
        Assert.That(slope.Dims, Is.EqualTo(new long[] { 3, 1, 1 }), "ONNX broadcasts from the last axes");
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(model);
        float[] input = OnnxRun.RandomInput(2 * 3 * 4 * 4, seed: 3);
        var (ort, _) = OnnxRun.Ort(bytes, input, [2, 3, 4, 4]);
        var (ours, _) = OnnxRun.Ours(network, input, 2);
        TensorAssert.AreClose(ort, ours, 1e-6, "ONNX Runtime on the export vs our network");
        using var back = OnnxRun.Import(bytes, cpu);
        Assert.That(back.Graph.Nodes.Single().Layer, Is.TypeOf<PReLU>().With.Property("NumParameters").EqualTo(3));
        Assert.That(back.Parameter("act.weight").ToArray(), Is.EqualTo(new[] { 0.1f, -0.5f, 2f }));
    }

    [Test]
    public void GeneralActivations_FineTuneOnCpuAndGL() =>
        OnnxRun.FineTunesAlikeOnBothBackends("general_activations_opset17.onnx", Backend, seed: 7, learningRate: 0.2f,
            network => network.Graph.Nodes.Single(n => n.Layer is PReLU { NumParameters: 4 }).Name + ".weight", "the PReLU slopes");
}

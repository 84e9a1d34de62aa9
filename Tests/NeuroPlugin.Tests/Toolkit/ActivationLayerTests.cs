using System.Text.Json.Nodes;
using NeuroPlugin.Init;

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>The activation family's layers: attributes round-trip through <see cref="LayerRegistry"/> and model
/// files, shapes are inferred and bad shapes or hyper-parameters rejected with messages that name them.</summary>
public class ActivationLayerTests
{
    public static IEnumerable<Layer> NewLayers()
    {
        yield return Activation.LeakyReLU();
        yield return Activation.LeakyReLU(0.2f);
        yield return Activation.ReLU6();
        yield return Activation.SiLU();
        yield return Activation.HardSigmoid();
        yield return Activation.HardSwish();
        yield return new Softmax();
        yield return new LocalResponseNorm(5);
        yield return new LocalResponseNorm(4, 0.3f, 0.6f, 1.5f);
        yield return new GlobalAvgPool2d();
        yield return new GlobalMaxPool2d();
    }

    [TestCaseSource(nameof(NewLayers))]
    public void FactoryRecreatesTheLayerFromItsAttributes(Layer layer)
    {
        string json = layer.Attributes().ToJsonString();
        var copy = LayerRegistry.Create(layer.Type, JsonNode.Parse(json)!.AsObject()); // as read from a file
        Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
        Assert.That(copy.Type, Is.EqualTo(layer.Type));
        Assert.That(copy.Attributes().ToJsonString(), Is.EqualTo(json));
    }

    [Test]
    public void LeakyReLU_KeepsItsSlopeExactly()
    {
        var copy = (Activation)LayerRegistry.Create("LeakyReLU", JsonNode.Parse(Activation.LeakyReLU(0.123456789f).Attributes().ToJsonString())!.AsObject());
        Assert.That(copy.NegativeSlope, Is.EqualTo(0.123456789f));
        Assert.That(Activation.LeakyReLU().NegativeSlope, Is.EqualTo(0.01f), "PyTorch's default");
        Assert.That(Activation.ReLU().Attributes(), Is.Empty, "only LeakyReLU has a slope attribute");
    }

    /// <summary>A small network using every new layer, with initializers chosen per activation.</summary>
    public static NetworkGraph ToolkitNetwork()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("image", new TensorShape(3, 8, 8));
        x = graph.Add("conv1", new Conv2d(3, 6, 3, padding: 1, weightInit: Initializer.For(ActivationKind.LeakyReLU, 0.2f), biasInit: Initializer.Zeros), x);
        x = graph.Add("lrn1", new LocalResponseNorm(3, 0.5f, 0.75f, 2f), x);
        x = graph.Add("act1", Activation.LeakyReLU(0.2f), x);
        x = graph.Add("conv2", new Conv2d(6, 8, 3, padding: 1, weightInit: Initializer.For(ActivationKind.SiLU)), x);
        x = graph.Add("act2", Activation.SiLU(), x);
        string avg = graph.Add("gap", new GlobalAvgPool2d(), x);
        x = graph.Add("act3", Activation.HardSwish(), avg);
        x = graph.Add("gmp", new GlobalMaxPool2d(), x);
        x = graph.Add("act4", Activation.ReLU6(), x);
        x = graph.Add("flatten", new Flatten(), x);
        x = graph.Add("fc1", new Linear(8, 12, weightInit: Initializer.XavierNormal(), biasInit: new Initializer.Constant(0.05f)), x);
        x = graph.Add("act5", Activation.HardSigmoid(), x);
        x = graph.Add("fc2", new Linear(12, 5), x);
        graph.Add("softmax", new Softmax(), x);
        return graph;
    }

    [Test]
    public void ModelFileRoundTripsEveryNewLayer()
    {
        string path = Path.Combine(Path.GetTempPath(), $"neuro-activations-{Guid.NewGuid():N}.neuro");
        try
        {
            var cpu = new CpuBackend();
            using var network = Network.Create(ToolkitNetwork(), cpu, seed: 11);
            ModelFile.Save(network, path);
            using var loaded = ModelFile.Load(path, cpu);
            Assert.That(loaded.Graph.Nodes.Select(n => n.Layer.ToString()), Is.EqualTo(network.Graph.Nodes.Select(n => n.Layer.ToString())));

            // the loaded network computes the same outputs
            var input = Enumerable.Range(0, 2 * 3 * 8 * 8).Select(i => MathF.Sin(i * 0.37f)).ToArray();
            float[] Outputs(Network n)
            {
                using var plan = ExecutionPlan.ForInference(n, 2);
                plan.Input.Upload(input);
                plan.Forward();
                return plan.Output.ToArray();
            }
            float[] expected = Outputs(network);
            Assert.That(Outputs(loaded), Is.EqualTo(expected));
            for (int n = 0; n < 2; n++)
                Assert.That(expected.Skip(n * 5).Take(5).Sum(), Is.EqualTo(1f).Within(1e-6), "softmax rows sum to 1");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void ShapesAreInferredAndBadShapesRejected()
    {
        var shapes = ToolkitNetwork().InferShapes(4);
        Assert.That(shapes["lrn1"], Is.EqualTo(new TensorShape(4, 6, 8, 8)));
        Assert.That(shapes["gap"], Is.EqualTo(new TensorShape(4, 8, 1, 1)));
        Assert.That(shapes["softmax"], Is.EqualTo(new TensorShape(4, 5)));

        var e = Assert.Throws<ShapeException>(() => new Softmax(2).InferOutputShape("probs", [new TensorShape(2, 3)]));
        Assert.That(e!.Message, Does.StartWith("probs:").And.Contain("(2,3)"));
        e = Assert.Throws<ShapeException>(() => new GlobalAvgPool2d().InferOutputShape("gap", [new TensorShape(2, 3)]));
        Assert.That(e!.Message, Does.StartWith("gap:").And.Contain("(2,3)"));
        e = Assert.Throws<ShapeException>(() => new LocalResponseNorm(3).InferOutputShape("lrn", [new TensorShape(5)]));
        Assert.That(e!.Message, Does.StartWith("lrn:").And.Contain("(5)"));
    }

    [Test]
    public void BadHyperParametersAreRejectedByName()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new LocalResponseNorm(0))!.ParamName, Is.EqualTo("size"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new LocalResponseNorm(3, alpha: -1f))!.ParamName, Is.EqualTo("alpha"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new LocalResponseNorm(3, beta: float.NaN))!.ParamName, Is.EqualTo("beta"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new LocalResponseNorm(3, k: 0f))!.ParamName, Is.EqualTo("k"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Activation.LeakyReLU(float.PositiveInfinity))!.ParamName, Is.EqualTo("negativeSlope"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new Activation((ActivationKind)99))!.ParamName, Is.EqualTo("kind"));
        var e = Assert.Throws<FormatException>(() => LayerRegistry.Create("LeakyReLU", []));
        Assert.That(e!.Message, Does.Contain("negativeSlope"));
        e = Assert.Throws<FormatException>(() => LayerRegistry.Create("LocalResponseNorm", new JsonObject { ["size"] = 3, ["alpha"] = 1e-4, ["beta"] = "high", ["k"] = 1 }));
        Assert.That(e!.Message, Does.Contain("beta"));
    }

    [Test]
    public void SoftmaxIsStableForHugeLogits()
    {
        var cpu = new CpuBackend();
        using var x = cpu.Allocate(new TensorShape(2, 3), "x");
        using var y = cpu.Allocate(x.Shape, "y");
        x.Upload([1000f, 0f, -1000f, -1000f, 1000f, 999f]);
        cpu.SoftmaxForward(x, y);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 1f, 0f, 0f, 0f, (float)(Math.E / (1 + Math.E)), (float)(1 / (1 + Math.E)) }).Within(1e-6));
    }
}

namespace NeuroPlugin.Tests.Graph;

public class GraphTests
{
    [Test]
    public void LeNet5_ShapesAndParameterCount()
    {
        var graph = ModelZoo.Build("lenet5");
        var shapes = graph.InferShapes(7);
        Assert.That(shapes["conv1"], Is.EqualTo(new TensorShape(7, 6, 28, 28)));
        Assert.That(shapes["pool1"], Is.EqualTo(new TensorShape(7, 6, 14, 14)));
        Assert.That(shapes["conv2"], Is.EqualTo(new TensorShape(7, 16, 10, 10)));
        Assert.That(shapes["pool2"], Is.EqualTo(new TensorShape(7, 16, 5, 5)));
        Assert.That(shapes["flatten"], Is.EqualTo(new TensorShape(7, 400)));
        Assert.That(shapes["fc3"], Is.EqualTo(new TensorShape(7, 10)));
        using var network = Network.Create(graph, new CpuBackend(), seed: 1);
        // PyTorch's count for this LeNet-5: 156 + 2416 + 48120 + 10164 + 850
        Assert.That(network.ParameterCount, Is.EqualTo(61706));
        Assert.That(network.ParameterNames, Is.EqualTo(new[] { "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias" }));
    }

    /// <summary>The message of the error that shape inference gives for an input and one layer.</summary>
    static string ShapeError(TensorShape input, string name, Layer layer, int batch)
    {
        var graph = new NetworkGraph();
        graph.Add(name, layer, graph.AddInput("input", input));
        return Assert.Throws<GraphException>(() => graph.InferShapes(batch))!.Message;
    }

    [Test]
    public void WrongChannelCount_NamesNodeAndBothShapes() =>
        Assert.That(ShapeError(new TensorShape(6, 14, 14), "conv2", new Conv2d(16, 32, 3), batch: 2),
            Is.EqualTo("conv2: input (2,6,14,14) needs 16 channels, got 6"));

    [Test]
    public void WindowLargerThanInput_NamesNode() =>
        Assert.That(ShapeError(new TensorShape(1, 3, 3), "conv", new Conv2d(1, 1, 5), batch: 1), Does.StartWith("conv: height 3"));

    [Test]
    public void LinearAfterConvWithoutFlatten_IsExplained() =>
        Assert.That(ShapeError(new TensorShape(1, 4, 4), "fc", new Linear(16, 2), batch: 3), Does.Contain("fc: Linear takes (N,16), got (3,1,4,4)"));

    [Test]
    public void UnknownInputAndDuplicateNames_AreRejected()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(4));
        Assert.That(() => graph.Add("fc", new Linear(4, 2), "nope"), Throws.TypeOf<GraphException>().With.Message.Contains("'nope'"));
        graph.Add("fc", new Linear(4, 2), x);
        Assert.That(() => graph.Add("fc", new Linear(2, 2), "fc"), Throws.TypeOf<GraphException>().With.Message.Contains("'fc' is already used"));
    }

    [Test]
    public void UnknownModel_ListsKnownNames()
    {
        var error = Assert.Throws<UnknownModelException>(() => ModelZoo.Build("lenet6"));
        Assert.That(error!.Message, Does.Contain("lenet6").And.Contain("lenet5"));
    }

    [Test]
    public void ShapeArithmetic_IsChecked()
    {
        Assert.That(() => new TensorShape(65536, 65536), Throws.TypeOf<ShapeException>().With.Message.Contains("more than"));
        Assert.That(() => new TensorShape(3, 0), Throws.TypeOf<ShapeException>().With.Message.Contains("axis 1"));
        Assert.That(new TensorShape(2, 3, 4, 5).Length, Is.EqualTo(120));
        Assert.That(new TensorShape(3, 4, 5).PrependBatch(2), Is.EqualTo(new TensorShape(2, 3, 4, 5)));
    }

    [Test]
    public void FanOutToADeadBranch_LeavesGradientsUnchanged()
    {
        // 'fc1' feeds both 'side' (whose output nothing reads) and 'fc2'; the fan-out gives fc1's output one
        // gradient tensor that both consumers add into, and the dead branch must add exactly zero.
        var cpu = new CpuBackend();
        float[] Run(bool withBranch)
        {
            var graph = new NetworkGraph();
            string x = graph.AddInput("x", new TensorShape(3));
            string h = graph.Add("fc1", new Linear(3, 4), x);
            if (withBranch) graph.Add("side", Activation.Tanh(), h);
            graph.Add("fc2", new Linear(4, 2), h);
            graph.Output = "fc2";
            using var network = Network.Create(graph, cpu, seed: 3);
            using var plan = NeuroPlugin.Execution.ExecutionPlan.ForTraining(network, 2);
            plan.Input.Upload([1f, -2f, 0.5f, 0.3f, 0.1f, -1f]);
            plan.Target!.Upload([1f, 0f, 0f, 1f]);
            plan.TrainStep(new NeuroPlugin.Optimizers.Sgd(0.1f));
            return network.Parameter("fc1.weight").ToArray();
        }
        Assert.That(Run(withBranch: true), Is.EqualTo(Run(withBranch: false)));
    }
}

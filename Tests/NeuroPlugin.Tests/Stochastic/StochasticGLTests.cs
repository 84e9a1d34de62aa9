namespace NeuroPlugin.Tests.Stochastic;

/// <summary>The stochastic regularizers on the GL backend equal the CPU reference within 1e-4, forward and backward,
/// in training (identical coefficients and Swapout masks, bit for bit) and eval, on item lengths that do and do not
/// fill whole vec4s; the residual net's training steps allocate nothing and read nothing back.</summary>
public sealed class StochasticGLTests : GLFixture
{
    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var layer in StochasticChecks.Layers())
            foreach (var shape in new[] { new TensorShape(3, 5, 3, 3), new TensorShape(4, 8), new TensorShape(7, 4001) })
                foreach (bool training in new[] { true, false })
                    yield return new TestCaseData(layer, shape, training).SetArgDisplayNames(layer.Type, shape.ToString(), training ? "train" : "eval");
    }

    [TestCaseSource(nameof(Cases))]
    public void GLEqualsCpu(Layer layer, TensorShape shape, bool training)
    {
        using var twins = new TwinBackends(Backend, shape.Length);
        var inputs = Enumerable.Range(0, layer.InputCount).Select(i => twins.Random(shape, $"x{i}")).ToArray();
        var grads = inputs.Select(x => twins.Random(shape, x.Cpu.Name + ".grad")).ToArray();
        var y = twins.Random(shape, "y", 100);
        var dy = twins.Random(shape, "dy");
        var nodes = new Dictionary<bool, NodeTensors>();
        twins.Run(be =>
        {
            var node = StochasticChecks.Node(be, layer, inputs.Select(x => x[be]).ToArray(), grads.Select(g => g[be]).ToArray(), y[be], dy[be], training, step: 123456);
            layer.Forward(be, node);
            layer.Backward(be, node);
            nodes[be == twins.Gl] = node;
        });
        for (int w = 0; w < nodes[false].Workspace.Length; w++)
            Assert.That(nodes[true].Workspace[w].ToArray(), Is.EqualTo(nodes[false].Workspace[w].ToArray()), $"workspace {w} (coefficients or mask): GL == CPU exactly");
        TwinBackends.AssertSame(y, $"{layer.Type} forward");
        for (int i = 0; i < grads.Length; i++) TwinBackends.AssertSame(grads[i], $"{layer.Type} gradient of input {i}");
        foreach (var node in nodes.Values)
            foreach (var tensor in node.Workspace) tensor.Dispose();
    }

    [Test]
    public void TrainingStepsAllocateNothing()
    {
        foreach (var layer in StochasticChecks.Layers()) StochasticChecks.AssertStepsAllocateNothing(Backend, layer);
    }
}

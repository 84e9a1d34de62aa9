namespace NeuroPlugin.Tests.Training;

/// <summary>
/// A gradient's first writer in a step sets it (<c>dx = 0 + …</c>) instead of the plan zeroing it and every writer adding
/// (<see cref="NodeTensors.SetsInputGrad"/>). Held to the old path, on each backend: a ResNet's gradients after a step of
/// <see cref="ExecutionPlan.ForTraining"/> against <see cref="ExecutionPlan.ForTrainingZeroingEveryGradient"/> (a fork with
/// two contributors, single-contributor gradients, and those still zeroed); and each op that can set its input gradient
/// with <c>accumulate: false</c> on a gradient full of NaN (it must write every element and read none) against
/// <c>accumulate: true</c> on a zeroed one. The CPU must give the same bits; GL the same values (a shader compiler may
/// fold <c>0 + v</c> to <c>v</c>, so the sign of a zero is not promised there).
/// </summary>
[TestFixture(BackendUnderTest.Cpu)]
[TestFixture(BackendUnderTest.GL)]
public sealed class GradientSettingTests(BackendUnderTest kind) : BackendFixture(kind)
{
    [Test]
    public void ResNetGradientsAreThoseOfZeroingThenAdding()
    {
        // ResNet-20 at 8×8, widths 4/8/16: forks into a residual Add (set by the Add, added to by the block's conv1), forks
        // into the option-A shortcut's max pool (its scatter leaves elements alone: zeroed), conv → BN → ReLU chains
        using var network = Network.Create(ModelZoo.Build("resnet_cifar", new ModelOptions(3, 8, 10, WidthDivisor: 4)), Backend, seed: 4);
        using var setting = ExecutionPlan.ForTraining(network, 2);
        using var zeroing = ExecutionPlan.ForTrainingZeroingEveryGradient(network, 2);
        Assert.That(setting.ZeroedOutputGradients, Does.Not.Contain("relu").And.Not.Contain("layer1.0.conv1").And.Not.Contain("layer1.0.bn2"),
            "set by their first writer: the stem's output by layer1.0.add, conv1's by bn1, bn2's by the Add");
        Assert.That(setting.ZeroedOutputGradients, Does.Contain("layer1.2.relu").And.Contain("fc"),
            "zeroed: first written by the shortcut's max pool, and by the loss");
        Assert.That(zeroing.ZeroedOutputGradients, Has.Count.EqualTo(network.Graph.Nodes.Count(n => !n.Layer.OutputIsViewOfInput)));

        // two steps on different batches: the second one's gradients must not keep anything of the first's
        var random = new Random(11);
        for (int step = 0; step < 2; step++)
        {
            float[] input = [.. Enumerable.Range(0, setting.Input.Length).Select(_ => (float)(random.NextDouble() * 2 - 1))];
            float[] target = new float[setting.Target!.Length];
            for (int n = 0; n < 2; n++) target[n * 10 + random.Next(10)] = 1f;
            foreach (var plan in new[] { setting, zeroing })
            {
                plan.Input.Upload(input);
                plan.Target!.Upload(target);
                plan.ComputeGradients();
            }
        }

        float[] fork = setting.OutputGradient("relu")!.ToArray();
        Assert.That(fork.Count(v => v != 0f), Is.GreaterThan(fork.Length / 2), "the fork's gradient is not trivially zero");
        foreach (var node in network.Graph.Nodes)
            if (setting.OutputGradient(node.Name) is { } gradient)
                AssertSame(zeroing.OutputGradient(node.Name)!.ToArray(), gradient.ToArray(), $"gradient of {node.Name}");
        for (int i = 0; i < setting.ParameterGradients.Count; i++)
            AssertSame(zeroing.ParameterGradients[i].ToArray(), setting.ParameterGradients[i].ToArray(), $"gradient of {network.ParameterNames[i]}");
    }

    [TestCase(3, 1, 1, 1, TestName = "Conv2dSetsInputGradient(3×3, stride 1)")]  // the CPU's direct path
    [TestCase(3, 2, 1, 1, TestName = "Conv2dSetsInputGradient(3×3, stride 2)")]  // the CPU's stride phases
    [TestCase(1, 2, 0, 1, TestName = "Conv2dSetsInputGradient(1×1, stride 2)")]  // stride phases, inputs no window reaches
    [TestCase(3, 1, 1, 2, TestName = "Conv2dSetsInputGradient(3×3, 2 groups)")]
    public void Conv2dSetsInputGradient(int kernel, int stride, int padding, int groups)
    {
        var window = Window2d.Square(kernel, stride, padding);
        var xShape = new TensorShape(3, 4, 9, 9);
        var wShape = new TensorShape(6, 4 / groups, kernel, kernel);
        var yShape = new TensorShape(3, 6, window.OutputHeight(9, "test"), window.OutputWidth(9, "test"));
        using var x = Random(xShape, 1);
        using var w = Random(wShape, 2);
        using var dy = Random(yShape, 3);
        AssertSetsAsZeroingThenAdding(xShape, (dx, accumulate) => Backend.Conv2dBackward(x, w, dy, dx, null, null, window, groups, accumulate), "conv2d");
    }

    [Test]
    public void BatchNormSetsInputGradient([Values] bool training)
    {
        var shape = new TensorShape(3, 5, 6, 7);
        using var x = Random(shape, 1);
        using var dy = Random(shape, 2);
        using var gamma = Random(new TensorShape(5), 3);
        using var mean = Random(new TensorShape(5), 4);
        using var invStd = Backend.Allocate(new TensorShape(5), "invStd");
        invStd.Upload([0.5f, 1f, 2f, 3f, 0.25f]);
        AssertSetsAsZeroingThenAdding(shape,
            (dx, accumulate) => Backend.BatchNormBackward(x, gamma, mean, invStd, dy, dx, null, null, training, accumulate), "batch norm");
    }

    [Test]
    public void ActivationSetsInputGradient([Values] ActivationKind activation)
    {
        var shape = new TensorShape(2, 3, 5, 7); // 210 values: not a whole number of vectors
        using var x = Random(shape, 1, scale: 8f);
        using var y = Backend.Allocate(shape, "y");
        Backend.ActivationForward(activation, x, y, 0.1f);
        using var dy = Random(shape, 2);
        AssertSetsAsZeroingThenAdding(shape, (dx, accumulate) => Backend.ActivationBackward(activation, x, y, dy, dx, 0.1f, accumulate), $"{activation}");
    }

    [Test]
    public void AccumulateSets([Values(1f, 0.3f)] float scale)
    {
        var shape = new TensorShape(2, 70001); // more than one of the CPU's chunks, and a part of a vector
        using var source = Random(shape, 1);
        AssertSetsAsZeroingThenAdding(shape, (destination, accumulate) => Backend.Accumulate(source, destination, scale, accumulate), "accumulate");
    }

    /// <summary>Runs <paramref name="backward"/> setting a gradient full of NaN and adding into a zeroed one, and compares.</summary>
    void AssertSetsAsZeroingThenAdding(TensorShape shape, Action<Tensor, bool> backward, string what)
    {
        using var added = Backend.Allocate(shape, "added"); // zero-filled
        using var set = Backend.Allocate(shape, "set");
        set.Upload(Enumerable.Repeat(float.NaN, shape.Length).ToArray());
        backward(added, true);
        backward(set, false);
        float[] expected = added.ToArray();
        Assert.That(expected.Count(v => v != 0f), Is.GreaterThan(0), $"{what}: the gradient is not trivially zero");
        AssertSame(expected, set.ToArray(), what);
    }

    /// <summary>The same bits on the CPU; on GL the same values (±0 equal), see the class remarks.</summary>
    void AssertSame(float[] expected, float[] actual, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
        {
            bool same = Backend is CpuBackend
                ? BitConverter.SingleToInt32Bits(actual[i]) == BitConverter.SingleToInt32Bits(expected[i])
                : actual[i] == expected[i] || (float.IsNaN(actual[i]) && float.IsNaN(expected[i]));
            if (!same) Assert.Fail($"{what}: element {i} is {actual[i]:R}, zeroing then adding gives {expected[i]:R}");
        }
    }

    Tensor Random(TensorShape shape, int seed, float scale = 2f)
    {
        var random = new Random(seed);
        var tensor = Backend.Allocate(shape, $"random{seed}");
        tensor.Upload([.. Enumerable.Range(0, shape.Length).Select(_ => (float)(random.NextDouble() - 0.5) * scale)]);
        return tensor;
    }
}

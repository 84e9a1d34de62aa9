namespace NeuroPlugin.Tests.Ops;

/// <summary>Finite-difference checks of the merge ops (Add, Concat, ChannelMultiply) and of a residual
/// graph, where one tensor fans out to two consumers and their gradients must be summed.</summary>
public class MergeTests
{
    readonly CpuBackend cpu = new();

    [Test]
    public void Accumulate_AddsScaledSource()
    {
        var x = cpu.Allocate(new TensorShape(3), "x");
        var y = cpu.Allocate(new TensorShape(3), "y");
        x.Upload([1f, 2f, 3f]);
        y.Upload([10f, 20f, 30f]);
        cpu.Accumulate(x, y, -2f);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 8f, 16f, 24f }));
    }

    [TestCase(1, 3, 5, 4)]
    [TestCase(7, 2, 3, 3)]
    public void Concat_GradientsAndLayout(int batch, int channels, int height, int width)
    {
        var check = new GradientCheck(new Random(channels));
        var a = check.RandomTensor(cpu, new TensorShape(batch, channels, height, width), "a");
        var b = check.RandomTensor(cpu, new TensorShape(batch, 1, height, width), "b");
        var y = cpu.Allocate(new TensorShape(batch, channels + 1, height, width), "y");
        var da = cpu.Allocate(a.Shape, "da");
        var db = cpu.Allocate(b.Shape, "db");
        check.Run("Concat", [a, b], y, () => { cpu.ConcatForward(a, y, 0); cpu.ConcatForward(b, y, channels); }, [da, db],
            dy => { cpu.ConcatBackward(dy, da, 0); cpu.ConcatBackward(dy, db, channels); });
        // layout: sample n, channel `channels` of y is b's only channel
        float[] yValues = y.ToArray(), bValues = b.ToArray();
        int plane = height * width;
        for (int n = 0; n < batch; n++)
            Assert.That(yValues.AsSpan(((n * (channels + 1)) + channels) * plane, plane).ToArray(), Is.EqualTo(bValues.AsSpan(n * plane, plane).ToArray()));
    }

    [Test]
    public void Concat_InChunksAcrossSamples_PlacesAndAddsEveryElement()
    {
        // large enough (2^15 elements and more) to run in chunks on the pool's threads, with samples (4,551 and 3,034
        // floats) that do not divide a chunk, so chunks start and end inside samples
        var random = new Random(3);
        const int batch = 5, plane = 37 * 41;
        var a = Random(cpu, random, new TensorShape(batch, 3, 37, 41), "a");
        var b = Random(cpu, random, new TensorShape(batch, 2, 37, 41), "b");
        var y = cpu.Allocate(new TensorShape(batch, 5, 37, 41), "y");
        cpu.ConcatForward(a, y, 0);
        cpu.ConcatForward(b, y, 3);
        float[] av = a.ToArray(), bv = b.ToArray(), yv = y.ToArray();
        for (int n = 0; n < batch; n++)
        {
            Assert.That(yv.AsSpan(n * 5 * plane, 3 * plane).ToArray(), Is.EqualTo(av.AsSpan(n * 3 * plane, 3 * plane).ToArray()), $"sample {n}: a's channels");
            Assert.That(yv.AsSpan((n * 5 + 3) * plane, 2 * plane).ToArray(), Is.EqualTo(bv.AsSpan(n * 2 * plane, 2 * plane).ToArray()), $"sample {n}: b's channels");
        }
        // backward adds the whole's gradient at the part's channels into the part's gradient
        var dy = Random(cpu, random, y.Shape, "dy");
        var db = Random(cpu, random, b.Shape, "db");
        float[] dyv = dy.ToArray(), before = db.ToArray();
        cpu.ConcatBackward(dy, db, 3);
        float[] expected = new float[before.Length];
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < 2 * plane; i++) expected[n * 2 * plane + i] = before[n * 2 * plane + i] + dyv[(n * 5 + 3) * plane + i];
        Assert.That(db.ToArray(), Is.EqualTo(expected));
    }

    static Tensor Random(IBackend backend, Random random, TensorShape shape, string name)
    {
        var tensor = backend.Allocate(shape, name);
        tensor.Upload([.. Enumerable.Range(0, shape.Length).Select(_ => (float)(random.NextDouble() * 2 - 1))]);
        return tensor;
    }

    [TestCase(1, 3, 4, 5)]
    [TestCase(7, 5, 3, 1)]
    public void ChannelMultiply_Gradients(int batch, int channels, int height, int width)
    {
        var check = new GradientCheck(new Random(channels * 7));
        var x = check.RandomTensor(cpu, new TensorShape(batch, channels, height, width), "x");
        var s = check.RandomTensor(cpu, new TensorShape(batch, channels), "s");
        var y = cpu.Allocate(x.Shape, "y");
        var dx = cpu.Allocate(x.Shape, "dx");
        var ds = cpu.Allocate(s.Shape, "ds");
        check.Run("ChannelMultiply", [x, s], y, () => cpu.ChannelMultiplyForward(x, s, y), [dx, ds],
            dy => cpu.ChannelMultiplyBackward(x, s, dy, dx, ds));
    }

    /// <summary>A residual block with a projection shortcut, a dense-style concatenation and an SE-style scale:
    /// x → conv a → tanh → conv b ┐
    /// x → 1×1 conv (projection) ─┴ Add → Concat with x → ChannelMultiply by a sigmoid gate → flatten → linear.</summary>
    internal static NetworkGraph BranchyNetwork()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(2, 6, 6));
        string a = graph.Add("conv_a", new Conv2d(2, 3, kernelSize: 3, padding: 1), x);
        a = graph.Add("tanh_a", Activation.Tanh(), a);
        a = graph.Add("conv_b", new Conv2d(3, 3, kernelSize: 3, padding: 1), a);
        string shortcut = graph.Add("projection", new Conv2d(2, 3, kernelSize: 1), x);
        string sum = graph.Add("add", new Add(), a, shortcut);
        sum = graph.Add("tanh_sum", Activation.Tanh(), sum);
        string dense = graph.Add("concat", new Concat(), sum, x);
        string pooled = graph.Add("squeeze", new AvgPool2d(6), dense);
        string flat = graph.Add("squeeze_flat", new Flatten(), pooled);
        string gate = graph.Add("excite", new Linear(5, 5), flat);
        gate = graph.Add("gate", Activation.Sigmoid(), gate);
        string scaled = graph.Add("scale", new ChannelMultiply(), dense, gate);
        string features = graph.Add("flatten", new Flatten(), scaled);
        graph.Add("fc", new Linear(5 * 36, 4), features);
        return graph;
    }

    [Test]
    public void BranchyNetwork_PlanGradientsMatchFiniteDifferences()
    {
        using var network = Network.Create(BranchyNetwork(), cpu, seed: 3);
        using var plan = ExecutionPlan.ForTraining(network, 3);
        var random = new Random(4);
        plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray());
        plan.Target!.Upload([1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
        plan.ComputeGradients();
        float[][] gradients = plan.ParameterGradients.Select(g => g.ToArray()).ToArray();
        // Some gradients here are tiny next to the curvature (5e-5 against a second derivative of order 1), so
        // a wide step is dominated by truncation error; ε = 1e-2 keeps that small, and the float32 loss
        // (about 1.4, resolved to a few units of 1.4·2⁻²⁴) limits the difference to about 2e-5.
        const double epsilon = 1e-2;
        for (int p = 0; p < plan.Parameters.Count; p++)
        {
            var parameter = plan.Parameters[p];
            float[] values = parameter.ToArray();
            for (int sample = 0; sample < 6; sample++)
            {
                int j = random.Next(values.Length);
                float original = values[j];
                values[j] = (float)(original + epsilon); parameter.Upload(values); plan.ComputeGradients(); double plus = plan.ReadLoss();
                values[j] = (float)(original - epsilon); parameter.Upload(values); plan.ComputeGradients(); double minus = plan.ReadLoss();
                values[j] = original; parameter.Upload(values);
                double numeric = (plus - minus) / (2 * epsilon);
                Assert.That(Math.Abs(numeric - gradients[p][j]), Is.LessThanOrEqualTo(1e-2 * Math.Abs(gradients[p][j]) + 2e-5),
                    $"{parameter.Name}[{j}]: numeric {numeric:G6} vs backward {gradients[p][j]:G6}");
            }
        }
    }

    [Test]
    public void BranchyNetwork_TrainsAndRoundTripsThroughTheModelFile()
    {
        using var network = Network.Create(BranchyNetwork(), cpu, seed: 3);
        using (var plan = ExecutionPlan.ForTraining(network, 2))
        using (var optimizer = new Sgd(0.1f))
        {
            plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(i => MathF.Sin(i)).ToArray());
            plan.Target!.Upload([1, 0, 0, 0, 0, 0, 0, 1]);
            plan.ComputeGradients();
            float first = plan.ReadLoss();
            for (int i = 0; i < 20; i++) plan.TrainStep(optimizer);
            plan.ComputeGradients();
            Assert.That(plan.ReadLoss(), Is.LessThan(first * 0.5f), "the loss on a fixed batch falls");
        }
        using var folder = new TempFolder("branchy");
        string path = folder.Combine("branchy.neuro");
        NeuroPlugin.Serialization.ModelFile.Save(network, path);
        using var loaded = NeuroPlugin.Serialization.ModelFile.Load(path, cpu);
        Assert.That(loaded.Graph.Nodes.Select(n => (n.Name, n.Layer.Type, string.Join(",", n.Inputs))),
            Is.EqualTo(network.Graph.Nodes.Select(n => (n.Name, n.Layer.Type, string.Join(",", n.Inputs)))));
    }

    [Test]
    public void MismatchedShapes_NameTheNodeAndBothShapes()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(2, 6, 6));
        string a = graph.Add("conv", new Conv2d(2, 3, kernelSize: 3), x);
        graph.Add("add", new Add(), a, x);
        Assert.That(() => graph.InferShapes(4), Throws.TypeOf<GraphException>().With.Message.EqualTo(
            "add: Add needs equal shapes, input 0 is (4,3,4,4) and input 1 is (4,2,6,6) (use a projection, e.g. a 1×1 Conv2d, on the shortcut)"));
        var concat = new NetworkGraph();
        x = concat.AddInput("input", new TensorShape(2, 6, 6));
        a = concat.Add("conv", new Conv2d(2, 3, kernelSize: 3), x);
        concat.Add("cat", new Concat(), x, a);
        Assert.That(() => concat.InferShapes(1), Throws.TypeOf<GraphException>().With.Message.Contains("cat: Concat along axis 1 needs equal sizes on every other axis; input 0 is (1,2,6,6) and input 1 is (1,3,4,4)"));
    }
}

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>LayerNorm, GroupNorm and InstanceNorm2d (Runtime/Layers/RowNorm.cs): both backends against PyTorch
/// (Tests/Golden/gen_rownorm.py), finite differences of every input and parameter on the CPU, GL against the CPU on shapes
/// whose lengths are not multiples of 4, and the shape rules.</summary>
public sealed class RowNormGoldenTests : GLFixture
{
    static RowNorm LayerOf(GoldenFile golden)
    {
        var a = golden.Attributes;
        float eps = (float)a.GetProperty("eps").GetDouble();
        bool affine = a.GetProperty("affine").GetBoolean();
        return a.GetProperty("type").GetString() switch
        {
            "LayerNorm" => new LayerNorm([.. a.GetProperty("normalizedShape").EnumerateArray().Select(e => e.GetInt32())], eps, affine),
            "GroupNorm" => new GroupNorm(a.GetProperty("numGroups").GetInt32(), a.GetProperty("numChannels").GetInt32(), eps, affine),
            _ => new InstanceNorm2d(a.GetProperty("numFeatures").GetInt32(), eps, affine),
        };
    }

    [TestCase("layernorm_last_axis")]
    [TestCase("layernorm_features")]
    [TestCase("layernorm_chw")]
    [TestCase("layernorm_no_affine")]
    [TestCase("groupnorm_g2_c6")]
    [TestCase("groupnorm_g3_c3_rank3")]
    [TestCase("groupnorm_g1_no_affine")]
    [TestCase("instancenorm2d")]
    [TestCase("instancenorm2d_affine")]
    public void BothBackends_MatchPyTorch(string file)
    {
        var golden = GoldenFile.Load(file);
        var layer = LayerOf(golden);
        Assert.That(layer.IsAffine, Is.EqualTo(golden.Contains("weight")));
        Assert.That(layer.Parameters.Select(p => p.Name), Is.EqualTo(layer.IsAffine ? new[] { "weight", "bias" } : Array.Empty<string>()), "PyTorch's state-dict names");
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using Tensor x = golden.Upload(backend, "x"), dy = golden.Upload(backend, "dy");
            using Tensor y = backend.Allocate(x.Shape, "y"), dx = backend.Allocate(x.Shape, "dx");
            Tensor[] parameters = layer.IsAffine ? [golden.Upload(backend, "weight"), golden.Upload(backend, "bias")] : [];
            Tensor[] grads = [.. parameters.Select(p => backend.Allocate(p.Shape, "d" + p.Name))];
            using (var run = new LayerPass(layer, backend, x, dx, y, parameters, grads))
            {
                run.Forward();
                run.Backward(dy);
            }
            TensorAssert.AreClose(golden.Data("y"), y.ToArray(), 1e-5, $"{file}.y on {backend.Name}");
            TensorAssert.AreClose(golden.Data("dx"), dx.ToArray(), 1e-4, $"{file}.dx on {backend.Name}");
            if (layer.IsAffine)
            {
                // sums over the batch and the positions in another order than PyTorch's
                TensorAssert.AreClose(golden.Data("dweight"), grads[0].ToArray(), 1e-4, $"{file}.dweight on {backend.Name}");
                TensorAssert.AreClose(golden.Data("dbias"), grads[1].ToArray(), 1e-4, $"{file}.dbias on {backend.Name}");
            }
            foreach (var t in parameters.Concat(grads)) t.Dispose();
        }
    }

    public static IEnumerable<TestCaseData> Layers()
    {
        yield return new TestCaseData(new LayerNorm([5]), new TensorShape(7, 5)).SetName("LayerNorm (7,5) over 5");
        yield return new TestCaseData(new LayerNorm([3, 7], 1e-3f), new TensorShape(3, 2, 3, 7)).SetName("LayerNorm (3,2,3,7) over (3,7)");
        yield return new TestCaseData(new LayerNorm([2, 3], elementwiseAffine: false), new TensorShape(5, 2, 3)).SetName("LayerNorm without affine");
        yield return new TestCaseData(new GroupNorm(3, 6), new TensorShape(5, 6, 3, 3)).SetName("GroupNorm 3 groups of 2 channels");
        yield return new TestCaseData(new GroupNorm(2, 4), new TensorShape(3, 4, 7)).SetName("GroupNorm (N,C,L)");
        yield return new TestCaseData(new GroupNorm(1, 10, affine: false), new TensorShape(3, 10)).SetName("GroupNorm (N,C) one group, no affine");
        yield return new TestCaseData(new InstanceNorm2d(5, affine: true), new TensorShape(3, 5, 7, 3)).SetName("InstanceNorm2d affine");
        yield return new TestCaseData(new InstanceNorm2d(2), new TensorShape(1, 2, 9, 5)).SetName("InstanceNorm2d");
    }

    [TestCaseSource(nameof(Layers))]
    public void FiniteDifferences_OnTheCpu(RowNorm layer, TensorShape shape)
        => LayerPass.CheckGradients(layer, shape, new GradientCheck(new Random(shape.Length)), 2, 1);

    [TestCaseSource(nameof(Layers))]
    public void GL_MatchesCpu(RowNorm layer, TensorShape shape)
    {
        using var twins = new TwinBackends(Backend, shape.Length * 7 + layer.Parameters.Count);
        LayerPass.CompareBackends(twins, layer, shape, 3, 2);
    }

    [Test]
    public void TrainingSteps_AllocateNothingAndReadNothingBack()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("x", new TensorShape(3, 6, 5));
        graph.Add("conv", new Conv2d(3, 4, 3, stride: 2, padding: 1), x);                          // (4,3,3)
        graph.Add("gn", new GroupNorm(2, 4), "conv");
        graph.Add("up", new ConvTranspose2d(4, 6, Window2d.Square(3, 2, 1), (1, 1), groups: 2), "gn"); // (6,6,6)
        graph.Add("inorm", new InstanceNorm2d(6, affine: true), "up");
        graph.Add("act", Activation.ReLU(), "inorm");
        graph.Add("ln", new LayerNorm([6, 6]), "act");
        graph.Add("pool", new GlobalAvgPool2d(), "ln");
        graph.Add("flatten", new Flatten(), "pool");
        graph.Add("fc", new Linear(6, 3), "flatten");
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using var network = Network.Create(graph, backend, seed: 2);
            using var plan = ExecutionPlan.ForTraining(network, 4);
            var random = new Random(5);
            plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(_ => (float)random.NextDouble()).ToArray());
            plan.Target!.Upload(Enumerable.Range(0, plan.Target.Length).Select(i => i % 3 == i / 3 % 3 ? 1f : 0f).ToArray());
            using var optimizer = new Sgd(0.05f, momentum: 0.9f);
            plan.TrainStep(optimizer);
            float first = plan.ReadLoss();
            // the shared warm-up (long enough for tiered JIT: 3 steps were not), then 20 steps with no allocation or readback
            AllocationAssert.SteadyStateAllocatesNothing(_ =>
            {
                plan.TrainStep(optimizer);
                plan.Forward(training: false);
            }, 20, $"managed bytes allocated by 20 steps on {backend.Name}", backend);
            Assert.That(plan.ReadLoss(), Is.LessThan(first), $"the loss falls on {backend.Name}");
        }
    }

    [Test]
    public void ShapesAndSizes_AreChecked()
    {
        Assert.That(() => new LayerNorm([4]).InferOutputShape("ln", [new TensorShape(2, 5)]),
            Throws.TypeOf<ShapeException>().With.Message.Contains("ln: LayerNorm over the last axes (4)").And.Message.Contains("(2,5)"));
        Assert.That(() => new LayerNorm([2, 3]).InferOutputShape("ln", [new TensorShape(2, 3)]), Throws.TypeOf<ShapeException>(), "the batch axis is never normalized");
        Assert.That(() => new LayerNorm([]), Throws.TypeOf<ShapeException>());
        Assert.That(() => new LayerNorm([0]), Throws.TypeOf<ShapeException>());
        Assert.That(() => new GroupNorm(4, 6), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("divide the 6 channels"));
        Assert.That(() => new GroupNorm(2, 6).InferOutputShape("gn", [new TensorShape(2, 4, 3, 3)]),
            Throws.TypeOf<ShapeException>().With.Message.Contains("needs 6 channels, got 4"));
        Assert.That(() => new InstanceNorm2d(3).InferOutputShape("in", [new TensorShape(2, 3, 5)]),
            Throws.TypeOf<ShapeException>().With.Message.Contains("InstanceNorm2d takes (N,3,H,W)"));
        Assert.That(() => new InstanceNorm2d(3, eps: 0f), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(new GroupNorm(2, 6).WorkspaceShapes([new TensorShape(5, 6, 3, 3)], new TensorShape(5, 6, 3, 3)),
            Is.EqualTo(new[] { new TensorShape(10), new TensorShape(10) }), "one mean and inverse deviation per (item, group)");
    }
}

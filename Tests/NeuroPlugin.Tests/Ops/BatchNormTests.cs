namespace NeuroPlugin.Tests.Ops;

/// <summary>Batch normalization on the CPU reference: finite differences, PyTorch golden files, the layer's
/// validation, buffers in the network, the execution plan and the model file.</summary>
public class BatchNormTests
{
    readonly CpuBackend cpu = new();

    [TestCaseSource(typeof(BatchNormChecks), nameof(BatchNormChecks.GoldenFiles))]
    public void MatchesPyTorch(string file) => BatchNormChecks.MatchesPyTorch(cpu, file);

    static IEnumerable<TestCaseData> GradientCases()
    {
        foreach (bool training in new[] { true, false })
        {
            string mode = training ? "training" : "eval";
            yield return new TestCaseData(new TensorShape(7, 5), training).SetArgDisplayNames($"(7,5) {mode}");
            yield return new TestCaseData(new TensorShape(2, 3, 4, 5), training).SetArgDisplayNames($"(2,3,4,5) {mode}");
            yield return new TestCaseData(new TensorShape(1, 3, 3, 3), training).SetArgDisplayNames($"(1,3,3,3) {mode}");
            yield return new TestCaseData(new TensorShape(3, 1, 2, 2), training).SetArgDisplayNames($"(3,1,2,2) {mode}");
        }
    }

    [TestCaseSource(nameof(GradientCases))]
    public void GradientsMatchFiniteDifferences(TensorShape shape, bool training)
    {
        var check = new GradientCheck(new Random(shape.Length * 7 + (training ? 1 : 0)));
        var channels = new TensorShape(shape[1]);
        var x = Upload(check.RandomValues(shape.Length, 1.0), shape, "x");
        var gamma = Upload(check.RandomValues(channels.Length, 1.0).Select(v => v + 1.5f).ToArray(), channels, "weight");
        var beta = Upload(check.RandomValues(channels.Length, 1.0), channels, "bias");
        var runningMean = Upload(check.RandomValues(channels.Length, 0.5), channels, "running_mean");
        var runningVar = Upload(check.RandomValues(channels.Length, 0.5).Select(v => v + 1f).ToArray(), channels, "running_var");
        Tensor saveMean = cpu.Allocate(channels, "save_mean"), saveInvStd = cpu.Allocate(channels, "save_inv_std");
        Tensor y = cpu.Allocate(shape, "y"), dx = cpu.Allocate(shape, "dx"), dGamma = cpu.Allocate(channels, "dweight"), dBeta = cpu.Allocate(channels, "dbias");
        // momentum 0: the running statistics, which eval mode reads, stay fixed across the repeated forwards
        check.Run($"BatchNorm {shape} {(training ? "training" : "eval")}", [x, gamma, beta], y,
            () => cpu.BatchNormForward(x, gamma, beta, runningMean, runningVar, saveMean, saveInvStd, y, training, 0f, 1e-5f),
            [dx, dGamma, dBeta], dy => cpu.BatchNormBackward(x, gamma, saveMean, saveInvStd, dy, dx, dGamma, dBeta, training));
    }

    [Test]
    public void BackwardSkipsNullGradients()
    {
        var shape = new TensorShape(3, 2, 2, 2);
        var channels = new TensorShape(2);
        var random = new GradientCheck(new Random(3));
        var x = Upload(random.RandomValues(shape.Length, 1), shape, "x");
        var dy = Upload(random.RandomValues(shape.Length, 1), shape, "dy");
        var gamma = Upload([1.5f, 0.5f], channels, "weight");
        var beta = Upload([0.1f, -0.2f], channels, "bias");
        Tensor runningMean = cpu.Allocate(channels, "rm"), runningVar = Upload([1f, 1f], channels, "rv");
        Tensor saveMean = cpu.Allocate(channels, "m"), saveInvStd = cpu.Allocate(channels, "s"), y = cpu.Allocate(shape, "y");
        cpu.BatchNormForward(x, gamma, beta, runningMean, runningVar, saveMean, saveInvStd, y, true, 0.1f, 1e-5f);
        Tensor dxAll = cpu.Allocate(shape, "dx"), dGammaAll = cpu.Allocate(channels, "dw"), dBetaAll = cpu.Allocate(channels, "db");
        cpu.BatchNormBackward(x, gamma, saveMean, saveInvStd, dy, dxAll, dGammaAll, dBetaAll, true);
        Tensor dxOnly = cpu.Allocate(shape, "dx only"), dGammaOnly = cpu.Allocate(channels, "dw only");
        cpu.BatchNormBackward(x, gamma, saveMean, saveInvStd, dy, dxOnly, null, null, true);
        cpu.BatchNormBackward(x, gamma, saveMean, saveInvStd, dy, null, dGammaOnly, null, true);
        Assert.That(dxOnly.ToArray(), Is.EqualTo(dxAll.ToArray()), "dx without dγ, dβ");
        Assert.That(dGammaOnly.ToArray(), Is.EqualTo(dGammaAll.ToArray()), "dγ without dx, dβ");
    }

    [Test]
    public void InvalidHyperParametersThrowNamingTheParameter()
    {
        Assert.That(() => new BatchNorm2d(3, eps: 0f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("eps"));
        Assert.That(() => new BatchNorm1d(3, eps: -1e-5f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("eps"));
        Assert.That(() => new BatchNorm2d(3, eps: float.NaN), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("eps"));
        Assert.That(() => new BatchNorm2d(3, momentum: 1f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("momentum"));
        Assert.That(() => new BatchNorm1d(3, momentum: -0.1f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("momentum"));
        Assert.That(() => new BatchNorm2d(0), Throws.TypeOf<ShapeException>().With.Message.Contains("numFeatures 0"));
    }

    [Test]
    public void ShapeInferenceNamesTheNodeAndBothShapes()
    {
        var bn = new BatchNorm2d(4);
        Assert.That(bn.InferOutputShape("bn1", [new TensorShape(2, 4, 5, 6)]), Is.EqualTo(new TensorShape(2, 4, 5, 6)));
        Assert.That(() => bn.InferOutputShape("bn1", [new TensorShape(2, 3, 5, 6)]),
            Throws.TypeOf<ShapeException>().With.Message.EqualTo("bn1: input (2,3,5,6) needs 4 channels, got 3"));
        Assert.That(() => bn.InferOutputShape("bn1", [new TensorShape(2, 4)]), Throws.TypeOf<ShapeException>().With.Message.StartsWith("bn1: BatchNorm2d takes (N,4,H,W)"));
        var bn1d = new BatchNorm1d(6);
        Assert.That(bn1d.InferOutputShape("bn2", [new TensorShape(5, 6)]), Is.EqualTo(new TensorShape(5, 6)));
        Assert.That(() => bn1d.InferOutputShape("bn2", [new TensorShape(5, 6, 2, 2)]), Throws.TypeOf<ShapeException>().With.Message.StartsWith("bn2: BatchNorm1d takes"));
    }

    /// <summary>input (2,4,4) → conv (3 channels) → bn1 → flatten → fc (2): one batch-norm node with buffers.</summary>
    static NetworkGraph SmallGraph()
    {
        var graph = new NetworkGraph();
        graph.AddInput("image", TensorShape.Of([2, 4, 4]));
        graph.Add("conv1", new Conv2d(2, 3, 3, padding: 1), "image");
        graph.Add("bn1", new BatchNorm2d(3, momentum: 0.25f), "conv1");
        graph.Add("flatten", new Flatten(), "bn1");
        graph.Add("fc", new Linear(48, 2), "flatten");
        return graph;
    }

    [Test]
    public void NetworkHoldsBuffersBesideParameters()
    {
        using var network = Network.Create(SmallGraph(), cpu, seed: 3);
        Assert.That(network.ParameterNames, Is.EqualTo(new[] { "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "fc.weight", "fc.bias" }));
        Assert.That(network.BufferNames, Is.EqualTo(new[] { "bn1.running_mean", "bn1.running_var" }));
        Assert.That(network.Buffer("bn1.running_mean").ToArray(), Is.EqualTo(new[] { 0f, 0f, 0f }));
        Assert.That(network.Buffer("bn1.running_var").ToArray(), Is.EqualTo(new[] { 1f, 1f, 1f }));
        Assert.That(network.Parameter("bn1.weight").ToArray(), Is.EqualTo(new[] { 1f, 1f, 1f }), "γ starts at 1");
        Assert.That(network.Parameter("bn1.bias").ToArray(), Is.EqualTo(new[] { 0f, 0f, 0f }), "β starts at 0");
        Assert.That(network.ParameterCount, Is.EqualTo(2 * 3 * 9 + 3 + 3 + 3 + 48 * 2 + 2), "learnable values only");
        Assert.That(() => network.Buffer("bn1.num_batches_tracked"), Throws.TypeOf<GraphException>().With.Message.Contains("no buffer named"));
        using var plan = ExecutionPlan.ForTraining(network, 4);
        Assert.That(plan.Parameters.Select(p => p.Name), Is.EqualTo(network.ParameterNames), "the optimizer sees parameters only");
    }

    [Test]
    public void TrainingStepUpdatesRunningStatisticsAndEvalReadsThem()
    {
        using var network = Network.Create(SmallGraph(), cpu, seed: 3);
        using var plan = ExecutionPlan.ForTraining(network, 4);
        var random = new GradientCheck(new Random(5));
        plan.Input.Upload(random.RandomValues(plan.Input.Length, 1));
        plan.Target!.Upload([1, 0, 0, 1, 1, 0, 0, 1]);
        using var optimizer = new Sgd(0.1f);
        plan.TrainStep(optimizer);

        // running = 0.75·initial + 0.25·batch statistic of the conv output (unbiased variance over N·H·W = 64)
        float[] conv = plan.Tensor("conv1").ToArray();
        float[] mean = network.Buffer("bn1.running_mean").ToArray(), variance = network.Buffer("bn1.running_var").ToArray();
        for (int c = 0; c < 3; c++)
        {
            var values = Enumerable.Range(0, 4).SelectMany(n => conv.Skip((n * 3 + c) * 16).Take(16)).Select(v => (double)v).ToArray();
            double mu = values.Average(), unbiased = values.Sum(v => (v - mu) * (v - mu)) / (values.Length - 1);
            Assert.That(mean[c], Is.EqualTo(0.25 * mu).Within(1e-6 + 1e-5 * Math.Abs(mu)), $"running_mean[{c}]");
            Assert.That(variance[c], Is.EqualTo(0.75 + 0.25 * unbiased).Within(1e-5 * (1 + unbiased)), $"running_var[{c}]");
        }

        // eval mode normalizes with those running statistics: y = (x − running_mean)/√(running_var + ε)·γ + β
        plan.Forward(training: false);
        float[] gamma = network.Parameter("bn1.weight").ToArray(), beta = network.Parameter("bn1.bias").ToArray();
        conv = plan.Tensor("conv1").ToArray();
        float[] bn = plan.Tensor("bn1").ToArray();
        for (int i = 0; i < bn.Length; i++)
        {
            int c = i / 16 % 3;
            double expected = (conv[i] - mean[c]) / Math.Sqrt(variance[c] + 1e-5) * gamma[c] + beta[c];
            Assert.That(bn[i], Is.EqualTo(expected).Within(1e-5 * (1 + Math.Abs(expected))), $"eval bn1[{i}]");
        }
        Assert.That(network.Buffer("bn1.running_mean").ToArray(), Is.EqualTo(mean), "eval leaves the running statistics alone");
    }

    [Test]
    public void TrainingWithOneValuePerChannelThrows()
    {
        var graph = new NetworkGraph();
        graph.AddInput("features", TensorShape.Of([4]));
        graph.Add("fc", new Linear(4, 3), "features");
        graph.Add("bn", new BatchNorm1d(3), "fc");
        using var network = Network.Create(graph, cpu, seed: 1);
        using var plan = ExecutionPlan.ForTraining(network, 1);
        Assert.That(() => plan.Forward(), Throws.InvalidOperationException.With.Message.StartsWith("bn: BatchNorm1d in training mode needs more than one value per channel"));
        Assert.That(() => plan.Forward(training: false), Throws.Nothing, "eval mode works at batch 1");
    }

    [Test]
    public void LayerRegistryRoundTripsAttributes()
    {
        foreach (Layer layer in new Layer[] { new BatchNorm1d(7, 1e-3f, 0.3f), new BatchNorm2d(5), new BatchNorm2d(2, 0.5f, 0f) })
        {
            var copy = LayerRegistry.Create(layer.Type, layer.Attributes());
            Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
            Assert.That(copy.ToString(), Is.EqualTo(layer.ToString()));
            var (original, read) = ((BatchNorm)layer, (BatchNorm)copy);
            Assert.That((read.NumFeatures, read.Epsilon, read.Momentum), Is.EqualTo((original.NumFeatures, original.Epsilon, original.Momentum)));
        }
        Assert.That(() => LayerRegistry.Create("BatchNorm2d", new() { ["numFeatures"] = 3, ["eps"] = 1e-5, ["momentum"] = "fast" }),
            Throws.TypeOf<FormatException>().With.Message.Contains("'momentum'"));
    }

    [Test]
    public void ModelFileRoundTripsBuffers()
    {
        using var temp = new TempFolder("neuro-bn");
        string folder = temp.Path;
        using var network = Network.Create(SmallGraph(), cpu, seed: 3);
        using (var plan = ExecutionPlan.ForTraining(network, 4))
        {
            plan.Input.Upload(new GradientCheck(new Random(8)).RandomValues(plan.Input.Length, 1));
            plan.Target!.Upload([1, 0, 0, 1, 1, 0, 0, 1]);
            using var optimizer = new Sgd(0.1f);
            for (int i = 0; i < 3; i++) plan.TrainStep(optimizer); // buffers away from their initial values
        }
        string path = Path.Combine(folder, "bn.neuro");
        ModelFile.Save(network, path);
        using var loaded = ModelFile.Load(path, cpu);
        Assert.That(loaded.BufferNames, Is.EqualTo(network.BufferNames));
        foreach (string name in network.BufferNames)
        {
            Assert.That(loaded.Buffer(name).ToArray(), Is.EqualTo(network.Buffer(name).ToArray()), name);
            Assert.That(loaded.Buffer(name).ToArray(), Is.Not.EqualTo(name.EndsWith("var") ? new[] { 1f, 1f, 1f } : new[] { 0f, 0f, 0f }), $"{name} was trained");
        }
        foreach (string name in network.ParameterNames)
            Assert.That(loaded.Parameter(name).ToArray(), Is.EqualTo(network.Parameter(name).ToArray()), name);
        Assert.That(loaded.Graph.Nodes.Select(n => n.Layer.ToString()), Is.EqualTo(network.Graph.Nodes.Select(n => n.Layer.ToString())));

        // a file whose buffer has another name is rejected, naming the tensor
        byte[] bytes = File.ReadAllBytes(path);
        string renamed = Path.Combine(folder, "renamed.neuro");
        File.WriteAllBytes(renamed, Replace(bytes, "\"bn1.running_var\"", "\"bn1.running_vax\""));
        Assert.That(() => ModelFile.Load(renamed, cpu), Throws.TypeOf<ModelFileException>().With.Message.Contains("'bn1.running_vax' is not a parameter or buffer"));
        // and one whose buffer has the wrong shape (running_var is last: its shape [3] follows its name)
        string reshaped = Path.Combine(folder, "reshaped.neuro");
        File.WriteAllBytes(reshaped, Replace(bytes, "\"bn1.running_var\":{\"dtype\":\"F32\",\"shape\":[3]", "\"bn1.running_var\":{\"dtype\":\"F32\",\"shape\":[4]"));
        Assert.That(() => ModelFile.Load(reshaped, cpu), Throws.TypeOf<ModelFileException>().With.Message.Contains("bn1.running_var.shape must be (3)"));
    }

    static byte[] Replace(byte[] file, string from, string to)
    {
        string text = Encoding.Latin1.GetString(file);
        Assert.That(text, Does.Contain(from));
        return Encoding.Latin1.GetBytes(text.Replace(from, to));
    }

    Tensor Upload(float[] values, TensorShape shape, string name)
    {
        var tensor = cpu.Allocate(shape, name);
        tensor.Upload(values);
        return tensor;
    }
}

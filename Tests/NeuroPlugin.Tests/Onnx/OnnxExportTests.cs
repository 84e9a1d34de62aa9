using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>Export (our network → ONNX → ONNX Runtime equals our output), the round trip back through import, and
/// fine-tuning an imported model on both backends.</summary>
public sealed class OnnxExportTests : GLFixture
{
    /// <summary>A network with every exportable layer kind, including grouped convolution and eval-mode batch norm.</summary>
    internal static NetworkGraph EveryLayer()
    {
        var g = new NetworkGraph();
        string x = g.AddInput("image", new TensorShape(3, 8, 8));
        string c1 = g.Add("conv1", new Conv2d(3, 6, kernelSize: 3, padding: 1), x);
        string bn = g.Add("bn1", new BatchNorm2d(6, eps: 1e-3f, momentum: 0.2f), c1);
        string a1 = g.Add("leaky", Activation.LeakyReLU(0.1f), bn);
        string c2 = g.Add("grouped", new Conv2d(6, 6, new Window2d(3, 3, 1, 1, 1, 1, 1, 1), bias: false, groups: 3), a1);
        string a2 = g.Add("hardswish", Activation.HardSwish(), c2);
        string sum = g.Add("residual", new Add(), a1, a2);
        string lrn = g.Add("lrn", new LocalResponseNorm(3, 0.01f, 0.75f, 2f), sum);
        string mp = g.Add("maxpool", new MaxPool2d(2), lrn);
        string ap = g.Add("avgpool", new AvgPool2d(new Window2d(3, 3, 1, 1, 1, 1, 1, 1), countIncludePad: false), mp);
        string silu = g.Add("silu", Activation.SiLU(), ap);
        string gap = g.Add("gap", new GlobalAvgPool2d(), silu);
        string flat = g.Add("flatten", new Flatten(), gap);
        string fc = g.Add("squeeze", new Linear(6, 6), flat);
        string gate = g.Add("gate", Activation.HardSigmoid(), fc);
        string scaled = g.Add("scale", new ChannelMultiply(), silu, gate);
        string gmp = g.Add("gmp", new GlobalMaxPool2d(), scaled);
        string cat = g.Add("concat", new Concat(3), scaled, silu, ap);
        string adaptive = g.Add("adaptive", new AdaptiveAvgPool2d(2, 2), cat);
        string f2 = g.Add("flatten2", new Flatten(), adaptive);
        string fc2 = g.Add("fc2", new Linear(72, 10), f2);
        string r6 = g.Add("relu6", Activation.ReLU6(), fc2);
        string drop = g.Add("dropout", new Dropout(0.2f), r6);
        string bn1d = g.Add("bn2", new BatchNorm1d(10), drop);
        string tanh = g.Add("tanh", Activation.Tanh(), bn1d);
        string shifted = g.Add("shifted", new Elementwise(BinaryOp.Sub, new TensorShape(10), constantFirst: true, learnable: true, value: 0.5f), tanh);
        string maximum = g.Add("maximum", new Elementwise(BinaryOp.Maximum), shifted, tanh);
        string erf = g.Add("erf", new ElementwiseFunction(UnaryOp.Erf), maximum);
        string gelu = g.Add("gelu", Activation.GELU(), erf);
        string geluTanh = g.Add("gelu_tanh", Activation.GELUTanh(), gelu);
        string prelu = g.Add("prelu", new PReLU(10, init: -0.3f), geluTanh);
        string sig = g.Add("sigmoid", Activation.Sigmoid(), prelu);
        string relu = g.Add("relu", Activation.ReLU(), sig);
        g.Add("softmax", new Softmax(), relu);
        _ = gmp; // a dead branch: exported and imported too, not the output
        return g;
    }

    /// <summary>The layers of the general ONNX operators: the shape layers (Permute, Slice backwards, IndexSelect with a
    /// repeat, Reshape, a squeeze and an unsqueeze, Concat along axis 2), element-wise arithmetic of two tensors and the math functions, the four
    /// reductions (kept and dropped axes), softmax over a middle axis and log-softmax over the channels, to 4 logits.</summary>
    internal static NetworkGraph GeneralOps()
    {
        var g = new NetworkGraph();
        string x = g.AddInput("image", new TensorShape(3, 6, 6));
        string conv = g.Add("conv", new Conv2d(3, 4, kernelSize: 3, padding: 1), x);                        // (N,4,6,6)
        string permuted = g.Add("permute", new Permute(0, 2, 3, 1), conv);                                   // (N,6,6,4)
        string sliced = g.Add("slice", new Slice([1], [-1], [-100], [-2]), permuted);                        // (N,3,6,4)
        string selected = g.Add("index_select", new IndexSelect(3, 2, 0, 2), sliced);                        // (N,3,6,3)
        string rows = g.Add("reshape", new Reshape(3, 18), selected);                                        // (N,3,18)
        string mean = g.Add("mean", new Reduce(ReduceOp.Mean, [2]), rows);                                  // (N,3,1)
        string centred = g.Add("centred", new Elementwise(BinaryOp.Sub), rows, mean);
        string magnitude = g.Add("abs", new ElementwiseFunction(UnaryOp.Abs), centred);
        string root = g.Add("sqrt", new ElementwiseFunction(UnaryOp.Sqrt), magnitude);
        string largest = g.Add("max", new Reduce(ReduceOp.Max, [1]), root);                                 // (N,1,18)
        string smaller = g.Add("minimum", new Elementwise(BinaryOp.Minimum), root, largest);
        string squared = g.Add("pow", new Elementwise(BinaryOp.Pow, new TensorShape(1), value: 2f), smaller);
        string least = g.Add("min", new Reduce(ReduceOp.Min, [2], keepDims: false), centred);               // (N,3)
        string column = g.Add("unsqueeze", new Reshape(3, 1), least);                                       // (N,3,1)
        string weighted = g.Add("weighted", new Elementwise(BinaryOp.Mul), centred, column);
        string joined = g.Add("concat", new Concat(2, dim: 2), squared, weighted);                           // (N,3,36)
        string probabilities = g.Add("softmax", new Softmax(2), joined);
        string logProbabilities = g.Add("log_softmax", new Softmax(1, logarithm: true), joined);
        string product = g.Add("product", new Elementwise(BinaryOp.Mul), probabilities, logProbabilities);
        string negated = g.Add("neg", new ElementwiseFunction(UnaryOp.Neg), product);
        string entropy = g.Add("sum", new Reduce(ReduceOp.Sum, [2], keepDims: false), negated);             // (N,3)
        string exp = g.Add("exp", new ElementwiseFunction(UnaryOp.Exp), least);
        string reciprocal = g.Add("reciprocal", new ElementwiseFunction(UnaryOp.Reciprocal), exp);
        string log = g.Add("log", new ElementwiseFunction(UnaryOp.Log), exp);
        string ratio = g.Add("div", new Elementwise(BinaryOp.Div), reciprocal, exp);
        string total = g.Add("total", new Elementwise(BinaryOp.Maximum), entropy, ratio);
        string shifted = g.Add("shifted", new Elementwise(BinaryOp.Add), total, log);
        string meanRow = g.Add("squeeze", new Reshape(3), mean);                                            // (N,3)
        string centredRow = g.Add("centred_row", new Elementwise(BinaryOp.Sub), shifted, meanRow);
        g.Add("fc", new Linear(3, 4), centredRow);
        return g;
    }

    /// <summary>A convolution followed by <paramref name="upsample"/> (node <c>resize</c>) on 2×4×6 images.</summary>
    internal static NetworkGraph UpsampleNetwork(Upsample upsample)
    {
        var g = new NetworkGraph();
        string x = g.AddInput("image", new TensorShape(2, 4, 6));
        string conv = g.Add("conv", new Conv2d(2, 3, kernelSize: 3, padding: 1), x);
        g.Add("resize", upsample, conv);
        return g;
    }

    internal static void RandomizeBuffers(Network network, int seed)
    {
        var random = new Random(seed);
        foreach (string name in network.BufferNames)
        {
            var buffer = network.Buffer(name);
            bool variance = name.EndsWith("running_var", StringComparison.Ordinal);
            buffer.Upload(Enumerable.Range(0, buffer.Length).Select(_ => (float)(variance ? 0.5 + random.NextDouble() : random.NextDouble() - 0.5)).ToArray());
        }
    }

    [TestCase("every_layer")]
    [TestCase("general_ops")]
    [TestCase("lenet5")]
    public void ExportedModel_RunsInOnnxRuntimeWithOurResults_AndImportsBack(string which)
    {
        var graph = which switch { "lenet5" => ModelZoo.Build("lenet5"), "general_ops" => GeneralOps(), _ => EveryLayer() };
        using var cpu = new CpuBackend();
        using var network = Network.Create(graph, cpu, seed: 5);
        RandomizeBuffers(network, 6);
        const int batch = 3;
        int[] dims = [batch, .. graph.Inputs[0].ItemShape.ToArray()];
        float[] input = OnnxRun.RandomInput(dims.Aggregate(1, (a, b) => a * b), seed: 8);
        var (ours, shape) = OnnxRun.Ours(network, input, batch);

        byte[] onnx = OnnxExporter.ToModel(network).ToByteArray();
        var (ort, ortShape) = OnnxRun.Ort(onnx, input, dims);
        Assert.That(ortShape, Is.EqualTo(shape), "ONNX Runtime's output shape");
        TensorAssert.AreClose(ours, ort, 1e-4, $"{which}: ONNX Runtime vs ours");

        // round trip: the exported file imports to the same network (same state-dict names) on the GL backend
        using var back = OnnxRun.Import(onnx, Backend);
        Assert.That(back.ParameterNames, Is.EquivalentTo(network.ParameterNames));
        var (again, _) = OnnxRun.Ours(back, input, batch);
        TensorAssert.AreClose(ours, again, 1e-4, $"{which}: re-imported on GL vs ours");
    }

    /// <summary>Bilinear Upsample by a fixed size (enlarging and shrinking, a 1-pixel output) and by scale factors exports
    /// as Resize, which ONNX Runtime runs with our results, and imports back as the same Upsample on GL.</summary>
    [TestCase(7, 5, 0f, 0f)]
    [TestCase(3, 1, 0f, 0f)]
    [TestCase(0, 0, 1.5f, 2.25f)]
    [TestCase(0, 0, 0.5f, 0.75f)]
    public void Upsample_ExportsAsResize(int height, int width, float scaleHeight, float scaleWidth)
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(UpsampleNetwork(height > 0 ? new Upsample(height, width) : Upsample.WithScaleFactor(scaleHeight, scaleWidth)), cpu, seed: 2);
        float[] input = OnnxRun.RandomInput(3 * 2 * 4 * 6, seed: 9);
        var (ours, shape) = OnnxRun.Ours(network, input, 3);
        byte[] onnx = OnnxExporter.ToModel(network).ToByteArray();
        var (ort, ortShape) = OnnxRun.Ort(onnx, input, [3, 2, 4, 6]);
        Assert.That(ortShape, Is.EqualTo(shape), "output shape in ONNX Runtime");
        TensorAssert.AreClose(ours, ort, 1e-4, "ONNX Runtime vs our CPU backend");

        using var back = OnnxRun.Import(onnx, Backend);
        Assert.That(back.Graph.Nodes.Single(n => n.Name == "resize").Layer.ToString(), Is.EqualTo(network.Graph.Nodes.Single(n => n.Name == "resize").Layer.ToString()));
        var (again, againShape) = OnnxRun.Ours(back, input, 3);
        Assert.That(againShape, Is.EqualTo(shape));
        TensorAssert.AreClose(ours, again, 1e-4, "re-imported on GL vs ours");
    }

    [Test]
    public void ExportWritesAFileAtomically()
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(ModelZoo.Build("lenet5"), cpu, seed: 1);
        using var folder = new TempFolder("neuro-export");
        string path = folder.Combine("lenet5.onnx");
        OnnxExporter.Export(network, path);
        var model = OnnxImporter.ReadModel(path);
        Assert.That(model.OpsetImport.Single().Version, Is.EqualTo(OnnxExporter.Opset));
        Assert.That(model.Graph!.Initializer.Select(t => t.Name), Does.Contain("conv1.weight"));
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { path }), "no temporary file left beside the model");
    }

    [Test]
    public void LayerWithoutOnnxForm_IsATypedError()
    {
        var g = new NetworkGraph();
        string x = g.AddInput("x", new TensorShape(2, 3, 3));
        g.Add("lrn", new LocalResponseNorm(4), x);
        using var cpu = new CpuBackend();
        using var network = Network.Create(g, cpu, seed: 1);
        var e = Assert.Throws<OnnxUnsupportedException>(() => OnnxExporter.ToModel(network))!;
        Assert.That(e.Node, Is.EqualTo("lrn"));
        Assert.That(e.Message, Does.Contain("only odd sizes"));
    }

    /// <summary>The imported LeNet-5 fine-tunes on both backends: the loss falls, and CPU and GL stay together.</summary>
    [Test]
    public void ImportedModel_FineTunesOnCpuAndGL()
    {
        string path = OnnxRun.FixturePath("lenet5.onnx");
        const int batch = 8, steps = 10;
        float[] images = OnnxRun.RandomInput(batch * 28 * 28, seed: 3);
        var targets = new float[batch * 10];
        for (int i = 0; i < batch; i++) targets[i * 10 + i % 10] = 1f;
        var losses = new List<float[]>();
        var weights = new List<float[]>();
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using var network = OnnxImporter.Import(path, backend);
            var curve = OnnxRun.FineTune(network, batch, images, targets, 0.05f, steps);
            losses.Add(curve);
            weights.Add(network.Parameter("fc3.weight").ToArray());
            Assert.That(curve[^1], Is.LessThan(curve[0] - 0.15f), $"{backend.Name}: loss {string.Join(", ", curve)} should fall");
        }
        TensorAssert.AreClose(losses[0], losses[1], 1e-3, "loss curve, GL vs CPU");
        TensorAssert.AreClose(weights[0], weights[1], 1e-3, "fc3.weight after fine-tuning, GL vs CPU");
    }
}

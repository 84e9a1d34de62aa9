using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

using NeuroPlugin.Serialization.Onnx;

namespace NeuroPlugin.Tests.Onnx;

/// <summary>Builds small ONNX models by hand (the proto classes the importer reads), for op coverage and malformed-file tests.</summary>
public sealed class OnnxBuilder
{
    readonly GraphProto graph = new() { Name = "test" };
    readonly Random random;
    readonly int opset;

    public OnnxBuilder(int opset = 13, int seed = 1)
    {
        this.opset = opset;
        random = new Random(seed);
    }

    internal GraphProto Graph => graph;

    /// <summary>A float input with a symbolic batch axis and fixed item sizes.</summary>
    public OnnxBuilder Input(string name, params long[] itemDims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new DimensionProto { DimParam = "N" });
        foreach (long d in itemDims) shape.Dim.Add(new DimensionProto { DimValue = d });
        graph.Input.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TensorTypeProto { ElemType = 1, Shape = shape } } });
        return this;
    }

    public OnnxBuilder Output(string name)
    {
        graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TensorTypeProto { ElemType = 1 } } });
        return this;
    }

    /// <summary>A float initializer with the given values, or uniform random values in [−scale, scale] (positive if <paramref name="positive"/>).</summary>
    public string Weight(string name, long[] dims, float[]? values = null, float scale = 0.5f, bool positive = false)
    {
        long count = dims.Aggregate(1L, (a, b) => a * b);
        values ??= Enumerable.Range(0, (int)count).Select(_ => positive ? 0.5f + (float)random.NextDouble() : (float)(random.NextDouble() * 2 - 1) * scale).ToArray();
        graph.Initializer.Add(OnnxTensorData.FromFloats(name, dims, values));
        return name;
    }

    public string IntTensor(string name, params long[] values)
    {
        graph.Initializer.Add(OnnxTensorData.FromInts(name, [values.Length], values));
        return name;
    }

    public string Scalar(string name, float value)
    {
        graph.Initializer.Add(OnnxTensorData.FromFloats(name, [], [value]));
        return name;
    }

    internal NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return node;
    }

    internal static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeType.Int, I = value };
    internal static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeType.Float, F = value };
    internal static AttributeProto Text(string name, string value) => OnnxExporter.String(name, value);
    internal static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    internal ModelProto Model(int? opsetOverride = null)
    {
        int version = opsetOverride ?? opset;
        // ONNX's IR version for the opset from 18 on (ONNX 1.13: 8, 1.14/1.15: 9, 1.16: 10); 7 below it, as before
        long irVersion = version switch { >= 21 => 10, >= 19 => 9, >= 18 => 8, _ => 7 };
        var model = new ModelProto { IrVersion = irVersion, ProducerName = "tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = version });
        return model;
    }

    public byte[] Bytes() => Model().ToByteArray();
}

/// <summary>Running models in ONNX Runtime and in our runtime, and random inputs.</summary>
static class OnnxRun
{
    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Onnx", "Fixtures", name);

    /// <summary>Fixture <paramref name="file"/> converted, and the layers of its graph's nodes in order.</summary>
    public static (ImportedModel Model, Layer[] Layers) ConvertFixture(string file)
    {
        var model = OnnxImporter.Convert(FixturePath(file));
        return (model, model.Graph.Nodes.Select(n => n.Layer).ToArray());
    }

    /// <summary>ONNX Runtime's output for <paramref name="input"/> of shape <paramref name="dims"/> (first input, first output).</summary>
    public static (float[] Values, int[] Shape) Ort(byte[] model, float[] input, int[] dims)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var tensor = new DenseTensor<float>(input, dims);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.First(), tensor)]);
        var output = results.First().AsTensor<float>();
        return (output.ToArray(), output.Dimensions.ToArray());
    }

    /// <summary>Our inference output on <paramref name="network"/>'s backend.</summary>
    public static (float[] Values, int[] Shape) Ours(Network network, float[] input, int batch)
    {
        using var plan = ExecutionPlan.ForInference(network, batch);
        plan.Input.Upload(input);
        plan.Forward();
        return (plan.Output.ToArray(), plan.Output.Shape.ToArray());
    }

    /// <summary>Trains <paramref name="network"/> on one batch with SGD (momentum 0.9) for <paramref name="steps"/> steps
    /// and returns the loss after each.</summary>
    public static float[] FineTune(Network network, int batch, float[] input, float[] targets, float learningRate, int steps)
    {
        using var plan = ExecutionPlan.ForTraining(network, batch);
        using var optimizer = new Optimizers.Sgd(learningRate, momentum: 0.9f);
        plan.Input.Upload(input);
        plan.Target!.Upload(targets);
        var curve = new float[steps];
        for (int s = 0; s < steps; s++)
        {
            plan.TrainStep(optimizer);
            curve[s] = plan.ReadLoss();
        }
        return curve;
    }

    /// <summary>Fine-tunes the fixture <paramref name="file"/> (input (batch, <paramref name="item"/>), default (3,6,5), and
    /// <paramref name="classes"/> logits) on the CPU and on <paramref name="gl"/> from the same start: the loss falls by more
    /// than 0.1 on each, the parameter that <paramref name="parameter"/> names changes, and both backends agree on the loss
    /// curve and that parameter.</summary>
    public static void FineTunesAlikeOnBothBackends(string file, IBackend gl, int seed, float learningRate, Func<Network, string> parameter, string what,
                                                    int[]? item = null, int classes = 4)
    {
        const int batch = 4, steps = 12;
        float[] images = RandomInput(batch * (item ?? [3, 6, 5]).Aggregate(1, (p, d) => p * d), seed);
        var targets = new float[batch * classes];
        for (int i = 0; i < batch; i++) targets[i * classes + i % classes] = 1f;
        var losses = new List<float[]>();
        var trained = new List<float[]>();
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, gl })
        {
            using var network = OnnxImporter.Import(FixturePath(file), backend);
            string name = parameter(network);
            float[] before = network.Parameter(name).ToArray();
            var curve = FineTune(network, batch, images, targets, learningRate, steps);
            losses.Add(curve);
            trained.Add(network.Parameter(name).ToArray());
            Assert.That(curve[^1], Is.LessThan(curve[0] - 0.1f), $"{backend.Name}: loss {string.Join(", ", curve)} should fall");
            Assert.That(trained[^1], Is.Not.EqualTo(before), $"{backend.Name}: {what} trains");
        }
        TensorAssert.AreClose(losses[0], losses[1], 1e-3, "loss curve, GL vs CPU");
        TensorAssert.AreClose(trained[0], trained[1], 1e-3, $"{what} after fine-tuning, GL vs CPU");
    }

    /// <summary>PyTorch's loss (<c>&lt;name&gt;.loss.npy</c>) and parameter gradients (<c>&lt;name&gt;.&lt;file&gt;.npy</c>, one per entry of
    /// <paramref name="gradients"/>: the parameter a function of the imported network names) against ours on the CPU and on
    /// <paramref name="gl"/>, for the fixture's input and the mean cross-entropy with the label of item i being i mod
    /// <paramref name="classes"/>: the loss within 1e-4, each gradient within 1e-3 relative.</summary>
    public static void GradientsMatchPyTorch(string name, IBackend gl, int classes, params (Func<Network, string> Parameter, string File, string What)[] gradients)
    {
        var (inputShape, input) = Npy.Read(FixturePath(name + ".input.npy"));
        var (_, loss) = Npy.Read(FixturePath(name + ".loss.npy"));
        int batch = inputShape[0];
        var targets = new float[batch * classes];
        for (int i = 0; i < batch; i++) targets[i * classes + i % classes] = 1f;
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, gl })
        {
            using var network = OnnxImporter.Import(FixturePath(name + ".onnx"), backend);
            using var plan = ExecutionPlan.ForTraining(network, batch);
            plan.Input.Upload(input);
            plan.Target!.Upload(targets);
            plan.ComputeGradients();
            Assert.That(plan.ReadLoss(), Is.EqualTo(loss[0]).Within(1e-4 * loss[0]), $"loss on {backend.Name}");
            foreach (var (parameter, file, what) in gradients)
            {
                var (_, expected) = Npy.Read(FixturePath($"{name}.{file}.npy"));
                int index = plan.Parameters.ToList().IndexOf(network.Parameter(parameter(network)));
                TensorAssert.AreClose(expected, plan.ParameterGradients[index].ToArray(), 1e-3, $"{what} on {backend.Name} vs PyTorch");
            }
        }
    }

    /// <summary>The input Tests/Golden/gen_onnx.py's pattern_input makes: element i is ((i·40503 + 12345) mod 65536) / 32768 − 1,
    /// exact in float32.</summary>
    public static float[] PatternInput(int length) =>
        [.. Enumerable.Range(0, length).Select(i => (float)((i * 40503L + 12345) % 65536 / 32768.0 - 1.0))];

    public static float[] RandomInput(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
    }

    /// <summary>Importing <paramref name="b"/>'s model (as <c>bad.onnx</c>) is an <see cref="OnnxUnsupportedException"/> naming
    /// <paramref name="node"/> and <paramref name="op"/>, whose message contains <paramref name="expected"/>.</summary>
    public static void AssertUnsupported(OnnxBuilder b, string node, string op, string expected)
    {
        using var cpu = new CpuBackend();
        var e = Assert.Throws<OnnxUnsupportedException>(() => Import(b.Bytes(), cpu, "bad.onnx").Dispose())!;
        Assert.That((e.Node, e.Op), Is.EqualTo((node, op)));
        Assert.That(e.Message, Does.StartWith("bad.onnx: ").And.Contain(expected));
    }

    /// <summary>A model of input <c>x</c> (items of shape <paramref name="input"/>) and the one node <paramref name="node"/> adds,
    /// whose first output is the graph's: importing it is unsupported, naming that node and its op
    /// (<see cref="AssertUnsupported"/>).</summary>
    public static void AssertNodeUnsupported(long[] input, Func<OnnxBuilder, NodeProto> node, string expected, int opset = 13)
    {
        var b = new OnnxBuilder(opset).Input("x", input);
        var added = node(b);
        AssertUnsupported(b.Output(added.Output[0]), added.Name, added.OpType, expected);
    }

    /// <summary>Imports <paramref name="model"/> on <paramref name="backend"/> from memory.</summary>
    public static Network Import(byte[] model, IBackend backend, string name = "test.onnx") =>
        OnnxImporter.Convert(OnnxImporter.Parse(model, name), null, name).CreateNetwork(backend);
}

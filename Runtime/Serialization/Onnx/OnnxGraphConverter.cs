using NeuroPlugin.Backends;
using NeuroPlugin.Graph;
using NeuroPlugin.Layers;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Converts one ONNX graph to a <see cref="NetworkGraph"/>, node by node in file order. Every ONNX value is either a
/// constant (initializers, Constant nodes, shapes, which fold at import time) or a <see cref="Live"/> tensor of our
/// graph seen through an ONNX shape: Flatten, Reshape and (Un)Squeeze only change that view, and a view becomes a
/// Flatten node when a layer needs it materialized. Layers are kept as <see cref="PendingNode"/>s until the end so
/// that a constant Add/Sub/Mul/Div right after a Conv, Gemm, MatMul or BatchNormalization folds into its weights.
/// Shapes are tracked at batch size 1 (the batch axis is symbolic in ONNX).
/// </summary>
internal sealed class OnnxGraphConverter
{
    abstract record Value;
    sealed record Const(OnnxConstant Constant) : Value;
    /// <summary>A tensor of our graph, seen with ONNX shape <paramref name="Shape"/> (batch 1); <paramref name="Pads"/> is
    /// padding (top, left, bottom, right) a Pad node added, waiting to be folded into the next Conv or AveragePool.</summary>
    sealed record Live(string Tensor, TensorShape Shape, int[]? Pads = null) : Value;
    /// <summary>x·P_Wᵀ, the first half of an adaptive average pooling written as two MatMuls (see
    /// <see cref="AdaptivePoolingMatrix"/>), waiting for the second, P_H·(x·P_Wᵀ), to become one layer.</summary>
    sealed record PooledColumns(Live Input, int OutputWidth) : Value;

    sealed class PendingNode(string name, Layer layer, string[] inputs)
    {
        public string Name { get; } = name;
        public Layer Layer { get; set; } = layer;
        public string[] Inputs { get; } = inputs;
        /// <summary>Parameter and buffer values by their name within the node (<c>weight</c>, <c>running_var</c>).</summary>
        public Dictionary<string, float[]> State { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>The ops <see cref="ConvertNode"/> turns into layers of our graph, which every backend runs (or into a view of
    /// a tensor: Flatten, Reshape, (Un)Squeeze, Identity, Cast). Kept in step with its switch: OnnxOperatorTableTests checks
    /// that every op a test model contains is listed here or in <see cref="FoldedOperators"/>, that each listed op is in
    /// some test model, and writes the table <c>Documentation~/OnnxOperators.md</c>.</summary>
    internal static readonly string[] LayerOperators =
    [
        "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Sum", "Mean", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSwish",
        "HardSigmoid", "Clip", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
        "ReduceMean", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Concat", "Softmax", "Dropout", "LRN", "Resize", "Identity", "Cast",
        "Pad", "Shape",
    ];

    /// <summary>The ops folded at import when every input is a constant (the shape arithmetic exporters emit around
    /// Flatten and Reshape, and Constant nodes): the cases of <see cref="Fold"/>.</summary>
    internal static readonly string[] FoldedOperators =
    [
        "Constant", "Identity", "Shape", "Cast", "Gather", "Unsqueeze", "Squeeze", "Reshape", "Concat", "Add", "Sub", "Mul",
        "Div", "ConstantOfShape", "Transpose", "Slice",
    ];

    readonly ModelProto model;
    readonly GraphProto graph;
    readonly string? folder;
    readonly string source;
    readonly Dictionary<string, Value> values = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> onnxUses = new(StringComparer.Ordinal);      // ONNX value → how many node inputs / graph outputs read it
    readonly Dictionary<string, int> tensorAliases = new(StringComparer.Ordinal); // our tensor → how many ONNX values name it
    readonly Dictionary<string, TensorShape> shapes = new(StringComparer.Ordinal); // our tensor → actual shape at batch 1
    readonly Dictionary<string, PendingNode> producers = new(StringComparer.Ordinal);
    readonly Dictionary<(string, TensorShape), string> flattened = [];
    readonly List<PendingNode> nodes = [];
    readonly List<GraphInput> inputs = [];
    readonly HashSet<string> usedNames = new(StringComparer.Ordinal);
    long opset;
    long? declaredBatch;

    public OnnxGraphConverter(ModelProto model, string? folder, string source)
    {
        this.model = model;
        graph = model.Graph ?? throw new OnnxFormatException(source, "the model has no graph");
        this.folder = folder;
        this.source = source;
    }

    public ImportedModel Convert()
    {
        opset = Opset();
        if (model.FunctionCount > 0) throw new OnnxUnsupportedException(source, "(model)", "FunctionProto", opset, "model-local functions are not supported");
        if (graph.SparseInitializerCount > 0) throw new OnnxUnsupportedException(source, "(graph)", "sparse_initializer", opset, "sparse initializers are not supported");
        foreach (var initializer in graph.Initializer)
        {
            if (initializer.Name.Length == 0) throw new OnnxFormatException(source, "an initializer has no name");
            if (!values.TryAdd(initializer.Name, new Const(OnnxTensorData.Read(initializer, folder, source))))
                throw new OnnxFormatException(source, $"initializer '{initializer.Name}' is defined twice");
        }
        foreach (var input in graph.Input)
            if (!values.ContainsKey(input.Name)) AddGraphInput(input); // older files also list initializers as inputs
        if (inputs.Count == 0) throw new OnnxFormatException(source, "the graph has no runtime input");

        foreach (var node in graph.Node)
            foreach (string name in node.Input)
                if (name.Length > 0) onnxUses[name] = onnxUses.GetValueOrDefault(name) + 1;
        foreach (var output in graph.Output) onnxUses[output.Name] = onnxUses.GetValueOrDefault(output.Name) + 1;

        for (int i = 0; i < graph.Node.Count; i++)
        {
            var node = new OnnxNodeReader(graph.Node[i], i, opset, source);
            if (node.Proto.Domain is not ("" or "ai.onnx"))
                throw node.Unsupported($"domain '{node.Proto.Domain}' is not supported (only ai.onnx)");
            if (node.Proto.Output.Count == 0 || node.Proto.Output[0].Length == 0) throw node.Malformed("has no output");
            Value result = ConvertNode(node);
            node.CheckAllAttributesRead();
            Define(node, node.Proto.Output[0], result);
        }

        if (graph.Output.Count != 1)
            throw new OnnxUnsupportedException(source, "(graph)", "output", opset, $"the graph has {graph.Output.Count} outputs; exactly one is supported");
        string outputName = graph.Output[0].Name;
        if (!values.TryGetValue(outputName, out var outputValue))
            throw new OnnxFormatException(source, $"graph output '{outputName}' is not produced by any node");
        if (outputValue is not Live live || !producers.ContainsKey(live.Tensor))
            throw new OnnxUnsupportedException(source, outputName, "output", opset, "the graph output must be computed by at least one node from the input");
        return Build(Materialize(null, live, "output"));
    }

    long Opset()
    {
        long? version = null;
        foreach (var set in model.OpsetImport)
            if (set.Domain is "" or "ai.onnx") version = set.Version;
        if (version is null) throw new OnnxFormatException(source, "opset_import has no ai.onnx entry");
        if (version < OnnxImporter.MinOpset || version > OnnxImporter.MaxOpset)
            throw new OnnxUnsupportedException(source, "(model)", "opset_import", version.Value,
                $"ai.onnx opset {version} is not supported (opsets {OnnxImporter.MinOpset} to {OnnxImporter.MaxOpset} are)");
        return version.Value;
    }

    void AddGraphInput(ValueInfoProto input)
    {
        OnnxFormatException Bad(string problem) => new(source, $"graph input '{input.Name}': {problem}");
        if (input.Name.Length == 0) throw Bad("has no name");
        var type = input.Type?.TensorType ?? throw Bad("is not a tensor");
        if (type.ElemType != (int)TensorDataType.Float)
            throw new OnnxUnsupportedException(source, input.Name, "input", opset, $"element type {type.ElemType} is not supported (only float32)");
        var dims = type.Shape?.Dim ?? throw Bad("has no shape");
        if (dims.Count < 2 || dims.Count > TensorShape.MaxRank)
            throw new OnnxUnsupportedException(source, input.Name, "input", opset, $"rank {dims.Count} is not supported: inputs are (N,features), (N,C,L) or (N,C,H,W)");
        if (dims[0].DimValue is long batch && batch > 0) declaredBatch ??= batch;
        var item = new int[dims.Count - 1];
        for (int i = 1; i < dims.Count; i++)
            item[i - 1] = dims[i].DimValue is long d && d > 0 && d <= int.MaxValue
                ? (int)d : throw new OnnxUnsupportedException(source, input.Name, "input", opset, $"axis {i} has no fixed positive size ('{dims[i].DimParam}'); only the batch axis may be symbolic");
        string name = UniqueName(input.Name);
        var shape = TensorShape.Of(item);
        inputs.Add(new GraphInput(name, shape));
        shapes[name] = shape.PrependBatch(1);
        tensorAliases[name] = 1;
        values[input.Name] = new Live(name, shapes[name]);
    }

    void Define(OnnxNodeReader node, string name, Value value)
    {
        if (values.ContainsKey(name)) throw node.Malformed($"output '{name}' is already defined (every value is assigned once)");
        values[name] = value;
        if (value is Live live) tensorAliases[live.Tensor] = tensorAliases.GetValueOrDefault(live.Tensor) + 1;
        for (int i = 1; i < node.Proto.Output.Count; i++)
            if (node.Proto.Output[i].Length > 0 && onnxUses.ContainsKey(node.Proto.Output[i]))
                throw node.Unsupported($"output {i} ('{node.Proto.Output[i]}') is used; only the first output is supported");
    }

    Value Input(OnnxNodeReader node, int index)
    {
        string name = node.Proto.Input[index];
        return values.TryGetValue(name, out var value) ? value
            : throw node.Malformed($"input '{name}' is not produced by an earlier node, an initializer or a graph input (dangling reference or cycle)");
    }

    OnnxConstant Constant(OnnxNodeReader node, int index, string what) =>
        Input(node, index) is Const c ? c.Constant : throw node.Unsupported($"{what} (input {index}) must be a constant");

    Live LiveInput(OnnxNodeReader node, int index, bool allowPads = false)
    {
        var value = Input(node, index);
        if (value is PooledColumns)
            throw node.Unsupported($"input {index} is x·P, a MatMul by an adaptive-pooling matrix, which is supported only as the input of the MatMul P_H·(x·P) that completes the pooling");
        if (value is not Live live) throw node.Unsupported($"input {index} is a constant; this op needs a tensor computed from the graph input");
        if (live.Pads is not null && !allowPads) throw node.Unsupported("its input comes from a Pad node, which is only supported right before a Conv or AveragePool");
        return live;
    }

    // ── the ops ──

    Value ConvertNode(OnnxNodeReader n)
    {
        if (n.Op == "Constant") return ConstantNode(n);
        if (n.InputCount > 0 && Enumerable.Range(0, n.InputCount).Where(n.HasInput).All(i => Input(n, i) is Const))
            return Fold(n);
        switch (n.Op)
        {
            case "Conv": return Conv(n);
            case "Gemm": return Gemm(n);
            case "MatMul": return MatMul(n);
            case "Add" or "Sub" or "Mul" or "Div": return Arithmetic(n);
            case "Sum":
                n.ExpectInputs(1, int.MaxValue);
                return n.InputCount == 1 ? LiveInput(n, 0) : AddLayer(n, null, new Add(n.InputCount), Enumerable.Range(0, n.InputCount).Select(i => LiveInput(n, i)).ToArray());
            case "Mean":
                // the element-wise mean: a FractalJoin that never drops an input (what our exporter writes for FractalNet's joins)
                n.ExpectInputs(1, int.MaxValue);
                return n.InputCount == 1 ? LiveInput(n, 0) : AddLayer(n, null,
                    new FractalJoin(Enumerable.Range(0, n.InputCount).ToArray(), n.InputCount, localDropProbability: 0f, globalFraction: 0f),
                    Enumerable.Range(0, n.InputCount).Select(i => LiveInput(n, i)).ToArray());
            case "Relu": return Activate(n, Activation.ReLU());
            case "Sigmoid": return Activate(n, Activation.Sigmoid());
            case "Tanh": return Activate(n, Activation.Tanh());
            case "LeakyRelu": return Activate(n, Activation.LeakyReLU(n.Float("alpha", 0.01f)));
            case "HardSwish": return Activate(n, Activation.HardSwish());
            case "HardSigmoid":
                float alpha = n.Float("alpha", 0.2f), beta = n.Float("beta", 0.5f);
                if (MathF.Abs(alpha - 1f / 6f) > 1e-6f || beta != 0.5f)
                    throw n.Unsupported($"HardSigmoid with alpha {alpha}, beta {beta} is not supported (only PyTorch's alpha 1/6, beta 0.5)");
                return Activate(n, Activation.HardSigmoid());
            case "Clip": return Clip(n);
            case "BatchNormalization": return BatchNormalization(n);
            case "MaxPool" or "AveragePool": return Pool(n);
            case "GlobalAveragePool": n.ExpectInputs(1, 1); return AddLayer(n, null, new GlobalAvgPool2d(), [LiveInput(n, 0)]);
            case "GlobalMaxPool": n.ExpectInputs(1, 1); return AddLayer(n, null, new GlobalMaxPool2d(), [LiveInput(n, 0)]);
            case "ReduceMean": return ReduceMean(n);
            case "Flatten": return Flatten(n);
            case "Reshape": return Reshape(n);
            case "Squeeze" or "Unsqueeze": return SqueezeLive(n);
            case "Concat": return ConcatLive(n);
            case "Softmax": return Softmax(n);
            case "Dropout": return Dropout(n);
            case "LRN": return LocalResponseNorm(n);
            case "Resize": return Resize(n);
            case "Identity": n.ExpectInputs(1, 1); return LiveInput(n, 0, allowPads: true);
            case "Cast":
                n.ExpectInputs(1, 1);
                if (n.Int("to", 0) != (int)TensorDataType.Float) throw n.Unsupported("Cast of a runtime tensor to a type other than float32");
                return LiveInput(n, 0);
            case "Pad": return Pad(n);
            case "Shape": return ShapeOf(n, ((Live)Input(n, 0)).Shape.ToArray(), batchSymbolic: true);
            default: throw n.Unsupported($"op '{n.Op}' is not supported");
        }
    }

    Value Conv(OnnxNodeReader n)
    {
        n.ExpectInputs(2, 3);
        var x = LiveInput(n, 0, allowPads: true);
        var weight = Constant(n, 1, "the weight");
        if (weight.Dims.Length != 4 || !weight.IsFloat) throw n.Unsupported($"weight {weight}: only 2-D convolution with a float weight (O,I,KH,KW) is supported");
        long group = n.Int("group", 1);
        if (group < 1 || group > weight.Dims[0] || weight.Dims[0] % group != 0) throw n.Malformed($"attribute 'group' = {group} does not divide the {weight.Dims[0]} output channels");
        int outChannels = (int)weight.Dims[0], inChannels = (int)(weight.Dims[1] * group);
        var kernel = KernelShape(n, [(int)weight.Dims[2], (int)weight.Dims[3]]);
        if (kernel[0] != weight.Dims[2] || kernel[1] != weight.Dims[3]) throw n.Malformed($"kernel_shape [{string.Join(",", kernel)}] does not match the weight {weight}");
        float[]? bias = n.HasInput(2) ? Vector(n, Constant(n, 2, "the bias"), outChannels, "bias") : null;
        var window = Window(n, x, kernel, dilations: true);
        var layer = new Conv2d(inChannels, outChannels, window, bias is not null, groups: (int)group);
        return AddLayer(n, WeightName(n, 1), layer, [Unpadded(n, x)], ("weight", (float[])weight.Floats!.Clone()), ("bias", bias));
    }

    Value Gemm(OnnxNodeReader n)
    {
        n.ExpectInputs(2, 3);
        var a = LiveInput(n, 0);
        n.Require("transA", 0, "the input must be (N,K)");
        bool transB = n.Int("transB", 0) != 0;
        float alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        var b = Constant(n, 1, "B");
        if (b.Dims.Length != 2 || !b.IsFloat) throw n.Unsupported($"B {b} must be a constant float matrix");
        int outFeatures = (int)(transB ? b.Dims[0] : b.Dims[1]), inFeatures = (int)(transB ? b.Dims[1] : b.Dims[0]);
        float[] weight = transB ? (float[])b.Floats!.Clone() : Transpose(b.Floats!, inFeatures, outFeatures);
        for (int i = 0; i < weight.Length; i++) weight[i] *= alpha;
        float[]? bias = null;
        if (n.HasInput(2))
        {
            bias = Vector(n, Constant(n, 2, "C"), outFeatures, "C");
            for (int i = 0; i < bias.Length; i++) bias[i] *= beta;
        }
        return AddLayer(n, WeightName(n, 1), new Linear(inFeatures, outFeatures, bias is not null), [Materialize(n, a, "input")], ("weight", weight), ("bias", bias));
    }

    Value MatMul(OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        // adaptive average pooling with unequal bins, as our exporter writes it: (x·P_Wᵀ) then P_H·(…)
        if (Input(n, 0) is Live { Shape.Rank: 4, Pads: null } x && Input(n, 1) is Const { Constant: { IsFloat: true, Dims: [var w, var ow] } columns } &&
            w == x.Shape.W && AdaptivePoolingMatrix.Matches(columns.Floats!, x.Shape.W, (int)ow, transpose: true))
            return new PooledColumns(x, (int)ow);
        if (Input(n, 0) is Const { Constant: { IsFloat: true, Dims: [var oh, var h] } rows } && Input(n, 1) is PooledColumns pooled)
        {
            if (h != pooled.Input.Shape.H || !AdaptivePoolingMatrix.Matches(rows.Floats!, pooled.Input.Shape.H, (int)oh, transpose: false))
                throw n.Unsupported($"MatMul of a constant {rows} by x·P is supported only as adaptive average pooling (P_H·x·P_Wᵀ)");
            return AddLayer(n, null, new AdaptiveAvgPool2d((int)oh, pooled.OutputWidth), [pooled.Input]);
        }
        var a = LiveInput(n, 0);
        if (Input(n, 1) is not Const { Constant: { IsFloat: true, Dims.Length: 2 } b })
            throw n.Unsupported("MatMul is supported as x·W with a constant matrix W (a Linear layer)");
        int inFeatures = (int)b.Dims[0], outFeatures = (int)b.Dims[1];
        return AddLayer(n, WeightName(n, 1), new Linear(inFeatures, outFeatures, bias: false), [Materialize(n, a, "input")],
            ("weight", Transpose(b.Floats!, inFeatures, outFeatures)));
    }

    Value Arithmetic(OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        Value first = Input(n, 0), second = Input(n, 1);
        if (first is Live a && second is Live b)
        {
            if (n.Op == "Add") return AddLayer(n, null, new Add(), [a, b]);
            if (n.Op == "Mul") return Multiply(n, a, b);
            throw n.Unsupported($"{n.Op} of two runtime tensors is not supported");
        }
        // one runtime tensor and one constant: an affine map per channel, folded into the producer's weights
        bool constantFirst = first is Const;
        int liveIndex = constantFirst ? 1 : 0;
        var live = (Live)(constantFirst ? second : first);
        var constant = ((Const)(constantFirst ? first : second)).Constant;
        if (live.Pads is not null) throw n.Unsupported("its input comes from a Pad node, which is only supported right before a Conv or AveragePool");
        float[] c = PerChannel(n, constant, live.Shape);
        float[]? scale = null, shift = null;
        switch (n.Op)
        {
            case "Add": shift = c; break;
            case "Sub" when constantFirst: scale = c.Select(_ => -1f).ToArray(); shift = c; break;
            case "Sub": shift = c.Select(v => -v).ToArray(); break;
            case "Mul": scale = c; break;
            case "Div" when constantFirst: throw n.Unsupported("a constant divided by a runtime tensor is not supported");
            case "Div": scale = c.Select(v => 1f / v).ToArray(); break;
        }
        return FoldAffine(n, live, liveIndex, scale, shift);
    }

    /// <summary>Mul of two runtime tensors: SiLU (x·σ(x)), HardSwish (x·hardsigmoid(x)) or a per-channel scale.</summary>
    Value Multiply(OnnxNodeReader n, Live a, Live b)
    {
        foreach (var (x, gate, gateIndex) in new[] { (a, b, 1), (b, a, 0) })
            if (producers.TryGetValue(gate.Tensor, out var p) && p.Layer is Activation { Kind: ActivationKind.Sigmoid or ActivationKind.HardSigmoid } act &&
                p.Inputs[0] == x.Tensor && gate.Shape == x.Shape && Unshared(n, gateIndex, gate.Tensor))
            {
                // y = x·σ(x) is SiLU, y = x·hardsigmoid(x) is HardSwish: rewrite the gate's node in place
                p.Layer = act.Kind == ActivationKind.Sigmoid ? Activation.SiLU() : Activation.HardSwish();
                tensorAliases[gate.Tensor]--;
                return gate;
            }
        foreach (var (x, s) in new[] { (a, b), (b, a) })
            if (x.Shape.Rank == 4 && s.Shape.Rank == 4 && s.Shape.C == x.Shape.C && s.Shape.H == 1 && s.Shape.W == 1)
                return AddLayer(n, null, new ChannelMultiply(), [Materialize(n, x, "input"), s.Tensor]);
        throw n.Unsupported($"Mul of runtime tensors {a.Shape} and {b.Shape} is supported only as a per-channel scale (N,C,H,W)·(N,C,1,1), x·Sigmoid(x) or x·HardSigmoid(x)");
    }

    Value Clip(OnnxNodeReader n)
    {
        n.ExpectInputs(1, 3);
        float min, max;
        if (opset < 11)
        {
            min = n.Float("min", float.NegativeInfinity);
            max = n.Float("max", float.PositiveInfinity);
        }
        else
        {
            min = n.HasInput(1) ? Scalar(n, Constant(n, 1, "min")) : float.NegativeInfinity;
            max = n.HasInput(2) ? Scalar(n, Constant(n, 2, "max")) : float.PositiveInfinity;
        }
        if (min == 0f && max == 6f) return Activate(n, Activation.ReLU6());
        // PyTorch's opset-9 ReLU6 is Relu followed by Clip(max = 6): rewrite the Relu
        if (float.IsNegativeInfinity(min) && max == 6f && LiveInput(n, 0) is var x && x.Pads is null &&
            producers.TryGetValue(x.Tensor, out var p) && p.Layer is Activation { Kind: ActivationKind.ReLU } && Unshared(n, 0, x.Tensor))
        {
            p.Layer = Activation.ReLU6();
            tensorAliases[x.Tensor]--;
            return x;
        }
        if (min == 0f && (float.IsPositiveInfinity(max) || max >= float.MaxValue)) return Activate(n, Activation.ReLU());
        throw n.Unsupported($"Clip to [{min}, {max}] is not supported (only [0, 6] as ReLU6 and [0, ∞) as ReLU)");
    }

    Value BatchNormalization(OnnxNodeReader n)
    {
        n.ExpectInputs(5, 5);
        var x = LiveInput(n, 0);
        float epsilon = n.Float("epsilon", 1e-5f), momentum = n.Float("momentum", 0.9f);
        if (opset < 9) n.Require("spatial", 1, "statistics per channel only");
        if (opset >= 14) n.Require("training_mode", 0, "only inference-form batch normalization is imported");
        if (x.Shape.Rank < 2) throw n.Unsupported($"input {x.Shape} has no channel axis");
        int channels = x.Shape[1];
        float[] gamma = Vector(n, Constant(n, 1, "scale"), channels, "scale"), beta = Vector(n, Constant(n, 2, "B"), channels, "B");
        float[] mean = Vector(n, Constant(n, 3, "mean"), channels, "mean"), variance = Vector(n, Constant(n, 4, "var"), channels, "var");
        // ONNX's momentum weighs the old running value, PyTorch's the new batch statistic
        float ours = 1f - momentum;
        if (!(ours >= 0f && ours < 1f)) throw n.Unsupported($"attribute 'momentum' = {momentum} is not supported (must be in (0, 1])");
        if (!(epsilon > 0f)) throw n.Unsupported($"attribute 'epsilon' = {epsilon} is not supported (must be positive)");
        Layer layer = x.Shape.Rank == 4 ? new BatchNorm2d(channels, epsilon, ours) : new BatchNorm1d(channels, epsilon, ours);
        return AddLayer(n, WeightName(n, 1), layer, [Materialize(n, x, "input")],
            ("weight", gamma), ("bias", beta), ("running_mean", mean), ("running_var", variance));
    }

    Value Pool(OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        bool average = n.Op == "AveragePool";
        var x = LiveInput(n, 0, allowPads: average);
        var kernel = n.Ints("kernel_shape") ?? throw n.Malformed("attribute 'kernel_shape' is required");
        if (kernel.Length != 2) throw n.Unsupported($"kernel_shape [{string.Join(",", kernel)}]: only 2-D pooling is supported");
        if (!average) n.Require("storage_order", 0, "row-major indices only");
        bool countIncludePad = average && n.Int("count_include_pad", 0) != 0;
        var window = Window(n, x, [(int)kernel[0], (int)kernel[1]], dilations: !average && opset >= 10);
        if (window.DilationHeight != 1 || window.DilationWidth != 1) throw n.Unsupported("dilated pooling is not supported");
        if (x.Pads is not null && average)
        {
            // zeros a Pad node added are real elements: the average counts them, which our padding does only with
            // countIncludePad, and only if the pool had no padding of its own that ONNX would not count
            bool ownPadding = window.PadTop + window.PadLeft + window.PadBottom + window.PadRight != x.Pads.Sum();
            if (ownPadding && !countIncludePad) throw n.Unsupported("a Pad before an AveragePool with its own padding and count_include_pad = 0 is not supported");
            countIncludePad = true;
        }
        var input = Unpadded(n, x);
        CheckCeilMode(n, window, shapes[input]);
        try
        {
            Layer layer = average ? new AvgPool2d(window, countIncludePad) : new MaxPool2d(window);
            return AddLayer(n, null, layer, [input]);
        }
        catch (ShapeException e)
        {
            throw n.Unsupported(e.Message);
        }
    }

    /// <summary>ceil_mode = 1 is accepted only where it gives the same output size as floor (no partial windows).</summary>
    void CheckCeilMode(OnnxNodeReader n, Window2d window, TensorShape input)
    {
        if (opset < 10 || n.Int("ceil_mode", 0) == 0) return;
        bool same = true;
        foreach (var (size, k, s, before, after) in new[] { (input.H, window.KernelHeight, window.StrideHeight, window.PadTop, window.PadBottom), (input.W, window.KernelWidth, window.StrideWidth, window.PadLeft, window.PadRight) })
            same &= (size + before + after - k) % s == 0;
        if (!same) throw n.Unsupported("attribute 'ceil_mode' = 1 is not supported where it adds a partial window (only ceil_mode = 0)");
    }

    Value ReduceMean(OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var x = LiveInput(n, 0);
        long[] axes = (n.Ints("axes") ?? []).Select(a => a < 0 ? a + x.Shape.Rank : a).Order().ToArray();
        bool keep = n.Int("keepdims", 1) != 0;
        if (x.Shape.Rank != 4 || !axes.SequenceEqual([2L, 3L]))
            throw n.Unsupported($"ReduceMean over axes [{string.Join(",", axes)}] of {x.Shape} is not supported (only over H and W of (N,C,H,W))");
        var pooled = (Live)AddLayer(n, null, new GlobalAvgPool2d(), [Materialize(n, x, "input")]);
        return keep ? pooled : pooled with { Shape = new TensorShape(1, x.Shape.C) };
    }

    Value Flatten(OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var x = LiveInput(n, 0);
        long axis = n.Int("axis", 1);
        if (axis < 0) axis += x.Shape.Rank;
        if (axis != 1) throw n.Unsupported($"attribute 'axis' = {n.Int("axis", 1)} is not supported (only 1: keep the batch axis)");
        return x with { Shape = new TensorShape(1, x.Shape.ItemLength) };
    }

    Value Reshape(OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        var x = LiveInput(n, 0);
        if (opset >= 14) n.Require("allowzero", 0, "0 copies the input's size");
        long[] target = Constant(n, 1, "the shape").AsInts(m => n.Unsupported($"the shape: {m}"));
        if (target.Length is < 1 or > TensorShape.MaxRank) throw n.Unsupported($"reshape to rank {target.Length} is not supported");
        var dims = new long[target.Length];
        int inferred = -1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            dims[i] = d switch
            {
                OnnxConstant.Batch => 1,
                0 when i < x.Shape.Rank => x.Shape[i],
                -1 when inferred < 0 => -1,
                > 0 => d,
                _ => throw n.Malformed($"shape entry {d} at {i} is not valid"),
            };
            if (d == -1) inferred = i;
        }
        // axis 0 must stay the batch: the symbol, a copy of axis 0, the declared static batch, or what -1 infers
        bool batchKept = target[0] == OnnxConstant.Batch || target[0] == 0 || (declaredBatch is long b && target[0] == b) || inferred == 0;
        if (!batchKept) throw n.Unsupported($"reshape to [{string.Join(",", target)}] changes the batch axis");
        dims[0] = inferred == 0 ? -1 : 1;
        long known = dims.Where(d => d > 0).Aggregate(1L, (p, d) => p * d);
        if (inferred >= 0) dims[inferred] = known > 0 && x.Shape.Length % known == 0 ? x.Shape.Length / known : throw n.Malformed($"cannot reshape {x.Shape} to [{string.Join(",", target)}]");
        var shape = TensorShape.Of(dims.Select(d => (int)d).ToArray());
        if (shape.Length != x.Shape.Length || shape.N != 1) throw n.Unsupported($"reshape of {x.Shape} to [{string.Join(",", target)}] does not keep the batch axis");
        return x with { Shape = shape };
    }

    Value SqueezeLive(OnnxNodeReader n)
    {
        n.ExpectInputs(1, 2);
        var x = LiveInput(n, 0);
        long[] axes = Axes(n);
        var dims = x.Shape.ToArray().Select(d => (long)d).ToList();
        var result = n.Op == "Squeeze" ? SqueezeDims(n, dims, axes) : UnsqueezeDims(n, dims, axes);
        int rank = n.Op == "Squeeze" ? dims.Count : result.Count; // the rank the axes refer to
        if (result.Count is < 2 or > TensorShape.MaxRank || axes.Length == 0 || axes.Any(a => (a < 0 ? a + rank : a) == 0))
            throw n.Unsupported($"{n.Op} over axes [{string.Join(",", axes)}] of {x.Shape} would change the batch axis or the rank limit");
        return x with { Shape = TensorShape.Of(result.Select(d => (int)d).ToArray()) };
    }

    Value ConcatLive(OnnxNodeReader n)
    {
        n.ExpectInputs(1, int.MaxValue);
        var parts = Enumerable.Range(0, n.InputCount).Select(i => LiveInput(n, i)).ToArray();
        long axis = n.Int("axis", opset < 4 ? 1 : long.MinValue);
        if (axis == long.MinValue) throw n.Malformed("attribute 'axis' is required");
        if (axis < 0) axis += parts[0].Shape.Rank;
        if (axis != 1) throw n.Unsupported($"Concat along axis {axis} is not supported (only channels, axis 1)");
        return parts.Length == 1 ? parts[0] : AddLayer(n, null, new Concat(parts.Length), parts);
    }

    Value Softmax(OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var x = LiveInput(n, 0);
        long axis = n.Int("axis", opset < 13 ? 1 : -1);
        if (axis < 0) axis += x.Shape.Rank;
        if (x.Shape.Rank != 2 || axis != 1)
            throw n.Unsupported($"Softmax over axis {n.Int("axis", opset < 13 ? 1 : -1)} of {x.Shape} is not supported (only over the classes of (N,K))");
        return AddLayer(n, null, new Layers.Softmax(), [x]);
    }

    Value Dropout(OnnxNodeReader n)
    {
        n.ExpectInputs(1, 3);
        var x = LiveInput(n, 0);
        float ratio;
        if (opset < 12)
        {
            ratio = n.Float("ratio", 0.5f);
        }
        else
        {
            n.Int("seed", 0); // the mask is drawn from our own counter-based random numbers
            ratio = n.HasInput(1) ? Scalar(n, Constant(n, 1, "ratio")) : 0.5f;
            if (n.HasInput(2) && Scalar(n, Constant(n, 2, "training_mode")) != 0f)
                throw n.Unsupported("training_mode = true is not supported (imported models are in inference form)");
        }
        if (!(ratio >= 0f && ratio < 1f)) throw n.Unsupported($"ratio {ratio} is not supported (must be in [0, 1))");
        return AddLayer(n, null, new Layers.Dropout(ratio), [x]);
    }

    /// <summary>
    /// Resize → <see cref="Upsample"/>: bilinear (<c>mode = linear</c>) on (N,C,H,W) with the source coordinate
    /// <c>(i + ½)/scale − ½</c> — <c>half_pixel</c>, or <c>pytorch_half_pixel</c> (PyTorch's exporter for
    /// <c>align_corners=False</c>, equal to it except for a 1-pixel output, which is refused). The output size comes
    /// from constant <c>sizes</c> (input 3: N and C as the input's, the batch may be symbolic) or constant <c>scales</c>
    /// (input 2, or 1 in opset 10, whose asymmetric coordinates are refused) with N and C unscaled.
    /// </summary>
    Value Resize(OnnxNodeReader n)
    {
        n.ExpectInputs(opset >= 11 ? 1 : 2, opset >= 11 ? 4 : 2); // from opset 11: (X, roi, scales, sizes), roi unused by these modes
        var x = LiveInput(n, 0);
        string mode = n.String("mode", "nearest");
        string coordinates = opset >= 11 ? n.String("coordinate_transformation_mode", "half_pixel") : "asymmetric";
        n.Float("cubic_coeff_a", -0.75f);              // cubic only
        n.String("nearest_mode", "round_prefer_floor"); // nearest only
        n.Float("extrapolation_value", 0f);            // tf_crop_and_resize only
        n.Require("exclude_outside", 0, "samples outside the image are clamped to the edge, as PyTorch does");
        if (mode != "linear") throw n.Unsupported($"mode '{mode}' is not supported (only 'linear': bilinear)");
        if (coordinates is not ("half_pixel" or "pytorch_half_pixel"))
            throw n.Unsupported($"coordinate_transformation_mode '{coordinates}' is not supported (only half_pixel and pytorch_half_pixel: PyTorch's align_corners=False)");
        if (x.Shape.Rank != 4) throw n.Unsupported($"input {x.Shape}: only (N,C,H,W) images are resized");

        Upsample layer;
        var sizes = n.HasInput(3) ? Constant(n, 3, "sizes") : null;
        if (sizes is { Length: > 0 })
        {
            long[] size = sizes.Ints ?? throw n.Malformed($"sizes {sizes} must be int64");
            if (size.Length != 4 || (size[0] != x.Shape.N && size[0] != OnnxConstant.Batch) || size[1] != x.Shape.C)
                throw n.Unsupported($"sizes [{string.Join(",", size.Select(v => v == OnnxConstant.Batch ? "N" : v.ToString()))}] must keep the input's (N, C) = (N, {x.Shape.C}) and give (OH, OW)");
            if (size[2] < 1 || size[3] < 1 || size[2] > int.MaxValue || size[3] > int.MaxValue) throw n.Malformed($"sizes give an empty or oversized {size[2]}×{size[3]} image");
            layer = new Upsample((int)size[2], (int)size[3]);
        }
        else
        {
            int scalesInput = opset >= 11 ? 2 : 1;
            if (!n.HasInput(scalesInput)) throw n.Malformed("neither scales nor sizes is given");
            float[] scale = Constant(n, scalesInput, "scales").AsFloats(n.Unsupported);
            if (scale.Length != 4 || scale[0] != 1f || scale[1] != 1f)
                throw n.Unsupported($"scales [{string.Join(",", scale)}] must be (1, 1, s_h, s_w): N and C are not resized");
            if (!(scale[2] > 0f && scale[3] > 0f && float.IsFinite(scale[2]) && float.IsFinite(scale[3])))
                throw n.Malformed($"scales [{string.Join(",", scale)}] must be positive and finite");
            layer = Upsample.WithScaleFactor(scale[2], scale[3]);
        }
        var output = layer.InferOutputShape(n.Name, [x.Shape]);
        if (coordinates == "pytorch_half_pixel" && (output.H == 1 || output.W == 1))
            throw n.Unsupported($"pytorch_half_pixel to a 1-pixel side ({output}) samples pixel 0, which the bilinear Upsample does not");
        return AddLayer(n, null, layer, [x]);
    }

    Value LocalResponseNorm(OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var x = LiveInput(n, 0);
        long size = n.Int("size", 0);
        float alpha = n.Float("alpha", 1e-4f), beta = n.Float("beta", 0.75f), bias = n.Float("bias", 1f);
        // ONNX centres an even window one channel later than PyTorch (and our layer): only odd sizes agree
        if (size < 1 || size % 2 == 0 || size > int.MaxValue) throw n.Unsupported($"attribute 'size' = {size} is not supported (only odd sizes)");
        try
        {
            return AddLayer(n, null, new Layers.LocalResponseNorm((int)size, alpha, beta, bias), [x]);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw n.Unsupported(e.Message);
        }
    }

    Value Pad(OnnxNodeReader n)
    {
        n.ExpectInputs(1, 3);
        var x = LiveInput(n, 0);
        if (n.String("mode", "constant") != "constant") throw n.Unsupported($"mode '{n.String("mode", "constant")}' is not supported (only constant zeros)");
        long[] pads;
        float value;
        if (opset < 11)
        {
            pads = (opset < 2 ? n.Ints("paddings") : n.Ints("pads")) ?? throw n.Malformed("attribute 'pads' is required");
            value = n.Float("value", 0f);
        }
        else
        {
            pads = Constant(n, 1, "pads").AsInts(m => n.Unsupported($"pads: {m}"));
            value = n.HasInput(2) ? Scalar(n, Constant(n, 2, "constant_value")) : 0f;
        }
        if (value != 0f) throw n.Unsupported($"padding with {value} is not supported (only zeros)");
        if (x.Shape.Rank != 4 || pads.Length != 8) throw n.Unsupported($"pads [{string.Join(",", pads)}] of {x.Shape}: only padding of (N,C,H,W) is supported");
        if (pads.Where((p, i) => i != 5).All(p => p == 0) && pads[5] > 0 && pads[5] <= 1 << 16 && x.Pads is null)
            // zero channels appended (our exporter's ChannelPad: the option-A shortcut of CIFAR ResNets and PyramidNet)
            return AddLayer(n, null, new ChannelPad(x.Shape.C + (int)pads[5]), [x]);
        if (pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 || pads.Any(p => p < 0 || p > 1 << 16))
            throw n.Unsupported($"pads [{string.Join(",", pads)}]: only non-negative padding of H and W, or zero channels appended at the end, is supported");
        if (pads.All(p => p == 0)) return x;
        int[] own = [(int)pads[2], (int)pads[3], (int)pads[6], (int)pads[7]]; // top, left, bottom, right
        int[] total = x.Pads is null ? own : [.. x.Pads.Zip(own, (p, q) => p + q)];
        var shape = new TensorShape(1, x.Shape.C, x.Shape.H + own[0] + own[2], x.Shape.W + own[1] + own[3]);
        return new Live(x.Tensor, shape, total);
    }

    Value ShapeOf(OnnxNodeReader n, int[] dims, bool batchSymbolic)
    {
        n.ExpectInputs(1, 1);
        var values = dims.Select((d, i) => i == 0 && batchSymbolic ? OnnxConstant.Batch : d).ToArray();
        long start = opset >= 15 ? n.Int("start", 0) : 0, end = opset >= 15 ? n.Int("end", values.Length) : values.Length;
        int Clamp(long v) => (int)Math.Clamp(v < 0 ? v + values.Length : v, 0, values.Length);
        var slice = values[Clamp(start)..Math.Max(Clamp(start), Clamp(end))];
        return new Const(OnnxConstant.OfInts([slice.Length], slice));
    }

    // ── constant folding (shape arithmetic and constants) ──

    Value Fold(OnnxNodeReader n)
    {
        OnnxConstant C(int i) => ((Const)Input(n, i)).Constant;
        Exception Fail(string m) => n.Unsupported(m);
        switch (n.Op)
        {
            case "Identity": n.ExpectInputs(1, 1); return Input(n, 0);
            case "Shape": return ShapeOf(n, C(0).Dims.Select(d => (int)d).ToArray(), batchSymbolic: false);
            case "Cast":
            {
                n.ExpectInputs(1, 1);
                long to = n.Int("to", 0);
                var c = C(0);
                return to switch
                {
                    (int)TensorDataType.Float or (int)TensorDataType.Double => new Const(OnnxConstant.OfFloats(c.Dims, c.AsFloats(Fail))),
                    (int)TensorDataType.Int64 or (int)TensorDataType.Int32 => new Const(OnnxConstant.OfInts(c.Dims, c.AsInts(Fail))),
                    _ => throw n.Unsupported($"Cast to type {to} is not supported"),
                };
            }
            case "Gather":
            {
                n.ExpectInputs(2, 2);
                var (data, indices) = (C(0), C(1).AsInts(Fail));
                if (n.Int("axis", 0) != 0 || data.Dims.Length != 1) throw n.Unsupported("Gather of constants is supported on 1-D data along axis 0");
                long Pick(long i) => i < 0 ? i + data.Length : i;
                if (indices.Any(i => Pick(i) < 0 || Pick(i) >= data.Length)) throw n.Malformed($"an index is outside [0, {data.Length})");
                long[] dims = C(1).Dims;
                return new Const(data.IsFloat
                    ? OnnxConstant.OfFloats(dims, indices.Select(i => data.Floats![Pick(i)]).ToArray())
                    : OnnxConstant.OfInts(dims, indices.Select(i => data.Ints![Pick(i)]).ToArray()));
            }
            case "Unsqueeze" or "Squeeze":
            {
                n.ExpectInputs(1, 2);
                var c = C(0);
                var dims = n.Op == "Squeeze" ? SqueezeDims(n, [.. c.Dims], Axes(n)) : UnsqueezeDims(n, [.. c.Dims], Axes(n));
                return new Const(WithDims(c, [.. dims]));
            }
            case "Reshape":
            {
                n.ExpectInputs(2, 2);
                if (opset >= 14) n.Int("allowzero", 0);
                var c = C(0);
                long[] target = C(1).AsInts(Fail);
                long known = target.Where(d => d > 0).Aggregate(1L, (p, d) => p * d);
                long[] dims = target.Select((d, i) => d == 0 ? c.Dims[i] : d == -1 ? (known == 0 ? 0 : c.Length / known) : d).ToArray();
                if (dims.Aggregate(1L, (p, d) => p * d) != c.Length) throw n.Malformed($"cannot reshape {c} to [{string.Join(",", target)}]");
                return new Const(WithDims(c, dims));
            }
            case "Concat":
            {
                n.ExpectInputs(1, int.MaxValue);
                var parts = Enumerable.Range(0, n.InputCount).Select(C).ToArray();
                n.Int("axis", 0);
                if (parts.Any(p => p.Dims.Length != 1)) throw n.Unsupported("Concat of constants is supported for 1-D constants");
                long[] dims = [parts.Sum(p => p.Length)];
                return new Const(parts.All(p => p.IsFloat)
                    ? OnnxConstant.OfFloats(dims, parts.SelectMany(p => p.Floats!).ToArray())
                    : OnnxConstant.OfInts(dims, parts.SelectMany(p => p.AsInts(Fail)).ToArray()));
            }
            case "Add" or "Sub" or "Mul" or "Div":
            {
                n.ExpectInputs(2, 2);
                var (a, b) = (C(0), C(1));
                if (a.Length != b.Length && a.Length != 1 && b.Length != 1) throw n.Unsupported($"{n.Op} of constants {a} and {b} (only equal shapes or a scalar)");
                var larger = a.Length >= b.Length ? a : b;
                int length = Math.Max(a.Length, b.Length);
                if (a.IsFloat || b.IsFloat)
                {
                    float[] x = a.AsFloats(Fail), y = b.AsFloats(Fail);
                    return new Const(OnnxConstant.OfFloats(larger.Dims, Enumerable.Range(0, length).Select(i =>
                        (float)Apply(n.Op, x[x.Length == 1 ? 0 : i], y[y.Length == 1 ? 0 : i])).ToArray()));
                }
                long[] p = a.Ints!, q = b.Ints!;
                if (p.Contains(OnnxConstant.Batch) || q.Contains(OnnxConstant.Batch)) throw n.Unsupported("arithmetic on the batch size is not supported");
                return new Const(OnnxConstant.OfInts(larger.Dims, Enumerable.Range(0, length).Select(i =>
                    (long)Apply(n.Op, p[p.Length == 1 ? 0 : i], q[q.Length == 1 ? 0 : i])).ToArray()));
            }
            case "ConstantOfShape":
            {
                n.ExpectInputs(1, 1);
                long[] dims = C(0).AsInts(Fail);
                if (dims.Any(d => d < 0) || dims.Aggregate(1.0, (p, d) => p * d) > OnnxTensorData.MaxElements) throw n.Unsupported($"ConstantOfShape [{string.Join(",", dims)}] is not supported");
                var value = n.Tensor("value") is { } t ? OnnxTensorData.Read(t, folder, source) : OnnxConstant.OfFloats([1], [0f]);
                if (value.Length != 1) throw n.Malformed("attribute 'value' must hold one element");
                return new Const(Pick(value, dims, _ => 0));
            }
            case "Transpose":
            {
                n.ExpectInputs(1, 1);
                var c = C(0);
                int rank = c.Dims.Length;
                long[] perm = n.Ints("perm") ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
                if (perm.Length != rank || perm.Order().Select((p, i) => p == i).Any(ok => !ok)) throw n.Malformed($"perm [{string.Join(",", perm)}] is not a permutation of {rank} axes");
                long[] dims = perm.Select(p => c.Dims[p]).ToArray();
                long[] sourceStrides = Strides(c.Dims);
                return new Const(Pick(c, dims, index => index.Select((i, axis) => i * sourceStrides[perm[axis]]).Sum()));
            }
            case "Slice": return new Const(Slice(n, C(0), opset < 10
                ? (n.Ints("starts") ?? [], n.Ints("ends") ?? [], n.Ints("axes"), null)
                : (C(1).AsInts(Fail), C(2).AsInts(Fail), n.HasInput(3) ? C(3).AsInts(Fail) : null, n.HasInput(4) ? C(4).AsInts(Fail) : null)));
            default: throw n.Unsupported($"op '{n.Op}' on constants is not supported");
        }
    }

    /// <summary>ONNX's Slice of a constant: per axis, start/end clamped to the axis, any non-zero step.</summary>
    OnnxConstant Slice(OnnxNodeReader n, OnnxConstant c, (long[] Starts, long[] Ends, long[]? Axes, long[]? Steps) s)
    {
        int rank = c.Dims.Length;
        long[] axes = s.Axes ?? Enumerable.Range(0, s.Starts.Length).Select(i => (long)i).ToArray();
        long[] steps = s.Steps ?? Enumerable.Repeat(1L, s.Starts.Length).ToArray();
        if (s.Ends.Length != s.Starts.Length || axes.Length != s.Starts.Length || steps.Length != s.Starts.Length || steps.Contains(0))
            throw n.Malformed("starts, ends, axes and steps must have equal lengths and non-zero steps");
        long[] begin = new long[rank], step = Enumerable.Repeat(1L, rank).ToArray(), dims = (long[])c.Dims.Clone();
        for (int k = 0; k < axes.Length; k++)
        {
            long axis = axes[k] < 0 ? axes[k] + rank : axes[k];
            if (axis < 0 || axis >= rank) throw n.Malformed($"axis {axes[k]} is outside rank {rank}");
            long size = c.Dims[axis];
            long Clamp(long v, long low, long high) => Math.Clamp(v < 0 ? v + size : v, low, high);
            long first = steps[k] > 0 ? Clamp(s.Starts[k], 0, size) : Clamp(s.Starts[k], -1, size - 1);
            long last = steps[k] > 0 ? Clamp(s.Ends[k], 0, size) : Clamp(s.Ends[k], -1, size - 1);
            begin[axis] = first;
            step[axis] = steps[k];
            dims[axis] = Math.Max(0, (last - first + steps[k] + (steps[k] > 0 ? -1 : 1)) / steps[k]);
        }
        long[] strides = Strides(c.Dims);
        return Pick(c, dims, index => index.Select((i, axis) => (begin[axis] + i * step[axis]) * strides[axis]).Sum());
    }

    static long[] Strides(long[] dims)
    {
        var strides = new long[dims.Length];
        long stride = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= dims[i];
        }
        return strides;
    }

    /// <summary>A constant of shape <paramref name="dims"/> whose element at each multi-index is <paramref name="c"/>'s
    /// element at <paramref name="sourceIndex"/>(multi-index) (the common core of Transpose, Slice and ConstantOfShape).</summary>
    static OnnxConstant Pick(OnnxConstant c, long[] dims, Func<long[], long> sourceIndex)
    {
        long count = dims.Aggregate(1L, (p, d) => p * d);
        var index = new long[dims.Length];
        var picked = new long[count];
        for (long flat = 0; flat < count; flat++)
        {
            long rest = flat;
            for (int axis = dims.Length - 1; axis >= 0; axis--)
            {
                index[axis] = rest % dims[axis];
                rest /= dims[axis];
            }
            picked[flat] = sourceIndex(index);
        }
        return c.IsFloat
            ? OnnxConstant.OfFloats(dims, picked.Select(i => c.Floats![i]).ToArray())
            : OnnxConstant.OfInts(dims, picked.Select(i => c.Ints![i]).ToArray());
    }

    static double Apply(string op, double a, double b) => op switch
    {
        "Add" => a + b,
        "Sub" => a - b,
        "Mul" => a * b,
        _ => b == 0 ? double.NaN : a / b,
    };

    Value ConstantNode(OnnxNodeReader n)
    {
        n.ExpectInputs(0, 0);
        if (n.Tensor("value") is { } tensor) return new Const(OnnxTensorData.Read(tensor, folder, source));
        if (opset >= 12)
        {
            if (n.Has("value_float")) return new Const(OnnxConstant.OfFloats([], [n.Float("value_float", 0)]));
            if (n.Floats("value_floats") is { } floats) return new Const(OnnxConstant.OfFloats([floats.Length], floats));
            if (n.Has("value_int")) return new Const(OnnxConstant.OfInts([], [n.Int("value_int", 0)]));
            if (n.Ints("value_ints") is { } ints) return new Const(OnnxConstant.OfInts([ints.Length], ints));
        }
        throw n.Unsupported(n.Proto.Attribute.Count > 0 ? $"attribute '{n.Proto.Attribute[0].Name}' is not supported" : "the value is missing");
    }

    static OnnxConstant WithDims(OnnxConstant c, long[] dims) =>
        c.IsFloat ? OnnxConstant.OfFloats(dims, c.Floats!) : OnnxConstant.OfInts(dims, c.Ints!);

    long[] Axes(OnnxNodeReader n) =>
        opset >= 13 ? (n.HasInput(1) ? Constant(n, 1, "axes").AsInts(m => n.Unsupported(m)) : []) : n.Ints("axes") ?? [];

    static List<long> SqueezeDims(OnnxNodeReader n, List<long> dims, long[] axes)
    {
        var drop = axes.Length == 0
            ? Enumerable.Range(0, dims.Count).Where(i => dims[i] == 1).Select(i => (long)i).ToHashSet()
            : axes.Select(a => a < 0 ? a + dims.Count : a).ToHashSet();
        if (drop.Any(a => a < 0 || a >= dims.Count || dims[(int)a] != 1)) throw n.Malformed($"cannot squeeze axes [{string.Join(",", axes)}] of [{string.Join(",", dims)}]");
        return dims.Where((_, i) => !drop.Contains(i)).ToList();
    }

    static List<long> UnsqueezeDims(OnnxNodeReader n, List<long> dims, long[] axes)
    {
        int rank = dims.Count + axes.Length;
        var insert = axes.Select(a => a < 0 ? a + rank : a).Order().ToArray();
        if (insert.Any(a => a < 0 || a >= rank) || insert.Distinct().Count() != insert.Length) throw n.Malformed($"cannot unsqueeze axes [{string.Join(",", axes)}]");
        var result = new List<long>(dims);
        foreach (long a in insert) result.Insert((int)a, 1);
        return result;
    }

    // ── building our graph ──

    /// <summary>Appends a layer over <paramref name="operands"/> (live values, materialized here, or tensor names)
    /// and returns its output as a live value. The node is named after its weight initializer (<c>conv1.weight</c> →
    /// <c>conv1</c>, keeping PyTorch's state-dict names) or else after the ONNX node.</summary>
    Value AddLayer(OnnxNodeReader n, string? weightName, Layer layer, object[] operands, params (string Name, float[]? Values)[] state)
    {
        string[] inputNames = operands.Select(o => o as string ?? Materialize(n, (Live)o, "input")).ToArray();
        string baseName = weightName is not null && weightName.EndsWith(".weight", StringComparison.Ordinal) && weightName.Length > 7
            ? weightName[..^7] : n.Name;
        string name = UniqueName(baseName);
        TensorShape output;
        try
        {
            output = layer.InferOutputShape(name, inputNames.Select(i => shapes[i]).ToArray());
        }
        catch (ShapeException e)
        {
            throw n.Malformed(e.Message);
        }
        var pending = new PendingNode(name, layer, inputNames);
        foreach (var (key, data) in state)
            if (data is not null) pending.State[key] = data;
        nodes.Add(pending);
        producers[name] = pending;
        shapes[name] = output;
        return new Live(name, output);
    }

    Value Activate(OnnxNodeReader n, Activation activation)
    {
        int extra = n.Op == "Clip" ? 3 : 1;
        n.ExpectInputs(1, extra);
        var x = LiveInput(n, 0);
        // element-wise: it runs on the underlying tensor and the result keeps the input's view
        var result = (Live)AddLayer(n, null, activation, [x.Tensor]);
        return result with { Shape = x.Shape };
    }

    /// <summary>The tensor of our graph holding <paramref name="value"/> in its ONNX shape: the tensor itself, or a
    /// Flatten of it for an (N,features) view. Other views cannot be represented by our layers.</summary>
    string Materialize(OnnxNodeReader? n, Live value, string role)
    {
        var actual = shapes[value.Tensor];
        if (value.Pads is not null) throw n?.Unsupported("its input comes from a Pad node, which is only supported right before a Conv or AveragePool")
            ?? new OnnxUnsupportedException(source, "(graph)", "Pad", opset, "the graph output comes from a Pad node");
        if (value.Shape == actual) return value.Tensor;
        if (value.Shape.Rank == 2 && actual.Rank == 2) return value.Tensor;
        if (value.Shape.Rank != 2)
            throw n?.Unsupported($"{role} {value.Shape} is a reshaped view of {actual}, which cannot be materialized (only flattening to (N,features) can)")
                ?? new OnnxUnsupportedException(source, "(graph)", "output", opset, $"the output {value.Shape} is a reshaped view of {actual}");
        if (flattened.TryGetValue((value.Tensor, value.Shape), out string? existing)) return existing;
        string name = UniqueName(n is null ? "flatten" : $"{n.Name}.flatten");
        var pending = new PendingNode(name, new Layers.Flatten(), [value.Tensor]);
        nodes.Add(pending);
        producers[name] = pending;
        shapes[name] = new TensorShape(1, actual.ItemLength);
        flattened[(value.Tensor, value.Shape)] = name;
        return name;
    }

    /// <summary>The tensor under a padded value, and checks it is not a reshaped view.</summary>
    string Unpadded(OnnxNodeReader n, Live x) => Materialize(n, x with { Pads = null, Shape = x.Pads is null ? x.Shape : shapes[x.Tensor] }, "input");

    /// <summary>y = x·scale + shift per channel, folded into the Conv2d, Linear or BatchNorm that computed x alone.</summary>
    Value FoldAffine(OnnxNodeReader n, Live x, int inputIndex, float[]? scale, float[]? shift)
    {
        bool foldable = producers.TryGetValue(x.Tensor, out var p) && x.Shape == shapes[x.Tensor] &&
                        p.Layer is Conv2d or Linear or BatchNorm && Unshared(n, inputIndex, x.Tensor);
        if (!foldable)
            throw n.Unsupported($"{n.Op} by a constant is supported only right after a Conv, Gemm, MatMul or BatchNormalization whose output nothing else reads");
        float[] weight = p!.State["weight"];
        int channels = shapes[x.Tensor][1];
        float[] bias = p.State.GetValueOrDefault("bias") ?? new float[channels];
        int perChannel = weight.Length / channels;
        for (int c = 0; c < channels; c++)
        {
            float s = scale?[c] ?? 1f;
            for (int i = 0; i < perChannel; i++) weight[c * perChannel + i] *= s;
            bias[c] = bias[c] * s + (shift?[c] ?? 0f);
        }
        p.State["bias"] = bias;
        p.Layer = p.Layer switch
        {
            Conv2d conv when !conv.HasBias => new Conv2d(conv.InChannels, conv.OutChannels, conv.Window, bias: true, groups: conv.Groups),
            Linear linear when !linear.HasBias => new Linear(linear.InFeatures, linear.OutFeatures, bias: true),
            var same => same,
        };
        tensorAliases[x.Tensor]--; // the folded value had this node as its only reader: the result takes its place
        return x;
    }

    /// <summary>True when the ONNX value at <paramref name="input"/> of <paramref name="n"/> is read by this node only and
    /// no other ONNX value names <paramref name="tensor"/>, so rewriting its producer changes nothing else.</summary>
    bool Unshared(OnnxNodeReader n, int input, string tensor) =>
        onnxUses.GetValueOrDefault(n.Proto.Input[input]) == 1 && tensorAliases.GetValueOrDefault(tensor) == 1;

    /// <summary>A constant that broadcasts against <paramref name="shape"/> per channel (axis 1) or as a scalar, as (C) values.</summary>
    float[] PerChannel(OnnxNodeReader n, OnnxConstant constant, TensorShape shape)
    {
        float[] values = constant.AsFloats(m => n.Unsupported(m));
        int channels = shape[1];
        if (values.Length == 1) return Enumerable.Repeat(values[0], channels).ToArray();
        int offset = shape.Rank - constant.Dims.Length; // numpy broadcasting aligns trailing axes
        bool perChannel = offset >= 0 && constant.Dims.Select((d, i) => i + offset == 1 ? d == channels : d == 1).All(ok => ok) && offset <= 1;
        if (!perChannel) throw n.Unsupported($"constant {constant} does not broadcast per channel over {shape}");
        return values;
    }

    float[] Vector(OnnxNodeReader n, OnnxConstant constant, int length, string what)
    {
        float[] values = constant.AsFloats(m => n.Unsupported($"{what}: {m}"));
        if (values.Length == length) return (float[])values.Clone();
        if (values.Length == 1) return Enumerable.Repeat(values[0], length).ToArray();
        throw n.Malformed($"{what} {constant} needs {length} values");
    }

    float Scalar(OnnxNodeReader n, OnnxConstant constant) =>
        constant.Length == 1 ? constant.AsFloats(m => n.Unsupported(m))[0] : throw n.Malformed($"expected a scalar, got {constant}");

    int[] KernelShape(OnnxNodeReader n, int[] fromWeight) =>
        n.Ints("kernel_shape") is { } k ? k.Select(v => (int)v).ToArray() : fromWeight;

    /// <summary>The window of a Conv or pool: strides, dilations, pads or auto_pad, plus padding a Pad node added.</summary>
    Window2d Window(OnnxNodeReader n, Live x, int[] kernel, bool dilations)
    {
        if (x.Shape.Rank != 4) throw n.Unsupported($"input {x.Shape}: only 2-D (N,C,H,W) inputs are supported");
        long[] strides = n.Ints("strides") ?? [1, 1];
        long[] dilation = (dilations ? n.Ints("dilations") : null) ?? [1, 1];
        long[]? pads = n.Ints("pads");
        string autoPad = n.String("auto_pad", "NOTSET");
        if (strides.Length != 2 || dilation.Length != 2 || pads is { Length: not 4 })
            throw n.Unsupported("strides, dilations and pads must describe 2 spatial axes");
        if (strides.Concat(dilation).Any(v => v < 1 || v > 1 << 16) || (pads?.Any(p => p < 0 || p > 1 << 16) ?? false))
            throw n.Unsupported("strides, dilations and pads must be positive (pads non-negative) and reasonable");
        var input = shapes[x.Tensor];
        int[] p = autoPad switch
        {
            "NOTSET" => pads?.Select(v => (int)v).ToArray() ?? [0, 0, 0, 0],
            "VALID" => [0, 0, 0, 0],
            "SAME_UPPER" or "SAME_LOWER" => SamePadding(input, kernel, strides, dilation, autoPad == "SAME_UPPER"),
            _ => throw n.Unsupported($"auto_pad '{autoPad}' is not supported"),
        };
        if (autoPad != "NOTSET" && pads is not null) throw n.Malformed("pads and auto_pad are both set");
        if (x.Pads is { } extra) p = [p[0] + extra[0], p[1] + extra[1], p[2] + extra[2], p[3] + extra[3]];
        return new Window2d(kernel[0], kernel[1], (int)strides[0], (int)strides[1], p[0], p[1], p[2], p[3], (int)dilation[0], (int)dilation[1]);
    }

    /// <summary>ONNX's SAME padding: output = ⌈input/stride⌉, the total padding split with the extra pixel at the end (UPPER) or start (LOWER).</summary>
    static int[] SamePadding(TensorShape input, int[] kernel, long[] strides, long[] dilation, bool upper)
    {
        var result = new int[4];
        int[] sizes = [input.H, input.W];
        for (int axis = 0; axis < 2; axis++)
        {
            long output = (sizes[axis] + strides[axis] - 1) / strides[axis];
            long total = Math.Max(0, (output - 1) * strides[axis] + (kernel[axis] - 1) * dilation[axis] + 1 - sizes[axis]);
            long small = total / 2, large = total - small;
            result[axis] = (int)(upper ? small : large);
            result[axis + 2] = (int)(upper ? large : small);
        }
        return result;
    }

    static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var result = new float[matrix.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                result[c * rows + r] = matrix[r * columns + c];
        return result;
    }

    string? WeightName(OnnxNodeReader n, int index) => n.HasInput(index) ? n.Proto.Input[index] : null;

    string UniqueName(string baseName)
    {
        string name = string.IsNullOrWhiteSpace(baseName) ? "node" : baseName;
        for (int k = 2; !usedNames.Add(name); k++) name = $"{baseName}_{k}";
        return name;
    }

    ImportedModel Build(string output)
    {
        var result = new NetworkGraph();
        foreach (var input in inputs) result.AddInput(input.Name, input.ItemShape);
        var state = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            result.Add(node.Name, node.Layer, node.Inputs);
            foreach (var spec in node.Layer.Parameters.Select(p => (p.Name, p.Shape)).Concat(node.Layer.Buffers.Select(b => (b.Name, b.Shape))))
            {
                if (!node.State.TryGetValue(spec.Name, out var data) || data.Length != spec.Shape.Length)
                    throw new OnnxFormatException(source, $"node '{node.Name}': {spec.Name} needs {spec.Shape.Length} values");
                state[$"{node.Name}.{spec.Name}"] = data;
            }
        }
        result.Output = output;
        try
        {
            result.InferShapes(1);
        }
        catch (GraphException e)
        {
            throw new OnnxFormatException(source, e.Message);
        }
        return new ImportedModel(result, state, opset);
    }
}

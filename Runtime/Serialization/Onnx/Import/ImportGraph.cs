using NeuroPlugin.Graph;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>What an ONNX value name stands for while a graph is imported.</summary>
internal abstract record OnnxValue;

/// <summary>The values of an op with several outputs, in output order: what its converter returns instead of one value.</summary>
internal sealed record OnnxOutputs(OnnxValue[] Values) : OnnxValue;

/// <summary>A value known at import time (initializers, Constant nodes, shapes): ops whose inputs are all constants fold.</summary>
internal sealed record ConstantValue(OnnxConstant Constant) : OnnxValue;

/// <summary>A tensor of our graph, seen with ONNX shape <paramref name="Shape"/> (batch 1): Flatten, Reshape and
/// (Un)Squeeze only change this view, and a view becomes a Flatten node when a layer needs it materialized.
/// <paramref name="Pads"/> is padding (top, left, bottom, right) a Pad node added, waiting to be folded into the next
/// Conv or AveragePool.</summary>
internal sealed record LiveTensor(string Tensor, TensorShape Shape, int[]? Pads = null) : OnnxValue;

/// <summary>A tensor of our graph, <paramref name="Tensor"/>, seen with an ONNX shape of more axes than ours have
/// (<paramref name="Dims"/>, batch 1 first; at most <see cref="ImportGraph.MaxViewRank"/>), such as the (N,g,C/g,H,W) of
/// ShuffleNet's channel shuffle: the same elements in the same row-major order. The ops that re-view or permute read it
/// (Reshape, Transpose as Permutes of at most <see cref="TensorShape.MaxRank"/> axes, Flatten, Squeeze, Unsqueeze, Shape,
/// Identity), and so do element-wise ops, Softmax and Einsum, on views with axes merged (<see cref="BroadcastAxes"/>); any
/// other op's input of this kind is an <see cref="OnnxUnsupportedException"/>.</summary>
internal sealed record HighRankView(LiveTensor Tensor, int[] Dims) : OnnxValue;

/// <summary>x·P_Wᵀ, the first half of an adaptive average pooling written as two MatMuls (see
/// <see cref="AdaptivePoolingMatrix"/>), waiting for the second, P_H·(x·P_Wᵀ), to become one layer.</summary>
internal sealed record PooledColumns(LiveTensor Input, int OutputWidth) : OnnxValue;

/// <summary>A layer of our graph, kept open until the end of the import so that a later node can fold into it
/// (a constant scale into its weights, a Mul that makes a Sigmoid a SiLU).</summary>
internal sealed class PendingNode(string name, Layer layer, string[] inputs)
{
    public string Name { get; } = name;
    public Layer Layer { get; set; } = layer;
    public string[] Inputs { get; } = inputs;
    /// <summary>Parameter and buffer values by their name within the node (<c>weight</c>, <c>running_var</c>).</summary>
    public Dictionary<string, float[]> State { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The bookkeeping of one import: what each ONNX value stands for, how many ONNX readers each has and how many ONNX
/// values name each tensor of ours (a converter may rewrite a producer only where nothing else sees it), and the nodes
/// of our graph as they are added, with their shapes at batch 1 (the batch axis is symbolic in ONNX). The op converters
/// (<see cref="OnnxOperators"/>) read inputs and add layers through it; <see cref="OnnxGraphConverter"/> drives it.
/// </summary>
internal sealed class ImportGraph(string source, string? folder, long opset)
{
    readonly Dictionary<string, OnnxValue> values = new(StringComparer.Ordinal);
    readonly Dictionary<string, int> onnxUses = new(StringComparer.Ordinal);      // ONNX value → how many node inputs / graph outputs read it
    readonly Dictionary<string, int> tensorAliases = new(StringComparer.Ordinal); // our tensor → how many ONNX values name it
    readonly Dictionary<string, TensorShape> shapes = new(StringComparer.Ordinal); // our tensor → actual shape at batch 1
    readonly Dictionary<string, PendingNode> producers = new(StringComparer.Ordinal);
    readonly Dictionary<(string, TensorShape), string> views = [];
    readonly List<PendingNode> nodes = [];
    readonly List<GraphInput> inputs = [];
    readonly HashSet<string> usedNames = new(StringComparer.Ordinal);
    readonly HashSet<string> initializers = new(StringComparer.Ordinal);

    /// <summary>The most axes an ONNX view of a tensor of ours may have (<see cref="HighRankView"/>): more than enough for
    /// the 5 of a channel shuffle, and a bound on what a file can make the importer walk.</summary>
    public const int MaxViewRank = 8;

    /// <summary>The batch size a graph input declares, where it gives a fixed one (a Reshape may name it).</summary>
    public long? DeclaredBatch { get; private set; }
    /// <summary>True once a graph input (a runtime tensor, not an initializer) has been added.</summary>
    public bool HasInputs => inputs.Count > 0;
    /// <summary>The first graph input: the tensor a layer that makes values per item (<see cref="BatchExpand"/>) reads its
    /// batch size from.</summary>
    public LiveTensor BatchSource => new(inputs[0].Name, shapes[inputs[0].Name]);

    // ── ONNX values ──

    /// <summary>A weight or other constant of the file, by its name.</summary>
    public void AddInitializer(TensorProto initializer)
    {
        if (initializer.Name.Length == 0) throw new OnnxFormatException(source, "an initializer has no name");
        if (!values.TryAdd(initializer.Name, new ConstantValue(ReadTensor(initializer))))
            throw new OnnxFormatException(source, $"initializer '{initializer.Name}' is defined twice");
        initializers.Add(initializer.Name);
    }

    /// <summary>True when the ONNX value <paramref name="name"/> is an initializer of the file (where exporters put
    /// weights) or an Identity of one, not a Constant node or a folded value.</summary>
    public bool IsInitializer(string name) => initializers.Contains(name);

    /// <summary>Makes <paramref name="name"/>, the Identity of <paramref name="source"/>, an initializer where that is one:
    /// PyTorch's exporter writes a weight equal to another (zero biases, unit norm weights of several layers) as an Identity
    /// of the first, and each copy is a weight of its own layer.</summary>
    public void AliasInitializer(string name, string source)
    {
        if (initializers.Contains(source)) initializers.Add(name);
    }

    /// <summary>True when the ONNX value <paramref name="name"/> already stands for something.</summary>
    public bool IsDefined(string name) => values.ContainsKey(name);

    /// <summary>A graph input (N, item…): a float tensor whose axes after the batch have fixed sizes.</summary>
    public void AddInput(ValueInfoProto input)
    {
        OnnxFormatException Bad(string problem) => new(source, $"graph input '{input.Name}': {problem}");
        if (input.Name.Length == 0) throw Bad("has no name");
        var type = input.Type?.TensorType ?? throw Bad("is not a tensor");
        if (type.ElemType != (int)TensorDataType.Float)
            throw new OnnxUnsupportedException(source, input.Name, "input", opset, $"element type {type.ElemType} is not supported (only float32)");
        var dims = type.Shape?.Dim ?? throw Bad("has no shape");
        if (dims.Count < 2 || dims.Count > TensorShape.MaxRank)
            throw new OnnxUnsupportedException(source, input.Name, "input", opset, $"rank {dims.Count} is not supported: inputs are (N,features), (N,C,L) or (N,C,H,W)");
        if (dims[0].DimValue is long batch && batch > 0) DeclaredBatch ??= batch;
        var item = new int[dims.Count - 1];
        for (int i = 1; i < dims.Count; i++)
            item[i - 1] = dims[i].DimValue is long d && d > 0 && d <= int.MaxValue
                ? (int)d : throw new OnnxUnsupportedException(source, input.Name, "input", opset, $"axis {i} has no fixed positive size ('{dims[i].DimParam}'); only the batch axis may be symbolic");
        TensorShape shape;
        try
        {
            shape = TensorShape.Of(item);
        }
        catch (ShapeException e)
        {
            // axes that each fit but together hold more elements than a tensor can
            throw new OnnxUnsupportedException(source, input.Name, "input", opset, e.Message);
        }
        string name = UniqueName(input.Name);
        inputs.Add(new GraphInput(name, shape));
        shapes[name] = shape.PrependBatch(1);
        tensorAliases[name] = 1;
        values[input.Name] = new LiveTensor(name, shapes[name]);
    }

    /// <summary>Counts the readers of every ONNX value (node inputs and graph outputs).</summary>
    public void CountUses(GraphProto graph)
    {
        foreach (var node in graph.Node)
            foreach (string name in node.Input)
                if (name.Length > 0) onnxUses[name] = onnxUses.GetValueOrDefault(name) + 1;
        foreach (var output in graph.Output) onnxUses[output.Name] = onnxUses.GetValueOrDefault(output.Name) + 1;
    }

    /// <summary>Assigns the converter's <paramref name="result"/> to the node's outputs (every value is assigned once):
    /// one value to the first output, or each of several (<see cref="OnnxOutputs"/>) to the outputs in order. An output
    /// beyond them that the graph reads is an error.</summary>
    public void Define(OnnxNodeReader node, OnnxValue result)
    {
        OnnxValue[] results = result is OnnxOutputs several ? several.Values : [result];
        for (int i = 0; i < node.Proto.Output.Count; i++)
        {
            string name = node.Proto.Output[i];
            if (i >= results.Length)
            {
                if (name.Length > 0 && onnxUses.ContainsKey(name))
                    throw node.Unsupported($"output {i} ('{name}') is used; only the first {(results.Length == 1 ? "output is" : $"{results.Length} outputs are")} supported");
                continue;
            }
            if (name.Length == 0) continue; // an optional output left out
            if (values.ContainsKey(name)) throw node.Malformed($"output '{name}' is already defined (every value is assigned once)");
            values[name] = results[i];
            if (results[i] is LiveTensor or HighRankView or PermutedView)
            {
                string tensor = results[i] switch { HighRankView wide => wide.Tensor.Tensor, PermutedView view => view.Tensor.Tensor, _ => ((LiveTensor)results[i]).Tensor };
                tensorAliases[tensor] = tensorAliases.GetValueOrDefault(tensor) + 1;
            }
        }
    }

    /// <summary>What input <paramref name="index"/> of <paramref name="n"/> stands for (a constant, a tensor of ours…).</summary>
    public OnnxValue Input(OnnxNodeReader n, int index)
    {
        string name = n.Proto.Input[index];
        return values.TryGetValue(name, out var value) ? value
            : throw n.Malformed($"input '{name}' is not produced by an earlier node, an initializer or a graph input (dangling reference or cycle)");
    }

    /// <summary>True when every input the node names is a constant, so the node can be folded.</summary>
    public bool AllInputsConstant(OnnxNodeReader n) =>
        Enumerable.Range(0, n.InputCount).Where(n.HasInput).All(i => Input(n, i) is ConstantValue);

    /// <summary>Input <paramref name="index"/>, which must be a constant; <paramref name="what"/> names it in the error.</summary>
    public OnnxConstant Constant(OnnxNodeReader n, int index, string what) =>
        Input(n, index) is ConstantValue c ? c.Constant : throw n.Unsupported($"{what} (input {index}) must be a constant");

    /// <summary>Input <paramref name="index"/> of an op that the importer only folds (no layer computes it).</summary>
    public OnnxConstant FoldedInput(OnnxNodeReader n, int index) =>
        Input(n, index) is ConstantValue c ? c.Constant
            : throw n.Unsupported($"input {index} is computed from the graph input; {n.Op} is supported only on constants (folded at import)");

    /// <summary>Input <paramref name="index"/> as a tensor of our graph. Padding a Pad node added is allowed only where
    /// the converter folds it (<paramref name="allowPads"/>: Conv, AveragePool).</summary>
    public LiveTensor LiveInput(OnnxNodeReader n, int index, bool allowPads = false) => AsLive(n, index, Input(n, index), allowPads);

    /// <summary><paramref name="value"/>, which stands for input <paramref name="index"/> of <paramref name="n"/> (itself or
    /// a merged view of it), as a tensor of our graph: see <see cref="LiveInput"/>.</summary>
    public LiveTensor AsLive(OnnxNodeReader n, int index, OnnxValue value, bool allowPads = false)
    {
        if (value is PooledColumns)
            throw n.Unsupported($"input {index} is x·P, a MatMul by an adaptive-pooling matrix, which is supported only as the input of the MatMul P_H·(x·P) that completes the pooling");
        if (value is PermutedView view)
            throw n.Unsupported($"input {index} is seen as {view.Text} (at batch 1), its axes not in the order our tensor stores them (a transposed view); such views are supported only through Reshape, Transpose, Shape, Identity, element-wise ops, Dropout, MatMul, Gemm, Slice and Gather of one axis, Softmax over the last axis, reductions, LayerNormalization and Concat");
        if (value is HighRankView wide)
            throw n.Unsupported($"input {index} has {wide.Dims.Length} axes [{string.Join(",", wide.Dims)}] (at batch 1); tensors of more than {TensorShape.MaxRank} axes are supported only through Reshape, Transpose, Flatten, Squeeze, Unsqueeze, Shape, Identity, element-wise ops, Softmax and Einsum");
        if (value is not LiveTensor live) throw n.Unsupported($"input {index} is a constant; this op needs a tensor computed from the graph input");
        if (live.Pads is not null && !allowPads) throw PadNotFolded(n);
        return live;
    }

    /// <summary>Input <paramref name="index"/> for the ops that only re-view or permute it: a tensor of ours and its ONNX
    /// sizes (batch 1 first), of any rank up to <see cref="MaxViewRank"/> (a <see cref="HighRankView"/>'s too).</summary>
    public (LiveTensor Tensor, int[] Dims) AnyRankInput(OnnxNodeReader n, int index)
    {
        if (Input(n, index) is HighRankView wide) return (wide.Tensor, wide.Dims);
        var x = LiveInput(n, index);
        return (x, x.Shape.ToArray());
    }

    /// <summary>The ONNX sizes (batch 1 first) of a tensor value of any rank: a <see cref="HighRankView"/>'s or a
    /// <see cref="LiveTensor"/>'s; null for any other value.</summary>
    public static int[]? Dims(OnnxValue value) => value switch
    {
        HighRankView wide => wide.Dims,
        LiveTensor live => live.Shape.ToArray(),
        _ => null,
    };

    /// <summary><paramref name="x"/> seen with the ONNX sizes <paramref name="dims"/> (batch 1 first, as many elements): a
    /// <see cref="LiveTensor"/> of that shape up to <see cref="TensorShape.MaxRank"/> axes, else a <see cref="HighRankView"/>.</summary>
    public static OnnxValue Seen(LiveTensor x, int[] dims) =>
        dims.Length <= TensorShape.MaxRank ? x with { Shape = TensorShape.Of(dims) } : new HighRankView(x, dims);

    static OnnxUnsupportedException PadNotFolded(OnnxNodeReader n) =>
        n.Unsupported("its input comes from a Pad node, which is only supported right before a Conv or AveragePool");

    /// <summary>True when the ONNX value at <paramref name="input"/> of <paramref name="n"/> is read by this node only and
    /// no other ONNX value names <paramref name="tensor"/>, so rewriting its producer changes nothing else.</summary>
    public bool Unshared(OnnxNodeReader n, int input, string tensor) =>
        onnxUses.GetValueOrDefault(n.Proto.Input[input]) == 1 && tensorAliases.GetValueOrDefault(tensor) == 1;

    /// <summary>The result of a node that rewrote its input's producer in place (a folded scale, x·σ(x) as SiLU): the same
    /// tensor, which now stands for this node's output instead of its input (that input had this node as its only reader).</summary>
    public LiveTensor Rewritten(LiveTensor input)
    {
        tensorAliases[input.Tensor]--;
        return input;
    }

    /// <summary>Input <paramref name="index"/> of <paramref name="n"/>, <paramref name="x"/>, seen with another ONNX shape. Where
    /// this node is that value's only reader the old value is dead, so it no longer counts as a name of the tensor: a later
    /// node may still rewrite the tensor's producer (PyTorch's GroupNorm reshapes the normalization back before its Mul).</summary>
    public LiveTensor View(OnnxNodeReader n, int index, LiveTensor x, TensorShape shape) =>
        (onnxUses.GetValueOrDefault(n.Proto.Input[index]) == 1 ? Rewritten(x) : x) with { Shape = shape };

    /// <summary><see cref="View(OnnxNodeReader, int, LiveTensor, TensorShape)"/> with sizes of any rank up to
    /// <see cref="MaxViewRank"/> (see <see cref="Seen"/>).</summary>
    public OnnxValue View(OnnxNodeReader n, int index, LiveTensor x, int[] dims) =>
        Seen(onnxUses.GetValueOrDefault(n.Proto.Input[index]) == 1 ? Rewritten(x) : x, dims);

    /// <summary>The values of a constant tensor in the file (a Constant's value, ConstantOfShape's fill).</summary>
    public OnnxConstant ReadTensor(TensorProto tensor) => OnnxTensorData.Read(tensor, folder, source);

    // ── our graph ──

    /// <summary>The actual shape of our tensor <paramref name="tensor"/> at batch 1 (a view's may differ).</summary>
    public TensorShape Shape(string tensor) => shapes[tensor];

    /// <summary>The node of our graph that computes <paramref name="tensor"/> (null for a graph input).</summary>
    public PendingNode? Producer(string tensor) => producers.GetValueOrDefault(tensor);

    /// <summary>An element-wise <paramref name="layer"/> of input 0 of <paramref name="n"/>: it runs on the tensor under
    /// the input's view (of any rank, a <see cref="HighRankView"/>'s too), and its result keeps that view.</summary>
    public OnnxValue ElementwiseOf(OnnxNodeReader n, Layer layer)
    {
        if (Input(n, 0) is HighRankView wide)
        {
            if (wide.Tensor.Pads is not null) throw PadNotFolded(n);
            return wide with { Tensor = AddLayer(n, null, layer, [wide.Tensor.Tensor]) };
        }
        if (Input(n, 0) is PermutedView view) return view with { Tensor = AddLayer(n, null, layer, [view.Tensor.Tensor]) };
        var x = LiveInput(n, 0);
        return AddLayer(n, null, layer, [x.Tensor]) with { Shape = x.Shape };
    }

    /// <summary>Appends a layer over <paramref name="operands"/> (live values, materialized here, or tensor names)
    /// and returns its output. The node is named after its weight initializer (<c>conv1.weight</c> → <c>conv1</c>,
    /// keeping PyTorch's state-dict names) or else after the ONNX node.</summary>
    public LiveTensor AddLayer(OnnxNodeReader n, string? weightName, Layer layer, object[] operands, params (string Name, float[]? Values)[] state)
    {
        string[] inputNames = operands.Select(o => o as string ?? Materialize(n, (LiveTensor)o, "input")).ToArray();
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
        Append(pending, output);
        return new LiveTensor(name, output);
    }

    /// <summary>The tensor of our graph holding <paramref name="value"/> in its ONNX shape: the tensor itself, a Flatten
    /// of it for an (N,features) view, or a <see cref="Layers.Reshape"/> of it for any other view (both free: views of the
    /// same storage). Each view is materialized once.</summary>
    public string Materialize(OnnxNodeReader? n, LiveTensor value, string role)
    {
        var actual = shapes[value.Tensor];
        if (value.Pads is not null)
            throw n is null ? new OnnxUnsupportedException(source, "(graph)", "Pad", opset, "the graph output comes from a Pad node") : PadNotFolded(n);
        if (value.Shape == actual) return value.Tensor;
        if (value.Shape.Rank == 2 && actual.Rank == 2) return value.Tensor;
        if (value.Shape.Rank < 2)
            throw n?.Unsupported($"{role} (N) has the batch axis only (one value per item, as x·v by a vector gives); our tensors have an item axis: an Unsqueeze or Reshape to (N,1) gives it one")
                ?? new OnnxUnsupportedException(source, "(graph)", "output", opset, "the output (N) has the batch axis only (one value per item); our outputs have an item axis: end the graph with an Unsqueeze or Reshape to (N,1)");
        if (value.Shape.Rank < 2 || value.Shape.N != 1 || value.Shape.Length != actual.Length)
            throw n?.Unsupported($"{role} {value.Shape} is a view of {actual} that moves the batch axis")
                ?? new OnnxUnsupportedException(source, "(graph)", "output", opset, $"the output {value.Shape} is a view of {actual} that moves the batch axis");
        if (views.TryGetValue((value.Tensor, value.Shape), out string? existing)) return existing;
        bool flatten = value.Shape.Rank == 2;
        string name = UniqueName(n is null ? (flatten ? "flatten" : "reshape") : $"{n.Name}.{(flatten ? "flatten" : "reshape")}");
        Layer view = flatten ? new Layers.Flatten() : new Layers.Reshape(value.Shape.ToArray()[1..]);
        Append(new PendingNode(name, view, [value.Tensor]), flatten ? new TensorShape(1, actual.ItemLength) : value.Shape);
        views[(value.Tensor, value.Shape)] = name;
        return name;
    }

    /// <summary>The tensor under a padded value, and checks it is not a reshaped view.</summary>
    public string Unpadded(OnnxNodeReader n, LiveTensor x) =>
        Materialize(n, x with { Pads = null, Shape = x.Pads is null ? x.Shape : shapes[x.Tensor] }, "input");

    void Append(PendingNode node, TensorShape output)
    {
        nodes.Add(node);
        producers[node.Name] = node;
        shapes[node.Name] = output;
    }

    string UniqueName(string baseName)
    {
        string name = string.IsNullOrWhiteSpace(baseName) ? "node" : baseName;
        for (int k = 2; !usedNames.Add(name); k++) name = $"{baseName}_{k}";
        return name;
    }

    /// <summary>Our graph, with graph output <paramref name="outputName"/>, and the values of every parameter and buffer.</summary>
    public ImportedModel Build(string outputName)
    {
        if (!values.TryGetValue(outputName, out var outputValue))
            throw new OnnxFormatException(source, $"graph output '{outputName}' is not produced by any node");
        if (outputValue is HighRankView wide)
            throw new OnnxUnsupportedException(source, outputName, "output", opset, $"the graph output has {wide.Dims.Length} axes; outputs have at most {TensorShape.MaxRank}");
        if (outputValue is PermutedView view)
            throw new OnnxUnsupportedException(source, outputName, "output", opset, $"the graph output {view.Text} does not have the batch axis alone and first");
        if (outputValue is not LiveTensor live || !producers.ContainsKey(live.Tensor))
            throw new OnnxUnsupportedException(source, outputName, "output", opset, "the graph output must be computed by at least one node from the input");
        string output = Materialize(null, live, "output");

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

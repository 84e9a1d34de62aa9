using System.Text;
using Google.Protobuf;
using NeuroPlugin.Graph;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Writes a network in inference form (batch norm with its running statistics, dropout as ONNX's inference-mode
/// Dropout) as an ONNX model, ai.onnx opset <see cref="Opset"/>, that ONNX Runtime runs with the same results.
/// Values are named after our nodes and initializers after our parameters (<c>conv1.weight</c>), so importing the
/// file again gives the same state-dict names. The batch axis of inputs and outputs is the symbol <c>N</c>.
/// Layers map to: Conv2d → Conv, Linear → Gemm (transB = 1), MatMul/MatMulConstant → MatMul (the constant an initializer),
/// ReduceSum/ReduceMean/ReduceMax/ReduceMin → the ONNX op of that name (ReduceSum's axes an input), MaxPool2d → MaxPool, AvgPool2d → AveragePool,
/// activations → Relu/Sigmoid/Tanh/LeakyRelu/HardSigmoid/HardSwish, ReLU6 → Clip(0, 6), SiLU → x·Sigmoid(x), GELU → its
/// erf formula and GELUTanh → its tanh formula in Mul/Add/Div/Erf/Tanh,
/// Flatten → Flatten, Reshape → Reshape (Squeeze/Unsqueeze where it only removes or adds axes of size 1), Permute → Transpose, Slice → Slice, IndexSelect → Gather, Add → Add/Sum,
/// Concat → Concat, BatchExpand → Expand (its size from Shape, Slice, Concat), ChannelMultiply → Mul (after Unsqueeze for an (N,C) scale),
/// Elementwise/ElementwiseConstant → Add/Sub/Mul/Div/Pow/Min/Max/PRelu (the constant an initializer), PReLU → PRelu (the
/// slope (C,1,…,1)), the element-wise
/// functions → Neg/Abs/Reciprocal/Sqrt/Exp/Log/Erf, Softmax → Softmax, LogSoftmax → LogSoftmax,
/// LocalResponseNorm → LRN (odd sizes), global pooling → GlobalAveragePool/GlobalMaxPool,
/// AdaptiveAvgPool2d → GlobalAveragePool, AveragePool (where the output divides the input) or two MatMuls with
/// constant averaging matrices (any other size), Conv2d groups → group, BatchNorm1d/2d → BatchNormalization,
/// ConvTranspose2d → ConvTranspose, LayerNorm → LayerNormalization (the model then in opset 17), InstanceNorm2d →
/// InstanceNormalization, GroupNorm → Reshape, InstanceNormalization, Reshape, Mul, Add (PyTorch's spelling),
/// Dropout → Dropout, Upsample → Resize (linear, half_pixel), ChannelPad → Pad, FractalJoin → Mean (every column), and the stochastic residuals (Stochastic
/// Depth, Shake-Shake, ShakeDrop, Swapout) → Mul/Add/Sum with their expected coefficients. Every zoo model exports
/// (OnnxZooExportTests).
/// </summary>
public static partial class OnnxExporter
{
    /// <summary>The ai.onnx opset written for most models (14: the first with HardSwish; ONNX Runtime supports it everywhere).</summary>
    public const int Opset = 14;
    /// <summary>The IR version matching <see cref="Opset"/> (ONNX 1.9).</summary>
    public const int IrVersion = 7;
    /// <summary>The opset written for a model with a <see cref="LayerNorm"/>: 17, the first with LayerNormalization.</summary>
    public const int LayerNormalizationOpset = 17;

    /// <summary>The opset a model of <paramref name="graph"/> is written in: <see cref="LayerNormalizationOpset"/> where it has a
    /// <see cref="LayerNorm"/>, else <see cref="Opset"/> (the ops written for 14 mean the same at 17).</summary>
    public static int OpsetFor(NetworkGraph graph) => graph.Nodes.Any(n => n.Layer is LayerNorm) ? LayerNormalizationOpset : Opset;

    /// <summary>Writes <paramref name="network"/> to <paramref name="path"/> (a temporary file renamed over the target,
    /// so a failed export never destroys an existing file), described by <paramref name="metadata"/> (null: the graph's
    /// input alone) in <c>metadata_props</c>.</summary>
    public static void Export(Network network, string path, ModelMetadata? metadata = null)
    {
        var model = ToModel(network, metadata);
        string fullPath = Path.GetFullPath(path);
        string temporary = $"{fullPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                var output = new CodedOutputStream(stream);
                model.WriteTo(output);
                output.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
    }

    /// <summary>The ONNX model of <paramref name="network"/> (its weights downloaded from the backend), with
    /// <paramref name="metadata"/>'s entries as <c>metadata_props</c> named <c>neuroplugin.input</c>, ….
    /// Throws <see cref="OnnxUnsupportedException"/> for a layer ONNX (or this exporter) cannot express, and
    /// <see cref="ArgumentException"/> for metadata that does not fit the graph.</summary>
    internal static ModelProto ToModel(Network network, ModelMetadata? metadata = null)
    {
        metadata ??= ModelMetadata.Describe(network.Graph);
        if (metadata.Mismatch(network.Graph) is { } problem) throw new ArgumentException($"the model's metadata does not fit its graph: {problem}", nameof(metadata));
        var graph = network.Graph;
        var shapes = graph.InferShapes(1);
        var onnx = new GraphProto { Name = "neuroplugin" };
        foreach (var input in graph.Inputs) onnx.Input.Add(ValueInfo(input.Name, shapes[input.Name]));
        var writer = new NodeWriter(onnx, network);
        foreach (var node in graph.Nodes) writer.Write(node, node.Inputs.Select(i => shapes[i]).ToArray());
        onnx.Output.Add(ValueInfo(graph.Output, shapes[graph.Output]));
        int opset = OpsetFor(graph);
        var model = new ModelProto
        {
            IrVersion = opset >= LayerNormalizationOpset ? 8 : IrVersion, // ONNX 1.12's IR version for opset 17
            ProducerName = "NeuroPlugin",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = onnx,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        foreach (var (key, value) in metadata.Entries()) model.MetadataProps.Add(new StringStringEntryProto { Key = ModelMetadata.OnnxKeyPrefix + key, Value = value });
        return model;
    }

    static ValueInfoProto ValueInfo(string name, TensorShape shapeAtBatchOne)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new DimensionProto { DimParam = "N" });
        for (int i = 1; i < shapeAtBatchOne.Rank; i++) shape.Dim.Add(new DimensionProto { DimValue = shapeAtBatchOne[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TensorTypeProto { ElemType = (int)TensorDataType.Float, Shape = shape } },
        };
    }

    /// <summary>Appends the ONNX nodes and initializers of one of our nodes.</summary>
    sealed partial class NodeWriter(GraphProto onnx, Network network)
    {
        public void Write(Node node, TensorShape[] inputShapes)
        {
            string[] x = [.. node.Inputs];
            string y = node.Name;
            switch (node.Layer)
            {
                case Conv2d conv:
                    Emit("Conv", node.Name, [x[0], Parameter(node, "weight"), .. conv.HasBias ? [Parameter(node, "bias")] : Array.Empty<string>()], y,
                        [Ints("kernel_shape", conv.Window.KernelHeight, conv.Window.KernelWidth), .. WindowAttributes(conv.Window, dilations: true), Int("group", conv.Groups)]);
                    break;
                case ConvTranspose2d transposed:
                    Emit("ConvTranspose", node.Name, [x[0], Parameter(node, "weight"), .. transposed.HasBias ? [Parameter(node, "bias")] : Array.Empty<string>()], y,
                        [Ints("kernel_shape", transposed.Window.KernelHeight, transposed.Window.KernelWidth), .. WindowAttributes(transposed.Window, dilations: true),
                         Int("group", transposed.Groups),
                         .. transposed.OutputPaddingHeight != 0 || transposed.OutputPaddingWidth != 0
                             ? [Ints("output_padding", transposed.OutputPaddingHeight, transposed.OutputPaddingWidth)] : Array.Empty<AttributeProto>()]);
                    break;
                case Linear linear:
                    Emit("Gemm", node.Name, [x[0], Parameter(node, "weight"), .. linear.HasBias ? [Parameter(node, "bias")] : Array.Empty<string>()], y, Int("transB", 1));
                    break;
                case MatMul matMul:
                {
                    string[] operands = x;
                    if (matMul.HasConstant) operands = matMul.ConstantFirst ? [Parameter(node, "weight"), x[0]] : [x[0], Parameter(node, "weight")];
                    Emit("MatMul", node.Name, operands, y);
                    break;
                }
                case MaxPool2d pool:
                    Emit("MaxPool", node.Name, [x[0]], y, [Ints("kernel_shape", pool.Window.KernelHeight, pool.Window.KernelWidth), .. WindowAttributes(pool.Window, dilations: true)]);
                    break;
                case AvgPool2d pool:
                    if (pool.Window.DilationHeight != 1 || pool.Window.DilationWidth != 1) throw Unsupported(node, "dilated average pooling has no ONNX form");
                    Emit("AveragePool", node.Name, [x[0]], y, [Ints("kernel_shape", pool.Window.KernelHeight, pool.Window.KernelWidth),
                        .. WindowAttributes(pool.Window, dilations: false), Int("count_include_pad", pool.CountIncludePad ? 1 : 0)]);
                    break;
                case Activation activation:
                    WriteActivation(node, activation, x[0], y);
                    break;
                case Layers.Flatten:
                    Emit("Flatten", node.Name, [x[0]], y, Int("axis", 1));
                    break;
                case Add:
                    Emit(x.Length == 2 ? "Add" : "Sum", node.Name, x, y);
                    break;
                case Concat concat:
                    Emit("Concat", node.Name, x, y, Int("axis", concat.Dim));
                    break;
                case Reshape or Permute or Slice or IndexSelect:
                    WriteShapeOp(node, inputShapes[0], x[0], y);
                    break;
                case BatchExpand expand:
                {
                    // Expand(c, [N, shape…]): the batch size read from the input, the constant an initializer (broadcast from
                    // its last axes)
                    string c = expand.Learnable ? Parameter(node, "constant") : Buffer(node, "constant");
                    Emit("Shape", $"{y}.input_shape", [x[0]], $"{y}.input_shape");
                    Emit("Slice", $"{y}.batch", [$"{y}.input_shape", IntConstant($"{y}.starts", 0), IntConstant($"{y}.ends", 1)], $"{y}.batch");
                    Emit("Concat", $"{y}.size", [$"{y}.batch", IntConstant($"{y}.item", Longs([.. expand.Shape.ToArray()]))], $"{y}.size", Int("axis", 0));
                    Emit("Expand", node.Name, [c, $"{y}.size"], y);
                    break;
                }
                case ChannelMultiply:
                    string scale = x[1];
                    if (inputShapes[1].Rank == 2)
                    {
                        // ONNX broadcasts trailing axes: an (N,C) scale becomes (N,C,1,1)
                        scale = $"{y}.scale";
                        Emit("Unsqueeze", scale, [x[1], IntConstant($"{y}.axes", 2, 3)], scale);
                    }
                    Emit("Mul", node.Name, [x[0], scale], y);
                    break;
                case Elementwise elementwise:
                {
                    string[] operands = x;
                    if (elementwise.HasConstant)
                    {
                        string c = elementwise.Learnable ? Parameter(node, "constant") : Buffer(node, "constant");
                        operands = elementwise.ConstantFirst ? [c, x[0]] : [x[0], c];
                    }
                    Emit(Elementwise.OnnxOp(elementwise.Op), node.Name, operands, y);
                    break;
                }
                case PReLU prelu:
                {
                    // ONNX broadcasts the slope from the last axes: PyTorch's (C) weight goes in as (C,1,…,1)
                    var slope = network.Parameter($"{node.Name}.weight");
                    var dims = Backends.Broadcast.ChannelAligned(slope.Shape, inputShapes[0]).ToArray().Select(d => (long)d).ToArray();
                    onnx.Initializer.Add(OnnxTensorData.FromFloats($"{node.Name}.weight", dims, slope.ToArray()));
                    Emit("PRelu", node.Name, [x[0], $"{node.Name}.weight"], y);
                    break;
                }
                case ElementwiseFunction function:
                    Emit(function.Op.ToString(), node.Name, [x[0]], y);
                    break;
                case Reduce reduce:
                    WriteReduce(node, reduce, x[0], y);
                    break;
                case Layers.Softmax softmax:
                    Emit(softmax.Type, node.Name, [x[0]], y, Int("axis", softmax.Dim));
                    break;
                case Layers.LocalResponseNorm lrn:
                    if (lrn.Size % 2 == 0) throw Unsupported(node, $"size {lrn.Size}: ONNX's LRN centres even windows one channel later than PyTorch (only odd sizes export)");
                    Emit("LRN", node.Name, [x[0]], y, Int("size", lrn.Size), Float("alpha", lrn.Alpha), Float("beta", lrn.Beta), Float("bias", lrn.K));
                    break;
                case GlobalAvgPool2d:
                    Emit("GlobalAveragePool", node.Name, [x[0]], y);
                    break;
                case AdaptiveAvgPool2d adaptive:
                    WriteAdaptivePool(node, adaptive, inputShapes[0], x[0], y);
                    break;
                case GlobalMaxPool2d:
                    Emit("GlobalMaxPool", node.Name, [x[0]], y);
                    break;
                case BatchNorm bn:
                    Emit("BatchNormalization", node.Name,
                        [x[0], Parameter(node, "weight"), Parameter(node, "bias"), Buffer(node, "running_mean"), Buffer(node, "running_var")], y,
                        Float("epsilon", bn.Epsilon), Float("momentum", 1f - bn.Momentum)); // ONNX's momentum weighs the old value
                    break;
                case LayerNorm or GroupNorm or InstanceNorm2d:
                    WriteRowNorm(node, (RowNorm)node.Layer, inputShapes[0], x[0], y);
                    break;
                case Layers.Dropout dropout:
                    Emit("Dropout", node.Name, [x[0], FloatConstant($"{y}.ratio", dropout.P)], y);
                    break;
                case Upsample upsample:
                    WriteUpsample(node, upsample, x[0], y);
                    break;
                case ChannelPad pad:
                    // pads are (begin of every axis, then end of every axis): zeros after the C input channels
                    Emit("Pad", node.Name, [x[0], IntConstant($"{y}.pads", 0, 0, 0, 0, 0, pad.OutChannels - inputShapes[0].C, 0, 0)], y);
                    break;
                case FractalJoin:
                    Emit("Mean", node.Name, x, y); // eval mode keeps every column
                    break;
                case PerSampleResidual residual:
                {
                    // inference form: the expected coefficients, y = c₁·F₁ (+ c₂·F₂) + x (the identity is the last input)
                    var c = residual.Coefficients(training: false, 0f, 0f, 0f, 0f);
                    float[] weights = x.Length == 3 ? [c.Forward1, c.Forward2] : [c.Forward1];
                    WriteWeightedSum(node, x, [.. weights, 1f], y);
                    break;
                }
                case Swapout swapout:
                    // inference form: the expectation (1 − p₂)·F(x) + (1 − p₁)·x; inputs are (F(x), x)
                    WriteWeightedSum(node, x, [1f - swapout.BranchDropProbability, 1f - swapout.IdentityDropProbability], y);
                    break;
                default:
                    throw Unsupported(node, $"layer type '{node.Layer.Type}' has no ONNX export");
            }
        }

        void WriteActivation(Node node, Activation activation, string x, string y)
        {
            switch (activation.Kind)
            {
                case ActivationKind.ReLU: Emit("Relu", node.Name, [x], y); break;
                case ActivationKind.Sigmoid: Emit("Sigmoid", node.Name, [x], y); break;
                case ActivationKind.Tanh: Emit("Tanh", node.Name, [x], y); break;
                case ActivationKind.LeakyReLU: Emit("LeakyRelu", node.Name, [x], y, Float("alpha", activation.NegativeSlope)); break;
                case ActivationKind.ReLU6: Emit("Clip", node.Name, [x, FloatConstant($"{y}.min", 0f), FloatConstant($"{y}.max", 6f)], y); break;
                case ActivationKind.HardSigmoid: Emit("HardSigmoid", node.Name, [x], y, Float("alpha", 1f / 6f), Float("beta", 0.5f)); break;
                case ActivationKind.HardSwish: Emit("HardSwish", node.Name, [x], y); break;
                case ActivationKind.SiLU:
                    Emit("Sigmoid", $"{y}.sigmoid", [x], $"{y}.sigmoid");
                    Emit("Mul", node.Name, [x, $"{y}.sigmoid"], y);
                    break;
                case ActivationKind.GELU:
                    // y = x·(1 + erf(x/√2))·½, as PyTorch writes it before opset 20
                    Emit("Div", $"{y}.scaled", [x, FloatConstant($"{y}.sqrt2", MathF.Sqrt(2f))], $"{y}.scaled");
                    Emit("Erf", $"{y}.erf", [$"{y}.scaled"], $"{y}.erf");
                    Emit("Add", $"{y}.gate", [$"{y}.erf", FloatConstant($"{y}.one", 1f)], $"{y}.gate");
                    Emit("Mul", $"{y}.gated", [x, $"{y}.gate"], $"{y}.gated");
                    Emit("Mul", node.Name, [$"{y}.gated", FloatConstant($"{y}.half", 0.5f)], y);
                    break;
                case ActivationKind.GELUTanh:
                    // y = x·(1 + tanh(√(2/π)·(x + 0.044715·x·x·x)))·½
                    Emit("Mul", $"{y}.square", [x, x], $"{y}.square");
                    Emit("Mul", $"{y}.cube", [$"{y}.square", x], $"{y}.cube");
                    Emit("Mul", $"{y}.cubic", [$"{y}.cube", FloatConstant($"{y}.coefficient", 0.044715f)], $"{y}.cubic");
                    Emit("Add", $"{y}.inner", [x, $"{y}.cubic"], $"{y}.inner");
                    Emit("Mul", $"{y}.argument", [$"{y}.inner", FloatConstant($"{y}.sqrt_2_over_pi", MathF.Sqrt(2f / MathF.PI))], $"{y}.argument");
                    Emit("Tanh", $"{y}.tanh", [$"{y}.argument"], $"{y}.tanh");
                    Emit("Add", $"{y}.gate", [$"{y}.tanh", FloatConstant($"{y}.one", 1f)], $"{y}.gate");
                    Emit("Mul", $"{y}.gated", [x, $"{y}.gate"], $"{y}.gated");
                    Emit("Mul", node.Name, [$"{y}.gated", FloatConstant($"{y}.half", 0.5f)], y);
                    break;
                default: throw Unsupported(node, $"activation {activation.Kind} has no ONNX export");
            }
        }

        /// <summary>LayerNorm → LayerNormalization (opset 17) over the last k axes; InstanceNorm2d → InstanceNormalization; GroupNorm
        /// as PyTorch writes it: Reshape to (N,G,−1), InstanceNormalization with scale 1 and B 0, Reshape back, then Mul and Add by
        /// the weight and bias (C,1,…) where it is affine. A layer without γ, β gets constants 1 and 0 where ONNX needs them.</summary>
        void WriteRowNorm(Node node, RowNorm norm, TensorShape input, string x, string y)
        {
            switch (norm)
            {
                case LayerNorm layerNorm:
                {
                    long[] dims = [.. layerNorm.NormalizedShape.Select(d => (long)d)];
                    int length = layerNorm.NormalizedShape.Aggregate(1, (a, b) => a * b);
                    string scale = norm.IsAffine ? Parameter(node, "weight") : FloatsConstant($"{y}.scale", dims, Enumerable.Repeat(1f, length).ToArray());
                    string shift = norm.IsAffine ? Parameter(node, "bias") : FloatsConstant($"{y}.shift", dims, new float[length]);
                    Emit("LayerNormalization", node.Name, [x, scale, shift], y, Int("axis", -dims.Length), Float("epsilon", norm.Epsilon));
                    break;
                }
                case InstanceNorm2d instance:
                {
                    string scale = norm.IsAffine ? Parameter(node, "weight") : FloatsConstant($"{y}.scale", [instance.NumFeatures], Enumerable.Repeat(1f, instance.NumFeatures).ToArray());
                    string shift = norm.IsAffine ? Parameter(node, "bias") : FloatsConstant($"{y}.shift", [instance.NumFeatures], new float[instance.NumFeatures]);
                    Emit("InstanceNormalization", node.Name, [x, scale, shift], y, Float("epsilon", norm.Epsilon));
                    break;
                }
                case GroupNorm group:
                {
                    int groups = group.NumGroups;
                    string grouped = $"{y}.grouped", normalized = $"{y}.normalized", restored = norm.IsAffine ? $"{y}.restored" : y, scaled = $"{y}.scaled";
                    Emit("Reshape", grouped, [x, IntConstant($"{y}.group_shape", 0, groups, -1)], grouped);
                    // named in PyTorch's scope form, which the importer reads back as the GroupNorm's node name
                    Emit("InstanceNormalization", $"/{node.Name.Replace('.', '/')}/InstanceNormalization", [grouped, FloatsConstant($"{y}.ones", [groups], Enumerable.Repeat(1f, groups).ToArray()),
                        FloatsConstant($"{y}.zeros", [groups], new float[groups])], normalized, Float("epsilon", norm.Epsilon));
                    Emit("Reshape", restored, [normalized, IntConstant($"{y}.shape", [0, .. input.ToArray()[1..].Select(d => (long)d)])], restored);
                    if (!norm.IsAffine) break;
                    long[] perChannel = [.. Backends.Broadcast.ChannelAligned(new TensorShape(group.NumChannels), input).ToArray().Select(d => (long)d)];
                    Emit("Mul", scaled, [restored, Reshaped(node, "weight", perChannel)], scaled);
                    Emit("Add", node.Name, [scaled, Reshaped(node, "bias", perChannel)], y);
                    break;
                }
            }
        }

        /// <summary>The parameter <paramref name="name"/> of <paramref name="node"/> as an initializer of shape <paramref name="dims"/>.</summary>
        string Reshaped(Node node, string name, long[] dims)
        {
            string full = $"{node.Name}.{name}";
            onnx.Initializer.Add(OnnxTensorData.FromFloats(full, dims, network.Parameter(full).ToArray()));
            return full;
        }

        string FloatsConstant(string name, long[] dims, float[] values)
        {
            onnx.Initializer.Add(OnnxTensorData.FromFloats(name, dims, values));
            return name;
        }

        /// <summary><c>y = Σᵢ wᵢ·xᵢ</c>: a Mul by a scalar constant for each weight other than 1, then Add or Sum.</summary>
        void WriteWeightedSum(Node node, string[] x, float[] weights, string y)
        {
            var terms = new string[x.Length];
            for (int i = 0; i < x.Length; i++)
            {
                if (weights[i] == 1f) { terms[i] = x[i]; continue; }
                terms[i] = $"{y}.term{i}";
                Emit("Mul", terms[i], [x[i], FloatConstant($"{y}.weight{i}", weights[i])], terms[i]);
            }
            Emit(terms.Length == 2 ? "Add" : "Sum", node.Name, terms, y);
        }

        /// <summary>ONNX has no adaptive pooling: a 1×1 output is GlobalAveragePool, and an output that divides the input
        /// evenly is an AveragePool whose kernel and stride are the quotient (the windows PyTorch uses then). Any other
        /// size (bins of unequal or overlapping extent, or an output larger than the input) is exact as two products with
        /// constant averaging matrices, since each bin is a rectangle: <c>y = P_H · x · P_Wᵀ</c>, with
        /// <c>P_H[i, h] = 1/(end − start)</c> for <c>h ∈ [⌊i·H/OH⌋, ⌈(i+1)·H/OH⌉)</c> (PyTorch's bins), x (N,C,H,W).</summary>
        void WriteAdaptivePool(Node node, AdaptiveAvgPool2d pool, TensorShape input, string x, string y)
        {
            if (pool.OutputHeight == 1 && pool.OutputWidth == 1)
                Emit("GlobalAveragePool", node.Name, [x], y);
            else if (input.H % pool.OutputHeight == 0 && input.W % pool.OutputWidth == 0)
            {
                int kh = input.H / pool.OutputHeight, kw = input.W / pool.OutputWidth;
                Emit("AveragePool", node.Name, [x], y, Ints("kernel_shape", kh, kw), Ints("strides", kh, kw));
            }
            else
            {
                string rows = $"{y}.rows", columns = $"{y}.columns_t", pooledColumns = $"{y}.pooled_columns";
                onnx.Initializer.Add(OnnxTensorData.FromFloats(rows, [pool.OutputHeight, input.H], AdaptivePoolingMatrix.Of(input.H, pool.OutputHeight, transpose: false)));
                onnx.Initializer.Add(OnnxTensorData.FromFloats(columns, [input.W, pool.OutputWidth], AdaptivePoolingMatrix.Of(input.W, pool.OutputWidth, transpose: true)));
                Emit("MatMul", pooledColumns, [x, columns], pooledColumns);   // (N,C,H,W)·(W,OW) → (N,C,H,OW)
                Emit("MatMul", node.Name, [rows, pooledColumns], y);          // (OH,H)·(N,C,H,OW) → (N,C,OH,OW)
            }
        }

        /// <summary>Upsample → Resize, mode linear with <c>half_pixel</c> coordinates: source = (i + ½)/scale − ½, which is
        /// PyTorch's align_corners=False rule (also for a 1-pixel output, where <c>pytorch_half_pixel</c> would differ), and
        /// ONNX Runtime clamps a negative source at the edge as PyTorch does. A scale factor goes in as <c>scales</c>
        /// (1, 1, s_h, s_w); a fixed size as <c>sizes</c>, the input's (N, C) from Shape at run time (the batch axis is
        /// symbolic) followed by (OH, OW).</summary>
        void WriteUpsample(Node node, Upsample upsample, string x, string y)
        {
            AttributeProto[] attributes = [String("mode", "linear"), String("coordinate_transformation_mode", "half_pixel")];
            if (upsample.ScaleFactor is { } factor)
            {
                string scales = $"{y}.scales";
                onnx.Initializer.Add(OnnxTensorData.FromFloats(scales, [4], [1f, 1f, factor.Height, factor.Width]));
                Emit("Resize", node.Name, [x, "", scales], y, attributes);
                return;
            }
            var (height, width) = upsample.Size!.Value;
            string shape = $"{y}.input_shape", batchAndChannels = $"{y}.batch_channels", sizes = $"{y}.sizes";
            Emit("Shape", shape, [x], shape);
            Emit("Slice", batchAndChannels, [shape, IntConstant($"{y}.starts", 0), IntConstant($"{y}.ends", 2)], batchAndChannels);
            Emit("Concat", sizes, [batchAndChannels, IntConstant($"{y}.spatial", height, width)], sizes, Int("axis", 0));
            Emit("Resize", node.Name, [x, "", "", sizes], y, attributes);
        }

        OnnxUnsupportedException Unsupported(Node node, string problem) =>
            new(onnx.Name, node.Name, node.Layer.Type, Opset, problem);

        void Emit(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
        {
            var node = new NodeProto { OpType = op, Name = name };
            node.Input.AddRange(inputs);
            node.Output.Add(output);
            node.Attribute.AddRange(attributes);
            onnx.Node.Add(node);
        }

        string Parameter(Node node, string name) => Initializer($"{node.Name}.{name}", network.Parameter($"{node.Name}.{name}"));

        string Buffer(Node node, string name) => Initializer($"{node.Name}.{name}", network.Buffer($"{node.Name}.{name}"));

        string Initializer(string name, Tensor tensor)
        {
            onnx.Initializer.Add(OnnxTensorData.FromFloats(name, tensor.Shape.ToArray().Select(d => (long)d).ToArray(), tensor.ToArray()));
            return name;
        }

        string FloatConstant(string name, float value)
        {
            onnx.Initializer.Add(OnnxTensorData.FromFloats(name, [], [value]));
            return name;
        }

        string IntConstant(string name, params long[] values)
        {
            onnx.Initializer.Add(OnnxTensorData.FromInts(name, [values.Length], values));
            return name;
        }
    }

    static AttributeProto[] WindowAttributes(Window2d w, bool dilations) =>
    [
        Ints("strides", w.StrideHeight, w.StrideWidth),
        Ints("pads", w.PadTop, w.PadLeft, w.PadBottom, w.PadRight),
        .. dilations && (w.DilationHeight != 1 || w.DilationWidth != 1) ? [Ints("dilations", w.DilationHeight, w.DilationWidth)] : Array.Empty<AttributeProto>(),
    ];

    static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeType.Int, I = value };

    static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeType.Float, F = value };

    static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A string attribute (UTF-8 bytes).</summary>
    internal static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeType.String, S = ByteString.CopyFrom(Encoding.UTF8.GetBytes(value)) };
}

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>Converts one ONNX node, whose attributes and inputs <paramref name="node"/> reads, into the value of its
/// first output (or <see cref="OnnxOutputs"/> for an op with several), adding layers to <paramref name="graph"/> as
/// needed.</summary>
internal delegate OnnxValue OnnxConverter(ImportGraph graph, OnnxNodeReader node);

/// <summary>One supported ONNX op. <paramref name="Convert"/> imports it over tensors of our graph: as a layer that every
/// backend runs, a view of a tensor (Flatten, Reshape…) or a rewrite of the layer before it (a scale folded into a Conv);
/// null when the op is only folded. <paramref name="Fold"/> computes it at import time when every input is a constant
/// (the shape arithmetic exporters write, Constant nodes); null when it is never folded.</summary>
internal sealed record OnnxOperator(string Name, OnnxConverter? Convert, OnnxConverter? Fold)
{
    public bool IsLayer => Convert is not null;
    public bool IsFolded => Fold is not null;
}

/// <summary>
/// The ONNX ops the importer supports, each with its converter (one file per op family under <c>Operators/</c>): the
/// dispatch table of <see cref="OnnxGraphConverter"/>, the list its errors name, and the source of the table in
/// <c>Documentation~/OnnxOperators.md</c>. Supporting an op is a converter and an entry here; an op not listed is an
/// <see cref="OnnxUnsupportedException"/>, never skipped.
/// </summary>
internal static class OnnxOperators
{
    public static readonly IReadOnlyList<OnnxOperator> All =
    [
        // op                     layer, view or rewrite (tensor inputs)       fold (every input a constant)
        new("Conv",               ConvolutionConverters.Conv,                  null),
        new("ConvTranspose",      ConvolutionConverters.ConvTranspose,         null),
        new("Gemm",               LinearConverters.Gemm,                       LinearConverters.FoldGemm),
        new("MatMul",             LinearConverters.MatMul,                     LinearConverters.FoldMatMul),
        new("Einsum",             EinsumConverter.Einsum,                      null),

        new("Add",                ArithmeticConverters.Arithmetic,             ConstantFolding.Arithmetic),
        new("Sub",                ArithmeticConverters.Arithmetic,             ConstantFolding.Arithmetic),
        new("Mul",                ArithmeticConverters.Arithmetic,             ConstantFolding.Arithmetic),
        new("Div",                ArithmeticConverters.Arithmetic,             ConstantFolding.Arithmetic),
        new("Pow",                ArithmeticConverters.Arithmetic,             ConstantFolding.Arithmetic),
        new("Min",                ArithmeticConverters.Arithmetic,             ConstantFolding.Arithmetic),
        new("Max",                ArithmeticConverters.Arithmetic,             ConstantFolding.Arithmetic),
        new("Neg",                ArithmeticConverters.Function,               ConstantFolding.Function),
        new("Abs",                ArithmeticConverters.Function,               ConstantFolding.Function),
        new("Reciprocal",         ArithmeticConverters.Function,               ConstantFolding.Function),
        new("Sqrt",               ArithmeticConverters.Function,               ConstantFolding.Function),
        new("Exp",                ArithmeticConverters.Function,               ConstantFolding.Function),
        new("Log",                ArithmeticConverters.Function,               ConstantFolding.Function),
        new("Erf",                ArithmeticConverters.Function,               ConstantFolding.Function),
        new("Sum",                MergeConverters.Sum,                         null),
        new("Mean",               MergeConverters.Mean,                        null),
        new("Concat",             MergeConverters.Concat,                      ConstantFolding.Concat),

        new("Relu",               ActivationConverters.Relu,                   null),
        new("Sigmoid",            ActivationConverters.Sigmoid,                null),
        new("Tanh",               ActivationConverters.Tanh,                   null),
        new("LeakyRelu",          ActivationConverters.LeakyRelu,              null),
        new("HardSwish",          ActivationConverters.HardSwish,              null),
        new("HardSigmoid",        ActivationConverters.HardSigmoid,            null),
        new("Clip",               ActivationConverters.Clip,                   null),
        new("PRelu",              GeneralActivationConverters.PRelu,           null),
        new("Softmax",            ActivationConverters.Softmax,                null),
        new("LogSoftmax",         ActivationConverters.LogSoftmax,             null),
        new("Gelu",               ActivationConverters.Gelu,                   null),

        new("BatchNormalization", NormalizationConverters.BatchNormalization,  null),
        new("LayerNormalization", NormalizationConverters.LayerNormalization,  null),
        new("InstanceNormalization", NormalizationConverters.InstanceNormalization, null),
        new("GroupNormalization", NormalizationConverters.GroupNormalization,  null),
        new("LRN",                NormalizationConverters.LocalResponseNorm,   null),
        new("Dropout",            NormalizationConverters.Dropout,             null),

        new("MaxPool",            PoolingConverters.MaxPool,                   null),
        new("AveragePool",        PoolingConverters.AveragePool,               null),
        new("GlobalAveragePool",  PoolingConverters.GlobalAveragePool,         null),
        new("GlobalMaxPool",      PoolingConverters.GlobalMaxPool,             null),
        new("ReduceMean",         ReductionConverters.ReduceMean,              null),
        new("ReduceSum",          ReductionConverters.ReduceSum,               null),
        new("ReduceMax",          ReductionConverters.ReduceMax,               null),
        new("ReduceMin",          ReductionConverters.ReduceMin,               null),
        new("Pad",                Padding.Pad,                                 null),
        new("Resize",             ResizeConverter.Resize,                      null),

        new("Flatten",            ShapeConverters.Flatten,                     null),
        new("Reshape",            ShapeConverters.Reshape,                     ConstantFolding.Reshape),
        new("Squeeze",            ShapeConverters.Squeeze,                     ConstantFolding.Squeeze),
        new("Unsqueeze",          ShapeConverters.Unsqueeze,                   ConstantFolding.Unsqueeze),
        new("Identity",           ShapeConverters.Identity,                    ConstantFolding.Identity),
        new("Cast",               ShapeConverters.Cast,                        ConstantFolding.Cast),
        new("Shape",              ShapeConverters.Shape,                       ConstantFolding.Shape),

        new("Constant",           null,                                        ConstantFolding.Constant),
        new("ConstantOfShape",    null,                                        ConstantFolding.ConstantOfShape),
        new("Expand",             null,                                        ConstantLogic.Expand),
        new("Equal",              null,                                        ConstantLogic.Equal),
        new("Not",                null,                                        ConstantLogic.Not),
        new("Where",              null,                                        ConstantLogic.Where),
        new("Mod",                null,                                        ConstantLogic.Mod),
        new("Range",              null,                                        ConstantLogic.Range),
        new("ScatterND",          null,                                        ConstantLogic.ScatterND),
        new("Gather",             IndexingConverters.Gather,                   ConstantFolding.Gather),
        new("Transpose",          IndexingConverters.Transpose,                ConstantFolding.Transpose),
        new("Slice",              IndexingConverters.Slice,                    ConstantFolding.Slice),
        new("Split",              IndexingConverters.Split,                    null),
    ];

    static readonly Dictionary<string, OnnxOperator> byName = All.ToDictionary(op => op.Name, StringComparer.Ordinal);

    /// <summary>The supported op named <paramref name="op"/>, or null.</summary>
    public static OnnxOperator? Find(string op) => byName.GetValueOrDefault(op);

    /// <summary>Every supported op's name, in alphabetical order, for messages.</summary>
    public static string Names { get; } = string.Join(", ", All.Select(op => op.Name).Order(StringComparer.Ordinal));
}

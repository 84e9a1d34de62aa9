using Google.Protobuf;

namespace NeuroPlugin.Serialization.Onnx;

// The ONNX protobuf messages this code reads and writes, written by hand from onnx.proto3's field numbers
// (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto3); MessageSchema.cs reads and writes them. Fields that import
// never uses are skipped on reading; fields that change the meaning of a model (segments, sparse initializers,
// functions, non-tensor types) are markers, recorded so the importer can reject them by name instead of misreading
// the model.

/// <summary>ONNX's <c>ModelProto</c>: the top-level message of a <c>.onnx</c> file.</summary>
internal sealed class ModelProto : OnnxMessage<ModelProto>
{
    public long IrVersion { get; set; }
    public List<OperatorSetIdProto> OpsetImport { get; } = [];
    public string ProducerName { get; set; } = "";
    public string ProducerVersion { get; set; } = "";
    public string Domain { get; set; } = "";
    public long ModelVersion { get; set; }
    public string DocString { get; set; } = "";
    public GraphProto? Graph { get; set; }
    public List<StringStringEntryProto> MetadataProps { get; } = [];
    /// <summary>Model-local functions (field 25) are not supported; counted so the importer can say so.</summary>
    public int FunctionCount { get; private set; }

    static readonly MessageSchema<ModelProto> schema = new MessageSchema<ModelProto>("ModelProto")
        .Value(1, Wire.Int64, m => m.IrVersion, (m, v) => m.IrVersion = v)
        .Value(2, Wire.String, m => m.ProducerName, (m, v) => m.ProducerName = v)
        .Value(3, Wire.String, m => m.ProducerVersion, (m, v) => m.ProducerVersion = v)
        .Value(4, Wire.String, m => m.Domain, (m, v) => m.Domain = v)
        .Value(5, Wire.Int64, m => m.ModelVersion, (m, v) => m.ModelVersion = v)
        .Value(6, Wire.String, m => m.DocString, (m, v) => m.DocString = v)
        .Value(7, Wire.Message<GraphProto>(), m => m.Graph, (m, v) => m.Graph = v)
        .Repeated(8, Wire.Message<OperatorSetIdProto>(), m => m.OpsetImport)
        .Repeated(14, Wire.Message<StringStringEntryProto>(), m => m.MetadataProps)
        .Marker(25, m => m.FunctionCount++);

    private protected override MessageSchema<ModelProto> Schema => schema;
}

/// <summary>ONNX's <c>OperatorSetIdProto</c>: an operator set (domain, "" = ai.onnx) and its version.</summary>
internal sealed class OperatorSetIdProto : OnnxMessage<OperatorSetIdProto>
{
    public string Domain { get; set; } = "";
    public long Version { get; set; }

    static readonly MessageSchema<OperatorSetIdProto> schema = new MessageSchema<OperatorSetIdProto>("OperatorSetIdProto")
        .Value(1, Wire.String, m => m.Domain, (m, v) => m.Domain = v)
        .Value(2, Wire.Int64, m => m.Version, (m, v) => m.Version = v);

    private protected override MessageSchema<OperatorSetIdProto> Schema => schema;
}

/// <summary>ONNX's <c>StringStringEntryProto</c> (metadata and external-data entries).</summary>
internal sealed class StringStringEntryProto : OnnxMessage<StringStringEntryProto>
{
    public string Key { get; set; } = "";
    public string Value { get; set; } = "";

    static readonly MessageSchema<StringStringEntryProto> schema = new MessageSchema<StringStringEntryProto>("StringStringEntryProto")
        .Value(1, Wire.String, m => m.Key, (m, v) => m.Key = v)
        .Value(2, Wire.String, m => m.Value, (m, v) => m.Value = v);

    private protected override MessageSchema<StringStringEntryProto> Schema => schema;
}

/// <summary>ONNX's <c>GraphProto</c>: nodes in topological order, initializers (weights), inputs and outputs.</summary>
internal sealed class GraphProto : OnnxMessage<GraphProto>
{
    public List<NodeProto> Node { get; } = [];
    public string Name { get; set; } = "";
    public List<TensorProto> Initializer { get; } = [];
    public string DocString { get; set; } = "";
    public List<ValueInfoProto> Input { get; } = [];
    public List<ValueInfoProto> Output { get; } = [];
    public List<ValueInfoProto> ValueInfo { get; } = [];
    /// <summary>Sparse initializers (field 15) are not supported; counted so the importer can say so.</summary>
    public int SparseInitializerCount { get; private set; }

    static readonly MessageSchema<GraphProto> schema = new MessageSchema<GraphProto>("GraphProto")
        .Repeated(1, Wire.Message<NodeProto>(), m => m.Node)
        .Value(2, Wire.String, m => m.Name, (m, v) => m.Name = v)
        .Repeated(5, Wire.Message<TensorProto>(), m => m.Initializer)
        .Value(10, Wire.String, m => m.DocString, (m, v) => m.DocString = v)
        .Repeated(11, Wire.Message<ValueInfoProto>(), m => m.Input)
        .Repeated(12, Wire.Message<ValueInfoProto>(), m => m.Output)
        .Repeated(13, Wire.Message<ValueInfoProto>(), m => m.ValueInfo)
        .Marker(15, m => m.SparseInitializerCount++);

    private protected override MessageSchema<GraphProto> Schema => schema;
}

/// <summary>ONNX's <c>NodeProto</c>: one operator call, <c>outputs = op_type(inputs; attributes)</c>.</summary>
internal sealed class NodeProto : OnnxMessage<NodeProto>
{
    public List<string> Input { get; } = [];
    public List<string> Output { get; } = [];
    public string Name { get; set; } = "";
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<AttributeProto> Attribute { get; } = [];
    public string DocString { get; set; } = "";

    static readonly MessageSchema<NodeProto> schema = new MessageSchema<NodeProto>("NodeProto")
        .Repeated(1, Wire.String, m => m.Input)
        .Repeated(2, Wire.String, m => m.Output)
        .Value(3, Wire.String, m => m.Name, (m, v) => m.Name = v)
        .Value(4, Wire.String, m => m.OpType, (m, v) => m.OpType = v)
        .Repeated(5, Wire.Message<AttributeProto>(), m => m.Attribute)
        .Value(6, Wire.String, m => m.DocString, (m, v) => m.DocString = v)
        .Value(7, Wire.String, m => m.Domain, (m, v) => m.Domain = v);

    private protected override MessageSchema<NodeProto> Schema => schema;
}

/// <summary>ONNX's <c>AttributeProto.AttributeType</c>.</summary>
internal enum AttributeType
{
    Undefined = 0, Float = 1, Int = 2, String = 3, Tensor = 4, Graph = 5, Floats = 6, Ints = 7, Strings = 8,
    Tensors = 9, Graphs = 10, SparseTensor = 11, SparseTensors = 12, TypeProto = 13, TypeProtos = 14,
}

/// <summary>ONNX's <c>AttributeProto</c>: a named constant argument of a node (one of the typed value fields is set).</summary>
internal sealed class AttributeProto : OnnxMessage<AttributeProto>
{
    public string Name { get; set; } = "";
    public AttributeType Type { get; set; }
    public float F { get; set; }
    public long I { get; set; }
    public ByteString S { get; set; } = ByteString.Empty;
    public TensorProto? T { get; set; }
    public GraphProto? G { get; set; }
    public List<float> Floats { get; } = [];
    public List<long> Ints { get; } = [];
    public List<ByteString> Strings { get; } = [];
    /// <summary>Set in function bodies only: the attribute refers to one of the function's attributes.</summary>
    public string RefAttrName { get; set; } = "";

    // f and i belong to the attribute's value oneof: written whenever the type says so, even when 0
    static readonly MessageSchema<AttributeProto> schema = new MessageSchema<AttributeProto>("AttributeProto")
        .Value(1, Wire.String, m => m.Name, (m, v) => m.Name = v)
        .Value(2, Wire.Float, m => m.F, (m, v) => m.F = v, writeWhen: m => m.Type == AttributeType.Float)
        .Value(3, Wire.Int64, m => m.I, (m, v) => m.I = v, writeWhen: m => m.Type == AttributeType.Int)
        .Value(4, Wire.Bytes, m => m.S, (m, v) => m.S = v)
        .Value(5, Wire.Message<TensorProto>(), m => m.T, (m, v) => m.T = v)
        .Value(6, Wire.Message<GraphProto>(), m => m.G, (m, v) => m.G = v)
        .Repeated(7, Wire.Float, m => m.Floats)
        .Repeated(8, Wire.Int64, m => m.Ints)
        .Repeated(9, Wire.Bytes, m => m.Strings)
        .Value(20, Wire.Int64, m => (long)m.Type, (m, v) => m.Type = (AttributeType)v)
        .Value(21, Wire.String, m => m.RefAttrName, (m, v) => m.RefAttrName = v);

    private protected override MessageSchema<AttributeProto> Schema => schema;
}

/// <summary>ONNX's <c>TensorProto.DataType</c> values this code names (others are rejected by number).</summary>
internal enum TensorDataType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8, Bool = 9,
    Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13,
}

/// <summary>ONNX's <c>TensorProto</c>: a constant tensor (an initializer or a Constant's value). Its values are in
/// exactly one of <see cref="RawData"/> (little-endian bytes), the typed fields (<see cref="FloatData"/>,
/// <see cref="Int64Data"/>…) or an external file (<see cref="DataLocation"/> = 1, <see cref="ExternalData"/> gives
/// <c>location</c>, <c>offset</c>, <c>length</c>).</summary>
internal sealed class TensorProto : OnnxMessage<TensorProto>
{
    public List<long> Dims { get; } = [];
    public int DataType { get; set; }
    public List<float> FloatData { get; } = [];
    public List<int> Int32Data { get; } = [];
    public List<long> Int64Data { get; } = [];
    public List<double> DoubleData { get; } = [];
    public string Name { get; set; } = "";
    public ByteString? RawData { get; set; }
    public List<StringStringEntryProto> ExternalData { get; } = [];
    /// <summary>0 = DEFAULT (values in this message), 1 = EXTERNAL.</summary>
    public int DataLocation { get; set; }
    /// <summary>True when the tensor is one segment of a larger one (field 3): not supported.</summary>
    public bool HasSegment { get; private set; }

    static readonly MessageSchema<TensorProto> schema = new MessageSchema<TensorProto>("TensorProto")
        .Repeated(1, Wire.Int64, m => m.Dims)
        .Value(2, Wire.Int64, m => m.DataType, (m, v) => m.DataType = (int)v)
        .Marker(3, m => m.HasSegment = true)
        .Repeated(4, Wire.Float, m => m.FloatData)
        .Repeated(5, Wire.Int32, m => m.Int32Data)
        .Repeated(7, Wire.Int64, m => m.Int64Data)
        .Value(8, Wire.String, m => m.Name, (m, v) => m.Name = v)
        .Value(9, Wire.Bytes, m => m.RawData, (m, v) => m.RawData = v)
        .Repeated(10, Wire.Double, m => m.DoubleData)
        .Repeated(13, Wire.Message<StringStringEntryProto>(), m => m.ExternalData)
        .Value(14, Wire.Int64, m => m.DataLocation, (m, v) => m.DataLocation = (int)v);

    private protected override MessageSchema<TensorProto> Schema => schema;
}

/// <summary>ONNX's <c>ValueInfoProto</c>: a named value and its type (graph inputs and outputs).</summary>
internal sealed class ValueInfoProto : OnnxMessage<ValueInfoProto>
{
    public string Name { get; set; } = "";
    public TypeProto? Type { get; set; }

    static readonly MessageSchema<ValueInfoProto> schema = new MessageSchema<ValueInfoProto>("ValueInfoProto")
        .Value(1, Wire.String, m => m.Name, (m, v) => m.Name = v)
        .Value(2, Wire.Message<TypeProto>(), m => m.Type, (m, v) => m.Type = v);

    private protected override MessageSchema<ValueInfoProto> Schema => schema;
}

/// <summary>ONNX's <c>TypeProto</c>, of which only <c>tensor_type</c> (field 1) is supported; sequences, maps,
/// optionals and sparse tensors are flagged by <see cref="HasNonTensorType"/>.</summary>
internal sealed class TypeProto : OnnxMessage<TypeProto>
{
    public TensorTypeProto? TensorType { get; set; }
    public bool HasNonTensorType { get; private set; }

    static readonly MessageSchema<TypeProto> schema = new MessageSchema<TypeProto>("TypeProto")
        .Value(1, Wire.Message<TensorTypeProto>(), m => m.TensorType, (m, v) => m.TensorType = v)
        .Marker(4, m => m.HasNonTensorType = true)  // sequence_type
        .Marker(5, m => m.HasNonTensorType = true)  // map_type
        .Marker(8, m => m.HasNonTensorType = true)  // sparse_tensor_type
        .Marker(9, m => m.HasNonTensorType = true); // optional_type

    private protected override MessageSchema<TypeProto> Schema => schema;
}

/// <summary>ONNX's <c>TypeProto.Tensor</c>: element type and (optional) shape.</summary>
internal sealed class TensorTypeProto : OnnxMessage<TensorTypeProto>
{
    public int ElemType { get; set; }
    public TensorShapeProto? Shape { get; set; }

    static readonly MessageSchema<TensorTypeProto> schema = new MessageSchema<TensorTypeProto>("TypeProto.Tensor")
        .Value(1, Wire.Int64, m => m.ElemType, (m, v) => m.ElemType = (int)v)
        .Value(2, Wire.Message<TensorShapeProto>(), m => m.Shape, (m, v) => m.Shape = v);

    private protected override MessageSchema<TensorTypeProto> Schema => schema;
}

/// <summary>ONNX's <c>TensorShapeProto</c>: one <see cref="DimensionProto"/> per axis.</summary>
internal sealed class TensorShapeProto : OnnxMessage<TensorShapeProto>
{
    public List<DimensionProto> Dim { get; } = [];

    static readonly MessageSchema<TensorShapeProto> schema = new MessageSchema<TensorShapeProto>("TensorShapeProto")
        .Repeated(1, Wire.Message<DimensionProto>(), m => m.Dim);

    private protected override MessageSchema<TensorShapeProto> Schema => schema;
}

/// <summary>ONNX's <c>TensorShapeProto.Dimension</c>: a fixed size (<see cref="DimValue"/>), a named symbolic size
/// (<see cref="DimParam"/>, e.g. the batch <c>"N"</c>), or neither (unknown).</summary>
internal sealed class DimensionProto : OnnxMessage<DimensionProto>
{
    public long? DimValue { get; set; }
    public string DimParam { get; set; } = "";

    // dim_value is in a oneof with dim_param: a set value is written even when 0
    static readonly MessageSchema<DimensionProto> schema = new MessageSchema<DimensionProto>("TensorShapeProto.Dimension")
        .Value(1, Wire.Int64, m => m.DimValue ?? 0, (m, v) => m.DimValue = v, writeWhen: m => m.DimValue.HasValue)
        .Value(2, Wire.String, m => m.DimParam, (m, v) => m.DimParam = v);

    private protected override MessageSchema<DimensionProto> Schema => schema;
}

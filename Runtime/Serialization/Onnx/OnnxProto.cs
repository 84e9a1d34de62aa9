using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace NeuroPlugin.Serialization.Onnx;

// The ONNX protobuf messages this code reads and writes, written by hand from onnx.proto3's field numbers
// (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto3), so no protoc step is needed. Fields that import never
// uses are skipped on reading; fields that change the meaning of a model (segments, sparse initializers, functions,
// non-tensor types) are recorded so the importer can reject them by name instead of misreading the model.
// Google.Protobuf's CodedInputStream enforces the length of every nested message and the nesting depth.

/// <summary>Base of the hand-written ONNX messages: Google.Protobuf's <see cref="IMessage"/> without reflection, so
/// <see cref="CodedInputStream.ReadMessage"/> applies its length and recursion limits to nested messages.</summary>
public abstract class OnnxMessage : IMessage
{
    /// <summary>Reads fields until the end of the current message (Google.Protobuf limits the stream to the message).</summary>
    public void MergeFrom(CodedInputStream input)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
            if (!ReadField(input, WireFormat.GetTagFieldNumber(tag), WireFormat.GetTagWireType(tag)))
                input.SkipLastField();
    }

    /// <summary>Reads one field; returns false for fields this message does not keep (they are skipped).</summary>
    protected abstract bool ReadField(CodedInputStream input, int field, WireFormat.WireType wireType);

    /// <summary>Lists the fields to encode, in field-number order. One list serves both <see cref="WriteTo"/> and
    /// <see cref="CalculateSize"/>, so the size always matches what is written.</summary>
    protected abstract void WriteFields(ref FieldWriter fields);

    public void WriteTo(CodedOutputStream output)
    {
        var fields = FieldWriter.Into(output);
        WriteFields(ref fields);
    }

    public int CalculateSize()
    {
        var fields = FieldWriter.Counting();
        WriteFields(ref fields);
        return fields.Size;
    }

    MessageDescriptor IMessage.Descriptor => throw new NotSupportedException("hand-written ONNX messages have no descriptor");

    /// <summary>The message's encoded bytes.</summary>
    public byte[] ToByteArray()
    {
        var bytes = new byte[CalculateSize()];
        var output = new CodedOutputStream(bytes);
        WriteTo(output);
        output.CheckNoSpaceLeft();
        return bytes;
    }
}

/// <summary>Reading helpers for the field kinds ONNX uses, with wire-type checks.</summary>
internal static class Wire
{
    public static void Expect(WireFormat.WireType actual, WireFormat.WireType expected, int field, string message)
    {
        if (actual != expected)
            throw new InvalidDataException($"{message} field {field} has wire type {actual}, expected {expected}");
    }

    public static string String(CodedInputStream input, WireFormat.WireType type, int field, string message)
    {
        Expect(type, WireFormat.WireType.LengthDelimited, field, message);
        return input.ReadString();
    }

    public static ByteString Bytes(CodedInputStream input, WireFormat.WireType type, int field, string message)
    {
        Expect(type, WireFormat.WireType.LengthDelimited, field, message);
        return input.ReadBytes();
    }

    public static long Int64(CodedInputStream input, WireFormat.WireType type, int field, string message)
    {
        Expect(type, WireFormat.WireType.Varint, field, message);
        return input.ReadInt64();
    }

    public static float Float(CodedInputStream input, WireFormat.WireType type, int field, string message)
    {
        Expect(type, WireFormat.WireType.Fixed32, field, message);
        return input.ReadFloat();
    }

    public static T Message<T>(CodedInputStream input, WireFormat.WireType type, int field, string message) where T : OnnxMessage, new()
    {
        Expect(type, WireFormat.WireType.LengthDelimited, field, message);
        var value = new T();
        input.ReadMessage(value);
        return value;
    }

    /// <summary>A repeated scalar, packed (one length-delimited run) or not (one value per tag), as proto3 readers must accept both.</summary>
    public static void Repeated<T>(CodedInputStream input, WireFormat.WireType type, WireFormat.WireType single, List<T> values, Func<CodedInputStream, T> read, int field, string message)
    {
        if (type == WireFormat.WireType.LengthDelimited)
        {
            // the run was bounds-checked by ReadBytes; a sub-stream over it reads exactly its values
            var run = input.ReadBytes();
            var items = new CodedInputStream(run.ToByteArray());
            while (!items.IsAtEnd) values.Add(read(items));
            return;
        }
        Expect(type, single, field, message);
        values.Add(read(input));
    }
}

/// <summary>Encodes a message's fields into a <see cref="CodedOutputStream"/>, or only counts the bytes they would take
/// (when built by <see cref="Counting"/>). Scalars at their default value are left out, as proto3 does.</summary>
public struct FieldWriter
{
    private readonly CodedOutputStream? output;

    private FieldWriter(CodedOutputStream? output)
    {
        this.output = output;
        Size = 0;
    }

    /// <summary>Bytes counted so far (counting mode only).</summary>
    public int Size { get; private set; }

    public static FieldWriter Into(CodedOutputStream output) => new(output);

    public static FieldWriter Counting() => new(null);

    private void Tag(int field, WireFormat.WireType type)
    {
        if (output is null) Size += CodedOutputStream.ComputeTagSize(field);
        else output.WriteTag(field, type);
    }

    /// <summary>A string field; empty is the default and is left out.</summary>
    public void String(int field, string value)
    {
        if (value.Length > 0) StringAlways(field, value);
    }

    /// <summary>A varint field; 0 is the default and is left out.</summary>
    public void Int64(int field, long value)
    {
        if (value != 0) Int64Always(field, value);
    }

    /// <summary>A varint written even when 0 (a oneof member, or an optional field that is set).</summary>
    public void Int64Always(int field, long value)
    {
        Tag(field, WireFormat.WireType.Varint);
        if (output is null) Size += CodedOutputStream.ComputeInt64Size(value);
        else output.WriteInt64(value);
    }

    /// <summary>A float written even when 0 (a oneof member).</summary>
    public void FloatAlways(int field, float value)
    {
        Tag(field, WireFormat.WireType.Fixed32);
        if (output is null) Size += 4;
        else output.WriteFloat(value);
    }

    /// <summary>A bytes field; null or empty is left out.</summary>
    public void Bytes(int field, ByteString? value)
    {
        if (value is { Length: > 0 }) BytesAlways(field, value);
    }

    /// <summary>A nested message; null is left out.</summary>
    public void Message(int field, OnnxMessage? value)
    {
        if (value is null) return;
        Tag(field, WireFormat.WireType.LengthDelimited);
        if (output is null) Size += CodedOutputStream.ComputeMessageSize(value);
        else output.WriteMessage(value);
    }

    /// <summary>A repeated message field, one tag per element.</summary>
    public void Messages(int field, IEnumerable<OnnxMessage> values)
    {
        foreach (var value in values) Message(field, value);
    }

    /// <summary>A repeated string field. Empty strings are written: in a node's input list an empty name means an
    /// omitted optional input.</summary>
    public void Strings(int field, IEnumerable<string> values)
    {
        foreach (string value in values) StringAlways(field, value);
    }

    /// <summary>A repeated bytes field, one tag per element.</summary>
    public void BytesList(int field, IEnumerable<ByteString> values)
    {
        foreach (var value in values) BytesAlways(field, value);
    }

    /// <summary>A packed repeated int64 (proto3's default encoding); empty is left out.</summary>
    public void Packed(int field, List<long> values)
    {
        if (values.Count == 0) return;
        int payload = values.Sum(CodedOutputStream.ComputeInt64Size);
        PackedHeader(field, payload);
        if (output is null) Size += payload;
        else foreach (long v in values) output.WriteInt64(v);
    }

    /// <summary>A packed repeated float; empty is left out.</summary>
    public void Packed(int field, List<float> values)
    {
        if (values.Count == 0) return;
        int payload = 4 * values.Count;
        PackedHeader(field, payload);
        if (output is null) Size += payload;
        else foreach (float v in values) output.WriteFloat(v);
    }

    private void PackedHeader(int field, int payload)
    {
        Tag(field, WireFormat.WireType.LengthDelimited);
        if (output is null) Size += CodedOutputStream.ComputeLengthSize(payload);
        else output.WriteLength(payload);
    }

    private void StringAlways(int field, string value)
    {
        Tag(field, WireFormat.WireType.LengthDelimited);
        if (output is null) Size += CodedOutputStream.ComputeStringSize(value);
        else output.WriteString(value);
    }

    private void BytesAlways(int field, ByteString value)
    {
        Tag(field, WireFormat.WireType.LengthDelimited);
        if (output is null) Size += CodedOutputStream.ComputeBytesSize(value);
        else output.WriteBytes(value);
    }
}

/// <summary>ONNX's <c>ModelProto</c>: the top-level message of a <c>.onnx</c> file.</summary>
public sealed class ModelProto : OnnxMessage
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

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        const string name = "ModelProto";
        switch (field)
        {
            case 1: IrVersion = Wire.Int64(input, type, field, name); return true;
            case 2: ProducerName = Wire.String(input, type, field, name); return true;
            case 3: ProducerVersion = Wire.String(input, type, field, name); return true;
            case 4: Domain = Wire.String(input, type, field, name); return true;
            case 5: ModelVersion = Wire.Int64(input, type, field, name); return true;
            case 6: DocString = Wire.String(input, type, field, name); return true;
            case 7: Graph = Wire.Message<GraphProto>(input, type, field, name); return true;
            case 8: OpsetImport.Add(Wire.Message<OperatorSetIdProto>(input, type, field, name)); return true;
            case 14: MetadataProps.Add(Wire.Message<StringStringEntryProto>(input, type, field, name)); return true;
            case 25: FunctionCount++; return false;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.Int64(1, IrVersion);
        fields.String(2, ProducerName);
        fields.String(3, ProducerVersion);
        fields.String(4, Domain);
        fields.Int64(5, ModelVersion);
        fields.String(6, DocString);
        fields.Message(7, Graph);
        fields.Messages(8, OpsetImport);
        fields.Messages(14, MetadataProps);
    }
}

/// <summary>ONNX's <c>OperatorSetIdProto</c>: an operator set (domain, "" = ai.onnx) and its version.</summary>
public sealed class OperatorSetIdProto : OnnxMessage
{
    public string Domain { get; set; } = "";
    public long Version { get; set; }

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        switch (field)
        {
            case 1: Domain = Wire.String(input, type, field, "OperatorSetIdProto"); return true;
            case 2: Version = Wire.Int64(input, type, field, "OperatorSetIdProto"); return true;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.String(1, Domain);
        fields.Int64(2, Version);
    }
}

/// <summary>ONNX's <c>StringStringEntryProto</c> (metadata and external-data entries).</summary>
public sealed class StringStringEntryProto : OnnxMessage
{
    public string Key { get; set; } = "";
    public string Value { get; set; } = "";

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        switch (field)
        {
            case 1: Key = Wire.String(input, type, field, "StringStringEntryProto"); return true;
            case 2: Value = Wire.String(input, type, field, "StringStringEntryProto"); return true;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.String(1, Key);
        fields.String(2, Value);
    }
}

/// <summary>ONNX's <c>GraphProto</c>: nodes in topological order, initializers (weights), inputs and outputs.</summary>
public sealed class GraphProto : OnnxMessage
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

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        const string name = "GraphProto";
        switch (field)
        {
            case 1: Node.Add(Wire.Message<NodeProto>(input, type, field, name)); return true;
            case 2: Name = Wire.String(input, type, field, name); return true;
            case 5: Initializer.Add(Wire.Message<TensorProto>(input, type, field, name)); return true;
            case 10: DocString = Wire.String(input, type, field, name); return true;
            case 11: Input.Add(Wire.Message<ValueInfoProto>(input, type, field, name)); return true;
            case 12: Output.Add(Wire.Message<ValueInfoProto>(input, type, field, name)); return true;
            case 13: ValueInfo.Add(Wire.Message<ValueInfoProto>(input, type, field, name)); return true;
            case 15: SparseInitializerCount++; return false;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.Messages(1, Node);
        fields.String(2, Name);
        fields.Messages(5, Initializer);
        fields.String(10, DocString);
        fields.Messages(11, Input);
        fields.Messages(12, Output);
        fields.Messages(13, ValueInfo);
    }
}

/// <summary>ONNX's <c>NodeProto</c>: one operator call, <c>outputs = op_type(inputs; attributes)</c>.</summary>
public sealed class NodeProto : OnnxMessage
{
    public List<string> Input { get; } = [];
    public List<string> Output { get; } = [];
    public string Name { get; set; } = "";
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<AttributeProto> Attribute { get; } = [];
    public string DocString { get; set; } = "";

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        const string name = "NodeProto";
        switch (field)
        {
            case 1: Input.Add(Wire.String(input, type, field, name)); return true;
            case 2: Output.Add(Wire.String(input, type, field, name)); return true;
            case 3: Name = Wire.String(input, type, field, name); return true;
            case 4: OpType = Wire.String(input, type, field, name); return true;
            case 5: Attribute.Add(Wire.Message<AttributeProto>(input, type, field, name)); return true;
            case 6: DocString = Wire.String(input, type, field, name); return true;
            case 7: Domain = Wire.String(input, type, field, name); return true;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.Strings(1, Input);
        fields.Strings(2, Output);
        fields.String(3, Name);
        fields.String(4, OpType);
        fields.Messages(5, Attribute);
        fields.String(6, DocString);
        fields.String(7, Domain);
    }
}

/// <summary>ONNX's <c>AttributeProto.AttributeType</c>.</summary>
public enum AttributeType
{
    Undefined = 0, Float = 1, Int = 2, String = 3, Tensor = 4, Graph = 5, Floats = 6, Ints = 7, Strings = 8,
    Tensors = 9, Graphs = 10, SparseTensor = 11, SparseTensors = 12, TypeProto = 13, TypeProtos = 14,
}

/// <summary>ONNX's <c>AttributeProto</c>: a named constant argument of a node (one of the typed value fields is set).</summary>
public sealed class AttributeProto : OnnxMessage
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

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        const string name = "AttributeProto";
        switch (field)
        {
            case 1: Name = Wire.String(input, type, field, name); return true;
            case 2: F = Wire.Float(input, type, field, name); return true;
            case 3: I = Wire.Int64(input, type, field, name); return true;
            case 4: S = Wire.Bytes(input, type, field, name); return true;
            case 5: T = Wire.Message<TensorProto>(input, type, field, name); return true;
            case 6: G = Wire.Message<GraphProto>(input, type, field, name); return true;
            case 7: Wire.Repeated(input, type, WireFormat.WireType.Fixed32, Floats, s => s.ReadFloat(), field, name); return true;
            case 8: Wire.Repeated(input, type, WireFormat.WireType.Varint, Ints, s => s.ReadInt64(), field, name); return true;
            case 9: Strings.Add(Wire.Bytes(input, type, field, name)); return true;
            case 20: Type = (AttributeType)Wire.Int64(input, type, field, name); return true;
            case 21: RefAttrName = Wire.String(input, type, field, name); return true;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.String(1, Name);
        // f and i belong to the attribute's value oneof: written whenever the type says so, even when 0
        if (Type == AttributeType.Float) fields.FloatAlways(2, F);
        if (Type == AttributeType.Int) fields.Int64Always(3, I);
        fields.Bytes(4, S);
        fields.Message(5, T);
        fields.Message(6, G);
        fields.Packed(7, Floats);
        fields.Packed(8, Ints);
        fields.BytesList(9, Strings);
        fields.Int64(20, (long)Type);
    }
}

/// <summary>ONNX's <c>TensorProto.DataType</c> values this code names (others are rejected by number).</summary>
public enum TensorDataType
{
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8, Bool = 9,
    Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13,
}

/// <summary>ONNX's <c>TensorProto</c>: a constant tensor (an initializer or a Constant's value). Its values are in
/// exactly one of <see cref="RawData"/> (little-endian bytes), the typed fields (<see cref="FloatData"/>,
/// <see cref="Int64Data"/>…) or an external file (<see cref="DataLocation"/> = 1, <see cref="ExternalData"/> gives
/// <c>location</c>, <c>offset</c>, <c>length</c>).</summary>
public sealed class TensorProto : OnnxMessage
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

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        const string name = "TensorProto";
        switch (field)
        {
            case 1: Wire.Repeated(input, type, WireFormat.WireType.Varint, Dims, s => s.ReadInt64(), field, name); return true;
            case 2: DataType = (int)Wire.Int64(input, type, field, name); return true;
            case 3: HasSegment = true; return false;
            case 4: Wire.Repeated(input, type, WireFormat.WireType.Fixed32, FloatData, s => s.ReadFloat(), field, name); return true;
            case 5: Wire.Repeated(input, type, WireFormat.WireType.Varint, Int32Data, s => s.ReadInt32(), field, name); return true;
            case 7: Wire.Repeated(input, type, WireFormat.WireType.Varint, Int64Data, s => s.ReadInt64(), field, name); return true;
            case 8: Name = Wire.String(input, type, field, name); return true;
            case 9: RawData = Wire.Bytes(input, type, field, name); return true;
            case 10: Wire.Repeated(input, type, WireFormat.WireType.Fixed64, DoubleData, s => s.ReadDouble(), field, name); return true;
            case 13: ExternalData.Add(Wire.Message<StringStringEntryProto>(input, type, field, name)); return true;
            case 14: DataLocation = (int)Wire.Int64(input, type, field, name); return true;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.Packed(1, Dims);
        fields.Int64(2, DataType);
        fields.Packed(4, FloatData);
        fields.Packed(7, Int64Data);
        fields.String(8, Name);
        fields.Bytes(9, RawData);
        fields.Messages(13, ExternalData);
        fields.Int64(14, DataLocation);
    }
}

/// <summary>ONNX's <c>ValueInfoProto</c>: a named value and its type (graph inputs and outputs).</summary>
public sealed class ValueInfoProto : OnnxMessage
{
    public string Name { get; set; } = "";
    public TypeProto? Type { get; set; }

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        switch (field)
        {
            case 1: Name = Wire.String(input, type, field, "ValueInfoProto"); return true;
            case 2: Type = Wire.Message<TypeProto>(input, type, field, "ValueInfoProto"); return true;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.String(1, Name);
        fields.Message(2, Type);
    }
}

/// <summary>ONNX's <c>TypeProto</c>, of which only <c>tensor_type</c> (field 1) is supported; sequences, maps,
/// optionals and sparse tensors are flagged by <see cref="HasNonTensorType"/>.</summary>
public sealed class TypeProto : OnnxMessage
{
    public TensorTypeProto? TensorType { get; set; }
    public bool HasNonTensorType { get; private set; }

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        switch (field)
        {
            case 1: TensorType = Wire.Message<TensorTypeProto>(input, type, field, "TypeProto"); return true;
            case 4 or 5 or 8 or 9: HasNonTensorType = true; return false;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.Message(1, TensorType);
    }
}

/// <summary>ONNX's <c>TypeProto.Tensor</c>: element type and (optional) shape.</summary>
public sealed class TensorTypeProto : OnnxMessage
{
    public int ElemType { get; set; }
    public TensorShapeProto? Shape { get; set; }

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        switch (field)
        {
            case 1: ElemType = (int)Wire.Int64(input, type, field, "TypeProto.Tensor"); return true;
            case 2: Shape = Wire.Message<TensorShapeProto>(input, type, field, "TypeProto.Tensor"); return true;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.Int64(1, ElemType);
        fields.Message(2, Shape);
    }
}

/// <summary>ONNX's <c>TensorShapeProto</c>: one <see cref="DimensionProto"/> per axis.</summary>
public sealed class TensorShapeProto : OnnxMessage
{
    public List<DimensionProto> Dim { get; } = [];

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        if (field != 1) return false;
        Dim.Add(Wire.Message<DimensionProto>(input, type, field, "TensorShapeProto"));
        return true;
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        fields.Messages(1, Dim);
    }
}

/// <summary>ONNX's <c>TensorShapeProto.Dimension</c>: a fixed size (<see cref="DimValue"/>), a named symbolic size
/// (<see cref="DimParam"/>, e.g. the batch <c>"N"</c>), or neither (unknown).</summary>
public sealed class DimensionProto : OnnxMessage
{
    public long? DimValue { get; set; }
    public string DimParam { get; set; } = "";

    protected override bool ReadField(CodedInputStream input, int field, WireFormat.WireType type)
    {
        switch (field)
        {
            case 1: DimValue = Wire.Int64(input, type, field, "TensorShapeProto.Dimension"); return true;
            case 2: DimParam = Wire.String(input, type, field, "TensorShapeProto.Dimension"); return true;
            default: return false;
        }
    }

    protected override void WriteFields(ref FieldWriter fields)
    {
        // dim_value is in a oneof with dim_param: a set value is written even when 0
        if (DimValue is long value) fields.Int64Always(1, value);
        fields.String(2, DimParam);
    }
}

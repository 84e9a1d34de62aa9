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

    public abstract void WriteTo(CodedOutputStream output);

    public abstract int CalculateSize();

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

/// <summary>Reading and writing helpers for the field kinds ONNX uses, with wire-type checks.</summary>
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

    public static void Write(CodedOutputStream output, int field, string value)
    {
        if (value.Length == 0) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }

    public static int Size(int field, string value) =>
        value.Length == 0 ? 0 : CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeStringSize(value);

    public static void Write(CodedOutputStream output, int field, long value)
    {
        if (value == 0) return;
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt64(value);
    }

    public static int Size(int field, long value) =>
        value == 0 ? 0 : CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeInt64Size(value);

    public static void Write(CodedOutputStream output, int field, ByteString? value)
    {
        if (value is null || value.Length == 0) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(value);
    }

    public static int Size(int field, ByteString? value) =>
        value is null || value.Length == 0 ? 0 : CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeBytesSize(value);

    public static void Write(CodedOutputStream output, int field, OnnxMessage? value)
    {
        if (value is null) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteMessage(value);
    }

    public static int Size(int field, OnnxMessage? value) =>
        value is null ? 0 : CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeMessageSize(value);

    public static void Write(CodedOutputStream output, int field, IEnumerable<OnnxMessage> values)
    {
        foreach (var value in values) Write(output, field, value);
    }

    public static int Size(int field, IEnumerable<OnnxMessage> values) => values.Sum(v => Size(field, v));

    public static void Write(CodedOutputStream output, int field, IEnumerable<string> values)
    {
        // empty strings in a repeated field are meaningful (an omitted optional input), so they are written
        foreach (string value in values)
        {
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteString(value);
        }
    }

    public static int Size(int field, IEnumerable<string> values) =>
        values.Sum(v => CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeStringSize(v));

    /// <summary>Packed repeated int64 (proto3's default encoding).</summary>
    public static void WritePacked(CodedOutputStream output, int field, List<long> values)
    {
        if (values.Count == 0) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(values.Sum(v => CodedOutputStream.ComputeInt64Size(v)));
        foreach (long v in values) output.WriteInt64(v);
    }

    public static int PackedSize(int field, List<long> values)
    {
        if (values.Count == 0) return 0;
        int payload = values.Sum(v => CodedOutputStream.ComputeInt64Size(v));
        return CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize(payload) + payload;
    }

    /// <summary>Packed repeated float.</summary>
    public static void WritePacked(CodedOutputStream output, int field, List<float> values)
    {
        if (values.Count == 0) return;
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteLength(4 * values.Count);
        foreach (float v in values) output.WriteFloat(v);
    }

    public static int PackedSize(int field, List<float> values) =>
        values.Count == 0 ? 0 : CodedOutputStream.ComputeTagSize(field) + CodedOutputStream.ComputeLengthSize(4 * values.Count) + 4 * values.Count;
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

    public override void WriteTo(CodedOutputStream output)
    {
        Wire.Write(output, 1, IrVersion);
        Wire.Write(output, 2, ProducerName);
        Wire.Write(output, 3, ProducerVersion);
        Wire.Write(output, 4, Domain);
        Wire.Write(output, 5, ModelVersion);
        Wire.Write(output, 6, DocString);
        Wire.Write(output, 7, Graph);
        Wire.Write(output, 8, OpsetImport);
        Wire.Write(output, 14, MetadataProps);
    }

    public override int CalculateSize() =>
        Wire.Size(1, IrVersion) + Wire.Size(2, ProducerName) + Wire.Size(3, ProducerVersion) + Wire.Size(4, Domain) +
        Wire.Size(5, ModelVersion) + Wire.Size(6, DocString) + Wire.Size(7, Graph) + Wire.Size(8, OpsetImport) + Wire.Size(14, MetadataProps);
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

    public override void WriteTo(CodedOutputStream output)
    {
        Wire.Write(output, 1, Domain);
        Wire.Write(output, 2, Version);
    }

    public override int CalculateSize() => Wire.Size(1, Domain) + Wire.Size(2, Version);
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

    public override void WriteTo(CodedOutputStream output)
    {
        Wire.Write(output, 1, Key);
        Wire.Write(output, 2, Value);
    }

    public override int CalculateSize() => Wire.Size(1, Key) + Wire.Size(2, Value);
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

    public override void WriteTo(CodedOutputStream output)
    {
        Wire.Write(output, 1, Node);
        Wire.Write(output, 2, Name);
        Wire.Write(output, 5, Initializer);
        Wire.Write(output, 10, DocString);
        Wire.Write(output, 11, Input);
        Wire.Write(output, 12, Output);
        Wire.Write(output, 13, ValueInfo);
    }

    public override int CalculateSize() =>
        Wire.Size(1, Node) + Wire.Size(2, Name) + Wire.Size(5, Initializer) + Wire.Size(10, DocString) +
        Wire.Size(11, Input) + Wire.Size(12, Output) + Wire.Size(13, ValueInfo);
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

    public override void WriteTo(CodedOutputStream output)
    {
        Wire.Write(output, 1, Input);
        Wire.Write(output, 2, Output);
        Wire.Write(output, 3, Name);
        Wire.Write(output, 4, OpType);
        Wire.Write(output, 5, Attribute);
        Wire.Write(output, 6, DocString);
        Wire.Write(output, 7, Domain);
    }

    public override int CalculateSize() =>
        Wire.Size(1, Input) + Wire.Size(2, Output) + Wire.Size(3, Name) + Wire.Size(4, OpType) +
        Wire.Size(5, Attribute) + Wire.Size(6, DocString) + Wire.Size(7, Domain);
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

    public override void WriteTo(CodedOutputStream output)
    {
        Wire.Write(output, 1, Name);
        if (Type == AttributeType.Float)
        {
            output.WriteTag(2, WireFormat.WireType.Fixed32);
            output.WriteFloat(F);
        }
        if (Type == AttributeType.Int)
        {
            output.WriteTag(3, WireFormat.WireType.Varint);
            output.WriteInt64(I);
        }
        Wire.Write(output, 4, S);
        Wire.Write(output, 5, T);
        Wire.Write(output, 6, G);
        Wire.WritePacked(output, 7, Floats);
        Wire.WritePacked(output, 8, Ints);
        foreach (var s in Strings)
        {
            output.WriteTag(9, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(s);
        }
        Wire.Write(output, 20, (long)Type);
    }

    public override int CalculateSize() =>
        Wire.Size(1, Name) + (Type == AttributeType.Float ? 1 + 4 : 0) +
        (Type == AttributeType.Int ? 1 + CodedOutputStream.ComputeInt64Size(I) : 0) +
        Wire.Size(4, S) + Wire.Size(5, T) + Wire.Size(6, G) + Wire.PackedSize(7, Floats) + Wire.PackedSize(8, Ints) +
        Strings.Sum(s => 1 + CodedOutputStream.ComputeBytesSize(s)) + Wire.Size(20, (long)Type);
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

    public override void WriteTo(CodedOutputStream output)
    {
        Wire.WritePacked(output, 1, Dims);
        Wire.Write(output, 2, DataType);
        Wire.WritePacked(output, 4, FloatData);
        Wire.WritePacked(output, 7, Int64Data);
        Wire.Write(output, 8, Name);
        Wire.Write(output, 9, RawData);
        Wire.Write(output, 13, ExternalData);
        Wire.Write(output, 14, DataLocation);
    }

    public override int CalculateSize() =>
        Wire.PackedSize(1, Dims) + Wire.Size(2, DataType) + Wire.PackedSize(4, FloatData) + Wire.PackedSize(7, Int64Data) +
        Wire.Size(8, Name) + Wire.Size(9, RawData) + Wire.Size(13, ExternalData) + Wire.Size(14, DataLocation);
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

    public override void WriteTo(CodedOutputStream output)
    {
        Wire.Write(output, 1, Name);
        Wire.Write(output, 2, Type);
    }

    public override int CalculateSize() => Wire.Size(1, Name) + Wire.Size(2, Type);
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

    public override void WriteTo(CodedOutputStream output) => Wire.Write(output, 1, TensorType);

    public override int CalculateSize() => Wire.Size(1, TensorType);
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

    public override void WriteTo(CodedOutputStream output)
    {
        Wire.Write(output, 1, ElemType);
        Wire.Write(output, 2, Shape);
    }

    public override int CalculateSize() => Wire.Size(1, ElemType) + Wire.Size(2, Shape);
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

    public override void WriteTo(CodedOutputStream output) => Wire.Write(output, 1, Dim);

    public override int CalculateSize() => Wire.Size(1, Dim);
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

    public override void WriteTo(CodedOutputStream output)
    {
        if (DimValue is long value)
        {
            output.WriteTag(1, WireFormat.WireType.Varint);
            output.WriteInt64(value);
        }
        Wire.Write(output, 2, DimParam);
    }

    public override int CalculateSize() =>
        (DimValue is long value ? 1 + CodedOutputStream.ComputeInt64Size(value) : 0) + Wire.Size(2, DimParam);
}

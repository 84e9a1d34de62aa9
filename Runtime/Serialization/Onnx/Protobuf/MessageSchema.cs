using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace NeuroPlugin.Serialization.Onnx;

// The ONNX protobuf messages are written by hand (OnnxProto.cs) on Google.Protobuf's coded streams, so no protoc step
// is needed. Each message lists its fields once, in a MessageSchema: field number, wire codec, and where the value
// lives in the message. The schema both reads (checking each known field's wire type, skipping unknown fields) and
// writes (in the order listed, which is field-number order; proto3 defaults left out), so the two cannot disagree.
// Google.Protobuf's CodedInputStream enforces the length of every nested message and the nesting depth.

/// <summary>Base of the hand-written ONNX messages: Google.Protobuf's <see cref="IMessage"/> without reflection, so
/// <see cref="CodedInputStream.ReadMessage"/> applies its length and recursion limits to nested messages. Reading and
/// writing are the message's <see cref="Schema"/>.</summary>
internal abstract class OnnxMessage<TSelf> : IMessage where TSelf : OnnxMessage<TSelf>
{
    /// <summary>The message's fields; one static instance per message type.</summary>
    private protected abstract MessageSchema<TSelf> Schema { get; }

    /// <summary>Reads fields until the end of the current message (Google.Protobuf limits the stream to the message).</summary>
    public void MergeFrom(CodedInputStream input) => Schema.Read(input, (TSelf)this);

    public void WriteTo(CodedOutputStream output)
    {
        var writer = FieldWriter.Into(output);
        Schema.Write(ref writer, (TSelf)this);
    }

    /// <summary>The encoded size, from the same field list as <see cref="WriteTo"/>, so it always matches what is written.</summary>
    public int CalculateSize()
    {
        var writer = FieldWriter.Counting();
        Schema.Write(ref writer, (TSelf)this);
        return writer.Size;
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

/// <summary>How one protobuf field type is encoded: its wire type, how to read and write one value, its size, and
/// proto3's default (left out when writing a singular field). Instances are in <see cref="Wire"/>.</summary>
internal sealed class WireCodec<TValue>(
    WireFormat.WireType wireType,
    Func<CodedInputStream, TValue> read,
    Action<CodedOutputStream, TValue> write,
    Func<TValue, int> size,
    Func<TValue?, bool> isDefault)
{
    public WireFormat.WireType WireType => wireType;
    public TValue Read(CodedInputStream input) => read(input);
    public void Write(CodedOutputStream output, TValue value) => write(output, value);
    public int Size(TValue value) => size(value);
    public bool IsDefault(TValue? value) => isDefault(value);
}

/// <summary>The codecs of the field types ONNX uses.</summary>
internal static class Wire
{
    public static readonly WireCodec<long> Int64 = new(WireFormat.WireType.Varint, s => s.ReadInt64(), (o, v) => o.WriteInt64(v), CodedOutputStream.ComputeInt64Size, v => v == 0);
    public static readonly WireCodec<int> Int32 = new(WireFormat.WireType.Varint, s => s.ReadInt32(), (o, v) => o.WriteInt32(v), CodedOutputStream.ComputeInt32Size, v => v == 0);
    public static readonly WireCodec<float> Float = new(WireFormat.WireType.Fixed32, s => s.ReadFloat(), (o, v) => o.WriteFloat(v), _ => 4, v => BitConverter.SingleToInt32Bits(v) == 0);
    public static readonly WireCodec<double> Double = new(WireFormat.WireType.Fixed64, s => s.ReadDouble(), (o, v) => o.WriteDouble(v), _ => 8, v => BitConverter.DoubleToInt64Bits(v) == 0);
    public static readonly WireCodec<string> String = new(WireFormat.WireType.LengthDelimited, s => s.ReadString(), (o, v) => o.WriteString(v), CodedOutputStream.ComputeStringSize, v => string.IsNullOrEmpty(v));
    public static readonly WireCodec<ByteString> Bytes = new(WireFormat.WireType.LengthDelimited, s => s.ReadBytes(), (o, v) => o.WriteBytes(v), CodedOutputStream.ComputeBytesSize, v => v is null || v.Length == 0);

    /// <summary>A nested message (length-delimited; null is the default).</summary>
    public static WireCodec<TMessage> Message<TMessage>() where TMessage : OnnxMessage<TMessage>, new() => MessageCodec<TMessage>.Instance;

    static class MessageCodec<TMessage> where TMessage : OnnxMessage<TMessage>, new()
    {
        public static readonly WireCodec<TMessage> Instance = new(WireFormat.WireType.LengthDelimited, input =>
        {
            var message = new TMessage();
            input.ReadMessage(message);
            return message;
        }, (o, v) => o.WriteMessage(v), CodedOutputStream.ComputeMessageSize, v => v is null);
    }
}

/// <summary>
/// The fields of message <typeparamref name="TMessage"/>, each listed once with its number and codec, in field-number
/// order. Reading checks the wire type of every known field (a repeated scalar may come packed or one value per tag,
/// as proto3 readers must accept) and skips unknown ones; writing leaves out singular fields at their default,
/// writes repeated scalars packed, and repeated strings, bytes and messages one tag per element (empty strings too:
/// in a node's input list an empty name means an omitted optional input).
/// </summary>
internal sealed class MessageSchema<TMessage>(string name)
{
    delegate void ReadValue(CodedInputStream input, TMessage message);
    delegate void WriteValue(ref FieldWriter writer, TMessage message);

    /// <param name="WireType">The wire type expected; null accepts any (a marker field, skipped).</param>
    /// <param name="Packable">A repeated scalar, which may also come as one length-delimited run.</param>
    /// <param name="Read">Reads one value from the stream into the message.</param>
    sealed record Field(WireFormat.WireType? WireType, bool Packable, ReadValue Read);

    readonly Dictionary<int, Field> fields = [];
    readonly List<WriteValue> writers = [];

    /// <summary>A singular field. It is written when <paramref name="writeWhen"/> says so (a member of a oneof, written
    /// even at 0), or else when it is not at the codec's default.</summary>
    public MessageSchema<TMessage> Value<TValue>(int number, WireCodec<TValue> codec, Func<TMessage, TValue?> get, Action<TMessage, TValue> set,
        Func<TMessage, bool>? writeWhen = null)
    {
        writers.Add((ref FieldWriter writer, TMessage message) =>
        {
            TValue? value = get(message);
            if (writeWhen?.Invoke(message) ?? !codec.IsDefault(value)) writer.Value(number, codec, value!);
        });
        return Add(number, new Field(codec.WireType, Packable: false, (input, message) => set(message, codec.Read(input))));
    }

    /// <summary>A repeated field, read into and written from the list <paramref name="list"/> returns.</summary>
    public MessageSchema<TMessage> Repeated<TValue>(int number, WireCodec<TValue> codec, Func<TMessage, List<TValue>> list)
    {
        bool packable = codec.WireType != WireFormat.WireType.LengthDelimited;
        writers.Add((ref FieldWriter writer, TMessage message) =>
        {
            if (packable)
                writer.Packed(number, codec, list(message));
            else
                foreach (var value in list(message)) writer.Value(number, codec, value);
        });
        return Add(number, new Field(codec.WireType, packable, (input, message) => list(message).Add(codec.Read(input))));
    }

    /// <summary>A field this code does not read but must notice (it changes the model's meaning): <paramref name="mark"/>
    /// records it, so the importer can reject it by name; the value is skipped, and never written.</summary>
    public MessageSchema<TMessage> Marker(int number, Action<TMessage> mark) =>
        Add(number, new Field(null, Packable: false, (input, message) =>
        {
            mark(message);
            input.SkipLastField();
        }));

    MessageSchema<TMessage> Add(int number, Field field)
    {
        fields.Add(number, field);
        return this;
    }

    /// <summary>Reads fields into <paramref name="message"/> until the end of the current message.</summary>
    public void Read(CodedInputStream input, TMessage message)
    {
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            int number = WireFormat.GetTagFieldNumber(tag);
            var wireType = WireFormat.GetTagWireType(tag);
            if (!fields.TryGetValue(number, out var field))
            {
                input.SkipLastField();
            }
            else if (field.Packable && wireType == WireFormat.WireType.LengthDelimited)
            {
                // the run was bounds-checked by ReadBytes; a sub-stream over it reads exactly its values
                var run = new CodedInputStream(input.ReadBytes().ToByteArray());
                while (!run.IsAtEnd) field.Read(run, message);
            }
            else
            {
                if (field.WireType is { } expected && wireType != expected)
                    throw new InvalidDataException($"{name} field {number} has wire type {wireType}, expected {expected}");
                field.Read(input, message);
            }
        }
    }

    /// <summary>Writes (or counts) every field of <paramref name="message"/>, in the order listed.</summary>
    public void Write(ref FieldWriter writer, TMessage message)
    {
        foreach (var write in writers) write(ref writer, message);
    }
}

/// <summary>Encodes fields into a <see cref="CodedOutputStream"/>, or only counts the bytes they would take (when built
/// by <see cref="Counting"/>), so that a message's size and its encoding come from the same code.</summary>
internal struct FieldWriter
{
    readonly CodedOutputStream? output;

    FieldWriter(CodedOutputStream? output)
    {
        this.output = output;
        Size = 0;
    }

    /// <summary>Bytes counted so far (counting mode only).</summary>
    public int Size { get; private set; }

    public static FieldWriter Into(CodedOutputStream output) => new(output);

    public static FieldWriter Counting() => new(null);

    /// <summary>One tagged value.</summary>
    public void Value<TValue>(int field, WireCodec<TValue> codec, TValue value)
    {
        Tag(field, codec.WireType);
        if (output is null) Size += codec.Size(value);
        else codec.Write(output, value);
    }

    /// <summary>A packed repeated scalar (proto3's default encoding): one length-delimited run; empty is left out.</summary>
    public void Packed<TValue>(int field, WireCodec<TValue> codec, List<TValue> values)
    {
        if (values.Count == 0) return;
        int payload = 0;
        foreach (var value in values) payload += codec.Size(value);
        Tag(field, WireFormat.WireType.LengthDelimited);
        if (output is null)
        {
            Size += CodedOutputStream.ComputeLengthSize(payload) + payload;
            return;
        }
        output.WriteLength(payload);
        foreach (var value in values) codec.Write(output, value);
    }

    void Tag(int field, WireFormat.WireType type)
    {
        if (output is null) Size += CodedOutputStream.ComputeTagSize(field);
        else output.WriteTag(field, type);
    }
}

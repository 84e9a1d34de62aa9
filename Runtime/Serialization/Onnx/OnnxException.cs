namespace NeuroPlugin.Serialization.Onnx;

/// <summary>An ONNX model that cannot be imported or written. The message starts with the file (or model) name.</summary>
public abstract class OnnxException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>A malformed ONNX file: truncated or corrupt protobuf, sizes that do not match, dangling or cyclic
/// graphs, external data outside the model's folder. The message names the file and the field or tensor.</summary>
public sealed class OnnxFormatException(string source, string problem, Exception? inner = null)
    : OnnxException($"{source}: {problem}", inner)
{
    /// <summary>The file (or model name) that is malformed.</summary>
    public string FileName { get; } = source;
}

/// <summary>A well-formed ONNX model that uses an op, attribute, opset or pattern this importer (or exporter)
/// does not support. It is never skipped: the message names the node, its op and the opset,
/// <c>model.onnx: node 'Conv_3' (Conv, opset 13): attribute 'group' = 2 is not supported …</c>.</summary>
public sealed class OnnxUnsupportedException(string source, string node, string op, long opset, string problem)
    : OnnxException($"{source}: node '{node}' ({op}, opset {opset}): {problem}")
{
    /// <summary>The file (or model name).</summary>
    public string FileName { get; } = source;
    /// <summary>The node's name (or its first output's name when the node has none).</summary>
    public string Node { get; } = node;
    /// <summary>The node's op type (<c>Conv</c>, <c>Gemm</c>…).</summary>
    public string Op { get; } = op;
    /// <summary>The model's ai.onnx opset version.</summary>
    public long Opset { get; } = opset;
}

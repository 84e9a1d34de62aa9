using NeuroPlugin.Graph;
using NeuroPlugin.Layers;

namespace NeuroPlugin.Serialization.Onnx;

// The shape layers' ONNX nodes (opset 14): the constant operands are int64 initializers named after the node.
public static partial class OnnxExporter
{
    sealed partial class NodeWriter
    {
        /// <summary>Reshape (0 keeps the batch size), Transpose, Slice (starts, ends, axes, steps) or Gather (a 1-D index).</summary>
        void WriteShapeOp(Node node, string x, string y)
        {
            switch (node.Layer)
            {
                case Reshape reshape:
                    Emit("Reshape", node.Name, [x, IntConstant($"{y}.shape", [0, .. reshape.Shape.Select(d => (long)d)])], y);
                    break;
                case Permute permute:
                    Emit("Transpose", node.Name, [x], y, Ints("perm", [.. permute.Dims.Select(d => (long)d)]));
                    break;
                case Slice slice:
                    Emit("Slice", node.Name, [x, IntConstant($"{y}.starts", Longs(slice.Starts)), IntConstant($"{y}.ends", Longs(slice.Ends)),
                        IntConstant($"{y}.axes", Longs(slice.Dims)), IntConstant($"{y}.steps", Longs(slice.Steps))], y);
                    break;
                case IndexSelect select:
                    Emit("Gather", node.Name, [x, IntConstant($"{y}.indices", Longs(select.Index))], y, Int("axis", select.Dim));
                    break;
                default:
                    throw Unsupported(node, $"layer type '{node.Layer.Type}' is not a shape op");
            }
        }

        static long[] Longs(IReadOnlyList<int> values) => [.. values.Select(v => (long)v)];
    }
}

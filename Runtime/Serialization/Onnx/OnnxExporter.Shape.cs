using NeuroPlugin.Graph;

namespace NeuroPlugin.Serialization.Onnx;

// The shape layers' and reductions' ONNX nodes (opset 14): the constant operands are int64 initializers named after the node.
public static partial class OnnxExporter
{
    sealed partial class NodeWriter
    {
        /// <summary>Squeeze or Unsqueeze (a reshape that only removes or adds axes of size 1), Reshape (0 keeps the batch size),
        /// Transpose, Slice (starts, ends, axes, steps) or Gather (a 1-D index); <paramref name="input"/> is x's shape.</summary>
        void WriteShapeOp(Node node, TensorShape input, string x, string y)
        {
            switch (node.Layer)
            {
                case Reshape reshape:
                {
                    int[] from = input.ToArray()[1..], to = [.. reshape.Shape];
                    if (OnesBetween(from, to) is { } squeezed)
                        Emit("Squeeze", node.Name, [x, IntConstant($"{y}.axes", squeezed)], y);
                    else if (OnesBetween(to, from) is { } unsqueezed)
                        Emit("Unsqueeze", node.Name, [x, IntConstant($"{y}.axes", unsqueezed)], y);
                    else
                        Emit("Reshape", node.Name, [x, IntConstant($"{y}.shape", [0, .. reshape.Shape.Select(d => (long)d)])], y);
                    break;
                }
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

        /// <summary>ReduceSum (axes as an input from opset 13), ReduceMean, ReduceMax or ReduceMin (axes as an attribute until
        /// opset 18), with keepdims.</summary>
        void WriteReduce(Node node, Reduce reduce, string x, string y)
        {
            var keep = Int("keepdims", reduce.KeepDims ? 1 : 0);
            if (reduce.Op == Backends.ReduceOp.Sum)
                Emit(reduce.Type, node.Name, [x, IntConstant($"{y}.axes", Longs(reduce.Dims))], y, keep);
            else
                Emit(reduce.Type, node.Name, [x], y, Ints("axes", Longs(reduce.Dims)), keep);
        }

        /// <summary>The ONNX axes (counting the batch axis as 0) of the size-1 axes that <paramref name="longer"/> has beyond
        /// <paramref name="shorter"/>, when removing them leaves <paramref name="shorter"/>; otherwise null. Axes of size 1 are
        /// interchangeable, so matching greedily from the left finds a removal whenever one exists.</summary>
        static long[]? OnesBetween(int[] longer, int[] shorter)
        {
            if (longer.Length <= shorter.Length) return null;
            var axes = new List<long>();
            int j = 0;
            for (int i = 0; i < longer.Length; i++)
            {
                if (j < shorter.Length && longer[i] == shorter[j]) j++;
                else if (longer[i] == 1) axes.Add(i + 1);
                else return null;
            }
            return j == shorter.Length ? [.. axes] : null;
        }

        static long[] Longs(IReadOnlyList<int> values) => [.. values.Select(v => (long)v)];
    }
}

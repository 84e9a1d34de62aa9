namespace NeuroPlugin.Serialization.Onnx;

/// <summary>Gemm and MatMul of (N,K) by a constant matrix → <see cref="Linear"/> (weight (out, in), PyTorch's layout); any
/// other MatMul → <see cref="Layers.MatMul"/> (two tensors of one rank ≥ 3, or a tensor and a constant on either side, batch
/// axes broadcast); a MatMul pair by adaptive-pooling matrices, as our exporter writes it, → <see cref="AdaptiveAvgPool2d"/>.
/// Gemm's transA = 1 would contract over the batch axis of its (N,K) input A, and is refused.</summary>
internal static class LinearConverters
{
    /// <summary>y = α·A·op(B) + β·C with A (N,K) a tensor, B and C constants (transB = 1 is PyTorch's layout).</summary>
    public static OnnxValue Gemm(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 3);
        var a = graph.LiveInput(n, 0);
        n.Require("transA", 0, "A is the (N,K) input: transposed, its batch axis would be summed over");
        bool transB = n.Int("transB", 0) != 0;
        float alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        var b = graph.Constant(n, 1, "B");
        if (b.Dims.Length != 2 || !b.IsFloat) throw n.Unsupported($"B {b} must be a constant float matrix");
        int outFeatures = (int)(transB ? b.Dims[0] : b.Dims[1]), inFeatures = (int)(transB ? b.Dims[1] : b.Dims[0]);
        float[] weight = transB ? (float[])b.Floats!.Clone() : Transpose(b.Floats!, inFeatures, outFeatures);
        for (int i = 0; i < weight.Length; i++) weight[i] *= alpha;
        float[]? bias = null;
        if (n.HasInput(2))
        {
            bias = graph.Constant(n, 2, "C").ToVector(n, outFeatures, "C");
            for (int i = 0; i < bias.Length; i++) bias[i] *= beta;
        }
        return graph.AddLayer(n, n.InputName(1), new Linear(inFeatures, outFeatures, bias is not null), [graph.Materialize(n, a, "input")], ("weight", weight), ("bias", bias));
    }

    /// <summary>x·W with a constant matrix W (K, out); or one half of P_H·x·P_Wᵀ (adaptive average pooling).</summary>
    public static OnnxValue MatMul(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        // adaptive average pooling with unequal bins, as our exporter writes it: (x·P_Wᵀ) then P_H·(…)
        if (graph.Input(n, 0) is LiveTensor { Shape.Rank: 4, Pads: null } x && graph.Input(n, 1) is ConstantValue { Constant: { IsFloat: true, Dims: [var w, var ow] } columns } &&
            w == x.Shape.W && AdaptivePoolingMatrix.Matches(columns.Floats!, x.Shape.W, (int)ow, transpose: true))
            return new PooledColumns(x, (int)ow);
        if (graph.Input(n, 0) is ConstantValue { Constant: { IsFloat: true, Dims: [var oh, var h] } rows } && graph.Input(n, 1) is PooledColumns pooled)
        {
            if (h != pooled.Input.Shape.H || !AdaptivePoolingMatrix.Matches(rows.Floats!, pooled.Input.Shape.H, (int)oh, transpose: false))
                throw n.Unsupported($"MatMul of a constant {rows} by x·P is supported only as adaptive average pooling (P_H·x·P_Wᵀ)");
            return graph.AddLayer(n, null, new AdaptiveAvgPool2d((int)oh, pooled.OutputWidth), [pooled.Input]);
        }
        if (graph.Input(n, 0) is ConstantValue { Constant: var left })
        {
            // W·x: the constant's matrices multiply each item's from the left
            var input = graph.LiveInput(n, 1);
            var weightShape = Matrices(n, left, input.Shape, "A");
            if (input.Shape.Rank < 3) throw n.Unsupported($"W·x with a constant W {left} and x {input.Shape} would multiply across the batch axis (x needs rank ≥ 3)");
            return graph.AddLayer(n, n.InputName(0), new Layers.MatMul(weightShape, constantFirst: true), [input], ("weight", left.Floats));
        }
        var a = graph.LiveInput(n, 0);
        if (graph.Input(n, 1) is ConstantValue { Constant: var right })
        {
            if (right.IsFloat && right.Dims.Length == 2 && a.Shape.Rank == 2)
            {
                // x·W of (N,K) by (K,out): a Linear layer (PyTorch's (out, K) weight)
                int inFeatures = (int)right.Dims[0], outFeatures = (int)right.Dims[1];
                return graph.AddLayer(n, n.InputName(1), new Linear(inFeatures, outFeatures, bias: false), [graph.Materialize(n, a, "input")],
                    ("weight", Transpose(right.Floats!, inFeatures, outFeatures)));
            }
            return graph.AddLayer(n, n.InputName(1), new Layers.MatMul(Matrices(n, right, a.Shape, "B"), constantFirst: false), [a], ("weight", right.Floats));
        }
        var b = graph.LiveInput(n, 1);
        if (a.Shape.Rank < 3 || b.Shape.Rank != a.Shape.Rank)
            throw n.Unsupported($"MatMul of the tensors {a.Shape} and {b.Shape} is supported for one rank ≥ 3 (their first axes the batch)");
        return graph.AddLayer(n, null, new Layers.MatMul(), [a, b]);
    }

    /// <summary>A constant operand of MatMul as the layer's weight shape: float, 2 or 3 axes after leading 1s are dropped
    /// (a 1-D vector, which ONNX promotes and squeezes, is not supported).</summary>
    static TensorShape Matrices(OnnxNodeReader n, OnnxConstant c, TensorShape x, string operand)
    {
        if (!c.IsFloat) throw n.Unsupported($"the constant {operand} {c} is not float");
        long[] dims = [.. c.Dims.SkipWhile((d, i) => d == 1 && c.Dims.Length - i > 2)];
        if (dims.Length is < 2 or > 3 || dims.Any(d => d is < 1 or > int.MaxValue))
            throw n.Unsupported($"MatMul by the constant {operand} {c} with {x}: a constant operand has 2 or 3 axes (matrices, one batch axis at most)");
        return TensorShape.Of([.. dims.Select(d => (int)d)]);
    }

    /// <summary>The transpose of a row-major (rows, columns) matrix.</summary>
    static float[] Transpose(float[] matrix, int rows, int columns)
    {
        var result = new float[matrix.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                result[c * rows + r] = matrix[r * columns + c];
        return result;
    }
}

using NeuroPlugin.Layers;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>Gemm and MatMul by a constant matrix → <see cref="Linear"/> (weight (out, in), PyTorch's layout); a MatMul
/// pair by adaptive-pooling matrices, as our exporter writes it, → <see cref="AdaptiveAvgPool2d"/>.</summary>
internal static class LinearConverters
{
    /// <summary>y = α·A·op(B) + β·C with A (N,K) a tensor, B and C constants (transB = 1 is PyTorch's layout).</summary>
    public static OnnxValue Gemm(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 3);
        var a = graph.LiveInput(n, 0);
        n.Require("transA", 0, "the input must be (N,K)");
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
        var a = graph.LiveInput(n, 0);
        if (graph.Input(n, 1) is not ConstantValue { Constant: { IsFloat: true, Dims.Length: 2 } b })
            throw n.Unsupported("MatMul is supported as x·W with a constant matrix W (a Linear layer)");
        int inFeatures = (int)b.Dims[0], outFeatures = (int)b.Dims[1];
        return graph.AddLayer(n, n.InputName(1), new Linear(inFeatures, outFeatures, bias: false), [graph.Materialize(n, a, "input")],
            ("weight", Transpose(b.Floats!, inFeatures, outFeatures)));
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

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>Gemm and MatMul of (N,K) by a constant matrix or vector → <see cref="Linear"/> (weight (out, in), PyTorch's layout); any
/// other MatMul → <see cref="Layers.MatMul"/> (two tensors of one rank ≥ 3, or a tensor and a constant on either side, batch
/// axes broadcast, a 1-D constant promoted to a matrix and the added axis removed by a view, NumPy's rules); a MatMul pair by
/// adaptive-pooling matrices, as our exporter writes it, → <see cref="AdaptiveAvgPool2d"/>. Gemm and MatMul of constants fold
/// (<see cref="ConstantFolding"/>), every transpose. Gemm of a tensor and a constant, every transpose: a transposed tensor
/// operand is a transposed view (<see cref="PermutedView"/>), and a constant A is moved to the right,
/// α·op(A)·op(B) + β·C = (α·op(B)ᵀ·op(A)ᵀ + β·Cᵀ)ᵀ. What cannot be a layer of ours is refused by name: a Gemm of two
/// tensors (the product pairs one item with another), a tensor operand whose batch axis the product would sum over, a C
/// that varies along the batch axis, and a MatMul that would multiply across the batch axis.</summary>
internal static class LinearConverters
{
    /// <summary>y = α·op(A)·op(B) + β·C with one of A and B a tensor, the other and C constants. A tensor A (op(A) of (N,K),
    /// transB = 1 is PyTorch's layout) is <see cref="ProductByConstant"/> of op(A); a tensor B is
    /// (α·op(B)ᵀ·op(A)ᵀ + β·Cᵀ)ᵀ, the same product of op(B)ᵀ (rows N) by the constant op(A)ᵀ, seen transposed: (M,N), the
    /// batch in its columns (a Transpose or another Gemm with transA = 1 takes it back). See <see cref="FoldGemm"/> for
    /// constants.</summary>
    public static OnnxValue Gemm(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 3);
        bool transA = n.Int("transA", 0) != 0, transB = n.Int("transB", 0) != 0;
        if (graph.Input(n, 1) is ConstantValue)
            return ProductByConstant(graph, n, 0, transA ? Transposed(graph, n, 0, graph.Input(n, 0)) : graph.Input(n, 0), transB, resultTransposed: false);
        if (graph.Input(n, 0) is not ConstantValue)
            throw n.Unsupported("A and B are both tensors whose first axis is the batch: op(A)·op(B) would pair each item of one with every item of the other");
        // op(B)ᵀ is B itself where transB = 1; op(A)ᵀ is A's transpose where transA = 0, the right operand with "transB" set
        var rows = transB ? graph.Input(n, 1) : Transposed(graph, n, 1, graph.Input(n, 1));
        return Transposed(graph, n, 1, ProductByConstant(graph, n, 1, rows, weightTransposed: !transA, resultTransposed: true));
    }

    /// <summary>The 2-D tensor or view <paramref name="value"/> (input <paramref name="index"/> of <paramref name="n"/>, or a
    /// product of it) with its two axes swapped: a view that moves no data.</summary>
    static OnnxValue Transposed(ImportGraph graph, OnnxNodeReader n, int index, OnnxValue value)
    {
        if (value is not PermutedView view)
        {
            var x = graph.AsLive(n, index, value);
            view = PermutedView.Of(x, x.Shape.ToArray());
        }
        if (view.Dims.Length != 2) throw n.Malformed($"input {index} {view.Text} must be a matrix");
        return view.Transposed([1, 0]).Simplified();
    }

    /// <summary>α·x·op(W) + β·C for the tensor operand x (rows the batch, or a view whose rows hold it; input
    /// <paramref name="index"/> or its transpose) and the other input, W, constant: op(W) is W where
    /// <paramref name="weightTransposed"/> is false, else Wᵀ. A tensor (N,K) → <see cref="Linear"/>; a view →
    /// <see cref="GemmOfView"/>. Where <paramref name="resultTransposed"/>, the product computed is the transpose of the
    /// node's (M,N) result, so C is taken transposed.</summary>
    static OnnxValue ProductByConstant(ImportGraph graph, OnnxNodeReader n, int index, OnnxValue x, bool weightTransposed, bool resultTransposed)
    {
        var (inFeatures, outFeatures, weight, bias) = GemmConstants(graph, n, 1 - index, weightTransposed, resultTransposed);
        if (x is PermutedView view) return GemmOfView(graph, n, index, view, inFeatures, outFeatures, weight, bias);
        // the Linear layer checks its input's features against the weight's
        return graph.AddLayer(n, n.InputName(1 - index), new Linear(inFeatures, outFeatures, bias is not null), [graph.Materialize(n, graph.AsLive(n, index, x), "input")],
            ("weight", weight), ("bias", bias));
    }

    /// <summary>Gemm's constants for a tensor operand: input <paramref name="weightIndex"/>, W (transposed where
    /// <paramref name="weightTransposed"/>), as PyTorch's (out, in) weight times α, and β·C as a vector of out values (null
    /// without C). C broadcasts to the result (rows, out), or to its transpose (out, rows) where
    /// <paramref name="resultTransposed"/>: it may vary along out only, the rows holding the batch.</summary>
    static (int In, int Out, float[] Weight, float[]? Bias) GemmConstants(ImportGraph graph, OnnxNodeReader n, int weightIndex, bool weightTransposed, bool resultTransposed)
    {
        float alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        string name = weightIndex == 1 ? "B" : "A";
        var b = graph.Constant(n, weightIndex, name);
        if (b.Dims.Length != 2 || !b.IsFloat) throw n.Unsupported($"{name} {b} must be a constant float matrix");
        int outFeatures = (int)(weightTransposed ? b.Dims[0] : b.Dims[1]), inFeatures = (int)(weightTransposed ? b.Dims[1] : b.Dims[0]);
        float[] weight = weightTransposed ? (float[])b.Floats!.Clone() : Transpose(b.Floats!, inFeatures, outFeatures);
        for (int i = 0; i < weight.Length; i++) weight[i] *= alpha;
        if (!n.HasInput(2)) return (inFeatures, outFeatures, weight, null);
        var c = graph.Constant(n, 2, "C");
        // C as a matrix of the node's result (NumPy's rules, one way), then the sizes along the batch and along out
        long[] matrix = c.Dims.Length switch { 0 => [1, 1], 1 => [1, c.Dims[0]], 2 => c.Dims, _ => throw n.Malformed($"C {c} has more than 2 axes") };
        long alongBatch = matrix[resultTransposed ? 1 : 0], alongOut = matrix[resultTransposed ? 0 : 1];
        if (alongBatch != 1)
            throw n.Unsupported($"C {c} varies along the {(resultTransposed ? "columns" : "rows")} of the result, which hold the batch axis");
        if (alongOut != 1 && alongOut != outFeatures)
            throw n.Malformed($"C {c} does not broadcast to the {outFeatures} {(resultTransposed ? "rows" : "columns")} of the result");
        float[] bias = c.ToVector(n, outFeatures, "C");
        for (int i = 0; i < bias.Length; i++) bias[i] *= beta;
        return (inFeatures, outFeatures, weight, bias);
    }

    /// <summary>Gemm of a <see cref="PermutedView"/> x (MultiheadAttention's out_proj on (L·N,E)) by the (out, in)
    /// <paramref name="weight"/>: the rows of x, in the order they are stored, times the weight as a
    /// <see cref="Layers.MatMul"/> by the constant (in,out), plus the bias as an <see cref="Elementwise"/> add (learnable where
    /// C is an initializer); the result keeps x's order of rows.</summary>
    static OnnxValue GemmOfView(ImportGraph graph, OnnxNodeReader n, int index, PermutedView view, int inFeatures, int outFeatures, float[] weight, float[]? bias)
    {
        if (view.Dims.Length != 2) throw n.Malformed($"input {index} {view.Text} must be a matrix");
        var (rows, back) = ViewLayouts.Rows(graph, n, index, view);
        if (rows.Shape[2] != inFeatures) throw n.Malformed($"input {index} {view.Text} gives {rows.Shape[2]} columns and the constant's op {inFeatures} rows");
        // the (out, in) weight as the right operand (in, out) of x·W
        var product = graph.AddLayer(n, n.InputName(1 - index), new Layers.MatMul(new TensorShape(inFeatures, outFeatures), constantFirst: false), [rows],
            ("weight", Transpose(weight, outFeatures, inFeatures)));
        if (bias is not null)
        {
            bool learnable = graph.IsInitializer(n.Proto.Input[2]) && bias.Length > 1;
            product = graph.AddLayer(n, null, new Elementwise(BinaryOp.Add, new TensorShape(outFeatures), constantFirst: false, learnable, bias[0]), [product], ("constant", bias));
        }
        return back(product, outFeatures);
    }

    /// <summary>MatMul where an operand is a <see cref="PermutedView"/>: by a constant matrix W (K,out) on the right, row-wise
    /// (<see cref="ViewLayouts.Rows"/>); of two views whose first ONNX axis holds the batch, as our (N,k,…) tensors
    /// (<see cref="ViewLayouts.Batched"/>), the product seen as (k·N,…) again.</summary>
    static OnnxValue MatMulOfView(ImportGraph graph, OnnxNodeReader n)
    {
        if (graph.Input(n, 0) is PermutedView view && graph.Input(n, 1) is ConstantValue { Constant: var right })
        {
            if (!right.IsFloat || right.Dims.Length != 2)
                throw n.Unsupported($"MatMul of {view.Text} by the constant {right}: supported by a float matrix (K,out)");
            var (rows, back) = ViewLayouts.Rows(graph, n, 0, view);
            if (rows.Shape[2] != right.Dims[0]) throw n.Malformed($"{view.Text} by {right}: {rows.Shape[2]} columns against {right.Dims[0]} rows");
            var product = graph.AddLayer(n, n.InputName(1), new Layers.MatMul(new TensorShape((int)right.Dims[0], (int)right.Dims[1]), constantFirst: false), [rows], ("weight", right.Floats));
            return back(product, (int)right.Dims[1]);
        }
        if (graph.Input(n, 0) is ConstantValue || graph.Input(n, 1) is ConstantValue)
            throw n.Unsupported("MatMul of a constant and a transposed view is supported only as view·W (the constant on the right)");
        var (a, leading) = ViewLayouts.Batched(graph, n, 0);
        var (b, other) = ViewLayouts.Batched(graph, n, 1);
        if (!leading.SequenceEqual(other))
            throw n.Unsupported($"MatMul of the views {((PermutedView)graph.Input(n, 0)).Text} and {((PermutedView)graph.Input(n, 1)).Text}: the axes before their matrices must be equal (no broadcasting)");
        return ViewLayouts.BatchedResult(graph.AddLayer(n, null, new Layers.MatMul(), [a, b]), leading);
    }

    /// <summary>x·W with a constant matrix W (K, out); or one half of P_H·x·P_Wᵀ (adaptive average pooling).</summary>
    public static OnnxValue MatMul(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        if (graph.Input(n, 0) is PermutedView || graph.Input(n, 1) is PermutedView) return MatMulOfView(graph, n);
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
            // W·x: the constant's matrices multiply each item's from the left; a vector v (K) is the matrix (1,K), and
            // the product's added axis (…,1,P) is removed
            var input = graph.LiveInput(n, 1);
            var weightShape = Matrices(n, left, input.Shape, "A");
            if (input.Shape.Rank < 3) throw n.Unsupported($"W·x with a constant W {left} and x {input.Shape} would multiply across the batch axis (x needs rank ≥ 3)");
            var product = graph.AddLayer(n, n.InputName(0), new Layers.MatMul(weightShape, constantFirst: true), [input], ("weight", left.Floats));
            return left.Dims.Length == 1 ? product with { Shape = WithoutAxis(product.Shape, product.Shape.Rank - 2) } : product;
        }
        var a = graph.LiveInput(n, 0);
        if (graph.Input(n, 1) is ConstantValue { Constant: var right })
        {
            if (a.Shape.Rank < 2) throw n.Unsupported($"x {a.Shape} has only the batch axis, which x·W would sum over");
            if (right.IsFloat && right.Dims.Length is 1 or 2 && a.Shape.Rank == 2)
            {
                // x·W of (N,K) by (K,out): a Linear layer (PyTorch's (out, K) weight); by a vector v (K): (N,1) seen as (N)
                int inFeatures = (int)right.Dims[0], outFeatures = right.Dims.Length == 1 ? 1 : (int)right.Dims[1];
                var linear = graph.AddLayer(n, n.InputName(1), new Linear(inFeatures, outFeatures, bias: false), [graph.Materialize(n, a, "input")],
                    ("weight", Transpose(right.Floats!, inFeatures, outFeatures)));
                return right.Dims.Length == 1 ? linear with { Shape = TensorShape.Of([1]) } : linear;
            }
            // x·v with a vector v (K) is x·V with V (K,1), the added last axis removed
            var product = graph.AddLayer(n, n.InputName(1), new Layers.MatMul(Matrices(n, right, a.Shape, "B"), constantFirst: false), [a], ("weight", right.Floats));
            return right.Dims.Length == 1 ? product with { Shape = WithoutAxis(product.Shape, product.Shape.Rank - 1) } : product;
        }
        var b = graph.LiveInput(n, 1);
        if (a.Shape.Rank < 3 || b.Shape.Rank != a.Shape.Rank)
            throw n.Unsupported($"MatMul of the tensors {a.Shape} and {b.Shape} is supported for one rank ≥ 3 (their first axes the batch)");
        return graph.AddLayer(n, null, new Layers.MatMul(), [a, b]);
    }

    /// <summary>The most multiply-adds a fold of constants may take (2²⁸, a fraction of a second): a file's constants are
    /// bounded by its bytes, but a product of two of them is not.</summary>
    const long MaxFoldedProducts = 1L << 28;

    /// <summary>Gemm of constants, every transpose: α·op(A)·op(B) + β·C, C broadcast to (M,P) (NumPy's rules, one way).</summary>
    public static OnnxValue FoldGemm(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 3);
        var (a, b) = (graph.FoldedInput(n, 0), graph.FoldedInput(n, 1));
        bool transA = n.Int("transA", 0) != 0, transB = n.Int("transB", 0) != 0;
        float alpha = n.Float("alpha", 1f), beta = n.Float("beta", 1f);
        if (a.Dims.Length != 2 || b.Dims.Length != 2) throw n.Malformed($"A {a} and B {b} must be matrices");
        long m = a.Dims[transA ? 1 : 0], k = a.Dims[transA ? 0 : 1], p = b.Dims[transB ? 0 : 1];
        if (b.Dims[transB ? 1 : 0] != k) throw n.Malformed($"op(A) of {a} has {k} columns and op(B) of {b} {b.Dims[transB ? 1 : 0]} rows");
        CheckWork(n, m * p, k);
        var product = new float[m * p];
        // element (i,l) of op(A) is a[i·rowStride + l·columnStride]: A's own strides, swapped when transposed
        MatrixProduct(a.AsFloats(ConstantFolding.Fail(n)), 0, transA ? 1 : k, transA ? m : 1, b.AsFloats(ConstantFolding.Fail(n)), 0, transB ? 1 : p, transB ? k : 1, product, 0, m, k, p);
        float[] c = n.HasInput(2) ? graph.FoldedInput(n, 2).AsFloats(ConstantFolding.Fail(n)) : [];
        long[] cDims = n.HasInput(2) ? graph.FoldedInput(n, 2).Dims : [];
        if (cDims.Length > 2 || (cDims.Length == 2 && cDims[0] is var rows && rows != 1 && rows != m) || (cDims.Length >= 1 && cDims[^1] is var columns && columns != 1 && columns != p))
            throw n.Malformed($"C [{string.Join(",", cDims)}] does not broadcast to ({m},{p})");
        for (long i = 0; i < m; i++)
            for (long j = 0; j < p; j++)
            {
                long row = cDims.Length == 2 && cDims[0] != 1 ? i : 0, column = cDims.Length >= 1 && cDims[^1] != 1 ? j : 0;
                float shift = c.Length == 0 ? 0f : beta * c[row * (cDims.Length >= 1 ? cDims[^1] : 1) + column];
                product[i * p + j] = alpha * product[i * p + j] + shift;
            }
        return new ConstantValue(OnnxConstant.OfFloats([m, p], product));
    }

    /// <summary>MatMul of constants with NumPy's rules: the last two axes are matrices, the axes before them broadcast, and a
    /// vector is promoted (to a row on the left, a column on the right) with the added axis removed from the result.</summary>
    public static OnnxValue FoldMatMul(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 2);
        var (a, b) = (graph.FoldedInput(n, 0), graph.FoldedInput(n, 1));
        if (a.Dims.Length == 0 || b.Dims.Length == 0) throw n.Malformed($"MatMul of a scalar ({a} by {b})");
        long[] left = a.Dims.Length == 1 ? [1, a.Dims[0]] : a.Dims, right = b.Dims.Length == 1 ? [b.Dims[0], 1] : b.Dims;
        long m = left[^2], k = left[^1], p = right[^1];
        if (right[^2] != k) throw n.Malformed($"{a} by {b}: {k} columns against {right[^2]} rows");
        int batchRank = Math.Max(left.Length, right.Length) - 2;
        long Size(long[] dims, int axis) => axis - (batchRank - (dims.Length - 2)) is var own && own >= 0 ? dims[own] : 1;
        var batch = new long[batchRank];
        for (int axis = 0; axis < batchRank; axis++)
        {
            long sizeLeft = Size(left, axis), sizeRight = Size(right, axis);
            if (sizeLeft != sizeRight && sizeLeft != 1 && sizeRight != 1) throw n.Malformed($"the batch axes of {a} and {b} do not broadcast");
            batch[axis] = Math.Max(sizeLeft, sizeRight);
        }
        long batches = batch.Aggregate(1L, (q, d) => q * d);
        CheckWork(n, batches * m * p, k);
        float[] x = a.AsFloats(ConstantFolding.Fail(n)), y = b.AsFloats(ConstantFolding.Fail(n)), product = new float[batches * m * p];
        for (long flat = 0; flat < batches; flat++)
        {
            long rest = flat, leftMatrix = 0, rightMatrix = 0, leftStride = 1, rightStride = 1;
            for (int axis = batchRank - 1; axis >= 0; axis--)
            {
                long index = rest % batch[axis];
                rest /= batch[axis];
                long sizeLeft = Size(left, axis), sizeRight = Size(right, axis);
                leftMatrix += (sizeLeft == 1 ? 0 : index) * leftStride;
                rightMatrix += (sizeRight == 1 ? 0 : index) * rightStride;
                leftStride *= sizeLeft;
                rightStride *= sizeRight;
            }
            MatrixProduct(x, leftMatrix * m * k, k, 1, y, rightMatrix * k * p, p, 1, product, flat * m * p, m, k, p);
        }
        long[] dims = [.. batch, .. a.Dims.Length == 1 ? [] : new[] { m }, .. b.Dims.Length == 1 ? [] : new[] { p }];
        return new ConstantValue(OnnxConstant.OfFloats(dims, product));
    }

    /// <summary>Refuses a fold of <paramref name="outputs"/> elements, each a sum of <paramref name="k"/> products, past the
    /// bounds: at most 2²² elements (16 MiB) and <see cref="MaxFoldedProducts"/> multiply-adds.</summary>
    static void CheckWork(OnnxNodeReader n, long outputs, long k)
    {
        if (outputs > 1L << 22 || (double)outputs * Math.Max(k, 1) > MaxFoldedProducts)
            throw n.Unsupported($"folding this product of constants makes {outputs:N0} elements of {k:N0} multiply-adds each (at most {1L << 22:N0} elements and {MaxFoldedProducts:N0} multiply-adds)");
    }

    /// <summary>product[offset + i·p + j] = Σ_l a[aOffset + i·aRow + l·aColumn] · b[bOffset + l·bRow + j·bColumn] for an
    /// (m,k) by (k,p) product whose operands are read through strides (a transpose is swapped strides); in double, rounded once.</summary>
    static void MatrixProduct(float[] a, long aOffset, long aRow, long aColumn, float[] b, long bOffset, long bRow, long bColumn,
                              float[] product, long offset, long m, long k, long p)
    {
        for (long i = 0; i < m; i++)
            for (long j = 0; j < p; j++)
            {
                double sum = 0;
                for (long l = 0; l < k; l++) sum += (double)a[aOffset + i * aRow + l * aColumn] * b[bOffset + l * bRow + j * bColumn];
                product[offset + i * p + j] = (float)sum;
            }
    }

    /// <summary>A constant operand of MatMul as the layer's weight shape: float, 2 or 3 axes after leading 1s are dropped;
    /// a vector (K) is promoted as NumPy does, to the matrix (1,K) on the left (<paramref name="operand"/> A) and (K,1) on the
    /// right (B).</summary>
    static TensorShape Matrices(OnnxNodeReader n, OnnxConstant c, TensorShape x, string operand)
    {
        if (!c.IsFloat) throw n.Unsupported($"the constant {operand} {c} is not float");
        long[] promoted = c.Dims.Length != 1 ? c.Dims : operand == "A" ? [1, c.Dims[0]] : [c.Dims[0], 1];
        long[] dims = [.. promoted.SkipWhile((d, i) => d == 1 && promoted.Length - i > 2)];
        if (dims.Length is < 2 or > 3 || dims.Any(d => d is < 1 or > int.MaxValue))
            throw n.Unsupported($"MatMul by the constant {operand} {c} with {x}: a constant operand has 2 or 3 axes (matrices, one batch axis at most)");
        return TensorShape.Of([.. dims.Select(d => (int)d)]);
    }

    /// <summary><paramref name="shape"/> without axis <paramref name="axis"/> (of size 1: the axis a vector operand added).</summary>
    static TensorShape WithoutAxis(TensorShape shape, int axis) => TensorShape.Of([.. shape.ToArray().Where((_, i) => i != axis)]);

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

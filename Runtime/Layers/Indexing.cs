namespace NeuroPlugin.Layers;

/// <summary>A layer whose output is its input's elements moved by strided copies (<see cref="StridedMap"/>): forward
/// copies along each of its <see cref="PartCount"/> maps, backward adds dy back along each map reversed. The maps are
/// computed from the planned shapes on every call, without allocating.</summary>
public abstract class StridedCopyLayer : Layer
{
    /// <summary>How many copies a pass takes (one unless a layer needs several, such as repeated indices).</summary>
    protected virtual int PartCount => 1;

    /// <summary>Copy <paramref name="part"/> from the input (shape <paramref name="input"/>) into the output.</summary>
    protected abstract StridedMap Map(TensorShape input, TensorShape output, int part);

    /// <inheritdoc/>
    public override void Forward(IBackend backend, NodeTensors t)
    {
        for (int part = 0, parts = PartCount; part < parts; part++)
            backend.StridedCopy(Map(t.Inputs[0].Shape, t.Output.Shape, part), t.Inputs[0], t.Output, accumulate: false);
    }

    /// <inheritdoc/>
    public override void Backward(IBackend backend, NodeTensors t)
    {
        if (t.InputGrads[0] is not { } dx) return;
        for (int part = 0, parts = PartCount; part < parts; part++)
            backend.StridedCopy(Map(t.Inputs[0].Shape, t.Output.Shape, part).Reversed, t.Gradient, dx, accumulate: true);
    }

    /// <summary>The row-major strides of <paramref name="input"/> and <paramref name="output"/>, and the output's sizes
    /// as the index space, each one per axis: what every map starts from.</summary>
    protected static void Geometry(TensorShape input, TensorShape output, Span<int> inputStrides, Span<int> outputStrides, Span<int> extent)
    {
        StridedMap.ContiguousStrides(input, inputStrides);
        StridedMap.ContiguousStrides(output, outputStrides);
        for (int k = 0; k < extent.Length; k++) extent[k] = output[k];
    }
}

/// <summary>
/// <c>x.permute(*dims)</c>: <c>y[i_0,…,i_r] = x[…]</c> with output axis k taken from input axis <c>dims[k]</c>. The batch
/// axis stays first (<c>dims[0] = 0</c>); <c>dims</c> names every axis once. Moves data (one strided copy); backward is the
/// copy reversed, <c>dx += dyᵀ</c>. ONNX Transpose.
/// </summary>
public sealed class Permute : StridedCopyLayer
{
    /// <summary>Permutes the axes to <paramref name="dims"/> (every axis of the input once, the batch axis first).</summary>
    public Permute(params int[] dims)
    {
        if (dims.Length is < 2 or > TensorShape.MaxRank || dims[0] != 0 || dims.Order().Where((d, i) => d != i).Any())
            throw new ArgumentOutOfRangeException(nameof(dims), $"[{string.Join(",", dims)}] is not a permutation of 0…{dims.Length - 1} that keeps the batch axis (0) first");
        Dims = [.. dims];
    }

    /// <summary>Output axis k is input axis <c>Dims[k]</c>.</summary>
    public IReadOnlyList<int> Dims { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Permute>("Permute", LayerGroup.Shape,

        "reorders the axes after the batch axis, x.permute(0, …) (moves data)", d =>
        {
            var dims = d.VariableInts("dims", l => [.. l.Dims], 2, [0, 2, 3, 1], AttributeBounds.AtLeast(0));
            return d.Build(a => new Permute(dims.Read(a)), OnnxMapping.Same("Transpose"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (x.Rank != Dims.Count)
            throw new ShapeException($"{node}: permutation [{string.Join(",", Dims)}] has {Dims.Count} axes and the input {x} {x.Rank}");
        Span<int> dims = stackalloc int[x.Rank];
        for (int k = 0; k < dims.Length; k++) dims[k] = x[Dims[k]];
        return TensorShape.Of(dims);
    }

    /// <summary>The output in its order, reading the input along the permuted strides.</summary>
    protected override StridedMap Map(TensorShape input, TensorShape output, int part)
    {
        Span<int> inputStrides = stackalloc int[input.Rank], sourceStrides = stackalloc int[input.Rank], outputStrides = stackalloc int[input.Rank], extent = stackalloc int[input.Rank];
        Geometry(input, output, inputStrides, outputStrides, extent);
        for (int k = 0; k < sourceStrides.Length; k++) sourceStrides[k] = inputStrides[Dims[k]];
        return StridedMap.Of(extent, sourceStrides, 0, outputStrides, 0);
    }
}

/// <summary>
/// <c>x[…, start:end:step, …]</c> on the axes <see cref="Dims"/> (each after the batch axis), with ONNX Slice's rules: a
/// negative start or end counts from the axis' end, both are clamped to the axis (to [0, size] for a positive step, to
/// [−1, size − 1] for a negative one, which walks the axis backwards); the result may not be empty. Moves data (one strided
/// copy); backward adds dy into the sliced elements of dx.
/// </summary>
public sealed class Slice : StridedCopyLayer
{
    /// <summary>Slices axis <c>dims[k]</c> as <c>starts[k]:ends[k]:steps[k]</c>; the four arrays have one entry per sliced axis.
    /// Throws <see cref="ArgumentException"/> when their lengths differ, an axis is the batch axis or repeats, or a step is 0.</summary>
    public Slice(int[] dims, int[] starts, int[] ends, int[] steps)
    {
        if (dims.Length is < 1 or >= TensorShape.MaxRank || starts.Length != dims.Length || ends.Length != dims.Length || steps.Length != dims.Length)
            throw new ArgumentException($"a slice gives 1 to {TensorShape.MaxRank - 1} axes and one start, end and step each; got {dims.Length}, {starts.Length}, {ends.Length} and {steps.Length}");
        if (dims.Any(d => d < 1) || dims.Distinct().Count() != dims.Length)
            throw new ArgumentOutOfRangeException(nameof(dims), $"[{string.Join(",", dims)}]: the sliced axes are distinct axes after the batch axis (≥ 1)");
        if (steps.Contains(0)) throw new ArgumentOutOfRangeException(nameof(steps), "a slice's step may not be 0");
        Dims = [.. dims]; Starts = [.. starts]; Ends = [.. ends]; Steps = [.. steps];
    }

    /// <summary>The sliced axes, distinct, each ≥ 1 (axis 0 is the batch); the other axes are kept whole.</summary>
    public IReadOnlyList<int> Dims { get; }
    /// <summary>First index taken on each sliced axis (negative: from the end), before clamping.</summary>
    public IReadOnlyList<int> Starts { get; }
    /// <summary>Index at which each sliced axis stops, exclusive (negative: from the end), before clamping.</summary>
    public IReadOnlyList<int> Ends { get; }
    /// <summary>Stride of each sliced axis, never 0; negative walks the axis backwards.</summary>
    public IReadOnlyList<int> Steps { get; }

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<Slice>("Slice", LayerGroup.Shape,

        "x[…, start:end:step, …] on some axes (negative indices count from the end; moves data)", d =>
        {
            var dims = d.VariableInts("dims", l => [.. l.Dims], 1, [2], AttributeBounds.AtLeast(1));
            var starts = d.VariableInts("starts", l => [.. l.Starts], 1, [1]);
            var ends = d.VariableInts("ends", l => [.. l.Ends], 1, [-1]);
            var steps = d.VariableInts("steps", l => [.. l.Steps], 1, [1]);
            var onnx = new OnnxMapping(
            [
                new OnnxForm("Slice"),
                new OnnxForm("Slice") { Attributes = new() { ["dims"] = new System.Text.Json.Nodes.JsonArray(3, 1), ["starts"] = new System.Text.Json.Nodes.JsonArray(-1, 0),
                    ["ends"] = new System.Text.Json.Nodes.JsonArray(-100, 3), ["steps"] = new System.Text.Json.Nodes.JsonArray(-2, 2) } },
            ], ["Slice", "Split", "Gather"]);
            return d.Build(a => new Slice(dims.Read(a), starts.Read(a), ends.Read(a), steps.Read(a)), onnx);
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <summary>The first index and the number of elements of <c>start:end:step</c> on an axis of <paramref name="size"/>
    /// (ONNX Slice's clamping: after a negative start or end has the size added, a positive step clamps both to [0, size], a
    /// negative one start to [0, size − 1] and end to [−1, size − 1]; the count is 0 for an empty range). This is NumPy's
    /// <c>a[start:end:step]</c> except that ONNX clamps a negative step's start below the axis up to 0, where NumPy's slice
    /// is empty. Any int64 bounds and step are safe (a step longer than the axis takes one element).</summary>
    public static (int First, int Count) Range(int size, long start, long end, long step)
    {
        if (size <= 0 || step == 0) return (0, 0);
        step = Math.Clamp(step, -(long)size - 1, (long)size + 1); // a longer step takes the same single element
        if (start < 0) start += size;
        if (end < 0) end += size;
        if (step > 0)
        {
            start = Math.Clamp(start, 0, size);
            end = Math.Clamp(end, 0, size);
            return ((int)start, (int)Math.Max(0, (end - start + step - 1) / step));
        }
        start = Math.Clamp(start, 0, size - 1);
        end = Math.Clamp(end, -1, size - 1);
        return ((int)start, (int)Math.Max(0, (start - end + (-step) - 1) / -step));
    }

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        Span<int> dims = stackalloc int[x.Rank];
        for (int k = 0; k < dims.Length; k++) dims[k] = x[k];
        for (int i = 0; i < Dims.Count; i++)
        {
            if (Dims[i] >= x.Rank) throw new ShapeException($"{node}: slice of axis {Dims[i]} of {x}, which has {x.Rank} axes");
            var (_, count) = Range(x[Dims[i]], Starts[i], Ends[i], Steps[i]);
            if (count == 0) throw new ShapeException($"{node}: slice {Starts[i]}:{Ends[i]}:{Steps[i]} of axis {Dims[i]} of {x} is empty");
            dims[Dims[i]] = count;
        }
        return TensorShape.Of(dims);
    }

    /// <summary>The output in its order, reading the input from each axis' first index by its step.</summary>
    protected override StridedMap Map(TensorShape input, TensorShape output, int part)
    {
        Span<int> sourceStrides = stackalloc int[input.Rank], outputStrides = stackalloc int[input.Rank], extent = stackalloc int[input.Rank];
        Geometry(input, output, sourceStrides, outputStrides, extent);
        int offset = 0;
        for (int i = 0; i < Dims.Count; i++)
        {
            int axis = Dims[i];
            offset += Range(input[axis], Starts[i], Ends[i], Steps[i]).First * sourceStrides[axis];
            sourceStrides[axis] *= Steps[i];
        }
        return StridedMap.Of(extent, sourceStrides, offset, outputStrides, 0);
    }
}

/// <summary>
/// <c>torch.index_select(x, dim, index)</c>: <c>y[…, j, …] = x[…, index[j], …]</c> along axis <see cref="Dim"/> (after the
/// batch axis), for constant indices in [0, size) that may repeat. Moves data: one strided copy when the indices step
/// evenly (and do not repeat), else one per index; backward adds each dy slab into the slab of dx it was read from (a
/// repeated index collects every slab). ONNX Gather with a constant 1-D index.
/// </summary>
public sealed class IndexSelect : StridedCopyLayer
{
    /// <summary>Selects <paramref name="index"/> (at least one, each ≥ 0, may repeat) along axis <paramref name="dim"/> ≥ 1;
    /// an index past the axis' size is refused when the shape is known (<see cref="InferOutputShape"/>).</summary>
    public IndexSelect(int dim, params int[] index)
    {
        if (dim < 1) throw new ArgumentOutOfRangeException(nameof(dim), dim, "index_select along the batch axis is not supported (dim ≥ 1)");
        if (index.Length == 0 || index.Any(i => i < 0)) throw new ArgumentOutOfRangeException(nameof(index), $"[{string.Join(",", index)}]: at least one index, each ≥ 0");
        Dim = dim;
        Index = [.. index];
        int step = index.Length > 1 ? index[1] - index[0] : 1;
        evenStep = step != 0 && index.Select((v, j) => v - index[0] - j * step).All(r => r == 0) ? step : 0;
    }

    /// <summary>The axis indexed, ≥ 1 (the batch axis cannot be); its size becomes the index count.</summary>
    public int Dim { get; }
    /// <summary>The positions read along <see cref="Dim"/>, in output order: output slab j is input slab <c>index[j]</c>.</summary>
    public IReadOnlyList<int> Index { get; }
    /// <summary>The constant difference between consecutive indices, or 0 where they do not step evenly (or repeat).</summary>
    readonly int evenStep;

    internal static LayerDescriptor Definition { get; } = LayerDescriptorBuilder.Describe<IndexSelect>("IndexSelect", LayerGroup.Shape,

        "y = x.index_select(dim, index) with constant indices (moves data)", d =>
        {
            var dim = d.Int("dim", l => l.Dim, 1, AttributeBounds.AtLeast(1));
            var index = d.VariableInts("index", l => [.. l.Index], 1, [2, 0, 2], AttributeBounds.AtLeast(0));
            return d.Build(a => new IndexSelect(dim.Read(a), index.Read(a)), OnnxMapping.Same("Gather"));
        });

    /// <inheritdoc/>
    public override LayerDescriptor Descriptor => Definition;

    /// <inheritdoc/>
    public override TensorShape InferOutputShape(string node, ReadOnlySpan<TensorShape> inputs)
    {
        var x = inputs[0];
        if (Dim >= x.Rank) throw new ShapeException($"{node}: index_select along axis {Dim} of {x}, which has {x.Rank} axes");
        if (Index.Max() >= x[Dim]) throw new ShapeException($"{node}: index {Index.Max()} is out of range for axis {Dim} of {x} (size {x[Dim]})");
        Span<int> dims = stackalloc int[x.Rank];
        for (int k = 0; k < dims.Length; k++) dims[k] = k == Dim ? Index.Count : x[k];
        return TensorShape.Of(dims);
    }

    /// <summary>One copy for evenly stepping indices, else one per index.</summary>
    protected override int PartCount => evenStep != 0 ? 1 : Index.Count;

    /// <summary>Part <paramref name="part"/>: every output slab (evenly stepping indices), or the slab of index
    /// <paramref name="part"/>.</summary>
    protected override StridedMap Map(TensorShape input, TensorShape output, int part)
    {
        Span<int> sourceStrides = stackalloc int[input.Rank], outputStrides = stackalloc int[input.Rank], extent = stackalloc int[input.Rank];
        Geometry(input, output, sourceStrides, outputStrides, extent);
        int sourceOffset = Index[part] * sourceStrides[Dim], outputOffset = part * outputStrides[Dim];
        if (evenStep != 0) sourceStrides[Dim] *= evenStep;
        else extent[Dim] = 1;
        return StridedMap.Of(extent, sourceStrides, sourceOffset, outputStrides, outputOffset);
    }
}

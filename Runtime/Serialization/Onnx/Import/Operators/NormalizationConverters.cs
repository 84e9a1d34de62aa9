namespace NeuroPlugin.Serialization.Onnx;

/// <summary>BatchNormalization (inference form, with its running statistics) → <see cref="BatchNorm2d"/> or
/// <see cref="BatchNorm1d"/>; LayerNormalization (opset 17) → <see cref="LayerNorm"/>; InstanceNormalization →
/// <see cref="InstanceNorm2d"/>, or <see cref="GroupNorm"/> where its input is PyTorch's GroupNorm reshape (N,C,…) → (N,G,−1)
/// (or has one spatial axis); GroupNormalization (opset 18: scale and bias per group; 21: per channel) → <see cref="GroupNorm"/>;
/// LRN (odd sizes) → <see cref="Layers.LocalResponseNorm"/>; Dropout (inference form) →
/// <see cref="Layers.Dropout"/>, which trains on.</summary>
internal static class NormalizationConverters
{
    public static OnnxValue BatchNormalization(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(5, 5);
        var x = graph.LiveInput(n, 0);
        float epsilon = n.Float("epsilon", 1e-5f), momentum = n.Float("momentum", 0.9f);
        if (n.Opset < 9) n.Require("spatial", 1, "statistics per channel only");
        if (n.Opset >= 14) n.Require("training_mode", 0, "only inference-form batch normalization is imported");
        if (x.Shape.Rank < 2) throw n.Unsupported($"input {x.Shape} has no channel axis");
        int channels = x.Shape[1];
        float[] gamma = graph.Constant(n, 1, "scale").ToVector(n, channels, "scale"), beta = graph.Constant(n, 2, "B").ToVector(n, channels, "B");
        float[] mean = graph.Constant(n, 3, "mean").ToVector(n, channels, "mean"), variance = graph.Constant(n, 4, "var").ToVector(n, channels, "var");
        // ONNX's momentum weighs the old running value, PyTorch's the new batch statistic
        float ours = 1f - momentum;
        if (!(ours >= 0f && ours < 1f)) throw n.Unsupported($"attribute 'momentum' = {momentum} is not supported (must be in (0, 1])");
        if (!(epsilon > 0f)) throw n.Unsupported($"attribute 'epsilon' = {epsilon} is not supported (must be positive)");
        Layer layer = x.Shape.Rank == 4 ? new BatchNorm2d(channels, epsilon, ours) : new BatchNorm1d(channels, epsilon, ours);
        return graph.AddLayer(n, n.InputName(1), layer, [graph.Materialize(n, x, "input")],
            ("weight", gamma), ("bias", beta), ("running_mean", mean), ("running_var", variance));
    }

    /// <summary>LayerNormalization: the axes from <c>axis</c> on (after the batch axis) normalized together, Scale and B of
    /// their shape (or one value). stash_type is read: the statistics are computed in at least float precision.</summary>
    public static OnnxValue LayerNormalization(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(2, 3);
        if (graph.Input(n, 0) is PermutedView view) return LayerNormalizationOfView(graph, n, view);
        var x = graph.LiveInput(n, 0);
        long axis = n.Int("axis", -1), first = axis < 0 ? axis + x.Shape.Rank : axis;
        float epsilon = n.Float("epsilon", 1e-5f);
        n.Int("stash_type", 1);
        if (first < 1 || first >= x.Shape.Rank) throw n.Unsupported($"axis {axis} of input {x.Shape}: only axes after the batch axis can be normalized");
        if (!(epsilon > 0f)) throw n.Unsupported($"attribute 'epsilon' = {epsilon} is not supported (must be positive)");
        int[] normalized = x.Shape.ToArray()[(int)first..];
        float[] scale = AffineValues(graph, n, 1, "Scale", normalized);
        float[] bias = n.HasInput(2) ? AffineValues(graph, n, 2, "B", normalized) : new float[scale.Length];
        return graph.AddLayer(n, n.InputName(1), new LayerNorm(normalized, epsilon), [x], ("weight", scale), ("bias", bias));
    }

    /// <summary>LayerNormalization of a <see cref="PermutedView"/> (nn.LayerNorm on a sequence-first (L,N,E) tensor): a
    /// <see cref="LayerNorm"/> of its rows (<see cref="ViewLayouts.Rows"/>: the normalized axes last, in their order, a
    /// Permute only where they are not stored so), the result seen with the view's axes. The normalized axes must not hold
    /// the batch.</summary>
    static OnnxValue LayerNormalizationOfView(ImportGraph graph, OnnxNodeReader n, PermutedView view)
    {
        int rank = view.Axes.Length;
        long axis = n.Int("axis", -1), first = axis < 0 ? axis + rank : axis;
        float epsilon = n.Float("epsilon", 1e-5f);
        n.Int("stash_type", 1);
        if (first < 0 || first >= rank || Enumerable.Range((int)first, rank - (int)first).Any(a => view.Axes[a].Contains(0)))
            throw n.Unsupported($"axis {axis} of input {view.Text}: only axes that do not hold the batch axis can be normalized");
        if (!(epsilon > 0f)) throw n.Unsupported($"attribute 'epsilon' = {epsilon} is not supported (must be positive)");
        int[] normalized = view.Dims[(int)first..];
        float[] scale = AffineValues(graph, n, 1, "Scale", normalized);
        float[] bias = n.HasInput(2) ? AffineValues(graph, n, 2, "B", normalized) : new float[scale.Length];
        var (rows, back) = ViewLayouts.Rows(graph, n, 0, view, trailing: rank - (int)first);
        var result = graph.AddLayer(n, n.InputName(1), new LayerNorm([rows.Shape[2]], epsilon), [rows], ("weight", scale), ("bias", bias));
        return back(result, rows.Shape[2]);
    }

    /// <summary>A LayerNormalization constant as one value per normalized element: of the normalized shape (leading 1s
    /// allowed) or a single value repeated.</summary>
    static float[] AffineValues(ImportGraph graph, OnnxNodeReader n, int index, string what, int[] normalized)
    {
        var constant = graph.Constant(n, index, what);
        float[] values = constant.AsFloats(m => n.Unsupported($"{what}: {m}"));
        int length = normalized.Aggregate(1, (a, b) => a * b);
        if (values.Length == 1) return Enumerable.Repeat(values[0], length).ToArray();
        long[] dims = constant.Dims.SkipWhile((d, i) => d == 1 && constant.Dims.Length - i > normalized.Length).ToArray();
        if (!dims.SequenceEqual(normalized.Select(d => (long)d)))
            throw n.Unsupported($"{what} {constant} must have the normalized shape [{string.Join(",", normalized)}] or one value");
        return (float[])values.Clone();
    }

    /// <summary>InstanceNormalization: each channel of each item normalized over its positions, scale and B per channel. PyTorch
    /// writes GroupNorm as this op over its input reshaped to (N,G,−1): where the input is such a view of an (N,C,…) tensor
    /// (C a multiple of G) the node is a <see cref="GroupNorm"/> of that tensor (each channel takes its group's scale and B;
    /// a Mul and Add per channel after the reshape back fold into it), seen again as (N,G,−1).</summary>
    public static OnnxValue InstanceNormalization(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(3, 3);
        var x = graph.LiveInput(n, 0);
        float epsilon = n.Float("epsilon", 1e-5f);
        if (x.Shape.Rank < 3) throw n.Unsupported($"input {x.Shape}: InstanceNormalization needs (N,C,…) with a spatial axis");
        if (!(epsilon > 0f)) throw n.Unsupported($"attribute 'epsilon' = {epsilon} is not supported (must be positive)");
        int channels = x.Shape[1];
        float[] scale = graph.Constant(n, 1, "scale").ToVector(n, channels, "scale"), shift = graph.Constant(n, 2, "B").ToVector(n, channels, "B");
        var actual = graph.Shape(x.Tensor);
        if (x.Shape.Rank == 3 && actual != x.Shape && actual.Rank >= 2 && actual.Length == x.Shape.Length && actual[1] % channels == 0)
        {
            float[] weight = PerChannel(scale, actual[1]), bias = PerChannel(shift, actual[1]);
            var grouped = graph.AddLayer(n, ModuleWeight(n.Name), new GroupNorm(channels, actual[1], epsilon), [x.Tensor], ("weight", weight), ("bias", bias));
            return grouped with { Shape = x.Shape };
        }
        if (x.Shape.Rank == 3)
            return graph.AddLayer(n, null, new GroupNorm(channels, channels, epsilon), [x], ("weight", scale), ("bias", shift));
        // PyTorch's InstanceNorm2d without affine (its default) writes constants 1 and 0; with affine, its parameters (x.weight)
        bool affine = scale.Any(v => v != 1f) || shift.Any(v => v != 0f) || n.Proto.Input[1].EndsWith(".weight", StringComparison.Ordinal);
        var layer = new InstanceNorm2d(channels, epsilon, affine);
        return affine
            ? graph.AddLayer(n, n.InputName(1), layer, [x], ("weight", scale), ("bias", shift))
            : graph.AddLayer(n, null, layer, [x]);
    }

    /// <summary>GroupNormalization (opset 18 and 21): the C channels of (N,C,…) in <c>num_groups</c> groups, each group of each
    /// item normalized over its channels and positions with <c>epsilon</c>, then scaled and shifted. Opset 18's scale and
    /// bias hold one value per group (each channel takes its group's), opset 21's one per channel: both are a
    /// <see cref="GroupNorm"/> with a γ and β per channel. stash_type (21) is read: the statistics are computed in float.</summary>
    public static OnnxValue GroupNormalization(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(3, 3);
        var x = graph.LiveInput(n, 0);
        long groups = n.Int("num_groups", 0);
        float epsilon = n.Float("epsilon", 1e-5f);
        if (n.Opset >= 21) n.Int("stash_type", 1);
        if (x.Shape.Rank < 2) throw n.Unsupported($"input {x.Shape} has no channel axis");
        int channels = x.Shape[1];
        if (groups < 1 || groups > channels || channels % groups != 0)
            throw n.Malformed($"attribute 'num_groups' = {groups} must divide the {channels} channels of {x.Shape}");
        if (!(epsilon > 0f)) throw n.Unsupported($"attribute 'epsilon' = {epsilon} is not supported (must be positive)");
        int affine = n.Opset >= 21 ? channels : (int)groups;
        float[] scale = graph.Constant(n, 1, "scale").ToVector(n, affine, "scale"), bias = graph.Constant(n, 2, "bias").ToVector(n, affine, "bias");
        return graph.AddLayer(n, n.InputName(1), new GroupNorm((int)groups, channels, epsilon), [x],
            ("weight", PerChannel(scale, channels)), ("bias", PerChannel(bias, channels)));
    }

    /// <summary>Values of consecutive groups of channels (one per group, or one per channel) as one value per channel: channel c
    /// of <paramref name="channels"/> takes value c·|values|/channels.</summary>
    static float[] PerChannel(float[] values, int channels)
    {
        int perGroup = channels / values.Length;
        var result = new float[channels];
        for (int c = 0; c < channels; c++) result[c] = values[c / perGroup];
        return result;
    }

    /// <summary>The weight name of the module a node named by PyTorch's scopes belongs to (<c>/layer1/gn/InstanceNormalization</c>
    /// → <c>layer1.gn.weight</c>), so the GroupNorm that the node becomes keeps the module's state-dict names; null for a name
    /// without a scope (the node's own name is used).</summary>
    static string? ModuleWeight(string name)
    {
        int last = name.LastIndexOf('/');
        if (!name.StartsWith('/') || last <= 0) return null;
        return name[1..last].Replace('/', '.') + ".weight";
    }

    public static OnnxValue LocalResponseNorm(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 1);
        var x = graph.LiveInput(n, 0);
        long size = n.Int("size", 0);
        float alpha = n.Float("alpha", 1e-4f), beta = n.Float("beta", 0.75f), bias = n.Float("bias", 1f);
        // ONNX centres an even window one channel later than PyTorch (and our layer): only odd sizes agree
        if (size < 1 || size % 2 == 0 || size > int.MaxValue) throw n.Unsupported($"attribute 'size' = {size} is not supported (only odd sizes)");
        try
        {
            return graph.AddLayer(n, null, new Layers.LocalResponseNorm((int)size, alpha, beta, bias), [x]);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw n.Unsupported(e.Message);
        }
    }

    /// <summary>Dropout with its ratio (an attribute before opset 12, a constant input from it), on a tensor seen through any view;
    /// training_mode must be off, or the ratio a constant 0 (nothing dropped: the input passes through).</summary>
    public static OnnxValue Dropout(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 3);
        float ratio;
        if (n.Opset < 12)
        {
            ratio = n.Float("ratio", 0.5f);
        }
        else
        {
            n.Int("seed", 0); // the mask is drawn from our own counter-based random numbers
            ratio = n.HasInput(1) ? graph.Constant(n, 1, "ratio").Scalar(n) : 0.5f;
            if (n.HasInput(2) && graph.Constant(n, 2, "training_mode").Scalar(n) != 0f)
            {
                // torchvision's Swin calls F.dropout(x, p) in every mode: with p = 0 that drops nothing
                if (n.HasInput(1) && ratio == 0f) return graph.Input(n, 0);
                throw n.Unsupported("training_mode = true is not supported (imported models are in inference form)");
            }
        }
        if (!(ratio >= 0f && ratio < 1f)) throw n.Unsupported($"ratio {ratio} is not supported (must be in [0, 1))");
        return graph.ElementwiseOf(n, new Layers.Dropout(ratio)); // element-wise: a view of any kind keeps its view
    }
}

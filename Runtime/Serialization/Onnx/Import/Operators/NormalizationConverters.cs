using NeuroPlugin.Layers;

namespace NeuroPlugin.Serialization.Onnx;

/// <summary>BatchNormalization (inference form, with its running statistics) → <see cref="BatchNorm2d"/> or
/// <see cref="BatchNorm1d"/>; LRN (odd sizes) → <see cref="Layers.LocalResponseNorm"/>; Dropout (inference form) →
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

    /// <summary>Dropout with its ratio (an attribute before opset 12, a constant input from it); training_mode must be off.</summary>
    public static OnnxValue Dropout(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(1, 3);
        var x = graph.LiveInput(n, 0);
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
                throw n.Unsupported("training_mode = true is not supported (imported models are in inference form)");
        }
        if (!(ratio >= 0f && ratio < 1f)) throw n.Unsupported($"ratio {ratio} is not supported (must be in [0, 1))");
        return graph.AddLayer(n, null, new Layers.Dropout(ratio), [x]);
    }
}

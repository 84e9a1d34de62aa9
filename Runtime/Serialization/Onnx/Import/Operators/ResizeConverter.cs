namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Resize → <see cref="Upsample"/>: bilinear (<c>mode = linear</c>) on (N,C,H,W) with the source coordinate
/// <c>(i + ½)/scale − ½</c> — <c>half_pixel</c>, or <c>pytorch_half_pixel</c> (PyTorch's exporter for
/// <c>align_corners=False</c>, equal to it except for a 1-pixel output, which is refused). The output size comes
/// from constant <c>sizes</c> (input 3: N and C as the input's, the batch may be symbolic) or constant <c>scales</c>
/// (input 2, or 1 in opset 10, whose asymmetric coordinates are refused) with N and C unscaled. From opset 18 the
/// attribute <c>axes</c> may name the axes that <c>scales</c> or <c>sizes</c> give (e.g. <c>[2, 3]</c> or <c>[-2, -1]</c>);
/// the axes it leaves out keep their size.
/// </summary>
internal static class ResizeConverter
{
    public static OnnxValue Resize(ImportGraph graph, OnnxNodeReader n)
    {
        n.ExpectInputs(n.Opset >= 11 ? 1 : 2, n.Opset >= 11 ? 4 : 2); // from opset 11: (X, roi, scales, sizes), roi unused by these modes
        var x = graph.LiveInput(n, 0);
        string mode = n.String("mode", "nearest");
        string coordinates = n.Opset >= 11 ? n.String("coordinate_transformation_mode", "half_pixel") : "asymmetric";
        n.Float("cubic_coeff_a", -0.75f);              // cubic only
        n.String("nearest_mode", "round_prefer_floor"); // nearest only
        n.Float("extrapolation_value", 0f);            // tf_crop_and_resize only
        n.Require("exclude_outside", 0, "samples outside the image are clamped to the edge, as PyTorch does");
        string policy = "stretch";
        long[]? axes = null;
        if (n.Opset >= 18)
        {
            n.Require("antialias", 0, "the bilinear Upsample does not low-pass filter when it shrinks");
            policy = n.String("keep_aspect_ratio_policy", "stretch");
            axes = n.Ints("axes");
        }
        if (mode != "linear") throw n.Unsupported($"mode '{mode}' is not supported (only 'linear': bilinear)");
        if (coordinates is not ("half_pixel" or "pytorch_half_pixel"))
            throw n.Unsupported($"coordinate_transformation_mode '{coordinates}' is not supported (only half_pixel and pytorch_half_pixel: PyTorch's align_corners=False)");
        if (x.Shape.Rank != 4) throw n.Unsupported($"input {x.Shape}: only (N,C,H,W) images are resized");

        Upsample layer;
        var sizes = n.HasInput(3) ? graph.Constant(n, 3, "sizes") : null;
        if (sizes is { Length: > 0 })
        {
            long[] size = OnAllAxes(n, axes, sizes.Ints ?? throw n.Malformed($"sizes {sizes} must be int64"), "sizes", x.Shape, axis => x.Shape[axis]);
            if (policy != "stretch")
                throw n.Unsupported($"attribute 'keep_aspect_ratio_policy' = '{policy}' is not supported (only 'stretch': the sizes as given)");
            if (size.Length != 4 || (size[0] != x.Shape.N && size[0] != OnnxConstant.Batch) || size[1] != x.Shape.C)
                throw n.Unsupported($"sizes [{string.Join(",", size.Select(v => v == OnnxConstant.Batch ? "N" : v.ToString()))}] must keep the input's (N, C) = (N, {x.Shape.C}) and give (OH, OW)");
            if (size[2] < 1 || size[3] < 1 || size[2] > int.MaxValue || size[3] > int.MaxValue) throw n.Malformed($"sizes give an empty or oversized {size[2]}×{size[3]} image");
            layer = new Upsample((int)size[2], (int)size[3]);
        }
        else
        {
            int scalesInput = n.Opset >= 11 ? 2 : 1;
            if (!n.HasInput(scalesInput)) throw n.Malformed("neither scales nor sizes is given");
            float[] scale = OnAllAxes(n, axes, graph.Constant(n, scalesInput, "scales").AsFloats(n.Unsupported), "scales", x.Shape, _ => 1f);
            if (scale.Length != 4 || scale[0] != 1f || scale[1] != 1f)
                throw n.Unsupported($"scales [{string.Join(",", scale)}] must be (1, 1, s_h, s_w): N and C are not resized");
            if (!(scale[2] > 0f && scale[3] > 0f && float.IsFinite(scale[2]) && float.IsFinite(scale[3])))
                throw n.Malformed($"scales [{string.Join(",", scale)}] must be positive and finite");
            layer = Upsample.WithScaleFactor(scale[2], scale[3]);
        }
        var output = layer.InferOutputShape(n.Name, [x.Shape]);
        if (coordinates == "pytorch_half_pixel" && (output.H == 1 || output.W == 1))
            throw n.Unsupported($"pytorch_half_pixel to a 1-pixel side ({output}) samples pixel 0, which the bilinear Upsample does not");
        return graph.AddLayer(n, null, layer, [x]);
    }

    /// <summary>The <paramref name="what"/> values given for the axes of opset 18's attribute <c>axes</c>, spread over
    /// every axis of <paramref name="shape"/>, with <paramref name="unlisted"/>'s value on the axes the list leaves out;
    /// without the attribute, the values as given (one per axis).</summary>
    static T[] OnAllAxes<T>(OnnxNodeReader n, long[]? axes, T[] values, string what, TensorShape shape, Func<int, T> unlisted)
    {
        if (axes == null) return values;
        if (values.Length != axes.Length)
            throw n.Malformed($"{what} [{string.Join(",", values)}] need one value for each of the axes [{string.Join(",", axes)}]");
        var all = new T[shape.Rank];
        for (int axis = 0; axis < all.Length; axis++) all[axis] = unlisted(axis);
        int[] listed = n.DistinctAxes(axes, shape);
        for (int i = 0; i < listed.Length; i++) all[listed[i]] = values[i];
        return all;
    }
}

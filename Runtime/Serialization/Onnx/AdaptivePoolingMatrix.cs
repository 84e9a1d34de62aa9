namespace NeuroPlugin.Serialization.Onnx;

/// <summary>
/// Adaptive average pooling along one axis as a matrix, the form ONNX has for bins of unequal extent: output i averages
/// inputs <c>h ∈ [⌊i·H/O⌋, ⌈(i+1)·H/O⌉)</c> (PyTorch's bins), so <c>P[i, h] = 1/(end − start)</c> there and 0 elsewhere,
/// and a 2-D adaptive pooling of x (N,C,H,W) is <c>P_H · x · P_Wᵀ</c>. The exporter writes it; the importer recognises it.
/// </summary>
internal static class AdaptivePoolingMatrix
{
    /// <summary>P (outputs × inputs), row-major, or its transpose (inputs × outputs).</summary>
    public static float[] Of(int inputs, int outputs, bool transpose)
    {
        var matrix = new float[inputs * outputs];
        for (int i = 0; i < outputs; i++)
        {
            int start = i * inputs / outputs, end = ((i + 1) * inputs + outputs - 1) / outputs;
            for (int h = start; h < end; h++)
                matrix[transpose ? h * outputs + i : i * inputs + h] = 1f / (end - start);
        }
        return matrix;
    }

    /// <summary>True when <paramref name="values"/> is <see cref="Of"/>(inputs, outputs, transpose), each entry within
    /// 1e-6 (a file written elsewhere may round 1/3 differently).</summary>
    public static bool Matches(float[] values, int inputs, int outputs, bool transpose)
    {
        if (values.Length != inputs * outputs) return false;
        var expected = Of(inputs, outputs, transpose);
        for (int i = 0; i < values.Length; i++)
            if (MathF.Abs(values[i] - expected[i]) > 1e-6f) return false;
        return true;
    }
}

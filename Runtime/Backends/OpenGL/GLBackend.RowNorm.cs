namespace NeuroPlugin.Backends.OpenGL;

// Row normalization (rownorm.comp): one invocation per row for the statistics and the row sums of backward, element-wise
// kernels for the normalization and the input gradient, one invocation per affine index for the parameter gradients.
public sealed partial class GLBackend
{
    ComputeProgram? rowNormStatsProgram, rowNormNormalizeProgram, rowNormRowGradProgram, rowNormInputGradProgram, rowNormAffineGradProgram;

    /// <summary>Per row: mean and 1/√(σ² + ε) into saveMean and saveInvStd; then <c>y = (x − μ)·invStd·γ[k] + β[k]</c>.</summary>
    public void RowNormForward(Tensor input, Tensor? weight, Tensor? bias, Tensor saveMean, Tensor saveInvStd, Tensor output, int affineStride, float epsilon)
    {
        EnsureUsable();
        var axes = RowNormAxes.Of(input, saveMean, weight, bias, affineStride);
        var stats = Bound(Program(ref rowNormStatsProgram, "rownorm.comp", "STATS"), [input], [saveMean, saveInvStd]);
        SetRowNormShape(stats, axes, weight is not null, bias is not null);
        stats.SetUniform("epsilon", epsilon);
        stats.Dispatch(axes.Rows, 1, 3L * axes.RowLength);

        var normalize = Bound(Program(ref rowNormNormalizeProgram, "rownorm.comp", "NORMALIZE"), [input, saveMean, saveInvStd], [output]);
        BindOptional(Input3, weight);
        BindOptional(Input4, bias);
        SetRowNormShape(normalize, axes, weight is not null, bias is not null);
        DispatchRowNormElements(normalize, axes);
    }

    /// <summary>In the forward pass this was <c>y = γ[k]·x̂ + β[k]</c>: the row sums of g = dy·γ[k] and g·x̂ (one invocation
    /// per row, into the scratch buffer with the row's statistics), then <c>dx += invStd·(g − a − x̂·b)</c>; dγ and dβ summed per
    /// affine index.</summary>
    public void RowNormBackward(Tensor input, Tensor? weight, Tensor saveMean, Tensor saveInvStd, Tensor outputGrad,
        Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, int affineStride)
    {
        EnsureUsable();
        var axes = RowNormAxes.Of(input, saveMean, weight, weightGrad ?? biasGrad, affineStride);
        if (inputGrad is not null)
        {
            var rowSums = Scratch(checked(4 * axes.Rows));
            // ROW_GRAD and AFFINE_GRAD read x, dy and the row statistics at the same bindings
            var rowGrad = Bound(Program(ref rowNormRowGradProgram, "rownorm.comp", "ROW_GRAD"), [input, outputGrad, saveMean, saveInvStd], []);
            BindOptional(Input4, weight);
            Bind(Output0, rowSums);
            SetRowNormShape(rowGrad, axes, weight is not null, false);
            rowGrad.Dispatch(axes.Rows, 1, 4L * axes.RowLength);

            var program = Bound(Program(ref rowNormInputGradProgram, "rownorm.comp", "INPUT_GRAD"), [input, outputGrad], [inputGrad]);
            BindOptional(Input2, weight);
            Bind(Input3, rowSums);
            SetRowNormShape(program, axes, weight is not null, false);
            DispatchRowNormElements(program, axes);
        }
        if (axes.AffineCount > 0 && (weightGrad is not null || biasGrad is not null))
        {
            var program = Bound(Program(ref rowNormAffineGradProgram, "rownorm.comp", "AFFINE_GRAD"), [input, outputGrad, saveMean, saveInvStd], []);
            BindOptional(Output0, weightGrad);
            BindOptional(Output1, biasGrad);
            SetRowNormShape(program, axes, weight is not null, false);
            int blocks = axes.Length / (axes.AffineCount * axes.AffineStride);
            program.SetUniform("blocks", blocks);
            program.SetUniform("hasWeightGrad", weightGrad is null ? 0 : 1);
            program.SetUniform("hasBiasGrad", biasGrad is null ? 0 : 1);
            program.Dispatch(axes.AffineCount, 1, 2L * blocks * axes.AffineStride);
        }
    }

    static void SetRowNormShape(ComputeProgram program, RowNormAxes axes, bool hasWeight, bool hasBias)
    {
        program.SetUniform("rows", axes.Rows);
        program.SetUniform("rowLength", axes.RowLength);
        program.SetUniform("affineStride", axes.AffineStride);
        program.SetUniform("affineCount", axes.AffineCount);
        program.SetUniform("hasWeight", hasWeight ? 1 : 0);
        program.SetUniform("hasBias", hasBias ? 1 : 0);
    }

    /// <summary>Runs an element-wise variant (NORMALIZE, INPUT_GRAD) over all R·L values, a vec4 per invocation.</summary>
    static void DispatchRowNormElements(ComputeProgram program, RowNormAxes axes)
    {
        int vectors = DivideRoundingUp(axes.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, 4);
    }
}

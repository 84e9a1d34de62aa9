namespace NeuroPlugin.Backends.OpenGL;

// Batch normalization (batchnorm.comp): per-channel sums over N·H·W as two passes through the scratch buffer
// (contiguous chunks, then one invocation per channel), and element-wise normalize / input-gradient kernels.
public sealed partial class GLBackend
{
    /// <summary>Pass-1 invocations the per-channel reductions aim for (as the convolution weight gradient does),
    /// so a few channels still keep every core busy.</summary>
    const int BatchNormTargetInvocations = 4096;
    /// <summary>Shortest chunk worth an invocation: below this the second pass's per-slice work dominates.</summary>
    const int BatchNormMinChunk = 16;

    ComputeProgram? batchNormStatsProgram, batchNormTrainingFinalizeProgram, batchNormEvalFinalizeProgram, batchNormNormalizeProgram;
    ComputeProgram? batchNormGradPartialProgram, batchNormGradFinalizeProgram, batchNormInputGradProgram;

    /// <summary>Training: batch mean and biased variance per channel (saved as mean and 1/√(σ²+ε)), running
    /// statistics updated with the unbiased variance; eval: the running statistics are saved instead. Then
    /// <c>y = (x − mean)·invStd·γ + β</c>. input, output (N,C,H,W) or (N,C); the rest (C).</summary>
    public void BatchNormForward(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
        Tensor saveMean, Tensor saveInvStd, Tensor output, bool training, float momentum, float epsilon)
    {
        EnsureUsable();
        var axes = BatchNormAxes.Of(input, weight);
        var (chunk, slices) = BatchNormChunks(axes);
        ComputeProgram finalize;
        if (training)
        {
            var partial = Scratch(checked(slices * 2 * axes.Channels));
            var stats = Bound(Program(ref batchNormStatsProgram, "batchnorm.comp", "STATS"), [input], []);
            Bind(Output0, partial);
            DispatchPerChunk(stats, axes, chunk, slices);

            finalize = Bound(Program(ref batchNormTrainingFinalizeProgram, "batchnorm.comp", "STATS_FINALIZE;TRAINING"),
                [], [null, null, runningMean, runningVar]);
            Bind(Input0, partial);
            finalize.SetUniform("momentum", momentum);
        }
        else
            finalize = Bound(Program(ref batchNormEvalFinalizeProgram, "batchnorm.comp", "STATS_FINALIZE;EVAL"), [null, runningMean, runningVar], []);
        Bound(finalize, [], [saveMean, saveInvStd]);
        finalize.SetUniform("epsilon", epsilon);
        DispatchPerChannel(finalize, axes, chunk, slices);

        var normalize = Bound(Program(ref batchNormNormalizeProgram, "batchnorm.comp", "NORMALIZE"), [input, saveMean, saveInvStd, weight, bias], [output]);
        DispatchPerElement(normalize, axes, chunk, slices);
    }

    /// <summary>In the forward pass this was <c>y = γ·x̂ + β</c>. Adds <c>dβ += Σ dy</c>, <c>dγ += Σ dy·x̂</c> and
    /// <c>dx += γ·invStd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)</c> in training, <c>dx += γ·invStd·dy</c> in eval.</summary>
    public void BatchNormBackward(Tensor input, Tensor weight, Tensor saveMean, Tensor saveInvStd, Tensor outputGrad,
        Tensor? inputGrad, Tensor? weightGrad, Tensor? biasGrad, bool training, bool accumulate = true)
    {
        EnsureUsable();
        var axes = BatchNormAxes.Of(input, weight);
        var (chunk, slices) = BatchNormChunks(axes);
        // scratch: [slices][2][C] partial sums, then dx's three coefficients per channel
        var scratchBuffer = Scratch(checked((slices * 2 + 3) * axes.Channels));

        var partial = Bound(Program(ref batchNormGradPartialProgram, "batchnorm.comp", "GRAD_PARTIAL"), [input, outputGrad, saveMean, saveInvStd], []);
        Bind(Output0, scratchBuffer);
        DispatchPerChunk(partial, axes, chunk, slices);

        var finalize = Bound(Program(ref batchNormGradFinalizeProgram, "batchnorm.comp", "GRAD_FINALIZE"), [weight, saveInvStd], []);
        Bind(Output0, scratchBuffer);
        BindOptional(Output1, weightGrad);
        BindOptional(Output2, biasGrad);
        finalize.SetUniform("hasWeightGrad", weightGrad is null ? 0 : 1);
        finalize.SetUniform("hasBiasGrad", biasGrad is null ? 0 : 1);
        finalize.SetUniform("training", training ? 1 : 0);
        DispatchPerChannel(finalize, axes, chunk, slices);

        if (inputGrad is null) return;
        var program = Bound(Program(ref batchNormInputGradProgram, "batchnorm.comp", "INPUT_GRAD"), [input, outputGrad, saveMean, saveInvStd], [inputGrad]);
        Bind(Input4, scratchBuffer);
        program.SetUniform("accumulate", accumulate ? 1 : 0);
        DispatchPerElement(program, axes, chunk, slices);
    }

    /// <summary>Splits each channel's M values into <c>slices</c> contiguous chunks, aiming at
    /// <see cref="BatchNormTargetInvocations"/> pass-1 invocations with chunks of at least <see cref="BatchNormMinChunk"/>.</summary>
    static (int Chunk, int Slices) BatchNormChunks(BatchNormAxes axes)
    {
        int count = axes.Count;
        int slices = Math.Clamp(DivideRoundingUp(BatchNormTargetInvocations, axes.Channels), 1, DivideRoundingUp(count, BatchNormMinChunk));
        int chunk = DivideRoundingUp(count, slices);
        return (chunk, DivideRoundingUp(count, chunk));
    }

    /// <summary>Runs a first pass (STATS, GRAD_PARTIAL): one invocation per (slice, channel), each summing its chunk.</summary>
    static void DispatchPerChunk(ComputeProgram program, BatchNormAxes axes, int chunk, int slices)
    {
        SetBatchNormShape(program, axes, chunk, slices);
        program.Dispatch(slices * axes.Channels, 1, 2L * chunk);
    }

    /// <summary>Runs a second pass (STATS_FINALIZE, GRAD_FINALIZE): one invocation per channel, folding its slices in order.</summary>
    static void DispatchPerChannel(ComputeProgram program, BatchNormAxes axes, int chunk, int slices)
    {
        SetBatchNormShape(program, axes, chunk, slices);
        program.Dispatch(axes.Channels, 1, 2L * slices);
    }

    /// <summary>Runs an element-wise variant (NORMALIZE, INPUT_GRAD) over the whole (N,C,S) tensor, a vec4 per invocation.</summary>
    static void DispatchPerElement(ComputeProgram program, BatchNormAxes axes, int chunk, int slices)
    {
        int vectors = DivideRoundingUp(axes.Batch * axes.Channels * axes.Spatial, VectorWidth);
        SetBatchNormShape(program, axes, chunk, slices);
        program.SetUniform("count", vectors);
        program.Dispatch(vectors, 1, 4);
    }

    static void SetBatchNormShape(ComputeProgram program, BatchNormAxes axes, int chunk, int slices)
    {
        program.SetUniform("shape", axes.Batch, axes.Channels, axes.Spatial, axes.Count);
        program.SetUniform("chunk", chunk);
        program.SetUniform("slices", slices);
    }
}

using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Backends.OpenGL;

// Optimizer update rules (optimizers.comp), the L1/L2 penalty and gradient clipping (norm_penalty.comp).
// Everything stays on the device: hyper-parameters and Adam's bias corrections are uniforms, and clipping
// reads the total norm from a device tensor.
public sealed partial class GLBackend
{
    /// <summary>Floats summed by one invocation of the penalty's first pass, at least; more for huge tensors,
    /// so that the second pass (one invocation) adds at most <see cref="MaxPenaltySlices"/> partial sums.</summary>
    const int PenaltyChunk = 64, MaxPenaltySlices = 4096;

    ComputeProgram? sgdProgram, sgdMomentumProgram, adaGradProgram, rmsPropProgram, rmsPropMomentumProgram, adamProgram;
    ComputeProgram? normPenaltyForwardProgram, normPenaltyBackwardProgram, clipProgram;

    /// <inheritdoc/>
    public void SgdUpdate(Tensor parameter, Tensor gradient, Tensor? velocity, float learningRate, float momentum, float weightDecay = 0f, bool nesterov = false)
    {
        EnsureUsable();
        var program = velocity is null
            ? Program(ref sgdProgram, "optimizers.comp", "SGD")
            : Program(ref sgdMomentumProgram, "optimizers.comp", "SGD;MOMENTUM");
        if (velocity is not null)
        {
            Bind(Output1, velocity);
            program.SetUniform("momentum", momentum);
            program.SetUniform("nesterov", nesterov ? 1 : 0);
        }
        DispatchUpdate(program, parameter, gradient, learningRate, weightDecay);
    }

    /// <inheritdoc/>
    public void AdaGradUpdate(Tensor parameter, Tensor gradient, Tensor sum, float learningRate, float epsilon, float weightDecay)
    {
        var program = Kernel(ref adaGradProgram, "optimizers.comp", "ADAGRAD", [], [null, sum]);
        program.SetUniform("epsilon", epsilon);
        DispatchUpdate(program, parameter, gradient, learningRate, weightDecay);
    }

    /// <inheritdoc/>
    public void RmsPropUpdate(Tensor parameter, Tensor gradient, Tensor squareAverage, Tensor? velocity, float learningRate, float alpha, float epsilon, float momentum, float weightDecay)
    {
        EnsureUsable();
        var program = velocity is null
            ? Program(ref rmsPropProgram, "optimizers.comp", "RMSPROP")
            : Program(ref rmsPropMomentumProgram, "optimizers.comp", "RMSPROP;MOMENTUM");
        Bind(Output1, squareAverage);
        if (velocity is not null)
        {
            Bind(Output2, velocity);
            program.SetUniform("momentum", momentum);
        }
        program.SetUniform("alpha", alpha);
        program.SetUniform("epsilon", epsilon);
        DispatchUpdate(program, parameter, gradient, learningRate, weightDecay);
    }

    /// <inheritdoc/>
    public void AdamUpdate(Tensor parameter, Tensor gradient, Tensor firstMoment, Tensor secondMoment, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, long step)
    {
        var program = Kernel(ref adamProgram, "optimizers.comp", "ADAM", [], [null, firstMoment, secondMoment]);
        var correction = AdamCorrection.At(learningRate, beta1, beta2, step);
        program.SetUniform("beta1", beta1);
        program.SetUniform("beta2", beta2);
        program.SetUniform("epsilon", epsilon);
        program.SetUniform("shrink", decoupledWeightDecay ? 1f - learningRate * weightDecay : 1f);
        program.SetUniform("stepSize", correction.StepSize);
        program.SetUniform("secondMomentScale", correction.SecondMomentScale);
        DispatchUpdate(program, parameter, gradient, learningRate, decoupledWeightDecay ? 0f : weightDecay);
    }

    /// <summary>Binds the parameter, gradient and guard word, sets the uniforms every rule has, runs one invocation per vec4.</summary>
    void DispatchUpdate(ComputeProgram program, Tensor parameter, Tensor gradient, float learningRate, float weightDecay)
    {
        Bind(Input0, gradient);
        Bind(Output0, parameter);
        BindUpdateGuard();
        program.SetUniform("learningRate", learningRate);
        program.SetUniform("weightDecay", weightDecay);
        DispatchVectors(program, parameter.Length);
    }

    /// <inheritdoc/>
    public void NormPenaltyForward(Tensor input, Tensor total, float l1, float l2)
    {
        var program = Kernel(ref normPenaltyForwardProgram, "norm_penalty.comp", "FORWARD", [input], []);
        int length = input.Length;
        int chunk = Math.Max(PenaltyChunk, DivideRoundingUp(length, MaxPenaltySlices));
        int slices = DivideRoundingUp(length, chunk);
        var partial = Scratch(slices);
        Bind(Output1, partial);
        program.SetUniform("elementCount", length);
        program.SetUniform("chunk", chunk);
        program.SetUniform("slices", slices);
        program.SetUniform("l1", l1);
        program.SetUniform("l2", l2);
        program.Dispatch(slices, 1, chunk);
        ReduceSlices(partial, slices, 1, BufferOf(total), accumulate: true);
    }

    /// <inheritdoc/>
    public void NormPenaltyBackward(Tensor input, Tensor inputGrad, float l1, float l2)
    {
        var program = Kernel(ref normPenaltyBackwardProgram, "norm_penalty.comp", "BACKWARD", [input], [inputGrad]);
        program.SetUniform("l1", l1);
        program.SetUniform("l2", l2);
        DispatchVectors(program, input.Length);
    }

    /// <inheritdoc/>
    public void ClipByTotalNorm(Tensor gradient, Tensor sumOfSquares, float maxNorm)
    {
        var program = Kernel(ref clipProgram, "norm_penalty.comp", "CLIP", [sumOfSquares], [gradient]);
        program.SetUniform("maxNorm", maxNorm);
        DispatchVectors(program, gradient.Length);
    }
}

namespace NeuroPlugin.Backends.OpenGL;

// Merging branches (merge.comp): residual sums, channel concatenation, channel-wise scaling.
public sealed partial class GLBackend
{
    ComputeProgram? accumulateProgram, concatForwardProgram, concatBackwardProgram;
    ComputeProgram? channelMultiplyForwardProgram, channelMultiplyInputGradProgram, channelMultiplyScaleGradProgram;

    /// <summary><c>destination += scale·source</c>, element-wise.</summary>
    public void Accumulate(Tensor source, Tensor destination, float scale, bool accumulate = true)
    {
        EnsureUsable();
        CheckLength(destination, source.Length, "accumulate");
        var program = Kernel(ref accumulateProgram, "merge.comp", "ACCUMULATE", [source], [destination]);
        program.SetUniform("scale", scale);
        program.SetUniform("accumulate", accumulate ? 1 : 0);
        DispatchVectors(program, source.Length);
    }

    /// <summary>Copies input (N,Ci,…) into channels [offset, offset + Ci) of output (N,C,…).</summary>
    public void ConcatForward(Tensor input, Tensor output, int channelOffset) =>
        Concat(Kernel(ref concatForwardProgram, "merge.comp", "CONCAT_FORWARD", [input], [output]), part: input, whole: output, channelOffset);

    /// <summary>Adds channels [offset, offset + Ci) of dy into dx.</summary>
    public void ConcatBackward(Tensor outputGrad, Tensor inputGrad, int channelOffset) =>
        Concat(Kernel(ref concatBackwardProgram, "merge.comp", "CONCAT_BACKWARD", [outputGrad], [inputGrad]), part: inputGrad, whole: outputGrad, channelOffset);

    void Concat(ComputeProgram program, Tensor part, Tensor whole, int channelOffset)
    {
        int block = part.Shape.ItemLength, pixels = block / part.Shape[1];
        program.SetUniform("block", block);
        program.SetUniform("outputBlock", whole.Shape.ItemLength);
        program.SetUniform("offset", channelOffset * pixels);
        DispatchElements(program, part.Length);
    }

    /// <summary><c>y = x·s[n,c]</c> per plane.</summary>
    public void ChannelMultiplyForward(Tensor input, Tensor scale, Tensor output)
    {
        var program = Kernel(ref channelMultiplyForwardProgram, "merge.comp", "CHANNEL_MULTIPLY_FORWARD", [input, scale], [output]);
        program.SetUniform("pixels", input.Length / scale.Length);
        DispatchElements(program, input.Length);
    }

    /// <summary><c>dx += dy·s</c>; <c>ds += Σ_plane dy·x</c>.</summary>
    public void ChannelMultiplyBackward(Tensor input, Tensor scale, Tensor outputGrad, Tensor? inputGrad, Tensor? scaleGrad)
    {
        EnsureUsable();
        int pixels = input.Length / scale.Length;
        if (inputGrad is not null)
        {
            var program = Kernel(ref channelMultiplyInputGradProgram, "merge.comp", "CHANNEL_MULTIPLY_INPUT_GRAD", [null, scale, outputGrad], [inputGrad]);
            program.SetUniform("pixels", pixels);
            DispatchElements(program, input.Length);
        }
        if (scaleGrad is not null)
        {
            var program = Kernel(ref channelMultiplyScaleGradProgram, "merge.comp", "CHANNEL_MULTIPLY_SCALE_GRAD", [input, null, outputGrad], [scaleGrad]);
            program.SetUniform("pixels", pixels);
            DispatchElements(program, scale.Length, cost: pixels);
        }
    }
}

using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Merging branches (merge.comp): residual sums, channel concatenation, channel-wise scaling.
public sealed partial class GLBackend
{
    ComputeProgram? accumulateProgram, concatForwardProgram, concatBackwardProgram;
    ComputeProgram? channelMultiplyForwardProgram, channelMultiplyInputGradProgram, channelMultiplyScaleGradProgram;

    /// <summary><c>destination += scale·source</c>, element-wise.</summary>
    public void Accumulate(Tensor source, Tensor destination, float scale)
    {
        EnsureUsable();
        CheckLength(destination, source.Length, "accumulate");
        var program = Program(ref accumulateProgram, "merge.comp", "ACCUMULATE");
        Bind(Input0, source);
        Bind(Output0, destination);
        int vectors = DivideRoundingUp(source.Length, VectorWidth);
        program.SetUniform("count", vectors);
        program.SetUniform("scale", scale);
        program.Dispatch(vectors, 1, 1);
    }

    /// <summary>Copies input (N,Ci,…) into channels [offset, offset + Ci) of output (N,C,…).</summary>
    public void ConcatForward(Tensor input, Tensor output, int channelOffset) =>
        Concat(Program(ref concatForwardProgram, "merge.comp", "CONCAT_FORWARD"), part: input, whole: output, from: input, to: output, channelOffset);

    /// <summary>Adds channels [offset, offset + Ci) of dy into dx.</summary>
    public void ConcatBackward(Tensor outputGrad, Tensor inputGrad, int channelOffset) =>
        Concat(Program(ref concatBackwardProgram, "merge.comp", "CONCAT_BACKWARD"), part: inputGrad, whole: outputGrad, from: outputGrad, to: inputGrad, channelOffset);

    void Concat(ComputeProgram program, Tensor part, Tensor whole, Tensor from, Tensor to, int channelOffset)
    {
        EnsureUsable();
        int block = part.Shape.ItemLength, pixels = block / part.Shape[1];
        Bind(Input0, from);
        Bind(Output0, to);
        program.SetUniform("count", part.Length);
        program.SetUniform("block", block);
        program.SetUniform("outputBlock", whole.Shape.ItemLength);
        program.SetUniform("offset", channelOffset * pixels);
        program.Dispatch(part.Length, 1, 1);
    }

    /// <summary><c>y = x·s[n,c]</c> per plane.</summary>
    public void ChannelMultiplyForward(Tensor input, Tensor scale, Tensor output)
    {
        EnsureUsable();
        var program = Program(ref channelMultiplyForwardProgram, "merge.comp", "CHANNEL_MULTIPLY_FORWARD");
        Bind(Input0, input);
        Bind(Input1, scale);
        Bind(Output0, output);
        program.SetUniform("count", input.Length);
        program.SetUniform("pixels", input.Length / scale.Length);
        program.Dispatch(input.Length, 1, 1);
    }

    /// <summary><c>dx += dy·s</c>; <c>ds += Σ_plane dy·x</c>.</summary>
    public void ChannelMultiplyBackward(Tensor input, Tensor scale, Tensor outputGrad, Tensor? inputGrad, Tensor? scaleGrad)
    {
        EnsureUsable();
        int pixels = input.Length / scale.Length;
        if (inputGrad is not null)
        {
            var program = Program(ref channelMultiplyInputGradProgram, "merge.comp", "CHANNEL_MULTIPLY_INPUT_GRAD");
            Bind(Input1, scale);
            Bind(Input2, outputGrad);
            Bind(Output0, inputGrad);
            program.SetUniform("count", input.Length);
            program.SetUniform("pixels", pixels);
            program.Dispatch(input.Length, 1, 1);
        }
        if (scaleGrad is not null)
        {
            var program = Program(ref channelMultiplyScaleGradProgram, "merge.comp", "CHANNEL_MULTIPLY_SCALE_GRAD");
            Bind(Input0, input);
            Bind(Input2, outputGrad);
            Bind(Output0, scaleGrad);
            program.SetUniform("count", scale.Length);
            program.SetUniform("pixels", pixels);
            program.Dispatch(scale.Length, 1, pixels);
        }
    }
}

using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// 2-D convolution (conv2d.comp): direct convolution, register-blocked, forward and the three gradients.
public sealed partial class GLBackend
{
    /// <summary>conv2d.comp's BLOCK_CHANNELS × BLOCK_COLUMNS: the outputs one invocation computes.</summary>
    const int ConvBlockChannels = 4, ConvBlockColumns = 4;
    /// <summary>Invocations a split weight-gradient pass aims for, so a small kernel (LeNet's 150 weights)
    /// still keeps every core or shader unit busy.</summary>
    const int ConvWeightGradTargetInvocations = 16384;

    ComputeProgram? convForwardProgram, convInputGradProgram, convWeightGradProgram, convBiasGradProgram;

    /// <summary><c>y[n,o,i,j] = b[o] + Σ_{c,p,q} x[n,c, i·s − pad + p·d, j·s − pad + q·d]·W[o,c,p,q]</c>:
    /// input (N,C,H,W), weight (O,C,KH,KW), bias (O) or null, output (N,O,OH,OW).</summary>
    public void Conv2dForward(Tensor input, Tensor weight, Tensor? bias, Tensor output, Window2d window)
    {
        EnsureUsable();
        var program = Program(ref convForwardProgram, "conv2d.comp", "FORWARD");
        var x = input.Shape; var y = output.Shape;
        Bind(Input0, input);
        Bind(Input1, weight);
        BindOptional(Input2, bias);
        Bind(Output0, output);
        SetWindow(program, x, y, window);
        program.SetUniform("hasBias", bias is null ? 0 : 1);
        program.Dispatch(y.N * y.H * DivideRoundingUp(y.W, ConvBlockColumns), DivideRoundingUp(y.C, ConvBlockChannels),
            (long)x.C * window.KernelHeight * window.KernelWidth * ConvBlockColumns);
    }

    /// <summary>Adds the gradients of <see cref="Conv2dForward"/>: dx (N,C,H,W) by gathering over the outputs each
    /// input element reached, dW (O,C,KH,KW) and db (O) by two-pass reductions over N·OH·OW.</summary>
    public void Conv2dBackward(Tensor input, Tensor weight, Tensor outputGrad, Tensor? inputGrad, Tensor weightGrad, Tensor? biasGrad, Window2d window)
    {
        EnsureUsable();
        var x = input.Shape; var y = outputGrad.Shape;
        int taps = x.C * window.KernelHeight * window.KernelWidth;

        if (inputGrad is not null)
        {
            var program = Program(ref convInputGradProgram, "conv2d.comp", "INPUT_GRAD");
            Bind(Input0, outputGrad);
            Bind(Input1, weight);
            Bind(Output0, inputGrad);
            SetWindow(program, x, y, window);
            program.Dispatch(x.N * x.H * DivideRoundingUp(x.W, ConvBlockColumns), DivideRoundingUp(x.C, ConvBlockChannels),
                (long)y.C * window.KernelHeight * window.KernelWidth * ConvBlockColumns);
        }

        {
            // Split the sum over the N·OH output rows into slices: pass 1 writes partial[slice, o, tap],
            // pass 2 adds the slices into dW. Work group y enumerates (slice, channel block).
            var program = Program(ref convWeightGradProgram, "conv2d.comp", "WEIGHT_GRAD");
            int rows = y.N * y.H, channelBlocks = DivideRoundingUp(y.C, ConvBlockChannels);
            int wanted = DivideRoundingUp(ConvWeightGradTargetInvocations, taps * channelBlocks);
            int slices = Math.Clamp(wanted, 1, Math.Min(rows, Device.MaxWorkGroupCountY / channelBlocks));
            int rowsPerSlice = DivideRoundingUp(rows, slices);
            slices = DivideRoundingUp(rows, rowsPerSlice);
            int weightCount = y.C * taps;
            var partial = Scratch(checked(slices * weightCount));
            Bind(Input0, input);
            Bind(Input1, outputGrad);
            Bind(Output0, partial);
            SetWindow(program, x, y, window);
            program.SetUniform("rowsPerSlice", rowsPerSlice);
            program.Dispatch(taps, slices * channelBlocks, (long)rowsPerSlice * y.W * ConvBlockChannels);
            ReduceSlices(partial, slices, weightCount, BufferOf(weightGrad), accumulate: true);
        }

        if (biasGrad is not null)
        {
            // Pass 1: partial[n, o] = Σ_{i,j} dy[n,o,i,j]; pass 2 adds the N partials into db.
            var program = Program(ref convBiasGradProgram, "conv2d.comp", "BIAS_GRAD");
            var partial = Scratch(y.N * y.C);
            Bind(Input1, outputGrad);
            Bind(Output0, partial);
            SetWindow(program, x, y, window);
            program.Dispatch(y.N * y.C, 1, (long)y.H * y.W);
            ReduceSlices(partial, y.N, y.C, BufferOf(biasGrad), accumulate: true);
        }
    }
}

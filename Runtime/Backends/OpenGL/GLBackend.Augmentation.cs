using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.OpenGL;

// Augmentation's pixel work (augmentation.comp): shifted/mirrored copies, rectangle fills, mixing with a partner
// sample. The per-sample parameters were drawn on the host and uploaded, so these kernels read no random numbers.
public sealed partial class GLBackend
{
    ComputeProgram? augmentCropFlipProgram, augmentFillRectanglesProgram, augmentMixProgram;

    /// <summary><c>y[n,c,i,j] = x[n,c, i + rowShift, j′ + columnShift]</c> (<c>j′</c> mirrored when flip), fill outside x;
    /// one invocation per output element.</summary>
    public void AugmentCropFlip(Tensor input, Tensor output, Tensor parameters, float fill)
    {
        EnsureUsable();
        var program = Program(ref augmentCropFlipProgram, "augmentation.comp", "CROP_FLIP");
        Bind(Input0, input);
        Bind(Input1, parameters);
        Bind(Output0, output);
        program.SetUniform("count", output.Length);
        program.SetUniform("inputShape", input.Shape.N, input.Shape.C, input.Shape.H, input.Shape.W);
        program.SetUniform("outputShape", output.Shape.N, output.Shape.C, output.Shape.H, output.Shape.W);
        program.SetUniform("fill", fill);
        program.Dispatch(output.Length, 1, 1);
    }

    /// <summary><c>x = value</c> inside each sample's rectangle, in place; one invocation per element.</summary>
    public void AugmentFillRectangles(Tensor images, Tensor rectangles, float value)
    {
        EnsureUsable();
        var program = Program(ref augmentFillRectanglesProgram, "augmentation.comp", "FILL_RECTANGLES");
        Bind(Input1, rectangles);
        Bind(Output0, images);
        program.SetUniform("count", images.Length);
        program.SetUniform("inputShape", images.Shape.N, images.Shape.C, images.Shape.H, images.Shape.W);
        program.SetUniform("fill", value);
        program.Dispatch(images.Length, 1, 1);
    }

    /// <summary><c>y[n,r] = λ·x[n,r] + (1−λ)·x[partner,r]</c>; one invocation per element.</summary>
    public void AugmentMix(Tensor input, Tensor output, Tensor parameters)
    {
        EnsureUsable();
        var program = Program(ref augmentMixProgram, "augmentation.comp", "MIX");
        Bind(Input0, input);
        Bind(Input1, parameters);
        Bind(Output0, output);
        program.SetUniform("count", input.Length);
        program.SetUniform("row", input.Length / parameters.Shape[0]);
        program.Dispatch(input.Length, 1, 1);
    }
}

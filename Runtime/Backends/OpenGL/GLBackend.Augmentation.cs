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
        var program = Kernel(ref augmentCropFlipProgram, "augmentation.comp", "CROP_FLIP", [input, parameters], [output]);
        SetShapes(program, input.Shape, output.Shape);
        program.SetUniform("fill", fill);
        DispatchElements(program, output.Length);
    }

    /// <summary><c>x = value</c> inside each sample's rectangle, in place; one invocation per element.</summary>
    public void AugmentFillRectangles(Tensor images, Tensor rectangles, float value)
    {
        var program = Kernel(ref augmentFillRectanglesProgram, "augmentation.comp", "FILL_RECTANGLES", [null, rectangles], [images]);
        program.SetUniform("inputShape", images.Shape.N, images.Shape.C, images.Shape.H, images.Shape.W);
        program.SetUniform("fill", value);
        DispatchElements(program, images.Length);
    }

    /// <summary><c>y[n,r] = λ·x[n,r] + (1−λ)·x[partner,r]</c>; one invocation per element.</summary>
    public void AugmentMix(Tensor input, Tensor output, Tensor parameters)
    {
        var program = Kernel(ref augmentMixProgram, "augmentation.comp", "MIX", [input, parameters], [output]);
        program.SetUniform("row", input.Length / parameters.Shape[0]);
        DispatchElements(program, input.Length);
    }
}

namespace NeuroPlugin.Tests.DataAugmentation;

/// <summary>The augmentation kernels on the CPU reference against hand-computed results for known images and known
/// parameters: a crop offset moves pixels exactly, a flip mirrors, a fill covers exactly its rectangle, mixing gives
/// λ·x + (1−λ)·x[partner].</summary>
public class AugmentationOpTests
{
    readonly CpuBackend cpu = new();

    Tensor Make(TensorShape shape, params float[] values)
    {
        var tensor = cpu.Allocate(shape, "t");
        if (values.Length > 0) tensor.Upload(values);
        return tensor;
    }

    static float[] Ramp(int count, float start = 1f) => Enumerable.Range(0, count).Select(i => start + i).ToArray();

    [Test]
    public void CropFlipShiftsAndMirrorsPixelsExactly()
    {
        // two samples of one 3×4 plane: 1..12 and 13..24
        using var x = Make(new TensorShape(2, 1, 3, 4), Ramp(24));
        using var y = Make(new TensorShape(2, 1, 3, 4));
        // sample 0: read row i−1, column j+1 (a crop at offset (1, 3) of the image padded by 2); sample 1: mirror only
        using var parameters = Make(new TensorShape(2, 3), -1, 1, 0, 0, 0, 1);
        cpu.AugmentCropFlip(x, y, parameters, fill: -5f);
        Assert.That(y.ToArray(), Is.EqualTo(new float[]
        {
            -5, -5, -5, -5,
             2,  3,  4, -5,
             6,  7,  8, -5,
            16, 15, 14, 13,
            20, 19, 18, 17,
            24, 23, 22, 21,
        }));
    }

    [Test]
    public void CropAndFlipTogetherMirrorTheCroppedWindow()
    {
        using var x = Make(new TensorShape(1, 1, 2, 3), 1, 2, 3, 4, 5, 6);
        using var y = Make(new TensorShape(1, 1, 2, 3));
        using var parameters = Make(new TensorShape(1, 3), 0, -1, 1); // window starts one column left of x, then mirrored
        cpu.AugmentCropFlip(x, y, parameters, fill: 0f);
        // crop: [0,1,2],[0,4,5]; mirrored: [2,1,0],[5,4,0]
        Assert.That(y.ToArray(), Is.EqualTo(new float[] { 2, 1, 0, 5, 4, 0 }));
    }

    [Test]
    public void FillRectanglesCoversExactlyEachRectangleInEveryChannel()
    {
        using var x = Make(new TensorShape(2, 2, 3, 3), Enumerable.Repeat(1f, 36).ToArray());
        // sample 0: rows [1,3), columns [0,2); sample 1: empty
        using var rectangles = Make(new TensorShape(2, 4), 1, 0, 3, 2, 0, 0, 0, 0);
        cpu.AugmentFillRectangles(x, rectangles, 7f);
        float[] plane0 = { 1, 1, 1, 7, 7, 1, 7, 7, 1 };
        float[] expected = [.. plane0, .. plane0, .. Enumerable.Repeat(1f, 18)];
        Assert.That(x.ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void MixIsLambdaTimesOwnPlusRestTimesPartner()
    {
        using var x = Make(new TensorShape(3, 2), 1, 2, 10, 20, 100, 200);
        using var y = Make(new TensorShape(3, 2));
        using var parameters = Make(new TensorShape(3, 3), 2, 0.25f, 0.75f, 0, 0.25f, 0.75f, 1, 0.25f, 0.75f);
        cpu.AugmentMix(x, y, parameters);
        Assert.That(y.ToArray(), Is.EqualTo(new float[]
        {
            0.25f * 1 + 0.75f * 100, 0.25f * 2 + 0.75f * 200,
            0.25f * 10 + 0.75f * 1, 0.25f * 20 + 0.75f * 2,
            0.25f * 100 + 0.75f * 10, 0.25f * 200 + 0.75f * 20,
        }));
    }
}

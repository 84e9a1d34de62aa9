namespace NeuroPlugin.Tests.DataAugmentation;

/// <summary>
/// Augmentation on the GL backend equals the CPU reference for the same seed: the kernels receive the same host-drawn
/// parameters, so crop, flip and the fills are copies and must match bit for bit; mixup's <c>λ·a + (1−λ)·b</c> may be
/// contracted into a fused multiply-add by the GLSL compiler, so it is compared within 1e-6 relative (one rounding).
/// </summary>
public sealed class AugmentationGLTests : GLFixture
{
    static Augmentation Pipeline(int size, params string[] names)
    {
        var transforms = names.Select<string, AugmentationTransform>(name => name switch
        {
            "crop" => new RandomCrop(size, 3, fill: -0.5f),
            "flip" => new RandomHorizontalFlip(),
            "cutout" => new Cutout(5),
            "erasing" => new RandomErasing(0.7f, value: 2f),
            _ => new Mixup(1f),
        }).ToArray();
        return new Augmentation(17, transforms);
    }

    [TestCase(3, 1, 28, "crop")]
    [TestCase(5, 3, 13, "flip")]
    [TestCase(7, 2, 11, "cutout")]
    [TestCase(6, 1, 28, "erasing")]
    [TestCase(9, 3, 10, "crop", "flip", "cutout", "erasing")]
    public void CopiesAndFillsEqualCpuBitForBit(int n, int c, int size, params string[] names)
    {
        using var twins = new TwinBackends(Backend, n * 100 + size);
        var images = twins.Random(new TensorShape(n, c, size, size), "images");
        using var onCpu = Pipeline(size, names);
        using var onGl = Pipeline(size, names);
        for (long step = 0; step < 3; step++)
        {
            onCpu.Apply(images.Cpu, null, step);
            onGl.Apply(images.Gl, null, step);
            Assert.That(images.Gl.ToArray(), Is.EqualTo(images.Cpu.ToArray()), $"step {step}");
        }
    }

    [TestCase(4, 1, 28, 10)]
    [TestCase(13, 3, 9, 7)]
    public void EverythingWithMixupEqualsCpu(int n, int c, int size, int classes)
    {
        using var twins = new TwinBackends(Backend, n + size);
        var images = twins.Random(new TensorShape(n, c, size, size), "images");
        var targets = twins.Random(new TensorShape(n, classes), "targets");
        using var onCpu = Pipeline(size, "crop", "flip", "cutout", "erasing", "mixup");
        using var onGl = Pipeline(size, "crop", "flip", "cutout", "erasing", "mixup");
        for (long step = 5; step < 8; step++)
        {
            onCpu.Apply(images.Cpu, targets.Cpu, step);
            onGl.Apply(images.Gl, targets.Gl, step);
            TensorAssert.AreClose(images.Cpu.ToArray(), images.Gl.ToArray(), 1e-6, $"images, step {step}");
            TensorAssert.AreClose(targets.Cpu.ToArray(), targets.Gl.ToArray(), 1e-6, $"targets, step {step}");
        }
    }

    [Test]
    public void StepDoesNotAllocateOrReadBack()
    {
        using var twins = new TwinBackends(Backend, 1);
        var images = twins.Random(new TensorShape(32, 1, 28, 28), "images");
        var targets = twins.Random(new TensorShape(32, 10), "targets");
        using var augmentation = Pipeline(28, "crop", "flip", "cutout", "erasing", "mixup");
        AllocationAssert.SteadyStateAllocatesNothing(step => augmentation.Apply(images.Gl, targets.Gl, step), 10, "managed bytes allocated by 10 steps", Backend);
    }
}

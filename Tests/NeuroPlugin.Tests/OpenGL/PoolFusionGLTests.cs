using NeuroPlugin.Tests.Cpu;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>
/// Max pooling fused into the convolution chain on GL (conv2d.comp's FUSED_MAX_POOL, one dispatch): the unfused plan's
/// bits (conv2d.comp's fused forward, then pool2d.comp's MAX_FORWARD) for every case of <see cref="PoolFusionTests"/>, and
/// the kernel's limit on a pooling window's width.
/// </summary>
public sealed class PoolFusionGLTests : GLFixture
{
    [TestCaseSource(typeof(PoolFusionTests), nameof(PoolFusionTests.Cases))]
    public void FusedPool_GivesTheUnfusedBits(PoolFusionTests.PoolCase c) => PoolFusionTests.CheckPoolFusion(Backend, c, $"{c} (GL)");

    [Test]
    public void NaNInTheConvolution_PoolsAsUnfused() =>
        PoolFusionTests.CheckPoolFusion(Backend, PoolFusionTests.NaNCase, "NaN (GL)", nanPixel: PoolFusionTests.NaNPixel);

    [Test]
    public void PoolWiderThanTheRegisterBlock_IsRefused()
    {
        var output = new TensorShape(1, 4, 40, 40);
        Assert.That(Backend.CanFusePool(output, Window2d.Square(2, 2)), Is.True);
        Assert.That(Backend.CanFusePool(output, new Window2d(2, 16, 1, 16)), Is.True, "16 columns: the largest block");
        Assert.That(Backend.CanFusePool(output, new Window2d(2, 9, 1, 9, DilationWidth: 2)), Is.False, "17 columns");
    }
}

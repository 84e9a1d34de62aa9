using NeuroPlugin.Tests.Cpu;

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>
/// Inference-time fusion on GL: conv2d.comp's fused epilogue (batch norm, residual, activation) and linear.comp's
/// ACTIVATION variant give exactly the bits of the separate kernels, for the zoo networks of <see cref="InferenceFusionTests"/>. A chain with a bias, a batch
/// norm and a residual needs nine buffers: there the chain ends before the Add (eight storage bindings).
/// </summary>
public sealed class InferenceFusionGLTests : GLFixture
{
    [TestCaseSource(typeof(InferenceFusionTests), nameof(InferenceFusionTests.Networks))]
    public void FusedPlan_GivesTheUnfusedBits(string model, ModelOptions options, int batch) =>
        InferenceFusionTests.CheckFusedBits(Backend, model, options, batch, $"{model} (GL)");

    [Test]
    public void ConvolutionWithoutBias_FusesTheWholeChain() =>
        InferenceFusionTests.CheckEveryPart(Backend, convolutionBias: false, ["forward stem", "forward conv+bn+add+act", "forward flatten", "forward fc+gelu", "forward head"]);

    [Test]
    public void ConvolutionWithBias_EndsTheChainBeforeTheAdd() =>
        InferenceFusionTests.CheckEveryPart(Backend, convolutionBias: true, ["forward stem", "forward conv+bn", "forward add", "forward act", "forward flatten", "forward fc+gelu", "forward head"]);

    [Test]
    public void AllThreeWithABias_RefusedByTheKernel()
    {
        Assert.That(Backend.CanFuse(bias: true, batchNorm: true, residual: true), Is.False);
        Assert.That(Backend.CanFuse(bias: false, batchNorm: true, residual: true), Is.True);
        Assert.That(Backend.CanFuse(bias: true, batchNorm: false, residual: true), Is.True);
    }
}

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>Dropout on the GL backend: random.glsl gives the CPU's bits, so masks and outputs are equal exactly,
/// on lengths that do and do not fill whole vec4s, with seeds, streams and steps using all 32 bits.</summary>
public sealed class DropoutGLTests : GLFixture
{
    static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(1, 0.5f, 0u, 0u, 0u);
        yield return new TestCaseData(3, 0.3f, 7u, 1u, 2u);
        yield return new TestCaseData(4, 0.5f, 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu);
        yield return new TestCaseData(1001, 0.1f, 123456789u, 4u, 1u << 31);
        yield return new TestCaseData(4099, 0.9f, 0x9E3779B9u, 17u, 12345u);
        yield return new TestCaseData(65537, 0.5f, 42u, 3u, 7u);
        yield return new TestCaseData(30, 0f, 42u, 3u, 7u);
    }

    [TestCaseSource(nameof(Cases))]
    public void MaskAndOutputEqualCpuExactly(int length, float p, uint seed, uint stream, uint step)
    {
        using var twins = new TwinBackends(Backend, length);
        var shape = new TensorShape(length);
        var x = twins.Random(shape, "x");
        var y = twins.Random(shape, "y", 100);
        var mask = twins.Random(shape, "mask", 100);
        twins.Run(be => be.DropoutForward(x[be], y[be], mask[be], p, seed, stream, step));
        float[] cpuMask = mask.Cpu.ToArray();
        Assert.That(mask.Gl.ToArray(), Is.EqualTo(cpuMask), "GL mask == CPU mask, bit for bit");
        Assert.That(y.Gl.ToArray(), Is.EqualTo(y.Cpu.ToArray()), "GL y == CPU y");
        if (length > 1000)
            Assert.That(cpuMask.Count(m => m != 0f) / (double)length, Is.EqualTo(1 - p).Within(4 * Math.Sqrt(p * (1 - p) / length)), "kept fraction");

        var dy = twins.Random(shape, "dy");
        var dx = twins.Random(shape, "dx");
        twins.Run(be => be.DropoutBackward(mask[be], dy[be], dx[be]));
        TwinBackends.AssertSame(dx, "dropout backward dx");
    }
}

namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// Inference-time fusion of a MaxPool2d into the fused convolution chain that alone feeds it (<see cref="IFusedPoolForward"/>):
/// one stage, and exactly the bits of the unfused plan, for pools with and without overlap, padding, dilation and
/// asymmetric windows, after a convolution alone or with a batch norm, an activation, a residual Add, groups, a stride, and
/// outputs wider than one register block. The GL backend's twin: PoolFusionGLTests, on the same cases.
/// </summary>
public class PoolFusionTests
{
    /// <summary>A network image (Channels,Height,Width) → [stem 3×3 conv →] conv → [bn] → [add stem] → [activation] → pool.</summary>
    public sealed record PoolCase(string Name, int Channels, int Height, int Width, int Outputs, Window2d Convolution, int Groups,
        bool Bias, bool BatchNorm, bool Residual, ActivationKind? Activation, Window2d Pool)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<PoolCase> Cases()
    {
        yield return new("LeNet-5 conv1: 5×5, relu, 2×2 stride 2", 1, 28, 28, 6, Window2d.Square(5), 1, true, false, false, ActivationKind.ReLU, Window2d.Square(2, 2));
        yield return new("odd sizes, no activation", 3, 9, 7, 5, Window2d.Square(3, 1, 1), 1, true, false, false, null, Window2d.Square(2, 2));
        yield return new("bn, leaky relu, overlapping 3×3 stride 2 padding 1", 2, 11, 13, 10, Window2d.Square(3, 1, 1), 1, false, true, false, ActivationKind.LeakyReLU, Window2d.Square(3, 2, 1));
        yield return new("conv stride 2, bn, relu6, 2×2 stride 1", 3, 12, 15, 4, Window2d.Square(3, 2, 1), 1, true, true, false, ActivationKind.ReLU6, Window2d.Square(2, 1));
        yield return new("residual, silu, asymmetric pool with dilation", 2, 10, 12, 3, Window2d.Square(3, 1, 1), 1, false, true, true, ActivationKind.SiLU,
            new Window2d(3, 2, 2, 1, 1, 0, 1, 1, 1, 2));
        yield return new("depthwise, bn, hard swish, 2×2 stride 2", 6, 8, 9, 6, Window2d.Square(3, 1, 1), 6, false, true, false, ActivationKind.HardSwish, Window2d.Square(2, 2));
        yield return new("wide rows (several column blocks), 3×2 pool, stride (1, 3)", 2, 6, 40, 9, Window2d.Square(3, 1, 1), 1, true, false, false, ActivationKind.Tanh,
            new Window2d(3, 2, 1, 3));
    }

    [TestCaseSource(nameof(Cases))]
    public void FusedPool_GivesTheUnfusedBits(PoolCase c)
    {
        using var cpu = new CpuBackend();
        CheckPoolFusion(cpu, c, $"{c} (CPU)");
    }

    /// <summary>A NaN in the image (<see cref="NaNCase"/>): the fused pool keeps a NaN that is its window's first tap and
    /// skips one that comes later, as the unfused pool does.</summary>
    [Test]
    public void NaNInTheConvolution_PoolsAsUnfused()
    {
        using var cpu = new CpuBackend();
        CheckPoolFusion(cpu, NaNCase, "NaN (CPU)", nanPixel: NaNPixel);
    }

    /// <summary>3 channels 9×7, a 3×3 convolution (padding 1) and a 2×2 pool: a NaN at pixel (4, 4) of channel 0 makes the
    /// convolution's outputs (3…5, 3…5) NaN, the last tap of the window at (2, 2) and the first of those at (4, 4).</summary>
    internal static PoolCase NaNCase => new("NaN at (4, 4)", 3, 9, 7, 4, Window2d.Square(3, 1, 1), 1, true, false, false, null, Window2d.Square(2, 2));
    internal const int NaNPixel = 4 * 7 + 4;

    [Test]
    public void PoolReadByAnotherNode_IsNotFused()
    {
        using var cpu = new CpuBackend();
        var graph = new NetworkGraph();
        graph.AddInput("image", TensorShape.Of([2, 8, 8]));
        graph.Add("conv", new Conv2d(2, 3, 3, padding: 1), "image");
        graph.Add("act", Activation.ReLU(), "conv");
        graph.Add("pool", new MaxPool2d(2), "act");
        graph.Add("pool2", new MaxPool2d(2), "act"); // the activation's output is read twice: neither pool can take it
        graph.Add("sum", new Add(), "pool", "pool2");
        using var network = Network.Create(graph, cpu, seed: 4);
        using var plan = ExecutionPlan.ForInference(network, 1);
        Assert.That(plan.InferenceStages.Select(s => s.Name), Is.EqualTo(new[] { "forward conv+act", "forward pool", "forward pool2", "forward sum" }));
    }

    /// <summary>Plans <paramref name="c"/>'s network on <paramref name="backend"/> with and without fusion: the same output
    /// bits, the pool inside one fused stage (after the stem, when there is one), and the tensors inside it refused.</summary>
    /// <paramref name="nanPixel"/>: an index of the first image set to NaN (then the output must hold NaNs and numbers).
    internal static void CheckPoolFusion(IBackend backend, PoolCase c, string label, int nanPixel = -1)
    {
        var graph = new NetworkGraph();
        graph.AddInput("image", TensorShape.Of([c.Channels, c.Height, c.Width]));
        string x = "image", chain = "conv";
        if (c.Residual) x = graph.Add("stem", new Conv2d(c.Channels, c.Outputs, 3, padding: 1), x);
        string last = graph.Add("conv", new Conv2d(c.Residual ? c.Outputs : c.Channels, c.Outputs, c.Convolution, c.Bias, groups: c.Groups), x);
        if (c.BatchNorm) (last, chain) = (graph.Add("bn", new BatchNorm2d(c.Outputs), last), chain + "+bn");
        if (c.Residual) (last, chain) = (graph.Add("add", new Add(), last, "stem"), chain + "+add");
        if (c.Activation is { } kind) (last, chain) = (graph.Add("act", new Activation(kind, negativeSlope: 0.1f), last), chain + "+act");
        graph.Add("pool", new MaxPool2d(c.Pool), last);
        using var network = Network.Create(graph, backend, seed: 7);
        var random = new Random(11);
        if (c.BatchNorm)
        {
            network.Buffer("bn.running_mean").Upload(Values(c.Outputs, random, -0.5, 0.5));
            network.Buffer("bn.running_var").Upload(Values(c.Outputs, random, 0.2, 2));
            network.Parameter("bn.weight").Upload(Values(c.Outputs, random, -2, 2));
            network.Parameter("bn.bias").Upload(Values(c.Outputs, random, -1, 1));
        }
        const int batch = 2;
        using var fused = ExecutionPlan.ForInference(network, batch);
        using var separate = ExecutionPlan.ForInference(network, batch, fuseLayers: false);
        var image = InferenceFusionTests.RandomImages(fused.Input.Length, random);
        if (nanPixel >= 0) image[nanPixel] = float.NaN;
        fused.Input.Upload(image);
        separate.Input.Upload(image);
        fused.Forward();
        separate.Forward();

        float[] expected = separate.Output.ToArray(), actual = fused.Output.ToArray();
        Assert.That(actual.Length, Is.EqualTo(expected.Length), label);
        for (int i = 0; i < expected.Length; i++)
            Assert.That(BitConverter.SingleToInt32Bits(actual[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(expected[i])),
                $"{label}: output {i} of {fused.Output.Shape}: fused {actual[i]:R}, unfused {expected[i]:R}");
        if (nanPixel >= 0)
            Assert.That(actual.Count(float.IsNaN), Is.InRange(1, actual.Length - 1), $"{label}: some windows NaN, others not");
        var stages = fused.InferenceStages.Select(s => s.Name).ToArray();
        Assert.That(stages, Is.EqualTo(c.Residual ? new[] { "forward stem", $"forward {chain}+pool" } : [$"forward {chain}+pool"]), label);
        Assert.That(() => fused.Tensor(last), Throws.TypeOf<GraphException>().With.Message.Contains($"{chain}+pool"), label);
    }

    static float[] Values(int count, Random random, double low, double high) =>
        Enumerable.Range(0, count).Select(_ => (float)(low + (high - low) * random.NextDouble())).ToArray();
}

using System.Runtime.Intrinsics.X86;

namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// A pointwise convolution's chain and the depthwise convolution's chain that alone reads it run as one stage on the CPU
/// (<see cref="IFusedPairForward"/>), the intermediate tensor computed a band of rows at a time (in the fast arithmetic,
/// without a residual in the first chain or a channel multiplier, channels-last and by blocks of channels): the logits
/// must be the unfused plan's bit for bit for strides 1 and 2, odd sizes, kernels 3 and 5, dilation, asymmetric padding,
/// a channel multiplier, residuals in either chain, channel counts below, at and past a vector of 8 and two channel blocks,
/// bands that do not divide the height (down to one output row a band), 1 and 2 threads, both arithmetics, the stage
/// run whole or unit by unit (a frame budget's windows), and a warm pass allocates nothing.
/// </summary>
public class FusedPairTests
{
    public static IEnumerable<TestCaseData> Shapes()
    {
        yield return new TestCaseData(4, 23, 19, 6, 1, new Window2d(3, 3, 1, 1, 1, 1, 1, 1), false, true).SetArgDisplayNames("3x3 stride 1, 23x19");
        yield return new TestCaseData(3, 25, 17, 8, 1, new Window2d(3, 3, 2, 2, 1, 1, 1, 1), false, true).SetArgDisplayNames("3x3 stride 2, 25x17");
        yield return new TestCaseData(5, 24, 20, 7, 2, new Window2d(3, 3, 2, 2, 0, 0, 1, 1), false, true).SetArgDisplayNames("3x3 stride 2 padded (0,1), 24x20, multiplier 2");
        yield return new TestCaseData(2, 33, 10, 5, 1, new Window2d(5, 5, 2, 1, 2, 2, 2, 2), false, true).SetArgDisplayNames("5x5 stride (2,1), 33x10");
        yield return new TestCaseData(3, 20, 17, 4, 1, new Window2d(3, 3, 1, 1, 2, 2, 2, 2, 2, 2), false, true).SetArgDisplayNames("3x3 dilation 2, 20x17");
        yield return new TestCaseData(6, 19, 15, 6, 1, new Window2d(3, 3, 1, 1, 1, 1, 1, 1), true, true).SetArgDisplayNames("3x3 stride 1, residuals in both chains, 19x15");
        // channels-last (fast arithmetic): whole vectors of 8 channels and a tail, two channel blocks, other windows
        yield return new TestCaseData(4, 17, 11, 20, 1, new Window2d(3, 3, 1, 1, 1, 1, 1, 1), false, false).SetArgDisplayNames("3x3 stride 1, 20 channels, no expansion bias, 17x11");
        yield return new TestCaseData(3, 14, 14, 72, 1, new Window2d(3, 3, 2, 2, 1, 1, 1, 1), false, false).SetArgDisplayNames("3x3 stride 2, 72 channels, no expansion bias (two blocks), 14x14");
        yield return new TestCaseData(5, 13, 9, 16, 1, new Window2d(5, 5, 2, 1, 2, 2, 2, 2), false, true).SetArgDisplayNames("5x5 stride (2,1), 16 channels, 13x9");
        yield return new TestCaseData(3, 12, 12, 24, 1, new Window2d(3, 3, 1, 1, 2, 2, 2, 2, 2, 2), false, true).SetArgDisplayNames("3x3 dilation 2, 24 channels, 12x12");
        yield return new TestCaseData(3, 9, 12, 16, 1, new Window2d(1, 9, 1, 2, 0, 4, 0, 4), false, true).SetArgDisplayNames("1x9 stride (1,2), nine taps in one row, 16 channels, 9x12");
        yield return new TestCaseData(2, 11, 10, 16, 1, new Window2d(3, 3, 2, 2, 3, 3, 3, 3), false, true).SetArgDisplayNames("3x3 stride 2 padded 3 (rows of padding only), 16 channels, 11x10");
    }

    [TestCaseSource(nameof(Shapes))]
    public void Bands_GiveTheUnfusedBits(int channels, int height, int width, int expanded, int multiplier, Window2d window, bool residuals, bool expansionBias)
    {
        foreach (var arithmetic in new[] { CpuArithmetic.Fast, CpuArithmetic.Reference })
            foreach (int threads in new[] { 1, 2 })
            {
                using var cpu = new CpuBackend { Arithmetic = arithmetic, Threads = threads };
                using var network = Network.Create(PairGraph(channels, height, width, expanded, multiplier, window, residuals, expansionBias), cpu, seed: 4);
                SetStatistics(network, new Random(11));
                using var separate = ExecutionPlan.ForInference(network, 2, fuseLayers: false);
                using var fused = ExecutionPlan.ForInference(network, 2);
                var image = InferenceFusionTests.RandomImages(fused.Input.Length, new Random(13));
                separate.Input.Upload(image);
                fused.Input.Upload(image);
                separate.Forward();
                var expected = separate.Output.ToArray();
                int stage = fused.InferenceStages.ToList().FindIndex(s => s.Name.Contains("pw+", StringComparison.Ordinal));
                Assert.That(fused.InferenceStages[stage].Name, Is.EqualTo(residuals ? "forward pw+pwbn+pwadd+pwact+dw+dwbn+dwadd+dwact" : "forward pw+pwbn+pwact+dw+dwbn+dwact"));

                // a band of one intermediate row (so one output row, or the halo alone at stride 1) up to the whole plane; a
                // channels-last pair (fast arithmetic, no residual in the first chain, one output a channel, strided or on at
                // most 256 pixels) counts the rows of a block of at most 64 channels, and its units are (sample, band, block)
                bool channelsLast = arithmetic == CpuArithmetic.Fast && Fma.IsSupported && !residuals && multiplier == 1 &&
                    (window.StrideHeight > 1 || window.StrideWidth > 1 || height * width <= 256);
                int blocks = channelsLast ? (expanded + 63) / 64 : 1, blockWidth = (expanded + blocks - 1) / blocks;
                int rowBytes = 4 * blockWidth * width;
                foreach (int bandRows in new[] { 1, 2, 3, 4, 5, height })
                {
                    string label = $"{arithmetic}, {threads} thread(s), bands of {bandRows} intermediate rows";
                    cpu.BandBytes = bandRows * rowBytes;
                    fused.Output.Upload(new float[fused.Output.Length]);
                    fused.Forward();
                    Assert.That(fused.Output.ToArray(), Is.EqualTo(expected), $"{label}: whole stage, bit for bit");

                    // the stage's units one window at a time, as a frame budget runs them
                    using var slice = new WorkSlice();
                    long units = fused.RunInferenceStage(stage, slice, 0, 0);
                    // output rows a band: as many as read at most bandRows intermediate rows, at least one, evened out
                    int span = window.DilationHeight * (window.KernelHeight - 1), outputHeight = fused.Output.Length / (2 * expanded * multiplier * OutputWidth(width, window));
                    int rows = bandRows <= span ? 1 : (bandRows - span - 1) / window.StrideHeight + 1, bands = (outputHeight + rows - 1) / rows;
                    if (bands > 1)
                    {
                        // as many bands as a multiple of the thread count would have, each evened out
                        rows = (outputHeight + (bands + threads - 1) / threads * threads - 1) / ((bands + threads - 1) / threads * threads);
                        bands = (outputHeight + rows - 1) / rows;
                    }
                    // (an intermediate within two bands' bytes is not cut; the planes' bands need every band to read image
                    // rows, so at most the window's span of padding above and below, while channels-last pads with zeros)
                    bool cut = channelsLast || (window.PadTop <= span && window.PadBottom <= span);
                    if (bands > 1 && height > 2 * bandRows && cut)
                        Assert.That(units, Is.EqualTo(2 * bands * blocks), $"{label}: (sample, band, channel block) units");
                    else if (channelsLast) Assert.That(units, Is.EqualTo(2 * blocks), $"{label}: (sample, channel block) units");
                    fused.Output.Upload(new float[fused.Output.Length]);
                    for (int i = 0; i < stage; i++) fused.RunInferenceStage(i);
                    for (long unit = 0; unit < units; unit++) fused.RunInferenceStage(stage, slice, unit, unit + 1);
                    for (int i = stage + 1; i < fused.InferenceStages.Count; i++) fused.RunInferenceStage(i);
                    Assert.That(fused.Output.ToArray(), Is.EqualTo(expected), $"{label}: band by band, bit for bit");
                }
            }
    }

    [Test]
    public void WarmBandedPass_AllocatesNothing()
    {
        using var cpu = new CpuBackend { Threads = 2 };
        using var network = Network.Create(PairGraph(4, 21, 19, 8, 1, new Window2d(3, 3, 2, 2, 1, 1, 1, 1), false), cpu, seed: 4);
        cpu.BandBytes = 3 * 4 * 8 * 19;
        using var fused = ExecutionPlan.ForInference(network, 2);
        fused.Input.Upload(InferenceFusionTests.RandomImages(fused.Input.Length, new Random(1)));
        AllocationAssert.SteadyStateAllocatesNothing(_ => fused.Forward(), 3, "bytes allocated by 3 banded forwards");
    }

    [Test]
    public void IntermediateIsNotStored_AndNonPointwiseIsNotPaired()
    {
        using var cpu = new CpuBackend();
        using var network = Network.Create(PairGraph(4, 9, 9, 6, 1, Window2d.Square(3, 1, 1), false), cpu, seed: 4);
        using var fused = ExecutionPlan.ForInference(network, 1);
        Assert.That(() => fused.Tensor("pwact"), Throws.TypeOf<GraphException>().With.Message.Contains("pw+pwbn+pwact+dw+dwbn+dwact"));

        // a 3×3 first convolution is no pointwise expansion: two chains
        var graph = new NetworkGraph();
        graph.AddInput("image", TensorShape.Of([4, 9, 9]));
        graph.Add("conv", new Conv2d(4, 6, 3, padding: 1), "image");
        graph.Add("act", new Activation(ActivationKind.ReLU6), "conv");
        graph.Add("dw", new Conv2d(6, 6, 3, padding: 1, groups: 6), "act");
        graph.Add("dwact", new Activation(ActivationKind.ReLU6), "dw");
        using var other = Network.Create(graph, cpu, seed: 4);
        using var plan = ExecutionPlan.ForInference(other, 1);
        Assert.That(plan.InferenceStages.Select(s => s.Name), Is.EqualTo(new[] { "forward conv+act", "forward dw+dwact" }));
    }

    static int OutputWidth(int width, Window2d w) => (width + w.PadLeft + w.PadRight - w.DilationWidth * (w.KernelWidth - 1) - 1) / w.StrideWidth + 1;

    /// <summary>image (C,H,W) → 1×1 conv to E (with a bias, or not as in MobileNet v2) → bn [→ add image] → ReLU6 → depthwise conv (E·multiplier outputs,
    /// <paramref name="window"/>) → bn [→ add image] → ReLU6 (the residuals need E = C and an output of the image's shape).</summary>
    static NetworkGraph PairGraph(int channels, int height, int width, int expanded, int multiplier, Window2d window, bool residuals, bool expansionBias = true)
    {
        var graph = new NetworkGraph();
        graph.AddInput("image", TensorShape.Of([channels, height, width]));
        graph.Add("pw", new Conv2d(channels, expanded, 1, bias: expansionBias), "image");
        graph.Add("pwbn", new BatchNorm2d(expanded), "pw");
        string last = "pwbn";
        if (residuals) graph.Add(last = "pwadd", new Add(), "pwbn", "image");
        graph.Add("pwact", new Activation(ActivationKind.ReLU6), last);
        graph.Add("dw", new Conv2d(expanded, expanded * multiplier, window, bias: false, groups: expanded), "pwact");
        graph.Add("dwbn", new BatchNorm2d(expanded * multiplier), "dw");
        last = "dwbn";
        if (residuals) graph.Add(last = "dwadd", new Add(), "dwbn", "image");
        graph.Add("dwact", new Activation(ActivationKind.LeakyReLU, negativeSlope: 0.1f), last);
        graph.Add("flatten", new Flatten(), "dwact");
        return graph;
    }

    /// <summary>Batch-norm statistics and affine parameters far from their initial values (about a third of the values
    /// land on each piece of ReLU6).</summary>
    static void SetStatistics(Network network, Random random)
    {
        foreach (string name in network.BufferNames)
        {
            var buffer = network.Buffer(name);
            buffer.Upload(Enumerable.Range(0, buffer.Length).Select(_ => name.EndsWith("running_var", StringComparison.Ordinal)
                ? (float)(0.05 + random.NextDouble()) : (float)(random.NextDouble() - 0.5)).ToArray());
        }
        foreach (string name in new[] { "pwbn.weight", "dwbn.weight" })
        {
            var weight = network.Parameter(name);
            weight.Upload(Enumerable.Range(0, weight.Length).Select(_ => (float)(4 * random.NextDouble() - 1)).ToArray());
        }
    }
}

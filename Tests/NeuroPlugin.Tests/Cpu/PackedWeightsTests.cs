using NeuroPlugin.Backends.Cpu;

namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// Weights packed once as a GEMM's op(B) (<see cref="PackedWeights"/>): a product that reads the packed panels gives the
/// bits of one that packs its own, for one and several blocks of K, partial panels, channel blocks that do not start on
/// a panel and operands that start inside one (which pack as before); and a layer packs its weights once, then again
/// after each way a tensor's values can change (an upload, an optimizer step, a copy, a write through a reshaped view),
/// its outputs always those of a backend that never saw the old weights.
/// </summary>
public class PackedWeightsTests
{
    // pixels × (output channels, input channels), each product on blocks of `block` output channels from `first` on
    [TestCase(49, 72, 40, 72, 0, TestName = "Product_WithPackedPanels_GivesThePackedProductsBits(one block of K, whole rows)")]
    [TestCase(30, 20, 300, 20, 0, TestName = "Product_WithPackedPanels_GivesThePackedProductsBits(two blocks of K, a partial panel)")]
    [TestCase(37, 144, 24, 48, 0, TestName = "Product_WithPackedPanels_GivesThePackedProductsBits(blocks of 48 channels)")]
    [TestCase(16, 96, 520, 64, 0, TestName = "Product_WithPackedPanels_GivesThePackedProductsBits(three blocks of K, blocks of 64)")]
    [TestCase(25, 40, 33, 24, 8, TestName = "Product_WithPackedPanels_GivesThePackedProductsBits(operand starting inside a panel)")]
    public void Product_WithPackedPanels_GivesThePackedProductsBits(int pixels, int rows, int depth, int block, int first)
    {
        using var cpu = new CpuBackend { Threads = 2 };
        var random = new Random(3);
        float[] x = Values(random, depth * pixels), w = Values(random, rows * depth);
        var weight = cpu.Allocate(new TensorShape(rows, depth), "w");
        weight.Upload(w);
        var gemm = new Gemm(2);
        var packed = new PackedWeights().Find(weight, rows, depth, gemm.PanelColumns, block, 2);
        Assert.That(packed.Panels, Is.Not.Null, "the weights are packed");
        for (int e0 = first; e0 < rows; e0 += block)
        {
            int width = Math.Min(block, rows - e0);
            var input = new GemmOperand(x, 0, pixels, transposed: true);
            var weights = new GemmOperand(w, e0 * depth, depth, transposed: true);
            float[] expected = new float[pixels * width], actual = new float[pixels * width];
            var target = new DenseTarget();
            target.Set(expected, 0, width, false, null);
            gemm.Multiply(pixels, width, depth, new DenseSource().Set(input), new DenseSource().Set(weights), target);
            var source = new DenseSource().Set(weights, packed);
            bool served = source.PackedColumns(0, Math.Min(Gemm.BlockDepth, depth), 0, gemm.PanelColumns, out _) is not null;
            Assert.That(served, Is.EqualTo(e0 % block % gemm.PanelColumns == 0), $"block at {e0}: served from the packed panels where it starts on one");
            target.Set(actual, 0, width, false, null);
            gemm.Multiply(pixels, width, depth, new DenseSource().Set(input), source, target);
            Assert.That(actual, Is.EqualTo(expected), $"channels [{e0}, {e0 + width}): the bits of packing them in the product");
        }
    }

    [Test]
    public void PointwiseLayer_PacksOnce_AndFollowsEveryChangeOfItsWeights()
    {
        // a 7×7 pointwise layer: its GEMM takes the pixels as rows and the weights as op(B)
        using var cpu = new CpuBackend { Threads = 2 };
        var random = new Random(5);
        var x = cpu.Allocate(new TensorShape(2, 40, 7, 7), "x");
        x.Upload(Values(random, x.Length));
        var weight = cpu.Allocate(new TensorShape(72, 40, 1, 1), "w");
        var bias = cpu.Allocate(new TensorShape(72), "b");
        var y = cpu.Allocate(new TensorShape(2, 72, 7, 7), "y");
        weight.Upload(Values(random, weight.Length));
        bias.Upload(Values(random, bias.Length));
        var window = Window2d.Square(1);

        cpu.Conv2dForward(x, weight, bias, y, window);
        int packs = cpu.PackedWeights.Packs;
        float[] first = y.ToArray();
        Assert.That(first, Is.EqualTo(Fresh(x, weight, bias, window)), "the first pass");
        cpu.Conv2dForward(x, weight, bias, y, window);
        Assert.That(cpu.PackedWeights.Packs, Is.EqualTo(packs), "a second pass with the same weights packs nothing");
        Assert.That(y.ToArray(), Is.EqualTo(first), "and gives the same bits");

        var gradient = cpu.Allocate(weight.Shape, "dw");
        gradient.Upload(Values(random, gradient.Length));
        var other = cpu.Allocate(weight.Shape, "other");
        other.Upload(Values(random, other.Length));
        var changes = new (string What, Action Change)[]
        {
            ("an upload", () => weight.Upload(Values(random, weight.Length))),
            ("an SGD step", () => cpu.SgdUpdate(weight, gradient, null, 0.5f, 0f)),
            ("a copy into the weights", () => cpu.Copy(other, weight)),
            ("an upload through a reshaped view", () => weight.Reshape(new TensorShape(72 * 40)).Upload(Values(random, weight.Length))),
        };
        foreach (var (what, change) in changes)
        {
            change();
            cpu.Conv2dForward(x, weight, bias, y, window);
            Assert.That(y.ToArray(), Is.EqualTo(Fresh(x, weight, bias, window)), $"after {what}: the new weights' outputs");
            Assert.That(cpu.PackedWeights.Packs, Is.EqualTo(++packs), $"after {what}: packed again, once");
        }
    }

    [Test]
    public void ChannelsLastPair_FollowsAChangeOfItsExpansionWeights()
    {
        using var cpu = new CpuBackend { Threads = 2 };
        var graph = new NetworkGraph();
        graph.AddInput("image", TensorShape.Of([6, 14, 14]));
        graph.Add("pw", new Conv2d(6, 96, 1), "image");
        graph.Add("pwact", new Activation(ActivationKind.ReLU6), "pw");
        graph.Add("dw", new Conv2d(96, 96, new Window2d(3, 3, 2, 2, 1, 1, 1, 1), bias: false, groups: 96), "pwact");
        graph.Add("flatten", new Flatten(), "dw");
        using var network = Network.Create(graph, cpu, seed: 2);
        using var separate = ExecutionPlan.ForInference(network, 2, fuseLayers: false);
        using var fused = ExecutionPlan.ForInference(network, 2);
        var image = Values(new Random(8), fused.Input.Length);
        separate.Input.Upload(image);
        fused.Input.Upload(image);
        var random = new Random(9);
        for (int pass = 0; pass < 3; pass++)
        {
            separate.Forward();
            fused.Forward();
            Assert.That(fused.Output.ToArray(), Is.EqualTo(separate.Output.ToArray()), $"pass {pass}: the separate layers' bits");
            var expansion = network.Parameter(network.ParameterNames.First(n => n.StartsWith("pw", StringComparison.Ordinal) && n.EndsWith("weight", StringComparison.Ordinal)));
            expansion.Upload(Values(random, expansion.Length));
        }
    }

    /// <summary>The layer's output on a new backend, which packs the weights as they are now.</summary>
    static float[] Fresh(Tensor x, Tensor weight, Tensor bias, Window2d window)
    {
        using var cpu = new CpuBackend { Threads = 2 };
        Tensor Copy(Tensor t) { var c = cpu.Allocate(t.Shape, t.Name); c.Upload(t.ToArray()); return c; }
        var y = cpu.Allocate(new TensorShape(x.Shape.N, weight.Shape.N, x.Shape.H, x.Shape.W), "y");
        cpu.Conv2dForward(Copy(x), Copy(weight), Copy(bias), y, window);
        return y.ToArray();
    }

    static float[] Values(Random random, int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
}

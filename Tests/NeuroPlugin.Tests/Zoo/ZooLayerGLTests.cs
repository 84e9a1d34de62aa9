using NeuroPlugin.Backends;
using NeuroPlugin.Backends.Cpu;
using NeuroPlugin.Layers;
using NeuroPlugin.Tensors;
using NeuroPlugin.Tests.OpenGL;
using NeuroPlugin.Tests.TestSupport;

namespace NeuroPlugin.Tests.Zoo;

/// <summary>The zoo's new layers on GL: equal to the CPU on randomized shapes, and both backends against PyTorch
/// (Tests/Golden/gen_zoo.py: adaptive_avg_pool2d, FractalNet's join for every surviving set).</summary>
public sealed class ZooLayerGLTests : GLFixture
{
    [TestCase(2, 3, 14, 14, 4, 4)]
    [TestCase(1, 5, 7, 9, 3, 4)]
    [TestCase(3, 2, 1, 1, 7, 7)]
    [TestCase(2, 4, 3, 2, 6, 5)]
    [TestCase(1, 3, 13, 13, 6, 6)]
    public void AdaptiveAvgPool2d_MatchesCpu(int n, int c, int h, int w, int oh, int ow)
    {
        using var twins = new TwinBackends(Backend, h * 13 + oh);
        var x = twins.Random(new TensorShape(n, c, h, w), "x");
        var dy = twins.Random(new TensorShape(n, c, oh, ow), "dy");
        var y = twins.Random(dy.Cpu.Shape, "y");
        var dx = twins.Random(x.Cpu.Shape, "dx"); // random: backward must add
        twins.Run(b => b.AdaptiveAvgPool2dForward(x[b], y[b]));
        twins.Run(b => b.AdaptiveAvgPool2dBackward(dy[b], dx[b]));
        TwinBackends.AssertSame(y, "y");
        TwinBackends.AssertSame(dx, "dx");
    }

    [TestCase("adaptive_avg_pool_14_to_4")]
    [TestCase("adaptive_avg_pool_5x7_to_3x2")]
    [TestCase("adaptive_avg_pool_1_to_7")]
    [TestCase("adaptive_avg_pool_2x3_to_5x4")]
    public void AdaptiveAvgPool2d_MatchesPyTorch(string name)
    {
        var golden = GoldenFile.Load(name);
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using Tensor x = Load(backend, golden, "x"), dy = Load(backend, golden, "dy");
            using Tensor y = backend.Allocate(TensorShape.Of(golden.Shape("y")), "y"), dx = backend.Allocate(x.Shape, "dx");
            backend.AdaptiveAvgPool2dForward(x, y);
            backend.AdaptiveAvgPool2dBackward(dy, dx);
            TensorAssert.AreClose(golden.Data("y"), y.ToArray(), 1e-5, $"{name}.y on {backend.Name}");
            TensorAssert.AreClose(golden.Data("dx"), dx.ToArray(), 1e-5, $"{name}.dx on {backend.Name}");
        }
    }

    /// <summary>Every step's drop-path choice (eval, and training steps 0–11: global and local) against PyTorch's mean
    /// over the same surviving inputs, on both backends.</summary>
    [Test]
    public void FractalJoin_MatchesPyTorchForEveryDraw()
    {
        var golden = GoldenFile.Load("fractal_join");
        var layer = new FractalJoin([0, 1, 2], 3);
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            Tensor[] xs = [Load(backend, golden, "x0"), Load(backend, golden, "x1"), Load(backend, golden, "x2")];
            using Tensor dy = Load(backend, golden, "dy"), y = backend.Allocate(dy.Shape, "y");
            Tensor[] dxs = [backend.Allocate(dy.Shape, "dx0"), backend.Allocate(dy.Shape, "dx1"), backend.Allocate(dy.Shape, "dx2")];
            var masks = new HashSet<string>();
            for (int step = -1; step < 12; step++)
            {
                bool training = step >= 0;
                Span<bool> keep = stackalloc bool[3];
                layer.SelectInputs(training, 5, (uint)Math.Max(step, 0), 3, keep);
                string mask = string.Concat(keep.ToArray().Select(k => k ? '1' : '0'));
                masks.Add(mask);
                foreach (var dx in dxs) backend.Fill(dx, 0f);
                var node = new NodeTensors("join", xs, dxs, y, dy, [], [], []) { Training = training, Seed = 5, Step = (uint)Math.Max(step, 0), Stream = 3 };
                layer.Forward(backend, node);
                layer.Backward(backend, node);
                TensorAssert.AreClose(golden.Data($"y_{mask}"), y.ToArray(), 1e-6, $"y, step {step} ({mask}) on {backend.Name}");
                for (int i = 0; i < 3; i++)
                    TensorAssert.AreClose(golden.Data($"dx{i}_{mask}"), dxs[i].ToArray(), 1e-6, $"dx{i}, step {step} ({mask}) on {backend.Name}");
            }
            Assert.That(masks.Count, Is.GreaterThanOrEqualTo(3), "the steps cover several surviving sets");
            foreach (var t in xs.Concat(dxs)) t.Dispose();
        }
    }

    static Tensor Load(IBackend backend, GoldenFile golden, string key)
    {
        var tensor = backend.Allocate(TensorShape.Of(golden.Shape(key)), key);
        tensor.Upload(golden.Data(key));
        return tensor;
    }
}

namespace NeuroPlugin.Tests.OpenGL;

/// <summary>Convolution (plain, grouped, depthwise) on both backends against PyTorch (Tests/Golden/gen_conv.py),
/// and grouped GL against the CPU on more shapes.</summary>
public sealed class ConvGoldenTests : GLFixture
{
    [TestCaseSource(typeof(GoldenFile), nameof(GoldenFile.Named), new object[] { "conv_*" })]
    public void MatchesPyTorch(string name)
    {
        var golden = GoldenFile.Load(name);
        int stride = golden.Attributes.GetProperty("stride").GetInt32(), padding = golden.Attributes.GetProperty("padding").GetInt32();
        int groups = golden.Attributes.GetProperty("groups").GetInt32(), dilation = golden.Attributes.GetProperty("dilation").GetInt32();
        int kernel = golden.Shape("weight")[2];
        var window = new Window2d(kernel, kernel, stride, stride, padding, padding, padding, padding, dilation, dilation);
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using Tensor x = Load(backend, golden, "x"), w = Load(backend, golden, "weight"), b = Load(backend, golden, "bias"), dy = Load(backend, golden, "dy");
            using Tensor y = backend.Allocate(TensorShape.Of(golden.Shape("y")), "y");
            using Tensor dx = backend.Allocate(x.Shape, "dx"), dw = backend.Allocate(w.Shape, "dw"), db = backend.Allocate(b.Shape, "db");
            backend.Conv2dForward(x, w, b, y, window, groups);
            backend.Conv2dBackward(x, w, dy, dx, dw, db, window, groups);
            // sums of up to a few hundred float32 products in another order than PyTorch's
            foreach (var (key, tensor) in new[] { ("y", y), ("dx", dx), ("dweight", dw), ("dbias", db) })
                TensorAssert.AreClose(golden.Data(key), tensor.ToArray(), 1e-4, $"{name}.{key} on {backend.Name}");
        }
    }

    [TestCase(7, 6, 6, 3, 9, 7, 3, 1, 1)]
    [TestCase(1, 16, 16, 16, 8, 8, 3, 2, 1)]   // depthwise, stride 2
    [TestCase(2, 12, 24, 4, 5, 6, 1, 1, 0)]    // grouped 1×1 (ResNeXt-style blocks), 6 outputs per group
    [TestCase(3, 8, 16, 2, 7, 7, 5, 1, 2)]     // 8 outputs per group: full register blocks
    public void GroupedMatchesCpu(int batch, int inChannels, int outChannels, int groups, int height, int width, int kernel, int stride, int padding)
    {
        var window = Window2d.Square(kernel, stride, padding);
        using var twins = new TwinBackends(Backend, inChannels * 7 + groups);
        var x = twins.Random(new TensorShape(batch, inChannels, height, width), "x");
        var w = twins.Random(new TensorShape(outChannels, inChannels / groups, kernel, kernel), "w");
        var b = twins.Random(new TensorShape(outChannels), "b");
        var y = twins.Random(new TensorShape(batch, outChannels, window.OutputHeight(height, "conv"), window.OutputWidth(width, "conv")), "y");
        twins.Run(be => be.Conv2dForward(x[be], w[be], b[be], y[be], window, groups));
        TwinBackends.AssertSame(y, "grouped conv forward");
        var dy = twins.Random(y.Cpu.Shape, "dy");
        var dx = twins.Random(x.Cpu.Shape, "dx");
        var dw = twins.Random(w.Cpu.Shape, "dw");
        var db = twins.Random(b.Cpu.Shape, "db");
        twins.Run(be => be.Conv2dBackward(x[be], w[be], dy[be], dx[be], dw[be], db[be], window, groups));
        TwinBackends.AssertSame(dx, "grouped conv input gradient");
        TwinBackends.AssertSame(dw, "grouped conv weight gradient");
        TwinBackends.AssertSame(db, "grouped conv bias gradient");
    }

    static Tensor Load(IBackend backend, GoldenFile golden, string key)
    {
        var tensor = backend.Allocate(TensorShape.Of(golden.Shape(key)), key);
        tensor.Upload(golden.Data(key));
        return tensor;
    }
}

namespace NeuroPlugin.Tests.Ops;

/// <summary>Convolution on GL against the CPU reference on seeded random data (odd sizes, batch 1 and 7, every
/// padding/stride combination, dilation, asymmetric padding, 1×1, groups; outputs pre-filled with garbage, gradients
/// with random values), and plain, grouped and depthwise convolution on both backends against PyTorch
/// (Tests/Golden/gen_conv.py). (CPU finite differences: <see cref="ConvolutionTests"/>.)</summary>
public sealed class ConvolutionGLTests : GLFixture
{
    public sealed record ConvCase(int N, int C, int H, int W, int O, Window2d Window, bool Bias)
    {
        public override string ToString() => $"x({N},{C},{H},{W}) O={O} {Window}{(Bias ? "" : ", no bias")}";
    }

    static IEnumerable<ConvCase> ConvCases()
    {
        yield return new(1, 1, 5, 5, 1, Window2d.Square(3), true);
        yield return new(7, 3, 9, 7, 5, Window2d.Square(3, 1, 1), true);                 // same padding, odd sizes
        yield return new(7, 1, 12, 12, 6, Window2d.Square(5, 1, 2), true);               // LeNet conv1-like
        yield return new(2, 6, 14, 14, 16, Window2d.Square(5), true);                    // LeNet conv2-like
        yield return new(1, 5, 7, 9, 7, Window2d.Square(1), false);                      // 1×1
        yield return new(7, 3, 8, 6, 4, Window2d.Square(1, 2), true);                    // 1×1 stride 2
        yield return new(1, 3, 13, 11, 4, Window2d.Square(3, 2, 1), true);               // stride 2, padding 1
        yield return new(7, 2, 11, 10, 3, Window2d.Square(4, 3, 2), false);              // stride 3, even kernel
        yield return new(1, 3, 10, 9, 5, new Window2d(3, 2, 1, 2, 1, 0, 2, 1), true);     // asymmetric everything
        yield return new(7, 1, 12, 11, 2, new Window2d(3, 3, 1, 1, 2, 2, 2, 2, 2, 2), true); // dilation 2
        yield return new(1, 5, 13, 12, 3, new Window2d(2, 3, 2, 1, 1, 3, 0, 2, 3, 2), true); // dilation 3×2, stride 2×1
        yield return new(1, 1, 3, 3, 9, Window2d.Square(5, 1, 2), true);                 // kernel larger than input
        yield return new(1, 3, 5, 4, 5, new Window2d(5, 4, 4, 3, 3, 2, 1, 2), true);      // stride < kernel, large padding
        yield return new(2, 3, 6, 37, 4, Window2d.Square(3, 1, 1), true);                // 37 columns: several column blocks and a tail (forward ≤ 16, weight gradient ≤ 8)
        yield return new(2, 2, 5, 41, 3, new Window2d(3, 5, 1, 2, 1, 2, 1, 2, 1, 3), false); // 41 columns, stride 2, dilation 3: 17 output columns
        yield return new(9, 2, 7, 6, 3, new Window2d(3, 2, 1, 1, 0, 0, 0, 0, 3, 1), true); // batch 9 (a SIMD vector spans two rows), one output row: input rows 1, 2, 4, 5 meet no tap
        yield return new(5, 3, 6, 5, 2, new Window2d(4, 3, 1, 1, 5, 1, 4, 1, 2, 1), false); // padding beyond the dilated kernel: border rows with taps on both sides missing
    }

    [TestCaseSource(nameof(ConvCases))]
    public void Conv2dForwardAndBackwardMatchCpu(ConvCase c)
    {
        var window = c.Window;
        int oh = window.OutputHeight(c.H, "conv"), ow = window.OutputWidth(c.W, "conv");
        using var twins = new TwinBackends(Backend, TwinBackends.Seed(c));
        var x = twins.Random(new TensorShape(c.N, c.C, c.H, c.W), "x");
        var w = twins.Random(new TensorShape(c.O, c.C, window.KernelHeight, window.KernelWidth), "w");
        var b = c.Bias ? twins.Random(new TensorShape(c.O), "b") : null;
        var y = twins.Random(new TensorShape(c.N, c.O, oh, ow), "y", 100);
        twins.Run(be => be.Conv2dForward(x[be], w[be], b?[be], y[be], window));
        TwinBackends.AssertSame(y, "conv2d forward y");

        var dy = twins.Random(y.Cpu.Shape, "dy");
        var dx = twins.Random(x.Cpu.Shape, "dx");
        var dw = twins.Random(w.Cpu.Shape, "dw");
        var db = c.Bias ? twins.Random(new TensorShape(c.O), "db") : null;
        twins.Run(be => be.Conv2dBackward(x[be], w[be], dy[be], dx[be], dw[be], db?[be], window));
        TwinBackends.AssertSame(dx, "conv2d backward dx");
        TwinBackends.AssertSame(dw, "conv2d backward dW");
        if (db is not null) TwinBackends.AssertSame(db, "conv2d backward db");
    }

    [Test]
    public void Conv2dBackwardSkipsNullInputGradient()
    {
        var window = Window2d.Square(3, 1, 1);
        using var twins = new TwinBackends(Backend, 5);
        var x = twins.Random(new TensorShape(2, 3, 6, 5), "x");
        var w = twins.Random(new TensorShape(4, 3, 3, 3), "w");
        var dy = twins.Random(new TensorShape(2, 4, 6, 5), "dy");
        var dw = twins.Random(w.Cpu.Shape, "dw");
        twins.Run(be => be.Conv2dBackward(x[be], w[be], dy[be], null, dw[be], null, window));
        TwinBackends.AssertSame(dw, "conv2d backward dW without dx and db");
    }

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
            using Tensor x = golden.Upload(backend, "x"), w = golden.Upload(backend, "weight"), b = golden.Upload(backend, "bias"), dy = golden.Upload(backend, "dy");
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
}

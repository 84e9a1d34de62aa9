namespace NeuroPlugin.Tests.Ops;

/// <summary>The merge ops on GL against the CPU reference, a branchy graph trained on both, and the merge ops on both
/// backends against PyTorch (Tests/Golden/gen_merge.py). (CPU finite differences: <see cref="MergeTests"/>.)</summary>
public sealed class MergeGLTests : GLFixture
{
    [TestCase(1)]
    [TestCase(1001)]
    public void AccumulateMatchesCpu(int length)
    {
        using var twins = new TwinBackends(Backend, length);
        var x = twins.Random(new TensorShape(length), "x");
        var y = twins.Random(new TensorShape(length), "y");
        twins.Run(be => be.Accumulate(x[be], y[be], 0.75f));
        TwinBackends.AssertSame(y, "accumulate");
    }

    [TestCase(1, 3, 5, 4)]
    [TestCase(7, 2, 3, 3)]
    [TestCase(5, 3, 1, 1)]
    public void ConcatMatchesCpu(int batch, int channels, int height, int width)
    {
        using var twins = new TwinBackends(Backend, channels);
        var a = twins.Random(new TensorShape(batch, channels, height, width), "a");
        var b = twins.Random(new TensorShape(batch, 2, height, width), "b");
        var y = twins.Random(new TensorShape(batch, channels + 2, height, width), "y");
        twins.Run(be => { be.ConcatForward(a[be], y[be], 0); be.ConcatForward(b[be], y[be], channels); });
        TwinBackends.AssertSame(y, "concat forward");
        var da = twins.Random(a.Cpu.Shape, "da");
        var db = twins.Random(b.Cpu.Shape, "db");
        var dy = twins.Random(y.Cpu.Shape, "dy");
        twins.Run(be => { be.ConcatBackward(dy[be], da[be], 0); be.ConcatBackward(dy[be], db[be], channels); });
        TwinBackends.AssertSame(da, "concat backward, first part");
        TwinBackends.AssertSame(db, "concat backward, second part");
    }

    [TestCase(1, 3, 4, 5)]
    [TestCase(7, 5, 3, 1)]
    public void ChannelMultiplyMatchesCpu(int batch, int channels, int height, int width)
    {
        using var twins = new TwinBackends(Backend, channels * 11);
        var x = twins.Random(new TensorShape(batch, channels, height, width), "x");
        var s = twins.Random(new TensorShape(batch, channels), "s");
        var y = twins.Random(x.Cpu.Shape, "y");
        twins.Run(be => be.ChannelMultiplyForward(x[be], s[be], y[be]));
        TwinBackends.AssertSame(y, "channel multiply forward");
        var dy = twins.Random(x.Cpu.Shape, "dy");
        var dx = twins.Random(x.Cpu.Shape, "dx");
        var ds = twins.Random(s.Cpu.Shape, "ds");
        twins.Run(be => be.ChannelMultiplyBackward(x[be], s[be], dy[be], dx[be], ds[be]));
        TwinBackends.AssertSame(dx, "channel multiply backward, input");
        TwinBackends.AssertSame(ds, "channel multiply backward, scale");
    }

    [Test]
    public void BranchyNetwork_GradientsMatchCpu()
    {
        using var cpu = new CpuBackend();
        float[][] Gradients(NeuroPlugin.Backends.IBackend backend)
        {
            using var network = Network.Create(MergeTests.BranchyNetwork(), backend, seed: 3);
            using var plan = ExecutionPlan.ForTraining(network, 3);
            plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(i => MathF.Cos(i * 0.37f)).ToArray());
            plan.Target!.Upload([1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
            plan.ComputeGradients();
            return plan.ParameterGradients.Select(g => g.ToArray()).ToArray();
        }
        var expected = Gradients(cpu);
        var actual = Gradients(Backend);
        for (int p = 0; p < expected.Length; p++) TensorAssert.AreClose(expected[p], actual[p], 1e-4, $"parameter {p}");
    }

    IEnumerable<IBackend> Backends()
    {
        yield return new CpuBackend();
        yield return Backend;
    }

    static void AssertMatches(GoldenFile golden, string key, Tensor actual, IBackend backend) =>
        TensorAssert.AreClose(golden.Data(key), actual.ToArray(), 1e-5, $"{golden.Name}.{key} on {backend.Name}");

    [Test]
    public void Add()
    {
        var golden = GoldenFile.Load("merge_add");
        foreach (var backend in Backends())
        {
            using Tensor a = golden.Upload(backend, "a"), b = golden.Upload(backend, "b"), dy = golden.Upload(backend, "dy");
            using Tensor y = backend.Allocate(a.Shape, "y"), da = backend.Allocate(a.Shape, "da");
            backend.Copy(a, y);
            backend.Accumulate(b, y, 1f);
            backend.Accumulate(dy, da, 1f);
            AssertMatches(golden, "y", y, backend);
            AssertMatches(golden, "da", da, backend);
        }
    }

    [Test]
    public void Concat()
    {
        var golden = GoldenFile.Load("merge_concat");
        foreach (var backend in Backends())
        {
            using Tensor a = golden.Upload(backend, "a"), c = golden.Upload(backend, "c"), dy = golden.Upload(backend, "dy");
            using Tensor y = backend.Allocate(TensorShape.Of(golden.Shape("y")), "y");
            using Tensor da = backend.Allocate(a.Shape, "da"), dc = backend.Allocate(c.Shape, "dc");
            backend.ConcatForward(a, y, 0);
            backend.ConcatForward(c, y, a.Shape.C);
            backend.ConcatBackward(dy, da, 0);
            backend.ConcatBackward(dy, dc, a.Shape.C);
            AssertMatches(golden, "y", y, backend);
            AssertMatches(golden, "da", da, backend);
            AssertMatches(golden, "dc", dc, backend);
        }
    }

    [Test]
    public void ChannelMultiply()
    {
        var golden = GoldenFile.Load("merge_channel_multiply");
        foreach (var backend in Backends())
        {
            using Tensor x = golden.Upload(backend, "x"), s = golden.Upload(backend, "s"), dy = golden.Upload(backend, "dy");
            using Tensor y = backend.Allocate(x.Shape, "y"), dx = backend.Allocate(x.Shape, "dx"), ds = backend.Allocate(s.Shape, "ds");
            backend.ChannelMultiplyForward(x, s, y);
            backend.ChannelMultiplyBackward(x, s, dy, dx, ds);
            AssertMatches(golden, "y", y, backend);
            AssertMatches(golden, "dx", dx, backend);
            // ds sums 20 products: float32 summation order differs from PyTorch's by a few ulps of the sum
            TensorAssert.AreClose(golden.Data("ds"), ds.ToArray(), 1e-5, $"merge_channel_multiply.ds on {backend.Name}");
        }
    }
}

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
    public void Add_MatchesPyTorch() => AssertMatchesPyTorch("merge_add", ["a", "b", "dy"], ["y", "da"], (backend, t) =>
    {
        backend.Copy(t["a"], t["y"]);
        backend.Accumulate(t["b"], t["y"], 1f);
        backend.Accumulate(t["dy"], t["da"], 1f);
    });

    [Test]
    public void Concat_MatchesPyTorch() => AssertMatchesPyTorch("merge_concat", ["a", "c", "dy"], ["y", "da", "dc"], (backend, t) =>
    {
        int split = t["a"].Shape.C;
        backend.ConcatForward(t["a"], t["y"], 0);
        backend.ConcatForward(t["c"], t["y"], split);
        backend.ConcatBackward(t["dy"], t["da"], 0);
        backend.ConcatBackward(t["dy"], t["dc"], split);
    });

    // ds sums 20 products: float32 summation order differs from PyTorch's by a few ulps of the sum (within the 1e-5)
    [Test]
    public void ChannelMultiply_MatchesPyTorch() => AssertMatchesPyTorch("merge_channel_multiply", ["x", "s", "dy"], ["y", "dx", "ds"], (backend, t) =>
    {
        backend.ChannelMultiplyForward(t["x"], t["s"], t["y"]);
        backend.ChannelMultiplyBackward(t["x"], t["s"], t["dy"], t["dx"], t["ds"]);
    });

    /// <summary>Runs <paramref name="op"/> on the CPU and on GL with golden file <paramref name="name"/>'s tensors: the
    /// inputs uploaded, the outputs allocated (zero-filled) in the golden shapes; every output must equal PyTorch's.</summary>
    void AssertMatchesPyTorch(string name, string[] inputs, string[] outputs, Action<IBackend, IReadOnlyDictionary<string, Tensor>> op)
    {
        var golden = GoldenFile.Load(name);
        using var cpu = new CpuBackend();
        foreach (var backend in new IBackend[] { cpu, Backend })
        {
            var tensors = inputs.ToDictionary(key => key, key => golden.Upload(backend, key));
            foreach (string key in outputs) tensors[key] = backend.Allocate(TensorShape.Of(golden.Shape(key)), key);
            try
            {
                op(backend, tensors);
                foreach (string key in outputs)
                    TensorAssert.AreClose(golden.Data(key), tensors[key].ToArray(), 1e-5, $"{name}.{key} on {backend.Name}");
            }
            finally
            {
                foreach (var tensor in tensors.Values) tensor.Dispose();
            }
        }
    }
}

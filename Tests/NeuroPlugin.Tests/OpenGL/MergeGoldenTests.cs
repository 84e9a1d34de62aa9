namespace NeuroPlugin.Tests.OpenGL;

/// <summary>The merge ops on both backends against PyTorch (Tests/Golden/gen_merge.py).</summary>
public sealed class MergeGoldenTests : GLFixture
{
    IEnumerable<IBackend> Backends()
    {
        yield return new CpuBackend();
        yield return Backend;
    }

    static Tensor Load(IBackend backend, GoldenFile golden, string key)
    {
        var tensor = backend.Allocate(TensorShape.Of(golden.Shape(key)), key);
        tensor.Upload(golden.Data(key));
        return tensor;
    }

    static void AssertMatches(GoldenFile golden, string key, Tensor actual, IBackend backend) =>
        TensorAssert.AreClose(golden.Data(key), actual.ToArray(), 1e-5, $"{golden.Name}.{key} on {backend.Name}");

    [Test]
    public void Add()
    {
        var golden = GoldenFile.Load("merge_add");
        foreach (var backend in Backends())
        {
            using Tensor a = Load(backend, golden, "a"), b = Load(backend, golden, "b"), dy = Load(backend, golden, "dy");
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
            using Tensor a = Load(backend, golden, "a"), c = Load(backend, golden, "c"), dy = Load(backend, golden, "dy");
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
            using Tensor x = Load(backend, golden, "x"), s = Load(backend, golden, "s"), dy = Load(backend, golden, "dy");
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

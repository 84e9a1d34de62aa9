namespace NeuroPlugin.Tests.Toolkit;

/// <summary>The PReLU layer against PyTorch's <c>nn.PReLU</c> (Tests/Golden/gen_activations.py) on both backends: one shared
/// slope and one per channel on (N,C,H,W), one per channel on (N,C); x holds zeros, where the slope's side is taken. Each
/// file gives x, the slope w, y, a random dy, and the gradients dx and dw.</summary>
public sealed class PReLUGoldenTests : GLFixture
{
    [TestCaseSource(typeof(GoldenFile), nameof(GoldenFile.Named), new object[] { "prelu_*" })]
    public void BothBackends_MatchPyTorch(string file)
    {
        var golden = GoldenFile.Load(file);
        var layer = new PReLU(golden.Shape("w")[0]);
        Assert.That(layer.Attributes()["numParameters"]!.GetValue<int>(), Is.EqualTo(golden.Attributes.GetProperty("numParameters").GetInt32()));
        var inputShape = TensorShape.Of(golden.Shape("x"));
        Assert.That(layer.InferOutputShape(file, [inputShape]), Is.EqualTo(inputShape));
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using Tensor x = golden.Upload(backend, "x"), w = golden.Upload(backend, "w"), dy = golden.Upload(backend, "dy");
            using Tensor y = backend.Allocate(inputShape, "y"), dx = backend.Allocate(inputShape, "dx"), dw = backend.Allocate(w.Shape, "dw");
            var node = new NodeTensors(file, [x], [dx], y, dy, [w], [dw], []);
            layer.Forward(backend, node);
            layer.Backward(backend, node);
            TensorAssert.AreClose(golden.Data("y"), y.ToArray(), 1e-5, $"{file}.y on {backend.Name}");
            TensorAssert.AreClose(golden.Data("dx"), dx.ToArray(), 1e-5, $"{file}.dx on {backend.Name}");
            // dw sums up to 120 products: float32 summation order differs from PyTorch's by a few ulps of the sum
            TensorAssert.AreClose(golden.Data("dw"), dw.ToArray(), 1e-4, $"{file}.dw on {backend.Name}");
        }
    }

    [Test]
    public void SlopesThatAreNotOnePerChannel_AreRefused()
    {
        Assert.That(() => new PReLU(3).InferOutputShape("p", [new TensorShape(2, 4, 5, 5)]),
            Throws.TypeOf<ShapeException>().With.Message.Contains("3 slopes").And.Message.Contains("4 channels"));
        Assert.That(() => new PReLU(1).InferOutputShape("p", [new TensorShape(6)]), Throws.TypeOf<ShapeException>().With.Message.Contains("(N,C,…)"));
        Assert.That(() => new PReLU(0), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new PReLU(1, float.NaN), Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}

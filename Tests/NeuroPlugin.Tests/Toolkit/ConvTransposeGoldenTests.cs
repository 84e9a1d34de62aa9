namespace NeuroPlugin.Tests.Toolkit;

/// <summary>ConvTranspose2d (Runtime/Layers/ConvTranspose2d.cs): both backends against PyTorch's conv_transpose2d
/// (Tests/Golden/gen_conv_transpose.py), finite differences of the input, weight and bias on the CPU, GL against the CPU on
/// edge geometries (strides, asymmetric padding, output padding, dilation, groups), and the size rules.</summary>
public sealed class ConvTransposeGoldenTests : GLFixture
{
    static (int, int) Pair(JsonElement e) => (e[0].GetInt32(), e[1].GetInt32());

    static ConvTranspose2d LayerOf(GoldenFile golden)
    {
        var a = golden.Attributes;
        var (sh, sw) = Pair(a.GetProperty("stride"));
        var (ph, pw) = Pair(a.GetProperty("padding"));
        var (dh, dw) = Pair(a.GetProperty("dilation"));
        int[] w = golden.Shape("weight");
        int groups = a.GetProperty("groups").GetInt32();
        var window = new Window2d(w[2], w[3], sh, sw, ph, pw, ph, pw, dh, dw);
        return new ConvTranspose2d(w[0], w[1] * groups, window, Pair(a.GetProperty("outputPadding")), a.GetProperty("bias").GetBoolean(), groups: groups);
    }

    [TestCaseSource(typeof(GoldenFile), nameof(GoldenFile.Named), new object[] { "convtranspose_*" })]
    public void BothBackends_MatchPyTorch(string file)
    {
        var golden = GoldenFile.Load(file);
        var layer = LayerOf(golden);
        var outputShape = TensorShape.Of(golden.Shape("y"));
        Assert.That(layer.InferOutputShape(file, [TensorShape.Of(golden.Shape("x"))]), Is.EqualTo(outputShape), "PyTorch's output size");
        Assert.That(layer.Parameters[0].Shape.ToArray(), Is.EqualTo(golden.Shape("weight")), "PyTorch's weight layout (in, out/groups, KH, KW)");
        using var cpu = new CpuBackend();
        foreach (IBackend backend in new IBackend[] { cpu, Backend })
        {
            using Tensor x = golden.Upload(backend, "x"), dy = golden.Upload(backend, "dy");
            using Tensor y = backend.Allocate(outputShape, "y"), dx = backend.Allocate(x.Shape, "dx");
            Tensor[] parameters = layer.HasBias ? [golden.Upload(backend, "weight"), golden.Upload(backend, "bias")] : [golden.Upload(backend, "weight")];
            Tensor[] grads = [.. parameters.Select(p => backend.Allocate(p.Shape, "d" + p.Name))];
            backend.Fill(y, 1e4f); // the forward pass overwrites
            using (var run = new LayerPass(layer, backend, x, dx, y, parameters, grads))
            {
                run.Forward();
                run.Backward(dy);
            }
            // sums of up to a few hundred float32 products in another order than PyTorch's
            TensorAssert.AreClose(golden.Data("y"), y.ToArray(), 1e-4, $"{file}.y on {backend.Name}");
            TensorAssert.AreClose(golden.Data("dx"), dx.ToArray(), 1e-4, $"{file}.dx on {backend.Name}");
            TensorAssert.AreClose(golden.Data("dweight"), grads[0].ToArray(), 1e-4, $"{file}.dweight on {backend.Name}");
            if (layer.HasBias) TensorAssert.AreClose(golden.Data("dbias"), grads[1].ToArray(), 1e-4, $"{file}.dbias on {backend.Name}");
            foreach (var t in parameters.Concat(grads)) t.Dispose();
        }
    }

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData(new ConvTranspose2d(3, 4, Window2d.Square(3)), new TensorShape(2, 3, 4, 5)).SetName("k3 s1");
        yield return new TestCaseData(new ConvTranspose2d(2, 3, Window2d.Square(2, 2)), new TensorShape(3, 2, 3, 4)).SetName("k2 s2 (upsampling x2)");
        yield return new TestCaseData(new ConvTranspose2d(4, 2, Window2d.Square(3, 2, 1), (1, 1)), new TensorShape(2, 4, 5, 3)).SetName("k3 s2 p1 output padding 1");
        yield return new TestCaseData(new ConvTranspose2d(3, 5, new Window2d(3, 2, 1, 3, 2, 0, 1, 1, 1, 1), (0, 2), bias: false), new TensorShape(1, 3, 6, 4))
            .SetName("asymmetric padding, stride 1x3, output padding 0x2, no bias");
        yield return new TestCaseData(new ConvTranspose2d(4, 6, new Window2d(3, 3, 2, 1, 1, 1, 1, 1, 2, 2), groups: 2), new TensorShape(2, 4, 4, 5)).SetName("dilation 2, groups 2");
        yield return new TestCaseData(new ConvTranspose2d(3, 3, Window2d.Square(4, 2, 1), groups: 3), new TensorShape(2, 3, 5, 19)).SetName("depthwise, 19 columns");
    }

    [TestCaseSource(nameof(Cases))]
    public void FiniteDifferences_OnTheCpu(ConvTranspose2d layer, TensorShape shape)
        => LayerPass.CheckGradients(layer, shape, new GradientCheck(new Random(shape.Length)), 1, 1);

    [TestCaseSource(nameof(Cases))]
    public void GL_MatchesCpu(ConvTranspose2d layer, TensorShape shape)
    {
        using var twins = new TwinBackends(Backend, shape.Length * 11 + layer.Groups);
        LayerPass.CompareBackends(twins, layer, shape, 1, 1);
    }

    [Test]
    public void Sizes_AreChecked()
    {
        var layer = new ConvTranspose2d(8, 6, Window2d.Square(3, 2, 1), (1, 1));
        Assert.That(layer.InferOutputShape("up", [new TensorShape(2, 8, 3, 3)]), Is.EqualTo(new TensorShape(2, 6, 6, 6)), "(3−1)·2 − 2 + 3 + 1");
        Assert.That(layer.Parameters[0].Shape, Is.EqualTo(new TensorShape(8, 6, 3, 3)));
        Assert.That(() => layer.InferOutputShape("up", [new TensorShape(2, 4, 3, 3)]),
            Throws.TypeOf<ShapeException>().With.Message.Contains("up: input (2,4,3,3) needs 8 channels"));
        Assert.That(() => new ConvTranspose2d(2, 2, Window2d.Square(3, 2), (2, 0)),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("below the stride"));
        Assert.That(() => new ConvTranspose2d(4, 6, Window2d.Square(3), groups: 4), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => new ConvTranspose2d(2, 2, Window2d.Square(1, 1, 1)).InferOutputShape("t", [new TensorShape(1, 2, 1, 1)]),
            Throws.TypeOf<ShapeException>().With.Message.Contains("would be -1"));
    }
}

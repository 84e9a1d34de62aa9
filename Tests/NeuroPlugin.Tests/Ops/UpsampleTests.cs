namespace NeuroPlugin.Tests.Ops;

/// <summary>Shared pieces of the bilinear-resize tests: the golden files (<c>Tests/Golden/gen_upsample.py</c>, PyTorch's
/// <c>F.interpolate(mode='bilinear', align_corners=False)</c>) and one forward + backward of the layer on a backend.</summary>
static class UpsampleChecks
{
    public static readonly string[] GoldenFiles = GoldenFile.Named("upsample_bilinear_*");

    /// <summary>The layer from the golden file's attributes (through <see cref="LayerRegistry"/>), run forward and backward
    /// on <paramref name="backend"/>; y and dx against PyTorch's within 1e-5 relative.</summary>
    public static void MatchesPyTorch(IBackend backend, string name)
    {
        var golden = GoldenFile.Load(name);
        var layer = LayerRegistry.Create("Upsample", System.Text.Json.Nodes.JsonNode.Parse(golden.Attributes.GetRawText())!.AsObject());
        using var x = backend.Allocate(TensorShape.Of(golden.Shape("x")), "x");
        x.Upload(golden.Data("x"));
        var outputShape = layer.InferOutputShape(name, [x.Shape]);
        Assert.That(outputShape, Is.EqualTo(TensorShape.Of(golden.Shape("y"))), $"{name}: output shape");
        using var y = backend.Allocate(outputShape, "y");
        using var dy = backend.Allocate(outputShape, "dy");
        dy.Upload(golden.Data("dy"));
        using var dx = backend.Allocate(x.Shape, "dx");
        backend.Fill(dx, 0f);
        var node = new NodeTensors(name, [x], [dx], y, dy, [], [], []);
        layer.Forward(backend, node);
        layer.Backward(backend, node);
        TensorAssert.AreClose(golden.Data("y"), y.ToArray(), 1e-5, $"{name}.y on {backend.Name}");
        TensorAssert.AreClose(golden.Data("dx"), dx.ToArray(), 1e-5, $"{name}.dx on {backend.Name}");
    }
}

/// <summary>
/// The bilinear resize on the CPU reference: PyTorch golden files (fixed sizes up and down, scale factors), finite
/// differences, shapes and errors, the model-file attributes.
/// </summary>
public class UpsampleTests
{
    readonly CpuBackend cpu = new();

    [TestCaseSource(typeof(UpsampleChecks), nameof(UpsampleChecks.GoldenFiles))]
    public void MatchesPyTorch(string name) => UpsampleChecks.MatchesPyTorch(cpu, name);

    [TestCase(2, 2, 3, 4, 7, 6)]   // enlarge
    [TestCase(1, 3, 7, 5, 3, 4)]   // shrink
    [TestCase(2, 1, 4, 4, 4, 4)]   // same size: the identity
    [TestCase(1, 2, 1, 3, 4, 5)]   // one input row
    public void GradientMatchesFiniteDifferences(int n, int c, int h, int w, int oh, int ow)
    {
        var check = new GradientCheck(new Random(h * 7 + oh));
        var layer = new Upsample(oh, ow);
        using var x = cpu.Allocate(new TensorShape(n, c, h, w), "x");
        x.Upload(check.RandomValues(x.Length, 1));
        using var y = cpu.Allocate(layer.InferOutputShape("resize", [x.Shape]), "y");
        using var dx = cpu.Allocate(x.Shape, "dx");
        check.Run("Upsample", [x], y, () => layer.Forward(cpu, new NodeTensors("resize", [x], [dx], y, null, [], [], [])), [dx],
            dy => layer.Backward(cpu, new NodeTensors("resize", [x], [dx], y, dy, [], [], [])));
    }

    [Test]
    public void SameSizeIsTheIdentity_AndDoublingInterpolatesQuarterWeights()
    {
        float[] values = [1, 2, 3, 4, 5, 6];
        using var x = cpu.Allocate(new TensorShape(1, 1, 2, 3), "x");
        x.Upload(values);
        using var same = cpu.Allocate(x.Shape, "same");
        new Upsample(2, 3).Forward(cpu, new NodeTensors("r", [x], [null], same, null, [], [], []));
        Assert.That(same.ToArray(), Is.EqualTo(values));
        // doubling one row [1 2 3]: outputs sample at max(0, (j + ½)/2 − ½) = 0, 0.25, 0.75, 1.25, 1.75, 2.25 (clamped to 2)
        using var row = cpu.Allocate(new TensorShape(1, 1, 1, 3), "row");
        row.Upload([1, 2, 3]);
        using var doubled = cpu.Allocate(new TensorShape(1, 1, 1, 6), "doubled");
        Upsample.WithScaleFactor(1, 2).Forward(cpu, new NodeTensors("r", [row], [null], doubled, null, [], [], []));
        Assert.That(doubled.ToArray(), Is.EqualTo(new[] { 1f, 1.25f, 1.75f, 2.25f, 2.75f, 3f }));
    }

    [Test]
    public void ShapesAndErrorsNameTheNode()
    {
        Assert.That(new Upsample(63, 40).InferOutputShape("resize", [new TensorShape(2, 1, 28, 28)]), Is.EqualTo(new TensorShape(2, 1, 63, 40)));
        Assert.That(Upsample.WithScaleFactor(0.6f, 2.5f).InferOutputShape("resize", [new TensorShape(2, 1, 6, 3)]), Is.EqualTo(new TensorShape(2, 1, 3, 7)));
        Assert.That(() => new Upsample(4, 4).InferOutputShape("resize", [new TensorShape(2, 784)]),
            Throws.InstanceOf<ShapeException>().With.Message.StartsWith("resize:").And.Message.Contains("(2,784)"));
        Assert.That(() => Upsample.WithScaleFactor(0.1f, 1f).InferOutputShape("shrink", [new TensorShape(1, 1, 5, 5)]),
            Throws.InstanceOf<ShapeException>().With.Message.StartsWith("shrink:").And.Message.Contains("0×5"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new Upsample(0, 3))!.ParamName, Is.EqualTo("outputHeight"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Upsample.WithScaleFactor(1f, float.NaN))!.ParamName, Is.EqualTo("scaleWidth"));
    }

    [Test]
    public void AttributesRoundTripThroughLayerRegistry_AndBadAttributesAreNamed()
    {
        foreach (var layer in new[] { new Upsample(63, 63), Upsample.WithScaleFactor(2.5f, 0.75f) })
        {
            var copy = (Upsample)LayerRegistry.Create(layer.Type, layer.Attributes());
            Assert.That(copy.Attributes().ToJsonString(), Is.EqualTo(layer.Attributes().ToJsonString()));
            Assert.That((copy.Size, copy.ScaleFactor), Is.EqualTo((layer.Size, layer.ScaleFactor)));
        }
        Assert.That(() => LayerRegistry.Create("Upsample", new() { ["mode"] = "nearest", ["size"] = new System.Text.Json.Nodes.JsonArray(2, 2) }),
            Throws.TypeOf<FormatException>().With.Message.Contains("'mode'"));
        Assert.That(() => LayerRegistry.Create("Upsample", new() { ["mode"] = "bilinear" }),
            Throws.TypeOf<FormatException>().With.Message.Contains("'size'").And.Message.Contains("'scaleFactor'"));
        Assert.That(() => LayerRegistry.Create("Upsample", new() { ["mode"] = "bilinear", ["scaleFactor"] = new System.Text.Json.Nodes.JsonArray(2) }),
            Throws.TypeOf<FormatException>().With.Message.Contains("'scaleFactor'"));
    }
}

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>
/// The activation family against PyTorch (Tests/Golden/gen_activations.py), through the layers, on both
/// backends: every activation (inputs include the kinks, where the derivative follows PyTorch's side),
/// softmax (with logits of ±1000), local response normalization (odd and even sizes, PyTorch's defaults on
/// (N,C)), global average and max pooling. Each file gives x, y = f(x), a random dy and dx = ∂(Σ dy·y)/∂x.
/// </summary>
public sealed class ActivationGoldenTests : GLFixture
{
    /// <summary>PyTorch and both backends evaluate the same float32 formulas; they differ by a few ulps
    /// (exp, pow and summation order), far inside this bound.</summary>
    const double Tolerance = 1e-4;

    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var kind in Enum.GetValues<ActivationKind>())
            yield return Case($"activation_{kind}", () => new Activation(kind));
        yield return Case("activation_LeakyReLU_0.2", () => Activation.LeakyReLU(0.2f));
        yield return Case("softmax", () => new Softmax());
        yield return Case("lrn_size5", () => new LocalResponseNorm(5, 0.5f, 0.75f, 2f));
        yield return Case("lrn_size4", () => new LocalResponseNorm(4, 0.3f, 0.6f, 1.5f));
        yield return Case("lrn_size3_defaults_rank2", () => new LocalResponseNorm(3));
        yield return Case("global_avg_pool", () => new GlobalAvgPool2d());
        yield return Case("global_max_pool", () => new GlobalMaxPool2d());
    }

    static TestCaseData Case(string file, Func<Layer> layer) => new TestCaseData(file, layer).SetArgDisplayNames(file);

    [TestCaseSource(nameof(Cases))]
    public void MatchesPyTorch(string file, Func<Layer> makeLayer)
    {
        var golden = GoldenFile.Load(file);
        var layer = makeLayer();
        AssertAttributesMatch(golden, layer);
        foreach (IBackend backend in new IBackend[] { new CpuBackend(), Backend })
        {
            var (y, dx) = LayerRun.ForwardBackward(backend, layer, TensorShape.Of(golden.Shape("x")), golden.Data("x"), golden.Data("dy"));
            TensorAssert.AreClose(golden.Data("y"), y, Tolerance, $"{file}.y on {backend.Name}");
            TensorAssert.AreClose(golden.Data("dx"), dx, Tolerance, $"{file}.dx on {backend.Name}");
        }
    }

    /// <summary>The file's attributes (what PyTorch ran) are the layer's, so the test cannot drift from the generator.</summary>
    static void AssertAttributesMatch(GoldenFile golden, Layer layer)
    {
        foreach (var attribute in golden.Attributes.EnumerateObject())
        {
            if (attribute.Name == "kind")
            {
                Assert.That(layer.Type, Is.EqualTo(attribute.Value.GetString()), $"{golden.Name}: layer type");
                continue;
            }
            var mine = layer.Attributes()[attribute.Name];
            Assert.That(mine, Is.Not.Null, $"{golden.Name}: layer has no attribute '{attribute.Name}'");
            Assert.That((float)double.Parse(mine!.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo((float)attribute.Value.GetDouble()), $"{golden.Name}: attribute {attribute.Name}");
        }
    }
}

/// <summary>Runs one layer forward and backward on a backend outside any plan, as the plan would: the output,
/// workspace and gradients allocated by the caller, the input gradient starting at zero.</summary>
static class LayerRun
{
    public static (float[] Output, float[] InputGrad) ForwardBackward(IBackend backend, Layer layer, TensorShape inputShape, float[] input, float[] outputGrad)
    {
        var outputShape = layer.InferOutputShape("test", [inputShape]);
        using var x = backend.Allocate(inputShape, "x");
        using var y = backend.Allocate(outputShape, "y");
        using var dy = backend.Allocate(outputShape, "dy");
        using var dx = backend.Allocate(inputShape, "dx");
        x.Upload(input);
        dy.Upload(outputGrad);
        using var pass = new LayerPass(layer, backend, x, dx, y, [], []);
        pass.Forward();
        pass.Backward(dy);
        return (y.ToArray(), dx.ToArray());
    }
}

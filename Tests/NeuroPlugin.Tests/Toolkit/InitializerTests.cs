using System.Text.Json.Nodes;
using NeuroPlugin.Init;

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>
/// Initializers: each distribution's sample mean and standard deviation on 200 000 values lie within four
/// standard errors of the formula (a false alarm about once in 16 000 runs per check, but the seed is fixed,
/// so the outcome is too); uniform samples stay in their bounds; the same seed gives the same values; names
/// parse back to equal initializers; bad parameters are rejected by name; Linear and Conv2d use and record them.
/// </summary>
public class InitializerTests
{
    const int Count = 200_000, FanIn = 300, FanOut = 500;

    static float[] Sample(Initializer initializer, int seed = 1)
    {
        var values = new float[Count];
        initializer.Fill(values, FanIn, FanOut, new Random(seed));
        return values;
    }

    /// <summary>Asserts the sample's mean and std are the distribution's, within four standard errors:
    /// σ/√n for the mean and about σ/√(2n) for the standard deviation (exact for a normal; a uniform's is smaller).</summary>
    static void AssertMoments(float[] values, double mean, double std, string what)
    {
        double sampleMean = values.Average(v => (double)v);
        double sampleStd = Math.Sqrt(values.Sum(v => (v - sampleMean) * (v - sampleMean)) / (values.Length - 1));
        Assert.That(sampleMean, Is.EqualTo(mean).Within(4 * std / Math.Sqrt(values.Length)), $"{what}: mean");
        Assert.That(sampleStd, Is.EqualTo(std).Within(4 * std / Math.Sqrt(2.0 * values.Length)), $"{what}: std");
    }

    static void AssertWithin(float[] values, double low, double high, string what)
    {
        Assert.That(values.Min(), Is.GreaterThanOrEqualTo((float)low), $"{what}: lower bound");
        Assert.That(values.Max(), Is.LessThanOrEqualTo((float)high), $"{what}: upper bound");
        // the sample reaches close to both ends (within 0.1 % of the range)
        Assert.That(values.Min(), Is.LessThan((float)(low + 1e-3 * (high - low))), $"{what}: reaches the lower bound");
        Assert.That(values.Max(), Is.GreaterThan((float)(high - 1e-3 * (high - low))), $"{what}: reaches the upper bound");
    }

    [Test]
    public void Normal_HasItsMeanAndStd() => AssertMoments(Sample(Initializer.Normal(0.5f, 2f)), 0.5, 2, "normal(0.5, 2)");

    [Test]
    public void Uniform_StaysInBoundsWithItsMoments()
    {
        var values = Sample(Initializer.Uniform(-0.3f, 0.7f));
        AssertWithin(values, -0.3, 0.7, "uniform(-0.3, 0.7)");
        AssertMoments(values, 0.2, 1.0 / Math.Sqrt(12), "uniform(-0.3, 0.7)");
    }

    [TestCase(1f)]
    [TestCase(5f / 3f)]
    public void XavierUniform_BoundIsGainTimesSqrtSixOverFans(float gain)
    {
        double bound = gain * Math.Sqrt(6.0 / (FanIn + FanOut));
        var values = Sample(Initializer.XavierUniform(gain));
        AssertWithin(values, -bound, bound, "xavier_uniform");
        AssertMoments(values, 0, bound / Math.Sqrt(3), "xavier_uniform");
    }

    [TestCase(1f)]
    [TestCase(5f / 3f)]
    public void XavierNormal_StdIsGainTimesSqrtTwoOverFans(float gain) =>
        AssertMoments(Sample(Initializer.XavierNormal(gain)), 0, gain * Math.Sqrt(2.0 / (FanIn + FanOut)), "xavier_normal");

    [TestCase(FanMode.FanIn, FanIn)]
    [TestCase(FanMode.FanOut, FanOut)]
    public void KaimingUniform_BoundIsGainTimesSqrtThreeOverFan(FanMode mode, int fan)
    {
        float gain = Initializer.Gain(ActivationKind.ReLU);
        double bound = gain * Math.Sqrt(3.0 / fan);
        var values = Sample(Initializer.KaimingUniform(gain, mode));
        AssertWithin(values, -bound, bound, $"kaiming_uniform {mode}");
        AssertMoments(values, 0, bound / Math.Sqrt(3), $"kaiming_uniform {mode}");
    }

    [TestCase(FanMode.FanIn, FanIn)]
    [TestCase(FanMode.FanOut, FanOut)]
    public void KaimingNormal_StdIsGainOverSqrtFan(FanMode mode, int fan)
    {
        // the course's He init: randn·√(2/n_in)
        AssertMoments(Sample(Initializer.KaimingNormal(MathF.Sqrt(2f), mode)), 0, Math.Sqrt(2.0 / fan), $"kaiming_normal {mode}");
    }

    [Test]
    public void PyTorchDefault_IsUniformOverOneOverSqrtFanIn()
    {
        double bound = 1 / Math.Sqrt(FanIn);
        var values = Sample(Initializer.PyTorchDefault);
        AssertWithin(values, -bound, bound, "pytorch-default");
        AssertMoments(values, 0, bound / Math.Sqrt(3), "pytorch-default");
    }

    [Test]
    public void Constants()
    {
        Assert.That(Sample(Initializer.Zeros), Is.All.EqualTo(0f));
        Assert.That(Sample(Initializer.Ones), Is.All.EqualTo(1f));
        Assert.That(Sample(new Initializer.Constant(-0.25f)), Is.All.EqualTo(-0.25f));
    }

    [TestCase(ActivationKind.ReLU, 1.41421356)]
    [TestCase(ActivationKind.Sigmoid, 1.0)]
    [TestCase(ActivationKind.Tanh, 5.0 / 3.0)]
    public void Gain_IsPyTorchsCalculateGain(ActivationKind kind, double expected) =>
        Assert.That(Initializer.Gain(kind), Is.EqualTo(expected).Within(1e-6));

    [Test]
    public void Gain_OfLeakyReLU_DependsOnTheSlope() =>
        // torch.nn.init.calculate_gain('leaky_relu', 0.2) = √(2 / (1 + 0.2²))
        Assert.That(Initializer.Gain(ActivationKind.LeakyReLU, 0.2f), Is.EqualTo(Math.Sqrt(2 / 1.04)).Within(1e-6));

    [Test]
    public void For_PicksHeForTheReLUFamilyAndXavierForSquashingFunctions()
    {
        foreach (var kind in new[] { ActivationKind.ReLU, ActivationKind.ReLU6, ActivationKind.SiLU, ActivationKind.HardSwish })
            Assert.That(Initializer.For(kind).Name, Is.EqualTo("kaiming_normal(gain=1.4142135,mode=fan_in)"), kind.ToString());
        Assert.That(Initializer.For(ActivationKind.LeakyReLU, 0.2f).Name, Is.EqualTo(Initializer.KaimingNormal(Initializer.Gain(ActivationKind.LeakyReLU, 0.2f)).Name));
        Assert.That(Initializer.For(ActivationKind.Sigmoid).Name, Is.EqualTo("xavier_uniform(gain=1)"));
        Assert.That(Initializer.For(ActivationKind.HardSigmoid).Name, Is.EqualTo("xavier_uniform(gain=1)"));
        Assert.That(Initializer.For(ActivationKind.Tanh).Name, Is.EqualTo("xavier_uniform(gain=1.6666666)"));
    }

    static IEnumerable<Initializer> All()
    {
        yield return Initializer.PyTorchDefault;
        yield return Initializer.Zeros;
        yield return Initializer.Ones;
        yield return new Initializer.Constant(0.1f);
        yield return Initializer.Normal(-1e-3f, 0.02f);
        yield return Initializer.Uniform(-0.1f, 0.3f);
        yield return Initializer.XavierUniform(5f / 3f);
        yield return Initializer.XavierNormal();
        yield return Initializer.KaimingUniform(Initializer.Gain(ActivationKind.LeakyReLU, 0.2f), FanMode.FanOut);
        yield return Initializer.KaimingNormal();
    }

    [TestCaseSource(nameof(All))]
    public void SameSeedGivesSameValues_AndTheNameParsesBack(Initializer initializer)
    {
        Assert.That(Sample(initializer, seed: 5), Is.EqualTo(Sample(initializer, seed: 5)), "deterministic from the seed");
        var parsed = Initializer.Parse(initializer.Name);
        Assert.That(parsed.Name, Is.EqualTo(initializer.Name));
        Assert.That(Sample(parsed, seed: 9), Is.EqualTo(Sample(initializer, seed: 9)), "the parsed initializer draws the same values");
    }

    [Test]
    public void DifferentSeedsGiveDifferentValues() =>
        Assert.That(Sample(Initializer.KaimingNormal(), seed: 1), Is.Not.EqualTo(Sample(Initializer.KaimingNormal(), seed: 2)));

    [Test]
    public void Names_AreCultureInvariant()
    {
        var culture = Thread.CurrentThread.CurrentCulture;
        try
        {
            Thread.CurrentThread.CurrentCulture = new System.Globalization.CultureInfo("de-DE"); // decimal comma
            Assert.That(Initializer.Normal(0.5f, 0.25f).Name, Is.EqualTo("normal(mean=0.5,std=0.25)"));
            Assert.That(Initializer.Parse("uniform(a=-0.5,b=1.5)").Name, Is.EqualTo("uniform(a=-0.5,b=1.5)"));
        }
        finally
        {
            Thread.CurrentThread.CurrentCulture = culture;
        }
    }

    [Test]
    public void BadParameters_AreRejectedByName()
    {
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.Normal(0, -1))!.ParamName, Is.EqualTo("std"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.Uniform(1, 0))!.ParamName, Is.EqualTo("b"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.XavierUniform(0))!.ParamName, Is.EqualTo("gain"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.KaimingNormal(float.NaN))!.ParamName, Is.EqualTo("gain"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new Initializer.Constant(float.PositiveInfinity))!.ParamName, Is.EqualTo("value"));
    }

    [TestCase("bogus", "unknown kind 'bogus'")]
    [TestCase("normal(mean=0)", "missing argument 'std'")]
    [TestCase("normal(mean=0,std=1,extra=2)", "unknown argument 'extra'")]
    [TestCase("normal(mean=0,std=x)", "'std' must be a number")]
    [TestCase("normal(mean=0,std=-1)", "std must be finite and ≥ 0")]
    [TestCase("kaiming_normal(gain=1,mode=sideways)", "mode must be fan_in or fan_out")]
    [TestCase("xavier_uniform(gain=1", "missing ')'")]
    [TestCase("uniform(0,1)", "not a single key=value")]
    public void Parse_RejectsBadNames(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => Initializer.Parse(text));
        Assert.That(e!.Message, Does.Contain(text).And.Contain(message));
    }

    [Test]
    public void LinearAndConv2d_InitializeWithTheirInitializers()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("image", new TensorShape(3, 6, 6));
        x = graph.Add("conv", new Conv2d(3, 8, 3, weightInit: Initializer.Normal(0, 0.05f), biasInit: new Initializer.Constant(0.1f)), x);
        x = graph.Add("flatten", new Flatten(), x);
        graph.Add("fc", new Linear(8 * 4 * 4, 10, weightInit: Initializer.Uniform(2, 3), biasInit: Initializer.Zeros), x);
        using var network = Network.Create(graph, new CpuBackend(), seed: 3);
        Assert.That(network.Parameter("conv.bias").ToArray(), Is.All.EqualTo(0.1f));
        Assert.That(network.Parameter("fc.bias").ToArray(), Is.All.EqualTo(0f));
        Assert.That(network.Parameter("fc.weight").ToArray(), Is.All.InRange(2f, 3f));
        float[] conv = network.Parameter("conv.weight").ToArray();
        Assert.That(conv.Select(Math.Abs).Max(), Is.LessThan(0.05f * 6), "normal(0, 0.05) stays within 6σ");
        Assert.That(conv.Distinct().Count(), Is.EqualTo(conv.Length), "random, not constant");
    }

    [Test]
    public void LinearAndConv2d_RecordTheirInitializersAndTheFactoryReadsThemBack()
    {
        Layer[] layers =
        [
            new Linear(4, 3, weightInit: Initializer.For(ActivationKind.Tanh), biasInit: Initializer.Zeros),
            new Conv2d(2, 5, 3, padding: 1, weightInit: Initializer.KaimingUniform(mode: FanMode.FanOut), biasInit: new Initializer.Constant(0.01f)),
            new Linear(4, 3),
        ];
        foreach (var layer in layers)
        {
            var attributes = layer.Attributes();
            var copy = LayerRegistry.Create(layer.Type, JsonNode.Parse(attributes.ToJsonString())!.AsObject());
            Assert.That(copy.Attributes().ToJsonString(), Is.EqualTo(attributes.ToJsonString()), layer.Type);
        }
        Assert.That(layers[0].Attributes()["weightInit"]!.GetValue<string>(), Is.EqualTo("xavier_uniform(gain=1.6666666)"));
        Assert.That(layers[2].Attributes()["biasInit"]!.GetValue<string>(), Is.EqualTo("pytorch-default"));
    }

    [Test]
    public void FilesWithoutInitializers_MeanPyTorchsDefault()
    {
        var linear = (Linear)LayerRegistry.Create("Linear", new JsonObject { ["inFeatures"] = 4, ["outFeatures"] = 2, ["bias"] = true });
        Assert.That(linear.WeightInit, Is.SameAs(Initializer.PyTorchDefault));
        Assert.That(linear.BiasInit, Is.SameAs(Initializer.PyTorchDefault));
        var e = Assert.Throws<FormatException>(() => LayerRegistry.Create("Linear",
            new JsonObject { ["inFeatures"] = 4, ["outFeatures"] = 2, ["bias"] = true, ["weightInit"] = "normal(std=1)" }));
        Assert.That(e!.Message, Does.Contain("missing argument 'mean'"));
    }
}

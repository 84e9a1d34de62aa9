using System.Text.Json;
using NeuroPlugin.Editor.Server;

namespace NeuroPlugin.Editor.Tests.Server;

/// <summary>The training messages' numbers: finite ones as JSON numbers (float keeps its shortest form), NaN and ∞ as
/// null, and null read back as NaN.</summary>
public sealed class FiniteNumbersTests
{
    static readonly JsonSerializerOptions Options = FiniteNumbers.With(new JsonSerializerOptions());

    [Test]
    public void NotFiniteIsNull_FiniteIsTheNumber()
    {
        Assert.That(JsonSerializer.Serialize(new[] { 0.1f, float.NaN, float.PositiveInfinity, -2.5f }, Options), Is.EqualTo("[0.1,null,null,-2.5]"));
        Assert.That(JsonSerializer.Serialize(new[] { 0.1, double.NaN, double.NegativeInfinity, 1e-300 }, Options), Is.EqualTo("[0.1,null,null,1E-300]"));
        Assert.That(JsonSerializer.Deserialize<float[]>("[0.1,null]", Options), Is.EqualTo(new[] { 0.1f, float.NaN }));
        Assert.That(JsonSerializer.Deserialize<double[]>("[3,null]", Options), Is.EqualTo(new[] { 3.0, double.NaN }));
    }
}

using System.Runtime.Intrinsics;

namespace NeuroPlugin.Tests.Cpu;

/// <summary>
/// Batch norm's and the row norms' sums in double (<see cref="DoubleSums"/>): exactly the additions its documentation
/// names, in that order — with 256-bit vectors, blocks of 16 values into 16 lane accumulators, the lanes combined as
/// (0–3 + 8–11) + (4–7 + 12–15) and the four results added in order, then the tail one by one; without them, one by one
/// — written here as plain loops over the lanes, for lengths around the block size and with values far from zero.
/// </summary>
public class DoubleSumsTests
{
    static readonly int[] Lengths = [0, 1, 7, 15, 16, 17, 31, 32, 33, 100, 1024, 4099];

    /// <summary>Σ f(i) in the documented order.</summary>
    static double Reference(int length, Func<int, double> term)
    {
        int blocks = Vector256.IsHardwareAccelerated ? length / 16 : 0, i = 16 * blocks;
        double sum = 0;
        if (blocks > 0)
        {
            var lanes = new double[16];
            for (int b = 0; b < blocks; b++)
                for (int l = 0; l < 16; l++) lanes[l] += term(16 * b + l);
            for (int l = 0; l < 4; l++) sum += (lanes[l] + lanes[8 + l]) + (lanes[4 + l] + lanes[12 + l]);
        }
        for (; i < length; i++) sum += term(i);
        return sum;
    }

    static float[] Values(int length, int seed, float offset)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => offset + (float)(random.NextDouble() * 2 - 1))];
    }

    [Test]
    public void Sum_AddsInTheDocumentedOrder([ValueSource(nameof(Lengths))] int length)
    {
        var values = Values(length, seed: length, offset: 1000f);
        Assert.That(DoubleSums.Sum(values), Is.EqualTo(Reference(length, i => values[i])), "bit for bit");
        Assert.That(DoubleSums.Sum(values), Is.EqualTo(values.Sum(v => (double)v)).Within(1e-9 * Math.Max(1, length)), "the sum itself");
    }

    [Test]
    public void SquaredDeviations_AddsInTheDocumentedOrder([ValueSource(nameof(Lengths))] int length)
    {
        var values = Values(length, seed: 100 + length, offset: 1000f);
        double mean = length == 0 ? 0 : values.Average(v => (double)v);
        Assert.That(DoubleSums.SquaredDeviations(values, mean), Is.EqualTo(Reference(length, i => (values[i] - mean) * (values[i] - mean))), "bit for bit");
    }

    [Test]
    public void SumAndProductsWithNormalized_AddInTheDocumentedOrder([ValueSource(nameof(Lengths))] int length)
    {
        var (dy, x) = (Values(length, seed: 200 + length, offset: 0f), Values(length, seed: 300 + length, offset: 5f));
        const float mean = 4.75f, invStd = 1.9f;
        var (sum, products) = DoubleSums.SumAndProductsWithNormalized(dy, x, mean, invStd);
        Assert.That(sum, Is.EqualTo(Reference(length, i => dy[i])), "Σ dy bit for bit");
        // x̂ rounded to float, as batch norm's forward pass stored it; the product in double
        Assert.That(products, Is.EqualTo(Reference(length, i => dy[i] * (double)((x[i] - mean) * invStd))), "Σ dy·x̂ bit for bit");
    }
}

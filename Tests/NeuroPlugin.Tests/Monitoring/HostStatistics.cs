using NeuroPlugin.Backends;

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>
/// The statistics of <see cref="IBackend.Summarize"/> computed on the host from downloaded values, independently of the
/// backends: plain loops in double, and the histogram bin from a double-precision position, so that an element whose
/// position lies within rounding of an interior bin edge is marked ambiguous (float arithmetic on a device may put it on
/// either side; torch.histc too).
/// </summary>
sealed class HostStatistics
{
    public float Minimum = float.PositiveInfinity, Maximum = float.NegativeInfinity;
    public long Zeros, NaNs, Infinities, Saturated, Count;
    public double Sum, SumOfSquares, SquaredDeviations, SumOfMagnitudes;
    public long[] Histogram = [];
    public long AmbiguousBinElements;
    public double HistogramLow, HistogramHigh;

    public static HostStatistics Of(ReadOnlySpan<float> values, int bins, double saturationLow = double.NegativeInfinity, double saturationHigh = double.PositiveInfinity)
    {
        var s = new HostStatistics { Histogram = new long[bins] };
        foreach (float v in values)
        {
            if (float.IsNaN(v)) { s.NaNs++; continue; }
            if (float.IsInfinity(v)) { s.Infinities++; continue; }
            s.Count++;
            if (v < s.Minimum) s.Minimum = v;
            if (v > s.Maximum) s.Maximum = v;
            if (v == 0) s.Zeros++;
            if (v <= saturationLow || v >= saturationHigh) s.Saturated++;
            s.Sum += v;
            s.SumOfSquares += (double)v * v;
            s.SumOfMagnitudes += Math.Abs(v);
        }
        if (s.Count == 0) return s;
        double mean = s.Sum / s.Count;
        double low = s.Minimum, high = s.Maximum;
        if (low == high) { low -= 1; high += 1; }
        s.HistogramLow = low;
        s.HistogramHigh = high;
        foreach (float v in values)
        {
            if (!float.IsFinite(v)) continue;
            s.SquaredDeviations += (v - mean) * (v - mean);
            double position = (v - low) / (high - low) * bins;
            int bin = Math.Min((int)Math.Floor(position), bins - 1);
            s.Histogram[bin]++;
            double nearestEdge = Math.Round(position);
            if (nearestEdge > 0 && nearestEdge < bins && Math.Abs(position - nearestEdge) < 1e-5 * bins) s.AmbiguousBinElements++;
        }
        return s;
    }

    /// <summary>Asserts that the words a backend wrote agree: ranges and counts exactly, sums to double rounding (relative to
    /// the sum of magnitudes, as the summation order differs), the histogram up to elements on an ambiguous edge.</summary>
    public void AssertMatches(ReadOnlySpan<float> span, string what)
    {
        float[] words = span.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(words[StatisticsLayout.Minimum], Is.EqualTo(Minimum), $"{what}: min");
            Assert.That(words[StatisticsLayout.Maximum], Is.EqualTo(Maximum), $"{what}: max");
            Assert.That(StatisticsLayout.ReadCount(words, StatisticsLayout.Zeros), Is.EqualTo(Zeros), $"{what}: zeros");
            Assert.That(StatisticsLayout.ReadCount(words, StatisticsLayout.NaNs), Is.EqualTo(NaNs), $"{what}: NaN");
            Assert.That(StatisticsLayout.ReadCount(words, StatisticsLayout.Infinities), Is.EqualTo(Infinities), $"{what}: ±∞");
            Assert.That(StatisticsLayout.ReadCount(words, StatisticsLayout.Saturated), Is.EqualTo(Saturated), $"{what}: saturated");
            Assert.That(StatisticsLayout.ReadDouble(words, StatisticsLayout.Sum), Is.EqualTo(Sum).Within(1e-12 * SumOfMagnitudes + 1e-300), $"{what}: Σx");
            Assert.That(StatisticsLayout.ReadDouble(words, StatisticsLayout.SumOfSquares), Is.EqualTo(SumOfSquares).Within(1e-12 * SumOfSquares + 1e-300), $"{what}: Σx²");
            Assert.That(StatisticsLayout.ReadDouble(words, StatisticsLayout.SquaredDeviations), Is.EqualTo(SquaredDeviations).Within(1e-9 * SumOfSquares + 1e-300), $"{what}: Σ(x − μ)²");
        });
        long moved = 0, total = 0;
        for (int b = 0; b < Histogram.Length; b++)
        {
            long count = StatisticsLayout.ReadCount(words, StatisticsLayout.Histogram + b);
            moved += Math.Abs(count - Histogram[b]);
            total += count;
        }
        Assert.That(total, Is.EqualTo(Count), $"{what}: the histogram counts every finite value once");
        Assert.That(moved, Is.LessThanOrEqualTo(2 * AmbiguousBinElements),
            $"{what}: histogram differs from the host's by {moved} counts; only {AmbiguousBinElements} element(s) lie on a bin edge");
    }
}

using System.Numerics;
using System.Runtime.InteropServices;

namespace NeuroPlugin.Backends.Cpu;

// The training monitor's statistics (IBackend.Statistics.cs): the readable reference for statistics.comp. Sums are kept
// in double, as on the GL backend, so both agree to the last bit of a float for everything but the summation order.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void Summarize(Tensor input, Tensor statistics, int offset, int bins,
        float saturationLow = float.NegativeInfinity, float saturationHigh = float.PositiveInfinity)
    {
        if (Skips) return;
        StatisticsLayout.Check(statistics, offset, bins);
        ReadOnlySpan<float> x = Data(input);
        Span<float> words = Data(statistics).Slice(offset, StatisticsLayout.Length(bins));

        var range = RangePass(x, saturationLow, saturationHigh);
        words[StatisticsLayout.Minimum] = range.Minimum;
        words[StatisticsLayout.Maximum] = range.Maximum;
        StatisticsLayout.WriteCount(words, StatisticsLayout.Zeros, range.Zeros);
        StatisticsLayout.WriteCount(words, StatisticsLayout.NaNs, range.NaNs);
        StatisticsLayout.WriteCount(words, StatisticsLayout.Infinities, range.Infinities);
        StatisticsLayout.WriteCount(words, StatisticsLayout.Saturated, range.Saturated);
        StatisticsLayout.WriteDouble(words, StatisticsLayout.Sum, range.Sum);
        StatisticsLayout.WriteDouble(words, StatisticsLayout.SumOfSquares, range.Squares);

        var histogram = words.Slice(StatisticsLayout.Histogram, bins);
        histogram.Clear();
        uint count = (uint)x.Length - range.NaNs - range.Infinities;
        double deviations = count == 0 ? 0 : SpreadPass(x, range.Sum / count, range.Minimum, range.Maximum, histogram);
        StatisticsLayout.WriteDouble(words, StatisticsLayout.SquaredDeviations, deviations);
    }

    /// <summary>What the first pass of <see cref="Summarize"/> finds (over the finite values; NaN and ±∞ only counted).</summary>
    struct RangeTotals
    {
        public float Minimum, Maximum;
        public uint Zeros, NaNs, Infinities, Saturated;
        public double Sum, Squares;

        public void Add(float value, float low, float high)
        {
            if (float.IsNaN(value)) { NaNs++; return; }
            if (float.IsInfinity(value)) { Infinities++; return; }
            Minimum = Math.Min(Minimum, value);
            Maximum = Math.Max(Maximum, value);
            if (value == 0f) Zeros++;
            if (value <= low || value >= high) Saturated++;
            Sum += value;
            Squares += (double)value * value;
        }
    }

    /// <summary>The first pass: vectors of finite values at a time (sums widened to double), the scalar rule for a vector
    /// holding NaN or ±∞ and for the tail.</summary>
    static RangeTotals RangePass(ReadOnlySpan<float> x, float low, float high)
    {
        var totals = new RangeTotals { Minimum = float.PositiveInfinity, Maximum = float.NegativeInfinity };
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(x);
        if (vectors.Length > 0)
        {
            Vector<float> minimum = new(float.PositiveInfinity), maximum = new(float.NegativeInfinity), lowBound = new(low), highBound = new(high);
            Vector<int> zeros = default, saturated = default;
            Vector<double> sum = default, squares = default;
            foreach (var v in vectors)
            {
                if (!AllFinite(v))
                {
                    for (int k = 0; k < Vector<float>.Count; k++) totals.Add(v[k], low, high);
                    continue;
                }
                minimum = Vector.Min(minimum, v);
                maximum = Vector.Max(maximum, v);
                zeros -= Vector.Equals(v, Vector<float>.Zero);
                saturated -= Vector.LessThanOrEqual(v, lowBound) | Vector.GreaterThanOrEqual(v, highBound);
                Vector.Widen(v, out var first, out var second);
                sum += first + second;
                squares += first * first + second * second;
            }
            for (int k = 0; k < Vector<float>.Count; k++)
            {
                totals.Minimum = Math.Min(totals.Minimum, minimum[k]);
                totals.Maximum = Math.Max(totals.Maximum, maximum[k]);
                totals.Zeros += (uint)zeros[k];
                totals.Saturated += (uint)saturated[k];
            }
            totals.Sum += Vector.Sum(sum);
            totals.Squares += Vector.Sum(squares);
        }
        for (int i = vectors.Length * Vector<float>.Count; i < x.Length; i++) totals.Add(x[i], low, high);
        return totals;
    }

    /// <summary>The second pass: returns <c>Σ(x − mean)²</c> and counts each finite value into its histogram bin
    /// (<see cref="StatisticsLayout.Bin"/>; vectors compute the same float expression lane by lane).</summary>
    static double SpreadPass(ReadOnlySpan<float> x, double mean, float minimum, float maximum, Span<float> histogram)
    {
        int bins = histogram.Length;
        var (low, high) = StatisticsLayout.HistogramRange(minimum, maximum);
        float width = high - low;
        Span<uint> counts = stackalloc uint[bins];
        double deviations = 0;
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(x);
        int scalarFrom = 0;
        if (vectors.Length > 0 && width > 0f && width < 1e36f) // the plain rule of StatisticsLayout.Bin, lane by lane
        {
            Vector<float> lowEdge = new(low), binCount = new(bins), widths = new(width);
            Vector<int> lastBin = new(bins - 1);
            Vector<double> centre = new(mean), spread = default;
            foreach (var v in vectors)
            {
                if (!AllFinite(v))
                {
                    for (int k = 0; k < Vector<float>.Count; k++) deviations += CountScalar(v[k], mean, low, high, counts);
                    continue;
                }
                Vector.Widen(v, out var first, out var second);
                first -= centre;
                second -= centre;
                spread += first * first + second * second;
                var bin = Vector.Min(Vector.ConvertToInt32((v - lowEdge) * binCount / widths), lastBin);
                for (int k = 0; k < Vector<int>.Count; k++) counts[bin[k]]++;
            }
            deviations += Vector.Sum(spread);
            scalarFrom = vectors.Length * Vector<float>.Count;
        }
        for (int i = scalarFrom; i < x.Length; i++) deviations += CountScalar(x[i], mean, low, high, counts);
        for (int b = 0; b < bins; b++) StatisticsLayout.WriteCount(histogram, b, counts[b]);
        return deviations;
    }

    /// <summary>One value of the second pass: its squared deviation (0 when not finite) and its bin.</summary>
    static double CountScalar(float value, double mean, float low, float high, Span<uint> counts)
    {
        if (!float.IsFinite(value)) return 0;
        counts[StatisticsLayout.Bin(value, low, high, counts.Length)]++;
        double deviation = value - mean;
        return deviation * deviation;
    }

    /// <summary>True when no lane is NaN or ±∞ (exponent bits all ones).</summary>
    static bool AllFinite(Vector<float> v)
    {
        var exponent = new Vector<int>(0x7F800000);
        return !Vector.EqualsAny(Vector.As<float, int>(v) & exponent, exponent);
    }

    /// <inheritdoc/>
    public void CountDeadChannels(Tensor input, Tensor statistics, int offset)
    {
        if (Skips) return;
        StatisticsLayout.CheckDeadChannels(input, statistics, offset);
        var shape = input.Shape;
        int batch = shape[0], channels = shape[1], plane = input.Length / (batch * channels);
        ReadOnlySpan<float> x = Data(input);
        uint dead = 0;
        for (int c = 0; c < channels; c++)
        {
            bool alive = false;
            for (int n = 0; n < batch && !alive; n++)
                alive = x.Slice((n * channels + c) * plane, plane).ContainsAnyExcept(0f);
            if (!alive) dead++;
        }
        StatisticsLayout.WriteCount(Data(statistics), offset, dead);
    }

    /// <inheritdoc/>
    public void ClassifyRows(Tensor logits, Tensor target, Tensor results)
    {
        if (Skips) return;
        StatisticsLayout.CheckClassifyShapes(logits, target, results);
        int rows = logits.Shape[0], classes = logits.Shape[1];
        ReadOnlySpan<float> z = Data(logits), t = Data(target);
        Span<float> r = Data(results);
        for (int n = 0; n < rows; n++)
        {
            var row = z.Slice(n * classes, classes);
            var targetRow = t.Slice(n * classes, classes);
            int predicted = FirstMaximum(row), label = FirstMaximum(targetRow);
            float max = row[predicted], sumOfExponentials = 0f;
            for (int k = 0; k < classes; k++) sumOfExponentials += MathF.Exp(row[k] - max);
            float logSum = MathF.Log(sumOfExponentials), loss = 0f;
            for (int k = 0; k < classes; k++) loss += targetRow[k] * (logSum - (row[k] - max));
            r[n * 4 + 0] = predicted;
            r[n * 4 + 1] = label;
            r[n * 4 + 2] = 1f / sumOfExponentials;
            r[n * 4 + 3] = loss;
        }
    }

    static int FirstMaximum(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}

using NeuroPlugin.Tensors;

namespace NeuroPlugin.Backends.Cpu;

// The training monitor's statistics (IBackend.Statistics.cs): the readable reference for statistics.comp. Sums are kept
// in double, as on the GL backend, so both agree to the last bit of a float for everything but the summation order.
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void Summarize(Tensor input, Tensor statistics, int offset, int bins,
        float saturationLow = float.NegativeInfinity, float saturationHigh = float.PositiveInfinity)
    {
        StatisticsLayout.Check(statistics, offset, bins);
        ReadOnlySpan<float> x = Data(input);
        Span<float> words = Data(statistics).Slice(offset, StatisticsLayout.Length(bins));

        // first pass: range, counts, Σx, Σx²
        float minimum = float.PositiveInfinity, maximum = float.NegativeInfinity;
        uint zeros = 0, nans = 0, infinities = 0, saturated = 0;
        double sum = 0, squares = 0;
        foreach (float value in x)
        {
            if (float.IsNaN(value)) { nans++; continue; }
            if (float.IsInfinity(value)) { infinities++; continue; }
            minimum = Math.Min(minimum, value);
            maximum = Math.Max(maximum, value);
            if (value == 0f) zeros++;
            if (value <= saturationLow || value >= saturationHigh) saturated++;
            sum += value;
            squares += (double)value * value;
        }
        words[StatisticsLayout.Minimum] = minimum;
        words[StatisticsLayout.Maximum] = maximum;
        StatisticsLayout.WriteCount(words, StatisticsLayout.Zeros, zeros);
        StatisticsLayout.WriteCount(words, StatisticsLayout.NaNs, nans);
        StatisticsLayout.WriteCount(words, StatisticsLayout.Infinities, infinities);
        StatisticsLayout.WriteCount(words, StatisticsLayout.Saturated, saturated);
        StatisticsLayout.WriteDouble(words, StatisticsLayout.Sum, sum);
        StatisticsLayout.WriteDouble(words, StatisticsLayout.SumOfSquares, squares);

        // second pass: spread about the mean and the histogram over the range the first pass found
        var histogram = words.Slice(StatisticsLayout.Histogram, bins);
        histogram.Clear();
        uint count = (uint)x.Length - nans - infinities;
        double deviations = 0;
        if (count > 0)
        {
            double mean = sum / count;
            var (low, high) = StatisticsLayout.HistogramRange(minimum, maximum);
            foreach (float value in x)
            {
                if (!float.IsFinite(value)) continue;
                double deviation = value - mean;
                deviations += deviation * deviation;
                int bin = StatisticsLayout.Bin(value, low, high, bins);
                StatisticsLayout.WriteCount(histogram, bin, StatisticsLayout.ReadCount(histogram, bin) + 1);
            }
        }
        StatisticsLayout.WriteDouble(words, StatisticsLayout.SquaredDeviations, deviations);
    }

    /// <inheritdoc/>
    public void CountDeadChannels(Tensor input, Tensor statistics, int offset)
    {
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

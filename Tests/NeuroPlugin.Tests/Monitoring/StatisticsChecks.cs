using NeuroPlugin.Monitoring;

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>The statistics ops (<see cref="IBackend.Summarize"/>, <see cref="IBackend.CountDeadChannels"/>,
/// <see cref="IBackend.ClassifyRows"/>) against <see cref="HostStatistics"/> and host loops, on any backend
/// (StatisticsTests: CPU; StatisticsGLTests: GL).</summary>
static class StatisticsChecks
{
    /// <summary>Random values with zeros, NaN, ±∞ and values beyond saturation bounds mixed in, summarized into the middle of
    /// a larger statistics tensor: every word as on the host, and the words around the summary untouched.</summary>
    public static void SummaryMatchesHost(IBackend backend, int length, int bins)
    {
        var random = new Random(length + bins);
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = (random.Next(10)) switch
            {
                0 => 0f,
                1 => (float)(random.NextDouble() * 2 - 1) * 100f,
                _ => (float)(random.NextDouble() * 2 - 1),
            };
            if (i % 97 == 13) values[i] = float.NaN;
            if (i % 211 == 5) values[i] = i % 2 == 0 ? float.PositiveInfinity : float.NegativeInfinity;
        }
        int offset = 7, words = StatisticsLayout.Length(bins);
        using var input = backend.Allocate(new TensorShape(length), "x");
        using var statistics = backend.Allocate(new TensorShape(offset + words + 5), "statistics");
        input.Upload(values);
        backend.Fill(statistics, -3f);
        backend.Summarize(input, statistics, offset, bins, -0.9f, 0.95f);

        var result = statistics.ToArray();
        HostStatistics.Of(values, bins, -0.9f, 0.95f).AssertMatches(result.AsSpan(offset, words), $"{length} values, {bins} bins");
        Assert.That(result.AsSpan(0, offset).ToArray(), Is.All.EqualTo(-3f), "words before the summary");
        Assert.That(result.AsSpan(offset + words).ToArray(), Is.All.EqualTo(-3f), "words after the summary");
    }

    /// <summary>Equal values: torch.histc's widened range [v − 1, v + 1] puts them all in bin ⌊bins/2⌋; no saturation
    /// bounds, nothing saturated; std 0.</summary>
    public static void ConstantTensorFillsTheMiddleBin(IBackend backend)
    {
        const int bins = 7;
        using var input = backend.Allocate(new TensorShape(3, 5), "x");
        using var statistics = backend.Allocate(new TensorShape(StatisticsLayout.Length(bins)), "statistics");
        backend.Fill(input, 0.25f);
        backend.Summarize(input, statistics, 0, bins);
        var words = statistics.ToArray();
        HostStatistics.Of(input.ToArray(), bins).AssertMatches(words, "constant");
        Assert.That(StatisticsLayout.ReadCount(words, StatisticsLayout.Histogram + bins / 2), Is.EqualTo(15u));
        Assert.That(StatisticsLayout.ReadDouble(words, StatisticsLayout.SquaredDeviations), Is.Zero);
    }

    /// <summary>Nothing finite: min +∞, max −∞, empty sums and histogram, every value counted as NaN or ±∞.</summary>
    public static void NonFiniteTensorHasNoRange(IBackend backend)
    {
        const int bins = 4;
        using var input = backend.Allocate(new TensorShape(5), "x");
        using var statistics = backend.Allocate(new TensorShape(StatisticsLayout.Length(bins)), "statistics");
        float[] values = [float.NaN, float.PositiveInfinity, float.NaN, float.NegativeInfinity, float.NaN];
        input.Upload(values);
        backend.Summarize(input, statistics, 0, bins);
        var words = statistics.ToArray();
        HostStatistics.Of(values, bins).AssertMatches(words, "non-finite");
        Assert.That(words[StatisticsLayout.Minimum], Is.EqualTo(float.PositiveInfinity));
        Assert.That(words[StatisticsLayout.Maximum], Is.EqualTo(float.NegativeInfinity));
        Assert.That(StatisticsLayout.ReadCount(words, StatisticsLayout.NaNs), Is.EqualTo(3u));
        // no finite value: no norm either, not the 0 of an empty sum (a diverged gradient must not read as a vanished one)
        var summary = TensorSummary.Read(words, values.Length, bins);
        Assert.That(summary.NonFinite, Is.EqualTo(5));
        Assert.That(summary.Norm, Is.NaN);
        Assert.That(summary.Mean, Is.NaN);
    }

    /// <summary>(N,C,H,W) and (N,C) inputs: a channel is dead when it is ±0 in every sample; one non-zero value anywhere in
    /// the batch (or a NaN) keeps it alive.</summary>
    public static void DeadChannelsMatchHost(IBackend backend)
    {
        var random = new Random(3);
        foreach (var shape in new[] { new TensorShape(3, 6, 4, 5), new TensorShape(5, 9) })
        {
            int batch = shape[0], channels = shape[1], plane = shape.Length / (batch * channels);
            var values = new float[shape.Length];
            for (int i = 0; i < values.Length; i++) values[i] = random.Next(3) == 0 ? 0f : (float)random.NextDouble();
            void SetChannel(int c, Func<int, int, float> value)
            {
                for (int n = 0; n < batch; n++)
                    for (int p = 0; p < plane; p++) values[(n * channels + c) * plane + p] = value(n, p);
            }
            SetChannel(0, (_, _) => 0f);                                       // dead
            SetChannel(2, (n, _) => n % 2 == 0 ? 0f : -0f);                    // dead: −0 is zero
            SetChannel(3, (n, p) => n == batch - 1 && p == plane - 1 ? 1e-30f : 0f); // alive through one tiny value
            SetChannel(4, (n, p) => n == 1 && p == 0 ? float.NaN : 0f);        // alive: NaN is not zero
            int expected = 0;
            for (int c = 0; c < channels; c++)
            {
                bool alive = false;
                for (int n = 0; n < batch; n++)
                    for (int p = 0; p < plane; p++) alive |= values[(n * channels + c) * plane + p] != 0f || float.IsNaN(values[(n * channels + c) * plane + p]);
                if (!alive) expected++;
            }
            using var input = backend.Allocate(shape, "x");
            using var statistics = backend.Allocate(new TensorShape(3), "statistics");
            input.Upload(values);
            backend.Fill(statistics, 9f);
            backend.CountDeadChannels(input, statistics, 1);
            var words = statistics.ToArray();
            Assert.That(StatisticsLayout.ReadCount(words, 1), Is.EqualTo((uint)expected), $"dead channels of {shape}");
            Assert.That(expected, Is.GreaterThanOrEqualTo(2), "the fixture has dead channels");
            Assert.That(words[0], Is.EqualTo(9f));
            Assert.That(words[2], Is.EqualTo(9f));
        }
    }

    /// <summary>Predicted and true class (first maximum on ties), confidence and cross-entropy per row, with one-hot and soft
    /// targets, against the same formulas in double on the host.</summary>
    public static void ClassifyRowsMatchesHost(IBackend backend)
    {
        const int rows = 9, classes = 7;
        var random = new Random(11);
        var logits = new float[rows * classes];
        var targets = new float[rows * classes];
        for (int i = 0; i < logits.Length; i++) logits[i] = (float)(random.NextDouble() * 8 - 4);
        for (int n = 0; n < rows; n++)
        {
            if (n % 3 == 2)
            {
                targets[n * classes + 1] = 0.3f; // soft (mixup-like) target: the larger weight is the label
                targets[n * classes + 5] = 0.7f;
            }
            else targets[n * classes + random.Next(classes)] = 1f;
        }
        logits[4 * classes + 2] = logits[4 * classes + 6] = 50f; // a tie: the first maximum wins
        using var z = backend.Allocate(new TensorShape(rows, classes), "logits");
        using var t = backend.Allocate(new TensorShape(rows, classes), "target");
        using var results = backend.Allocate(new TensorShape(rows, 4), "results");
        z.Upload(logits);
        t.Upload(targets);
        backend.ClassifyRows(z, t, results);
        var r = results.ToArray();
        for (int n = 0; n < rows; n++)
        {
            var row = logits.AsSpan(n * classes, classes);
            var target = targets.AsSpan(n * classes, classes);
            int predicted = 0, label = 0;
            for (int k = 1; k < classes; k++)
            {
                if (row[k] > row[predicted]) predicted = k;
                if (target[k] > target[label]) label = k;
            }
            double max = row[predicted], sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            double loss = 0;
            for (int k = 0; k < classes; k++) loss -= target[k] * (row[k] - max - Math.Log(sum));
            Assert.That(r[n * 4 + 0], Is.EqualTo(predicted), $"row {n}: predicted");
            Assert.That(r[n * 4 + 1], Is.EqualTo(label), $"row {n}: label");
            Assert.That(r[n * 4 + 2], Is.EqualTo(1 / sum).Within(1e-6 / sum), $"row {n}: confidence");
            Assert.That(r[n * 4 + 3], Is.EqualTo(loss).Within(1e-5 * Math.Max(1, loss)), $"row {n}: cross-entropy");
        }
        Assert.That(r[4 * 4], Is.EqualTo(2f), "ties resolve to the first maximum");
    }

    /// <summary>Out-of-range words and bin counts are refused with the tensor's name.</summary>
    public static void BadArgumentsAreRefused(IBackend backend)
    {
        using var input = backend.Allocate(new TensorShape(4), "x");
        using var statistics = backend.Allocate(new TensorShape(StatisticsLayout.Length(8)), "stats");
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => backend.Summarize(input, statistics, 1, 8))!;
        Assert.That(error.Message, Does.Contain("'stats'"));
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.Summarize(input, statistics, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => backend.Summarize(input, statistics, 0, StatisticsLayout.MaxBins + 1));
        var rank = Assert.Throws<ShapeException>(() => backend.CountDeadChannels(input, statistics, 0))!;
        Assert.That(rank.Message, Does.Contain("'x'"));
        using var results = backend.Allocate(new TensorShape(3), "results");
        using var logits = backend.Allocate(new TensorShape(2, 2), "logits");
        Assert.Throws<ShapeException>(() => backend.ClassifyRows(logits, logits, results));
    }
}

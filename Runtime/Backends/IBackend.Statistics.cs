namespace NeuroPlugin.Backends;

// ── the training monitor's statistics (Monitoring/TrainingMonitor) ──
// Computed where the data lives and written into a caller-allocated statistics tensor, so that one asynchronous
// readback of that tensor brings every number of a sample to the host; nothing here reads back.
public partial interface IBackend
{
    /// <summary>
    /// Summary statistics of every element of <paramref name="input"/> (any shape, n values), written as
    /// <see cref="StatisticsLayout.Length"/>(<paramref name="bins"/>) 32-bit words into <paramref name="statistics"/> from
    /// word <paramref name="offset"/> on (layout and encodings: <see cref="StatisticsLayout"/>). Over the finite elements
    /// (NaN and ±∞ are only counted): <c>min</c>, <c>max</c>, the number of exact zeros, of elements with
    /// <c>x ≤ saturationLow</c> or <c>x ≥ saturationHigh</c>, <c>Σx</c> and <c>Σx²</c> (in double), then, with
    /// <c>μ = Σx / count</c>, <c>Σ(x − μ)²</c> (in double) and a histogram of <paramref name="bins"/> equal bins over
    /// <see cref="StatisticsLayout.HistogramRange"/> (<see cref="StatisticsLayout.Bin"/>: torch.histc's rule). Runs in two
    /// passes (range, then spread), so the histogram needs no host round trip. 1 ≤ bins ≤ <see cref="StatisticsLayout.MaxBins"/>.
    /// </summary>
    void Summarize(Tensor input, Tensor statistics, int offset, int bins,
        float saturationLow = float.NegativeInfinity, float saturationHigh = float.PositiveInfinity);

    /// <summary>Dead channels: writes, as a uint word at <c>statistics[offset]</c>, the number of channels c of
    /// <paramref name="input"/> (N,C,H,W), or (N,C) read as (N,C,1,1), whose every value <c>x[n,c,h,w]</c> over the whole
    /// batch is an exact zero (±0; NaN is not zero).</summary>
    void CountDeadChannels(Tensor input, Tensor statistics, int offset);

    /// <summary>
    /// Per-row classification results: logits and target (N,K) (each target row one-hot or a distribution), results
    /// (N,4), row n = <c>[argmax z, argmax t, p(argmax z), −Σₖ tₖ·log pₖ]</c> with <c>p = softmax(z)</c>, class indices as
    /// float values (the first maximum on ties), <c>log pₖ = zₖ − m − log Σⱼ e^(zⱼ − m)</c>, <c>m = max z</c>: the predicted
    /// class, the true class, the confidence and the cross-entropy of each sample (a batch's accuracy, an evaluation's
    /// confusion matrix and loss, its most confident mistakes).
    /// </summary>
    void ClassifyRows(Tensor logits, Tensor target, Tensor results);
}

/// <summary>
/// The words <see cref="IBackend.Summarize"/> writes, relative to its offset. A word is 32 bits of the (float) statistics
/// tensor: a float value, a uint count stored as its raw bits (exact up to 2³² − 1, unlike a float count), or half of a
/// double (low word first) for the sums, which the host reassembles (<see cref="ReadCount"/>, <see cref="ReadDouble"/>).
/// </summary>
public static class StatisticsLayout
{
    /// <summary>Smallest finite value (float); +∞ when there is none.</summary>
    public const int Minimum = 0;
    /// <summary>Largest finite value (float); −∞ when there is none.</summary>
    public const int Maximum = 1;
    /// <summary>Exact zeros (uint).</summary>
    public const int Zeros = 2;
    /// <summary>NaN values (uint).</summary>
    public const int NaNs = 3;
    /// <summary>+∞ and −∞ values (uint).</summary>
    public const int Infinities = 4;
    /// <summary>Finite values at or beyond a saturation bound (uint).</summary>
    public const int Saturated = 5;
    /// <summary>Σx over the finite values (double, 2 words).</summary>
    public const int Sum = 6;
    /// <summary>Σx² over the finite values (double, 2 words).</summary>
    public const int SumOfSquares = 8;
    /// <summary>Σ(x − μ)² over the finite values, μ their mean (double, 2 words).</summary>
    public const int SquaredDeviations = 10;
    /// <summary>First histogram count (uint, one word per bin).</summary>
    public const int Histogram = 12;
    /// <summary>The most bins a histogram may have.</summary>
    public const int MaxBins = 256;

    /// <summary>Words of one summary with <paramref name="bins"/> histogram bins.</summary>
    public static int Length(int bins) => Histogram + bins;

    /// <summary>The histogram's range from the finite minimum and maximum, as torch.histc chooses it: <c>[min, max]</c>, or
    /// <c>[min − 1, max + 1]</c> when they are equal (all finite values alike), in float arithmetic.</summary>
    public static (float Low, float High) HistogramRange(float minimum, float maximum) =>
        minimum == maximum ? (minimum - 1f, maximum + 1f) : (minimum, maximum);

    /// <summary>
    /// The bin of a finite <paramref name="value"/> in [low, high] (torch.histc's rule, in float arithmetic):
    /// <c>min(⌊(x − low)·bins / (high − low)⌋, bins − 1)</c>, so the maximum falls in the last bin. A range too wide for
    /// that product (≥ 10³⁶, only when values overflow) is first halved, which keeps every term finite; a range that ±1
    /// could not widen (|x| ≥ 2²⁴, all alike) puts everything in bin ⌊bins/2⌋, where x = (low + high)/2 falls otherwise.
    /// statistics.comp holds the same rule for the GL backend.
    /// </summary>
    public static int Bin(float value, float low, float high, int bins)
    {
        float width = high - low;
        if (!(width > 0f)) return bins / 2;
        float position = width < 1e36f
            ? (value - low) * bins / width
            : (0.5f * value - 0.5f * low) / (0.5f * high - 0.5f * low) * bins;
        return Math.Min((int)position, bins - 1);
    }

    /// <summary>A uint word (a count) of a statistics tensor read back as floats.</summary>
    public static uint ReadCount(ReadOnlySpan<float> words, int index) => BitConverter.SingleToUInt32Bits(words[index]);

    /// <summary>A double stored in two words, low 32 bits first.</summary>
    public static double ReadDouble(ReadOnlySpan<float> words, int index) =>
        BitConverter.Int64BitsToDouble((long)((ulong)BitConverter.SingleToUInt32Bits(words[index + 1]) << 32 | BitConverter.SingleToUInt32Bits(words[index])));

    /// <summary>Writes <paramref name="value"/> as a uint word (the CPU backend's side of <see cref="ReadCount"/>).</summary>
    public static void WriteCount(Span<float> words, int index, uint value) => words[index] = BitConverter.UInt32BitsToSingle(value);

    /// <summary>Writes a double into two words, low 32 bits first (the CPU backend's side of <see cref="ReadDouble"/>).</summary>
    public static void WriteDouble(Span<float> words, int index, double value)
    {
        ulong bits = (ulong)BitConverter.DoubleToInt64Bits(value);
        words[index] = BitConverter.UInt32BitsToSingle((uint)bits);
        words[index + 1] = BitConverter.UInt32BitsToSingle((uint)(bits >> 32));
    }

    /// <summary>Throws unless the summary fits: 1 ≤ bins ≤ <see cref="MaxBins"/> and the words lie inside the statistics tensor.</summary>
    public static void Check(Tensor statistics, int offset, int bins)
    {
        if (bins < 1 || bins > MaxBins)
            throw new ArgumentOutOfRangeException(nameof(bins), bins, $"a histogram has 1 to {MaxBins} bins");
        CheckWords(statistics, offset, Length(bins));
    }

    /// <summary>Throws unless words [offset, offset + count) lie inside <paramref name="statistics"/>.</summary>
    public static void CheckWords(Tensor statistics, int offset, int count)
    {
        if (offset < 0 || (long)offset + count > statistics.Length)
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"statistics words [{offset}, {(long)offset + count}) are outside '{statistics.Name}' {statistics.Shape} ({statistics.Length} words)");
    }

    /// <summary>Throws unless <see cref="IBackend.CountDeadChannels"/> can run: the input has a batch and a channel axis and
    /// the word lies inside the statistics tensor.</summary>
    public static void CheckDeadChannels(Tensor input, Tensor statistics, int offset)
    {
        CheckWords(statistics, offset, 1);
        if (input.Shape.Rank < 2)
            throw new ShapeException($"dead channels of '{input.Name}' {input.Shape}: the input needs a batch and a channel axis");
    }

    /// <summary>Throws unless <see cref="IBackend.ClassifyRows"/> can run: logits and target (N,K) alike, results (N,4).</summary>
    public static void CheckClassifyShapes(Tensor logits, Tensor target, Tensor results)
    {
        if (logits.Shape.Rank != 2 || target.Shape != logits.Shape)
            throw new ShapeException($"classify rows: logits '{logits.Name}' {logits.Shape} and target '{target.Name}' {target.Shape} must both be (N,K)");
        if (results.Length != logits.Shape[0] * 4)
            throw new ShapeException($"classify rows: results '{results.Name}' {results.Shape} needs (N,4) = {logits.Shape[0] * 4} values for logits {logits.Shape}");
    }
}

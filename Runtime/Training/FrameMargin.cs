namespace NeuroPlugin.Training;

/// <summary>
/// The time a <see cref="FrameBudget"/> sets aside from each budget for what its estimates miss: the
/// <see cref="Percentile"/>-th percentile of the surprises (a frame's measured time less the estimates it planned with)
/// of the last <see cref="Window"/> measured frames, never negative. It is computed once per measured frame (a sort of
/// at most 256 values, no allocation) and read at every frame's start.
/// </summary>
internal sealed class FrameMargin
{
    /// <summary>Frames whose surprise the margin is learned from.</summary>
    internal const int Window = 256;
    /// <summary>The default <see cref="Percentile"/>.</summary>
    public const double DefaultPercentile = 90;

    readonly double[] surprises = new double[Window]; // the latest frames' measured less planned seconds (a ring)
    readonly double[] sorted = new double[Window];
    double percentile = DefaultPercentile;
    int count, next;

    /// <summary>The margin in seconds: 0 until a frame is measured, and when <see cref="Percentile"/> is 0.</summary>
    public double Seconds { get; private set; }

    /// <summary>Which percentile of the latest surprises is set aside (0 to 100; 0: no margin).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside [0, 100].</exception>
    public double Percentile
    {
        get => percentile;
        set
        {
            if (!(value is >= 0 and <= 100)) throw new ArgumentOutOfRangeException(nameof(Percentile), value, "a percentile is between 0 and 100");
            percentile = value;
            Seconds = Compute();
        }
    }

    /// <summary>Takes one measured frame's surprise, in seconds, into the window (the oldest leaves it).</summary>
    public void Note(double surpriseSeconds)
    {
        surprises[next] = surpriseSeconds;
        next = (next + 1) % Window;
        count = Math.Min(count + 1, Window);
        Seconds = Compute();
    }

    double Compute()
    {
        if (count == 0 || percentile == 0) return 0;
        Array.Copy(surprises, sorted, count);
        Array.Sort(sorted, 0, count);
        int rank = (int)Math.Ceiling(percentile / 100 * count) - 1;
        return Math.Max(0, sorted[Math.Clamp(rank, 0, count - 1)]);
    }
}

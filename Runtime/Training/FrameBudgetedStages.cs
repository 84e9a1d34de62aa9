namespace NeuroPlugin.Training;

/// <summary>
/// Work spread over frames as a sequence of stages, what <see cref="FrameBudgetedTrainer"/> (training steps) and
/// <see cref="FrameBudgetedInference"/> (forward passes) share: each <c>Advance</c> runs the stages whose estimated cost
/// fits its time budget, a large stage in parts, by one scheduler (<see cref="FrameBudget"/>) whose position and figures
/// are read here. All calls on the backend's thread; Dispose releases the timing queries only.
/// </summary>
public abstract class FrameBudgetedStages : IDisposable
{
    bool disposed;

    private protected FrameBudgetedStages() { }

    /// <summary>The scheduler; the subclass's constructor sets it, and replaces it when the stages change.</summary>
    private protected FrameBudget Budget { get; set; } = null!;

    /// <summary>The stage the next <c>Advance</c> runs first (or continues).</summary>
    private protected int next;

    /// <summary>The stage the next <c>Advance</c> runs first (or continues); 0 at the start of a step or pass.</summary>
    public int NextStage => next;
    /// <summary>The part of <see cref="NextStage"/> the next <c>Advance</c> runs first; 0 at a stage boundary.</summary>
    public int NextPart => Budget.NextPart;
    /// <summary>Parts stage <paramref name="stage"/> runs as now (1: whole).</summary>
    public int StagePartCount(int stage) => Budget.PartCount(stage);

    /// <summary>Whether large stages run in parts finer than an op (the default; see <see cref="FrameBudget"/>). False runs each
    /// stage whole, one op per item, as before parts existed: for comparisons. The results are the same bits either way.</summary>
    public bool SplitStages
    {
        get => Budget.SplitStages;
        set => Budget.SplitStages = value;
    }

    /// <summary>The default <see cref="MarginPercentile"/>.</summary>
    public const double DefaultMarginPercentile = FrameBudget.DefaultMarginPercentile;

    /// <summary>Which percentile of what the cost estimates missed by in the latest frames is set aside from each budget
    /// (0 to 100, default 90; 0: none): higher keeps more frames within their budget and does less work per frame. See
    /// <see cref="Margin"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside [0, 100].</exception>
    public double MarginPercentile
    {
        get => Budget.MarginPercentile;
        set => Budget.MarginPercentile = value;
    }

    /// <summary>The default <see cref="LastItemLimit"/>: 1 ms.</summary>
    public static readonly TimeSpan DefaultLastItemLimit = FrameBudget.DefaultLastItemLimit;

    /// <summary>The longest a frame's last item is planned at (default 1 ms; zero: no limit): the work that would fill a
    /// frame's end runs as a short item of its own, started once the clock has confirmed what the items before it took, so
    /// time lost to another process mid-item puts a frame over by about that item's length at most. A smaller limit keeps
    /// more frames within their budget at the cost of a call more per frame. See <see cref="FrameBudget.LastItemLimit"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public TimeSpan LastItemLimit
    {
        get => Budget.LastItemLimit;
        set => Budget.LastItemLimit = value;
    }

    /// <summary>The time now set aside from each budget for what the estimates miss (see <see cref="MarginPercentile"/>).</summary>
    public TimeSpan Margin => Budget.Margin;

    /// <summary>The last <c>Advance</c>'s figures (budget, estimate, host time, stages, steps).</summary>
    public FrameReport LastFrame => Budget.LastFrame;
    /// <summary>GPU time of the latest frame whose timer queries came back (a few frames late); null on the CPU backend.</summary>
    public TimeSpan? LastDeviceFrameTime => Budget.LastDeviceFrameTime;
    /// <summary>Frames that took longer than their budget (see <see cref="FrameBudget.Overruns"/>).</summary>
    public long Overruns => Budget.Overruns;
    /// <summary>The largest measured excess over a frame's budget so far.</summary>
    public TimeSpan MaxOverrun => Budget.MaxOverrun;
    /// <summary>Sets <see cref="Overruns"/> and <see cref="MaxOverrun"/> back to zero (after warm-up: the first frames
    /// compile shaders and allocate state); the cost estimates are kept.</summary>
    public void ResetStatistics() => Budget.ResetStatistics();

    /// <summary>How long a warm-up waits at its end for the device's last timestamps (GL).</summary>
    static readonly TimeSpan DeviceTimesTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The warm-up both runners share, from a sequence boundary: one sequence of <paramref name="work"/> through a scheduler
    /// of its own (its first runs compile the JIT's methods, the GL programs and the driver's code, and cost many times
    /// their later runs, so what it measures is dropped with it), then <paramref name="measured"/> sequences through
    /// <see cref="Budget"/>, which learns their costs and splits for <paramref name="budget"/>; then the device's last
    /// timestamps are awaited, and the overrun counts of these calls forgotten.
    /// </summary>
    private protected void WarmUp<TWork>(TimeSpan budget, int measured, ref TWork work, ref int position, IBackend backend, int stageCount)
        where TWork : struct, IStagedWork
    {
        using (var compiling = new FrameBudget(backend, stageCount) { SplitStages = Budget.SplitStages })
            compiling.RunSequences(budget, ref work, ref position, 1);
        Budget.RunSequences(budget, ref work, ref position, measured);
        Budget.AwaitDeviceTimes(DeviceTimesTimeout);
        Budget.ResetStatistics();
    }

    /// <summary>The checks of a warm-up's arguments and state.</summary>
    private protected void CheckWarmUp(TimeSpan budget, int measured, string sequences)
    {
        ThrowIfDisposed();
        if (budget <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(budget), budget, "a warm-up's frame budget must be positive: the budget the frames will have");
        ArgumentOutOfRangeException.ThrowIfLessThan(measured, 1, $"measured{sequences}");
        if (next != 0 || Budget.NextPart != 0)
            throw new InvalidOperationException($"a warm-up starts between {sequences.ToLowerInvariant()}, and stage {next} is in progress: finish it first");
    }

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);

    /// <summary>Releases the timer queries (nothing else: not the plan, optimizer, batches or guard). Safe to call twice.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Budget.Dispose();
    }
}

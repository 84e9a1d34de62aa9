using System.Diagnostics;

namespace NeuroPlugin.Training;

/// <summary>One <c>Advance</c> call of a frame-budgeted runner (<see cref="FrameBudgetedTrainer"/>, <see cref="FrameBudgetedInference"/>).</summary>
/// <param name="Budget">The time the caller allowed.</param>
/// <param name="EstimatedTime">The summed cost estimates of the items that ran (what the runner planned with).</param>
/// <param name="HostTime">Wall-clock time the call took on the calling thread (on the CPU backend, the work itself; on GL,
/// issuing the commands).</param>
/// <param name="Stages">Items run: whole stages, or windows of consecutive parts of one stage split finer than an op
/// (<see cref="FrameBudget"/>); each is one run of the stage's host code.</param>
/// <param name="StepsCompleted">Training steps (or inference passes) finished in this call.</param>
public readonly record struct FrameReport(TimeSpan Budget, TimeSpan EstimatedTime, TimeSpan HostTime, int Stages, int StepsCompleted);

/// <summary>
/// The shared engine of the frame-budgeted runners: runs stages of a repeating sequence, or windows of their parts, while
/// their estimated cost fits the frame's budget, and learns each part's cost.
/// <para>Parts. A stage the work can repeat (<see cref="IStagedWork.CanSplit"/>: one node's forward or backward, a
/// parameter's update) can run in windows of its units of work (<see cref="WorkSlice"/>: work groups, or pieces of costly
/// ones, on GL; on the CPU
/// (sample, channel tile) blocks and output-channel tiles of a convolution, element blocks and op calls), which give the
/// bits of one whole run. Its units are counted by an empty window the first time it comes up; it is then cut into
/// <see cref="InitialParts"/> parts of equal unit counts (at most one per unit), and whenever a stage starts whose parts
/// cost more than <see cref="PartShare"/> of the smallest budget seen, into as many more as that takes (up to
/// <see cref="MaxParts"/>; never coarser again). A part is the scheduler's grain, not a call: an item is a window of
/// consecutive parts of one stage, as many as fit, issued by one run of the stage's host code. Stages the work cannot
/// repeat (the batch, the optimizer's penalty stage) run whole.</para>
/// <para>Estimates. Each whole stage, or each part of a split stage, has a cost estimate: on the CPU its host time, on a
/// backend with a device timer (GL) the larger of its host time and its device time between two timestamps, each smoothed
/// with a fast-attack, slow-decay filter: a measurement above the estimate replaces it, up to twice the estimate, one
/// below moves it a quarter of the way down; a measurement over <see cref="Outlier"/> times its estimate is taken only
/// when one of the item's parts was high at its last run too (one alone is most likely a time slice lost to another
/// process; a part or a region of a stage that costs more every time, as a stage's first part can on GL, is learned at
/// its second run, however the windows fall). An item's
/// measurement moves the sum of its parts' estimates, each part keeping its share (the cost is learned per unit of work:
/// when a stage is cut finer, each new part starts from the estimates of the units it covers). A split stage also has a
/// call cost, the fixed cost of one run of its host code whatever its window (the intercept of a line through its items'
/// measurements against the share of its units each covered, <c>CallCost</c>): an item is planned at the call cost plus its
/// parts', and its parts learn what the call cost leaves of its measurement, so a window of one part is not planned at a
/// mere share of a call and a window of many is not planned at many calls. Device timestamps are read back a few frames later, only once the GL says they are available
/// (never a stall); a ring of <see cref="TimedFrames"/> frames of timestamps is kept, and a frame whose timestamps are
/// still pending when its slot comes round again is dropped unmeasured. A part not measured yet counts as the mean of its
/// stage's measured parts; an item with no estimate at all (the first run of a stage; on GL, until timestamps come back)
/// runs only as the first item of a frame, and as one part.</para>
/// <para>Policy. A frame starts the next item only while <c>spent + estimate(item) ≤ budget − margin</c> (on GL also less
/// the learned cost of the frame's closing timestamp and flush), where the margin (<see cref="Margin"/>) is what the
/// estimates missed by in the latest frames (by default their 90th percentile, <see cref="MarginPercentile"/>, learned from
/// the clock or the device timer, at most half the budget), and spent is the host time of the call so far (reading
/// the timestamps that came back included) on the CPU and, on GL (where the device runs behind the host), the larger of that and the summed
/// estimates of the items issued; the item is the longest window of the stage's next parts whose estimate fits, and
/// which does not reach into the frame's last <see cref="LastItemLimit"/> unless it is no longer than that (so the frame's
/// last item is short, and starts only once the clock has confirmed the ones before it). A frame always runs at least one
/// part, so the work always progresses; the largest overrun is therefore about one part (or one unsplittable stage) plus
/// the estimation error beyond the margin, and time lost mid-item overruns by about the length of the item it hit.</para>
/// </summary>
internal sealed partial class FrameBudget : IDisposable
{
    /// <summary>Frames of device timestamps in flight (results usually arrive one to three frames later).</summary>
    internal const int TimedFrames = 6;
    /// <summary>On a backend with a device timer, the items one frame may run are this many times the stages of a sequence
    /// (the timestamp ring's size per frame).</summary>
    internal const int MaxTimedSequencesPerFrame = 8;
    /// <summary>Parts a splittable stage starts with, once its units are counted.</summary>
    internal const int InitialParts = 4;
    /// <summary>Most parts one stage is split into.</summary>
    internal const int MaxParts = 256;
    /// <summary>A stage is split finer while a part costs more than this share of the smallest budget seen (or more than
    /// half the <see cref="LastItemLimit"/>, for budgets over 4 ms): the grain of the frame's end (a part that does not fit
    /// what is left is not started). Windows of parts run as one call, so fine
    /// parts cost no more host work than coarse ones.</summary>
    internal const double PartShare = 0.125;
    const double Decay = 0.25;
    /// <summary>The most one measurement raises an estimate by: a real rise is followed within a few runs, while one
    /// time slice lost to another process (hundreds of times an item's cost on a loaded machine) does not leave the item
    /// planned at that cost for dozens of runs.</summary>
    const double Growth = 2;
    /// <summary>A measurement more than this many times its estimate raises it only when one of the item's parts was
    /// high at its last run too: one such is most likely a time slice lost to another process, which would otherwise
    /// raise every part of a window at once.</summary>
    const double Outlier = 1.5;
    /// <summary>Seconds a sum of estimates may exceed the budget by and still fit: the rounding of sums taken in different
    /// orders (a window's parts added one by one, the next frame's clock after them), so that a part a window left out
    /// for a rounding error is not started alone in the same frame.</summary>
    const double Rounding = 1e-12;
    /// <summary>The largest share of a budget the margin takes: under a load that makes surprises bigger than this, the
    /// work still progresses and the frames run over.</summary>
    internal const double MaxMarginShare = 0.5;
    /// <summary>The default <see cref="MarginPercentile"/>.</summary>
    public const double DefaultMarginPercentile = FrameMargin.DefaultPercentile;
    /// <summary>The default <see cref="LastItemLimit"/>.</summary>
    public static readonly TimeSpan DefaultLastItemLimit = TimeSpan.FromMilliseconds(1);

    readonly int stageCount, itemsPerTimedFrame;
    readonly double[] hostCost, deviceCost;   // smoothed seconds per whole stage; NaN: not measured yet
    readonly long[] units;                   // per stage: units of work; −1: not counted yet (or not splittable)
    readonly int[] parts;                    // per stage: parts it runs as (1: whole)
    readonly double[][] partHost, partDevice;   // per split stage, MaxParts each: smoothed seconds per part
    readonly bool[][] hostOutlier, deviceOutlier; // per stage, per part (MaxParts each; a whole stage: [0]): the last
                                                // measurement of an item holding it was an outlier, not taken
    readonly CallCost[] callHost, callDevice;   // per split stage: the fixed cost of one run of its host code
    double closingCost = double.NaN;         // GL: host seconds of a frame's closing timestamp and flush
    bool closingOutlier;
    readonly double[] resplitScratch = new double[MaxParts];
    readonly WorkSlice slice = new();
    readonly IDeviceTimer? timer;
    readonly int[] frameStages, frameParts, frameCounts, frameSplits; // [frame slot × (itemsPerTimedFrame + 1)]: the item starting at each timestamp
    readonly int[] frameItemCounts;          // items timed per frame slot; 0: nothing pending
    readonly long[] frameNumbers;
    readonly TimeSpan[] frameBudgets, frameHostTimes;
    readonly double[] framePlanned;          // per frame slot: the summed estimates of the items it ran (seconds)
    readonly FrameMargin margin = new();
    readonly Func<long> clock;
    long frameNumber;
    TimeSpan lastItemLimit = DefaultLastItemLimit;
    double lastItemSeconds = DefaultLastItemLimit.TotalSeconds;
    int part;                                // the part of stage `next` the next item starts at
    double smallestBudget = double.PositiveInfinity;

    public FrameBudget(IBackend backend, int stageCount) : this(backend, stageCount, Stopwatch.GetTimestamp) { }

    /// <param name="backend">Where the work runs (its device timer, if any, measures the items).</param>
    /// <param name="stageCount">Stages in one sequence.</param>
    /// <param name="clock">The host clock in <see cref="Stopwatch.Frequency"/> ticks per second (tests pass a fake one).</param>
    internal FrameBudget(IBackend backend, int stageCount, Func<long> clock)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stageCount, 1);
        this.stageCount = stageCount;
        this.clock = clock;
        hostCost = new double[stageCount];
        deviceCost = new double[stageCount];
        Array.Fill(hostCost, double.NaN);
        Array.Fill(deviceCost, double.NaN);
        units = new long[stageCount];
        Array.Fill(units, -1L);
        parts = new int[stageCount];
        Array.Fill(parts, 1);
        hostOutlier = new bool[stageCount][];
        deviceOutlier = new bool[stageCount][];
        callHost = new CallCost[stageCount];
        callDevice = new CallCost[stageCount];
        // every stage's part estimates up front (2 × MaxParts doubles a stage): a stage first met, or first split, in a
        // later frame allocates nothing then
        partHost = new double[stageCount][];
        partDevice = new double[stageCount][];
        for (int stage = 0; stage < stageCount; stage++)
        {
            (partHost[stage], partDevice[stage]) = (new double[MaxParts], new double[MaxParts]);
            (hostOutlier[stage], deviceOutlier[stage]) = (new bool[MaxParts], new bool[MaxParts]);
        }
        itemsPerTimedFrame = MaxTimedSequencesPerFrame * stageCount;
        timer = backend.CreateDeviceTimer(TimedFrames * (itemsPerTimedFrame + 1));
        int stamps = timer is null ? 0 : TimedFrames * (itemsPerTimedFrame + 1);
        frameStages = new int[stamps];
        frameParts = new int[stamps];
        frameCounts = new int[stamps];
        frameSplits = new int[stamps];
        frameItemCounts = new int[TimedFrames];
        frameNumbers = new long[TimedFrames];
        frameBudgets = new TimeSpan[TimedFrames];
        frameHostTimes = new TimeSpan[TimedFrames];
        framePlanned = new double[TimedFrames];
    }

    /// <summary>Whether device time is measured (GL) in addition to host time.</summary>
    public bool MeasuresDevice => timer is not null;

    /// <summary>The last call's figures.</summary>
    public FrameReport LastFrame { get; private set; }

    /// <summary>Device time of the latest frame whose timestamps have come back; null on backends without a device
    /// timer or before any came back.</summary>
    public TimeSpan? LastDeviceFrameTime { get; private set; }
    /// <summary>The number of that frame (1 = the first run).</summary>
    public long LastDeviceFrameNumber { get; private set; }

    /// <summary>Frames whose measured time exceeded the budget: host time on the CPU backend; on GL the larger of host
    /// and device time, counted when the frame's timestamps come back (dropped frames are not counted).</summary>
    public long Overruns { get; private set; }

    /// <summary>The largest measured excess over the budget so far (as <see cref="Overruns"/> measures).</summary>
    public TimeSpan MaxOverrun { get; private set; }

    /// <summary>Whether splittable stages run in parts (the default); false runs every stage whole, as one op per item
    /// (for comparisons). Takes effect at the next stage boundary.</summary>
    public bool SplitStages { get; set; } = true;

    /// <summary>The part of the current stage the next item starts at (0 at a stage boundary).</summary>
    public int NextPart => part;

    /// <summary>Parts stage <paramref name="stage"/> runs as now (1: whole).</summary>
    public int PartCount(int stage) => parts[stage];

    /// <summary>The item running now (for tests: read from inside the work): its stage, parts [FirstPart, EndPart) and the
    /// estimate it was started with (NaN: none).</summary>
    internal (int Stage, int FirstPart, int EndPart, double Estimate) RunningItem { get; private set; }

    /// <summary>How far the current sequence is: stages done plus the done share of the stage in progress (by parts),
    /// over the stage count; 0 at a sequence boundary.</summary>
    public double SequenceFraction(int next) => (next + (double)part / parts[next]) / stageCount;

    /// <summary>The time set aside from each budget for what the estimates miss: the <see cref="MarginPercentile"/>-th
    /// percentile of the surprises (a frame's measured time less the estimates it planned with) of the last
    /// <see cref="FrameMargin.Window"/> measured frames, at most <see cref="MaxMarginShare"/> of the budget. Zero until frames
    /// are measured, and when the percentile is 0.</summary>
    public TimeSpan Margin => TimeSpan.FromSeconds(margin.Seconds);

    /// <summary>Which percentile of the latest frames' surprises is set aside (0 to 100; 0: no margin). The default, 90,
    /// absorbs the usual misses of the estimates at a small cost in work per frame; 99 also plans around the rare long
    /// misses (a time slice lost to another process), at the cost of much of the budget on a busy machine.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Outside [0, 100].</exception>
    public double MarginPercentile
    {
        get => margin.Percentile;
        set => margin.Percentile = value;
    }

    /// <summary>The longest a frame's last item is planned at (default 1 ms; zero: no limit): a window of parts that would
    /// reach into the last <c>LastItemLimit</c> of the frame's budget stops where that begins, unless the whole window is no
    /// longer than the limit; the rest of the budget then goes to the next item. So the frame's last item starts only after
    /// the clock has confirmed what the ones before it took, and an item that loses time to another process (a lost time
    /// slice makes an item take several times its estimate) puts the frame over by about its own length, not the frame's.
    /// It costs a call more in frames whose window would have run to their end (on llvmpipe each call wakes the driver's
    /// threads: tens of microseconds a dispatch).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public TimeSpan LastItemLimit
    {
        get => lastItemLimit;
        set
        {
            if (value < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(LastItemLimit), value, "a frame's last item's limit cannot be negative");
            (lastItemLimit, lastItemSeconds) = (value, value.TotalSeconds);
        }
    }

    /// <summary>Forgets the overrun counts (e.g. after warm-up, whose first frames include shader compiles); estimates stay.</summary>
    public void ResetStatistics()
    {
        Overruns = 0;
        MaxOverrun = TimeSpan.Zero;
    }

    /// <summary>Runs <paramref name="count"/> whole sequences of <paramref name="work"/> from a sequence boundary, at
    /// <paramref name="budget"/> per call, call after call (a warm-up: see <see cref="FrameBudgetedStages"/>).</summary>
    internal void RunSequences<TWork>(TimeSpan budget, ref TWork work, ref int next, int count) where TWork : struct, IStagedWork
    {
        for (int done = 0; done < count;) done += Run(budget, ref work, ref next, stopAtEnd: true);
    }

    /// <summary>Waits, polling, until the timestamps of every frame still timed have come back and are taken into the
    /// estimates, or <paramref name="timeout"/> has passed (a frame then stays pending, as usual): for a loading screen,
    /// after a warm-up. Nothing to wait for without a device timer.</summary>
    internal void AwaitDeviceTimes(TimeSpan timeout)
    {
        if (timer is null) return;
        timer.Flush();
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            CollectDeviceTimes();
            if (Array.TrueForAll(frameItemCounts, count => count == 0) || Stopwatch.GetTimestamp() > deadline) return;
            Thread.Sleep(1);
        }
    }

    /// <summary>Forgets the position inside a stage (the runner abandoned its sequence).</summary>
    public void ResetPosition() => part = 0;

    /// <summary>The current cost estimate of one whole stage (the sum of its parts' when split); null before it was measured.</summary>
    public TimeSpan? Estimate(int stage) => StageSeconds(stage) is var s && !double.IsNaN(s) ? TimeSpan.FromSeconds(s + (parts[stage] > 1 ? CallSeconds(stage) : 0)) : null;

    /// <summary>The estimate the scheduler plans part <paramref name="part"/> of <paramref name="stage"/> with under the
    /// stage's current split (the whole stage when it is not split); null when it has none.</summary>
    internal TimeSpan? ItemEstimate(int stage, int part) =>
        ItemSeconds(stage, part) is var s && !double.IsNaN(s) ? TimeSpan.FromSeconds(s) : null;

    /// <summary>What part <paramref name="part"/> of a split stage adds to a window that already holds a part (its work
    /// without the call cost); null when it has no estimate.</summary>
    internal TimeSpan? PartEstimate(int stage, int part) =>
        PartSeconds(stage, part) is var s && !double.IsNaN(s) ? TimeSpan.FromSeconds(s) : null;

    /// <summary>The learned fixed cost of one call of split stage <paramref name="stage"/> (0 until learned).</summary>
    internal TimeSpan CallEstimate(int stage) => TimeSpan.FromSeconds(CallSeconds(stage));

    /// <summary>Sum of the known estimates: roughly what one full sequence (a training step) costs.</summary>
    public TimeSpan EstimatedTotal
    {
        get
        {
            double sum = 0;
            for (int i = 0; i < stageCount; i++)
                if (StageSeconds(i) is var s && !double.IsNaN(s)) sum += s + (parts[i] > 1 ? CallSeconds(i) : 0);
            return TimeSpan.FromSeconds(sum);
        }
    }

    /// <summary>
    /// Runs items of <paramref name="work"/> from <paramref name="next"/> on while they fit <paramref name="budget"/>
    /// (see the class remarks), wrapping to stage 0 after the last. Stops at the end of a sequence when
    /// <paramref name="stopAtEnd"/>, and before stage 0 when <see cref="IStagedWork.MayStartSequence"/> says so.
    /// Returns the number of sequences completed; <paramref name="next"/> is the stage the next call resumes in.
    /// </summary>
    public int Run<TWork>(TimeSpan budget, ref TWork work, ref int next, bool stopAtEnd) where TWork : struct, IStagedWork
    {
        if (budget < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(budget), budget, "a frame budget cannot be negative");
        // the whole call counts against the budget: reading the timestamps that came back, the items, and (GL) the frame's
        // closing timestamp and flush, whose cost is set aside from the start
        long start = clock();
        CollectDeviceTimes();
        frameNumber++;
        double budgetSeconds = budget.TotalSeconds, planned = 0;
        if (budgetSeconds > 0 && budgetSeconds < smallestBudget) smallestBudget = budgetSeconds;
        budgetSeconds -= double.IsNaN(closingCost) ? 0 : closingCost;
        budgetSeconds -= Math.Min(margin.Seconds, MaxMarginShare * budgetSeconds);
        int slot = (int)(frameNumber % TimedFrames), items = 0, completed = 0;
        int timestampBase = slot * (itemsPerTimedFrame + 1);
        frameItemCounts[slot] = 0; // a frame still pending in this slot is dropped unmeasured
        while (true)
        {
            if (part == 0 && next != 0 && work.Skips(next))
            {
                if (EndStage(ref work, ref next, ref completed) && stopAtEnd) break;
                continue;
            }
            if (part == 0) PlanParts(ref work, next);
            // on the CPU the clock is the truth; on GL the device may run behind the host, so the estimates count too
            double elapsed = Seconds(clock() - start), spent = timer is null ? elapsed : Math.Max(elapsed, planned);
            double estimate = ItemSeconds(next, part);
            if (items > 0)
            {
                if (timer is not null && items == itemsPerTimedFrame) break;
                if (double.IsNaN(estimate) || spent + estimate > budgetSeconds + Rounding) break;
            }
            if (next == 0 && part == 0 && !work.MayStartSequence()) break;

            // the item: the longest window of the stage's next parts that fits (at least one part), and that does not reach
            // into the frame's last LastItemLimit unless it is no longer than that
            int end = part + 1, count = parts[next];
            if (!double.IsNaN(estimate))
                for (; end < count; end++)
                {
                    double more = PartSeconds(next, end), window = estimate + more;
                    if (double.IsNaN(more) || spent + window > budgetSeconds + Rounding) break;
                    if (spent + window > budgetSeconds - lastItemSeconds + Rounding && window > lastItemSeconds) break;
                    estimate = window;
                }
            if (timer is not null)
            {
                timer.Record(timestampBase + items);
                frameStages[timestampBase + items] = next;
                frameParts[timestampBase + items] = part;
                frameCounts[timestampBase + items] = end - part;
                frameSplits[timestampBase + items] = count;
            }
            RunningItem = (next, part, end, estimate);
            long itemStart = clock();
            RunItem(ref work, next, end);
            double host = Seconds(clock() - itemStart);
            if (count == 1) Smooth(ref hostCost[next], host, ref hostOutlier[next][0]);
            else Measured(partHost[next], ref callHost[next], units[next], count, part, end, host, hostOutlier[next]);
            planned += double.IsNaN(estimate) ? host : estimate;
            items++;
            if ((part = end) < count) continue;
            if (EndStage(ref work, ref next, ref completed) && stopAtEnd) break;
        }
        if (timer is not null && items > 0)
        {
            long closing = clock();
            timer.Record(timestampBase + items);
            timer.Flush();
            Smooth(ref closingCost, Seconds(clock() - closing), ref closingOutlier);
        }
        var hostTime = TimeSpan.FromSeconds(Seconds(clock() - start));
        LastFrame = new FrameReport(budget, TimeSpan.FromSeconds(planned), hostTime, items, completed);
        if (timer is null) NoteMeasured(hostTime, budget, planned);
        else if (items > 0)
        {
            frameItemCounts[slot] = items;
            frameNumbers[slot] = frameNumber;
            frameBudgets[slot] = budget;
            frameHostTimes[slot] = hostTime;
            framePlanned[slot] = planned;
        }
        return completed;
    }

    /// <summary>Moves past stage <paramref name="next"/>; true when that ended the sequence (counted in
    /// <paramref name="completed"/>, announced by <see cref="IStagedWork.SequenceCompleted"/>).</summary>
    bool EndStage<TWork>(ref TWork work, ref int next, ref int completed) where TWork : struct, IStagedWork
    {
        part = 0;
        if (++next < stageCount) return false;
        next = 0;
        completed++;
        work.SequenceCompleted();
        return true;
    }

    /// <summary>Runs the item of stage <paramref name="stage"/> from part <see cref="part"/> to <paramref name="end"/>: the
    /// whole stage, or the window of units those parts cover, in one run of the stage's host code.</summary>
    void RunItem<TWork>(ref TWork work, int stage, int end) where TWork : struct, IStagedWork
    {
        int count = parts[stage];
        if (count == 1 && units[stage] < 0)
        {
            work.RunStage(stage);
            return;
        }
        long total = units[stage];
        long first = total * part / count, last = end == count ? long.MaxValue : total * end / count;
        long counted = work.RunStagePart(stage, slice, first, last);
        if (counted != total)
            throw new InvalidOperationException($"stage {stage} issued {counted} units of work where it issued {total} before: " +
                "a stage run in parts must issue the same work every time");
    }

    /// <summary>Runs the rest of the sequence in progress now, without a budget or measurements (nothing at a sequence
    /// boundary): the rest of the current stage as one window, then whole stages (those the work skips passed over).</summary>
    public void CompleteSequence<TWork>(ref TWork work, ref int next) where TWork : struct, IStagedWork
    {
        if (next == 0 && part == 0) return;
        if (part > 0)
        {
            long first = units[next] * part / parts[next];
            work.RunStagePart(next, slice, first, long.MaxValue);
            part = 0;
            next++;
        }
        for (; next < stageCount; next++)
            if (!work.Skips(next)) work.RunStage(next);
        next = 0;
        work.SequenceCompleted();
    }

    static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;

    /// <summary>Reads every frame's device timestamps that have become available (non-blocking) into the estimates.</summary>
    void CollectDeviceTimes()
    {
        if (timer is null) return;
        for (int k = 1; k <= TimedFrames; k++)
        {
            int slot = (int)((frameNumber + k) % TimedFrames); // oldest first
            int count = frameItemCounts[slot];
            if (count == 0) continue;
            int baseIndex = slot * (itemsPerTimedFrame + 1);
            if (!timer.TryRead(baseIndex + count, out long end)) continue;
            if (!timer.TryRead(baseIndex, out long previous)) continue;
            long first = previous;
            for (int p = 1; p <= count; p++)
            {
                if (!timer.TryRead(baseIndex + p, out long now)) break; // earlier timestamps complete first; be safe anyway
                int item = baseIndex + p - 1, stage = frameStages[item];
                double seconds = (now - previous) * 1e-9;
                if (frameSplits[item] == parts[stage]) // measured under the stage's current split
                {
                    if (parts[stage] == 1) Smooth(ref deviceCost[stage], seconds, ref deviceOutlier[stage][0]);
                    else Measured(partDevice[stage], ref callDevice[stage], units[stage], parts[stage], frameParts[item], frameParts[item] + frameCounts[item], seconds, deviceOutlier[stage]);
                }
                previous = now;
            }
            frameItemCounts[slot] = 0;
            var deviceTime = TimeSpan.FromSeconds((end - first) * 1e-9);
            if (frameNumbers[slot] >= LastDeviceFrameNumber)
            {
                LastDeviceFrameTime = deviceTime;
                LastDeviceFrameNumber = frameNumbers[slot];
            }
            NoteMeasured(deviceTime > frameHostTimes[slot] ? deviceTime : frameHostTimes[slot], frameBudgets[slot], framePlanned[slot]);
        }
    }

    /// <summary>Counts an overrun when a frame's measured time exceeded its budget, and keeps the frame's surprise (its
    /// measured time less <paramref name="planned"/>, the estimates it planned with) for the margin.</summary>
    void NoteMeasured(TimeSpan measured, TimeSpan budget, double planned)
    {
        margin.Note(measured.TotalSeconds - planned);
        if (measured <= budget) return;
        Overruns++;
        if (measured - budget > MaxOverrun) MaxOverrun = measured - budget;
    }

    public void Dispose()
    {
        timer?.Dispose();
        slice.Dispose();
    }
}

/// <summary>A repeating sequence of stages a <see cref="FrameBudget"/> runs (a struct, so calls are direct and allocate nothing).</summary>
internal interface IStagedWork
{
    /// <summary>Runs one stage whole.</summary>
    void RunStage(int stage);
    /// <summary>Whether the stage's host code may run repeatedly, in windows (<see cref="RunStagePart"/>): it changes no
    /// host state and issues the same work every time.</summary>
    bool CanSplit(int stage);
    /// <summary>Runs units [first, end) of a splittable stage under <paramref name="slice"/>; returns its unit count.</summary>
    long RunStagePart(int stage, WorkSlice slice, long first, long end);
    /// <summary>Whether stage <paramref name="stage"/> (never 0) has nothing to do in this sequence, at its start: it is
    /// passed over, neither run nor timed (the trainer's monitor stages on a step the monitor does not sample).</summary>
    bool Skips(int stage);
    /// <summary>Called before stage 0 of a new sequence: false stops the frame there (e.g. nothing to do).</summary>
    bool MayStartSequence();
    /// <summary>Called after the last stage of a sequence.</summary>
    void SequenceCompleted();
}

using System.Diagnostics;
using NeuroPlugin.Backends;

namespace NeuroPlugin.Training;

/// <summary>One <c>Advance</c> call of a frame-budgeted runner (<see cref="FrameBudgetedTrainer"/>, <see cref="FrameBudgetedInference"/>).</summary>
/// <param name="Budget">The time the caller allowed.</param>
/// <param name="EstimatedTime">The summed cost estimates of the stages that ran (what the runner planned with).</param>
/// <param name="HostTime">Wall-clock time the call took on the calling thread (on the CPU backend, the work itself; on GL,
/// issuing the commands).</param>
/// <param name="Stages">Stages run.</param>
/// <param name="StepsCompleted">Training steps (or inference passes) finished in this call.</param>
public readonly record struct FrameReport(TimeSpan Budget, TimeSpan EstimatedTime, TimeSpan HostTime, int Stages, int StepsCompleted);

/// <summary>
/// The shared engine of the frame-budgeted runners: runs stages of a repeating sequence while their estimated cost fits
/// the frame's budget, and learns each stage's cost.
/// <para>Policy. A stage's cost estimate is the larger of its host time and, on a backend with a device timer (GL), its
/// device time between two timestamps, each smoothed with a fast-attack, slow-decay filter: a measurement above the
/// estimate replaces it, one below moves it a quarter of the way down (one slow frame raises the estimate at once;
/// it takes several fast ones to lower it). Device timestamps are read back a few frames later, only once the GL
/// says they are available (never a stall); a ring of <see cref="TimedFrames"/> frames of timestamps is kept, and a
/// frame whose timestamps are still pending when its slot comes round again is dropped unmeasured. A stage whose cost
/// is not known yet (first run; on GL, until its timestamps come back) counts as the whole budget, so it runs only as
/// the first stage of a frame. A frame runs the next stage while <c>max(host time so far, estimates so far) +
/// estimate(next) ≤ budget</c>, and always runs at least one stage, so a step always progresses; the largest overrun
/// is therefore about one stage (one node's forward or backward, one parameter's update) plus estimation error.</para>
/// </summary>
internal sealed class FrameBudget : IDisposable
{
    /// <summary>Frames of device timestamps in flight (results usually arrive one to three frames later).</summary>
    internal const int TimedFrames = 6;
    /// <summary>On a backend with a device timer, the most full sequences (steps) one frame may run: the timestamp
    /// ring holds this many per frame.</summary>
    internal const int MaxTimedSequencesPerFrame = 8;
    const double Decay = 0.25;

    readonly int stageCount, stagesPerTimedFrame;
    readonly double[] hostCost, deviceCost;   // smoothed seconds per stage; NaN: not measured yet
    readonly IDeviceTimer? timer;
    readonly int[] frameStages;              // [frame slot × (stagesPerTimedFrame + 1)]: the stage that starts at each timestamp
    readonly int[] frameStageCounts;         // stages timed per frame slot; 0: nothing pending
    readonly long[] frameNumbers;
    readonly TimeSpan[] frameBudgets, frameHostTimes;
    long frameNumber;

    public FrameBudget(IBackend backend, int stageCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stageCount, 1);
        this.stageCount = stageCount;
        hostCost = new double[stageCount];
        deviceCost = new double[stageCount];
        Array.Fill(hostCost, double.NaN);
        Array.Fill(deviceCost, double.NaN);
        stagesPerTimedFrame = MaxTimedSequencesPerFrame * stageCount;
        timer = backend.CreateDeviceTimer(TimedFrames * (stagesPerTimedFrame + 1));
        frameStages = new int[timer is null ? 0 : TimedFrames * (stagesPerTimedFrame + 1)];
        frameStageCounts = new int[TimedFrames];
        frameNumbers = new long[TimedFrames];
        frameBudgets = new TimeSpan[TimedFrames];
        frameHostTimes = new TimeSpan[TimedFrames];
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

    /// <summary>Forgets the overrun counts (e.g. after warm-up, whose first frames include shader compiles); estimates stay.</summary>
    public void ResetStatistics()
    {
        Overruns = 0;
        MaxOverrun = TimeSpan.Zero;
    }

    /// <summary>The current cost estimate of one stage; null before it was measured.</summary>
    public TimeSpan? Estimate(int stage) => EstimateSeconds(stage) is double s && !double.IsNaN(s) ? TimeSpan.FromSeconds(s) : null;

    /// <summary>Sum of the known estimates: roughly what one full sequence (a training step) costs.</summary>
    public TimeSpan EstimatedTotal
    {
        get
        {
            double sum = 0;
            for (int i = 0; i < stageCount; i++)
                if (EstimateSeconds(i) is var s && !double.IsNaN(s)) sum += s;
            return TimeSpan.FromSeconds(sum);
        }
    }

    double EstimateSeconds(int stage)
    {
        double host = hostCost[stage];
        if (timer is null) return host;
        double device = deviceCost[stage];
        return double.IsNaN(device) ? double.NaN : Math.Max(host, device);
    }

    /// <summary>
    /// Runs stages of <paramref name="work"/> from <paramref name="next"/> on while they fit <paramref name="budget"/>
    /// (see the class remarks), wrapping to stage 0 after the last. Stops at the end of a sequence when
    /// <paramref name="stopAtEnd"/>, and before stage 0 when <see cref="IStagedWork.MayStartSequence"/> says so.
    /// Returns the number of sequences completed; <paramref name="next"/> is where the next call resumes.
    /// </summary>
    public int Run<TWork>(TimeSpan budget, ref TWork work, ref int next, bool stopAtEnd) where TWork : struct, IStagedWork
    {
        if (budget < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(budget), budget, "a frame budget cannot be negative");
        CollectDeviceTimes();
        frameNumber++;
        double budgetSeconds = budget.TotalSeconds, planned = 0;
        int slot = (int)(frameNumber % TimedFrames), stages = 0, completed = 0;
        int timestampBase = slot * (stagesPerTimedFrame + 1);
        frameStageCounts[slot] = 0; // a frame still pending in this slot is dropped unmeasured
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            if (stages > 0)
            {
                if (timer is not null && stages == stagesPerTimedFrame) break;
                double estimate = EstimateSeconds(next);
                double spent = Math.Max(Stopwatch.GetElapsedTime(start).TotalSeconds, planned);
                if (double.IsNaN(estimate) || spent + estimate > budgetSeconds) break;
            }
            if (next == 0 && !work.MayStartSequence()) break;

            if (timer is not null)
            {
                timer.Record(timestampBase + stages);
                frameStages[timestampBase + stages] = next;
            }
            double known = EstimateSeconds(next);
            long stageStart = Stopwatch.GetTimestamp();
            work.RunStage(next);
            double host = Stopwatch.GetElapsedTime(stageStart).TotalSeconds;
            Smooth(ref hostCost[next], host);
            planned += double.IsNaN(known) ? host : known;
            stages++;
            if (++next == stageCount)
            {
                next = 0;
                completed++;
                work.SequenceCompleted();
                if (stopAtEnd) break;
            }
        }
        var hostTime = Stopwatch.GetElapsedTime(start);
        LastFrame = new FrameReport(budget, TimeSpan.FromSeconds(planned), hostTime, stages, completed);
        if (timer is null) NoteMeasured(hostTime, budget);
        else if (stages > 0)
        {
            timer.Record(timestampBase + stages);
            timer.Flush();
            frameStageCounts[slot] = stages;
            frameNumbers[slot] = frameNumber;
            frameBudgets[slot] = budget;
            frameHostTimes[slot] = hostTime;
        }
        return completed;
    }

    /// <summary>Reads every frame's device timestamps that have become available (non-blocking) into the estimates.</summary>
    void CollectDeviceTimes()
    {
        if (timer is null) return;
        for (int k = 1; k <= TimedFrames; k++)
        {
            int slot = (int)((frameNumber + k) % TimedFrames); // oldest first
            int count = frameStageCounts[slot];
            if (count == 0) continue;
            int baseIndex = slot * (stagesPerTimedFrame + 1);
            if (!timer.TryRead(baseIndex + count, out long end)) continue;
            if (!timer.TryRead(baseIndex, out long previous)) continue;
            long first = previous;
            for (int p = 1; p <= count; p++)
            {
                if (!timer.TryRead(baseIndex + p, out long now)) break; // earlier timestamps complete first; be safe anyway
                Smooth(ref deviceCost[frameStages[baseIndex + p - 1]], (now - previous) * 1e-9);
                previous = now;
            }
            frameStageCounts[slot] = 0;
            var deviceTime = TimeSpan.FromSeconds((end - first) * 1e-9);
            if (frameNumbers[slot] >= LastDeviceFrameNumber)
            {
                LastDeviceFrameTime = deviceTime;
                LastDeviceFrameNumber = frameNumbers[slot];
            }
            NoteMeasured(deviceTime > frameHostTimes[slot] ? deviceTime : frameHostTimes[slot], frameBudgets[slot]);
        }
    }

    /// <summary>Counts an overrun when a frame's measured time exceeded its budget.</summary>
    void NoteMeasured(TimeSpan measured, TimeSpan budget)
    {
        if (measured <= budget) return;
        Overruns++;
        if (measured - budget > MaxOverrun) MaxOverrun = measured - budget;
    }

    static void Smooth(ref double estimate, double measured)
    {
        if (double.IsNaN(estimate) || measured > estimate) estimate = measured;
        else estimate += Decay * (measured - estimate);
    }

    public void Dispose() => timer?.Dispose();
}

/// <summary>A repeating sequence of stages a <see cref="FrameBudget"/> runs (a struct, so calls are direct and allocate nothing).</summary>
internal interface IStagedWork
{
    /// <summary>Runs one stage.</summary>
    void RunStage(int stage);
    /// <summary>Called before stage 0 of a new sequence: false stops the frame there (e.g. nothing to do).</summary>
    bool MayStartSequence();
    /// <summary>Called after the last stage of a sequence.</summary>
    void SequenceCompleted();
}

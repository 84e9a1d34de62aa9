namespace NeuroPlugin.Training;

// FrameBudget's cost model: the estimates of whole stages, parts and calls, how a stage is cut into parts, and how
// measurements move the estimates (the class remarks in FrameBudget.cs describe the model).
internal sealed partial class FrameBudget
{
    double StageSeconds(int stage)
    {
        if (parts[stage] == 1) return WholeSeconds(stage);
        double sum = 0;
        for (int p = 0; p < parts[stage]; p++) sum += PartSeconds(stage, p);
        return sum;
    }

    double WholeSeconds(int stage) => Combine(hostCost[stage], deviceCost[stage]);

    double Combine(double host, double device)
    {
        if (timer is null) return host;
        return double.IsNaN(device) || double.IsNaN(host) ? double.NaN : Math.Max(host, device);
    }

    /// <summary>A part's estimate; unmeasured, the mean of its stage's measured parts (NaN when none is).</summary>
    double PartSeconds(int stage, int p) => Combine(Known(partHost[stage], parts[stage], p), Known(partDevice[stage], parts[stage], p));

    /// <summary><paramref name="estimates"/>[p], or when that is not measured yet (or p is −1) the mean of the measured ones
    /// among the first <paramref name="count"/> (NaN when none is).</summary>
    static double Known(double[] estimates, int count, int p)
    {
        if (p >= 0 && !double.IsNaN(estimates[p])) return estimates[p];
        double sum = 0;
        int known = 0;
        for (int q = 0; q < count; q++)
            if (!double.IsNaN(estimates[q]))
            {
                sum += estimates[q];
                known++;
            }
        return known == 0 ? double.NaN : sum / known;
    }

    /// <summary>The estimate of an item that starts at part <paramref name="p"/>: the whole stage, or the stage's call cost
    /// plus the part (each further part of the window adds its <see cref="PartSeconds"/>).</summary>
    double ItemSeconds(int stage, int p) => parts[stage] == 1 ? WholeSeconds(stage) : CallSeconds(stage) + PartSeconds(stage, p);

    /// <summary>The learned fixed cost of one run of a split stage's host code, whatever its window (0 until learned).</summary>
    double CallSeconds(int stage) => timer is null ? callHost[stage].Seconds : Math.Max(callHost[stage].Seconds, callDevice[stage].Seconds);

    /// <summary>At the start of a splittable stage: counts its units once, then splits it when its parts are too large
    /// for the smallest budget seen (never coarser).</summary>
    void PlanParts<TWork>(ref TWork work, int stage) where TWork : struct, IStagedWork
    {
        if (!SplitStages || !work.CanSplit(stage)) return;
        if (units[stage] < 0) units[stage] = work.RunStagePart(stage, slice, 0, 0);
        long limit = Math.Min(units[stage], MaxParts);
        if (parts[stage] >= limit) return;
        int wanted = parts[stage] == 1 && double.IsNaN(WholeSeconds(stage)) ? InitialParts : parts[stage];
        // (a frame's last item is at most LastItemLimit, which takes parts of at most half that)
        double total = StageSeconds(stage), target = PartShare * smallestBudget;
        if (lastItemSeconds > 0) target = Math.Min(target, 0.5 * lastItemSeconds);
        if (!double.IsNaN(total) && total > 0 && target > 0 && total / parts[stage] > target)
            wanted = (int)Math.Min(Math.Ceiling(total / target), int.MaxValue);
        wanted = (int)Math.Min(wanted, limit);
        if (wanted <= parts[stage]) return;
        if (parts[stage] == 1)
        {
            // the whole stage's measurements become its first parts', spread evenly over the units
            partHost[stage][0] = hostCost[stage];
            partDevice[stage][0] = deviceCost[stage];
        }
        Resplit(stage, partHost[stage], wanted);
        Resplit(stage, partDevice[stage], wanted);
        parts[stage] = wanted;
        // the parts' numbers now mean other units, and their estimates are shares of coarser windows' (which on a
        // backend that runs a window's units side by side cost less per unit than one part alone): a part's first
        // measurement counts even when high, as the second of an outlier pair would (a time slice lost then can cut the
        // stage finer for good; clearing the flags instead gave llvmpipe more parts and more frames over, since a real
        // rise is then taken a run late: Samples/InGameLearning/README.md, "Evening of 2026-12-07")
        Array.Fill(hostOutlier[stage], true);
        Array.Fill(deviceOutlier[stage], true);
    }

    /// <summary>Turns the estimates of the stage's current parts into those of <paramref name="wanted"/> parts: each new
    /// part gets the cost of the units it covers, at the cost per unit of the old part(s) they lay in (unmeasured old parts
    /// count as their stage's mean; NaN when none was measured).</summary>
    void Resplit(int stage, double[] estimates, int wanted)
    {
        int old = parts[stage];
        long total = units[stage];
        var previous = resplitScratch;
        for (int q = 0; q < old; q++) previous[q] = Known(estimates, old, q);
        Array.Fill(estimates, double.NaN);
        for (int p = 0; p < wanted; p++)
        {
            long first = total * p / wanted, end = total * (p + 1) / wanted;
            double sum = 0;
            // the old parts overlapping [first, end): q from the one holding `first` on
            for (int q = (int)(first * old / total); q < old; q++)
            {
                long oldFirst = total * q / old, oldEnd = total * (q + 1) / old;
                if (oldFirst >= end) break;
                long overlap = Math.Min(end, oldEnd) - Math.Max(first, oldFirst);
                if (overlap > 0) sum += previous[q] * overlap / (oldEnd - oldFirst);
            }
            estimates[p] = sum;
        }
    }

    /// <summary>Takes the measurement of an item of a split stage, parts [<paramref name="first"/>, <paramref name="end"/>)
    /// of <paramref name="count"/> over <paramref name="total"/> units, into the stage's call cost and its parts' estimates:
    /// the call cost learns from the measurements against the share of the stage's units each covered
    /// (<see cref="CallCost"/>; an outlier is left out), and the parts take what is left (<see cref="Attribute"/>).</summary>
    static void Measured(double[] estimates, ref CallCost call, long total, int count, int first, int end, double measured, bool[] outliers)
    {
        double mean = Known(estimates, count, -1), work = 0;
        for (int p = first; p < end; p++) work += double.IsNaN(estimates[p]) ? mean : estimates[p];
        // the units the window covered, as RunItem cuts them
        double share = (total * end / count - total * first / count) / (double)total;
        if (double.IsNaN(work) || measured <= Outlier * (call.Seconds + work)) call.Add(share, measured);
        // the work is what the call cost leaves, but never under a tenth of the measurement (a call cost learned too high
        // must not drive the parts' estimates to nothing)
        Attribute(estimates, count, first, end, Math.Max(measured - call.Seconds, 0.1 * measured), outliers);
    }

    /// <summary>
    /// The fixed cost of one run of a split stage's host code (binding, dispatch set-up and, on llvmpipe, waking its
    /// threads), whatever the window: the intercept of a least-squares line through the recent measurements m against the
    /// share f of the stage's units each item covered, <c>m ≈ call + f·stage</c>, with older measurements weighing less (by
    /// <see cref="Forget"/> each). Without it the parts of a window share its call's cost: a window of many parts is then
    /// planned too high (its frame left part empty) and a window of one part too low (its frame overruns). The intercept
    /// is learned only once the items' shares differ enough to place a line, and kept within [0, ¾ of the smallest
    /// recent measurement].
    /// </summary>
    struct CallCost
    {
        const double Forget = 0.95;
        double weight, sumF, sumM, sumFF, sumFM, smallest;

        /// <summary>The learned call cost in seconds (0 until learned).</summary>
        public double Seconds { get; private set; }

        public void Add(double f, double m)
        {
            if (!(m >= 0) || double.IsInfinity(m)) return;
            weight = Forget * weight + 1;
            sumF = Forget * sumF + f;
            sumM = Forget * sumM + m;
            sumFF = Forget * sumFF + f * f;
            sumFM = Forget * sumFM + f * m;
            // the smallest recent measurement, drifting up slowly when larger ones follow
            smallest = weight <= 1 || m < smallest ? m : smallest + 0.05 * (m - smallest);
            double meanF = sumF / weight, meanM = sumM / weight;
            double variance = sumFF / weight - meanF * meanF, covariance = sumFM / weight - meanF * meanM;
            if (weight < 4 || variance <= 0.01 * meanF * meanF) return; // shares too alike to place a line
            double slope = covariance / variance;
            if (!(slope > 0)) return;
            Seconds = Math.Clamp(meanM - slope * meanF, 0, 0.75 * smallest);
        }
    }

    /// <summary>Takes the measurement of parts [<paramref name="first"/>, <paramref name="end"/>) into their estimates: it
    /// moves their sum as <see cref="Smooth"/> moves one estimate, each part keeping its share of the sum (the cost is
    /// learned per unit of work, its profile over the stage from the windows that cut it differently); unmeasured parts
    /// get their share of the measurement (evenly while no part of the stage is measured).</summary>
    static void Attribute(double[] estimates, int count, int first, int end, double measured, bool[] outliers)
    {
        double mean = Known(estimates, count, -1), sum = 0;
        for (int p = first; p < end; p++) sum += double.IsNaN(estimates[p]) ? mean : estimates[p];
        if (!(sum > 0))
        {
            for (int p = first; p < end; p++) estimates[p] = measured / (end - first);
            return;
        }
        // a high measurement counts when one of the window's parts was high at its last run too (a slow region of the stage
        // is learned at its second run however the windows fall; one lost time slice is not)
        bool outlier = Array.IndexOf(outliers, true, first, end - first) >= 0;
        double ratio = measured / sum, factor = Factor(ratio, ref outlier);
        Array.Fill(outliers, outlier, first, end - first);
        for (int p = first; p < end; p++)
            estimates[p] = double.IsNaN(estimates[p]) ? mean * ratio : estimates[p] * factor;
    }

    /// <summary>What an estimate is multiplied by for a measurement <paramref name="ratio"/> times it: above it, the
    /// ratio up to <see cref="Growth"/> (fast attack) — but a first ratio above <see cref="Outlier"/> is only noted in
    /// <paramref name="outlier"/>, and taken when the next is high too (and so are the high ones right after it); below it,
    /// a quarter of the way down (slow decay).</summary>
    static double Factor(double ratio, ref bool outlier)
    {
        if (ratio <= 1)
        {
            outlier = false;
            return 1 + Decay * (ratio - 1);
        }
        if (ratio > Outlier && !outlier)
        {
            outlier = true;
            return 1;
        }
        // a high measurement after a high one is a real rise: the flag stays, so the rise's next high measurement (the
        // estimate grows by at most Growth a run) counts at once too
        outlier = ratio > Outlier;
        return Math.Min(ratio, Growth);
    }

    /// <summary>Takes a measurement into an estimate: the first sets it, later ones move it by <see cref="Factor"/>.</summary>
    static void Smooth(ref double estimate, double measured, ref bool outlier)
    {
        if (double.IsNaN(estimate) || !(estimate > 0)) estimate = measured;
        else estimate *= Factor(measured / estimate, ref outlier);
    }
}

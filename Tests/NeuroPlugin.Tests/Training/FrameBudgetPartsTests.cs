using System.Runtime.InteropServices;

namespace NeuroPlugin.Tests.Training;

/// <summary>Stages run in parts finer than an op (work slices) on the CPU backend (GL twin: OpenGL/GLFrameBudgetPartsTests),
/// and the scheduler's fit rule under a fake clock.</summary>
public partial class FrameBudgetPartsTests
{
    static int[] Bits(float[] values) => FrameBudgetPartsChecks.Bits(values);

    CpuBackend backend = null!;

    [SetUp]
    public void CreateBackend() => backend = new CpuBackend();

    [TearDown]
    public void DisposeBackend() => backend.Dispose();

    static IEnumerable<TestCaseData> TrainingBudgets() =>
    [
        .. FrameBudgetPartsChecks.Budgets("small", 0.0, 0.002, 3_600_000.0),
        .. FrameBudgetPartsChecks.Budgets("lenet5", 0.0, 0.01, 1.0),
        .. FrameBudgetPartsChecks.Budgets("resnet_cifar", 0.0, 0.05),
        .. FrameBudgetPartsChecks.Budgets("general_ops", 0.0, 0.002),
    ];

    [TestCaseSource(nameof(TrainingBudgets))]
    public void TrainingInParts_EqualsUnbudgetedSteps_BitForBit(string model, double budgetMilliseconds) =>
        FrameBudgetPartsChecks.TrainingEqualsUnbudgeted(backend, model, TimeSpan.FromMilliseconds(budgetMilliseconds));

    [Test]
    public void ConvolutionsInParts_EqualUnbudgetedSteps_BitForBit([Values(0.0, 0.003, 0.05, 3_600_000.0)] double budgetMilliseconds)
    {
        // every method of the CPU convolution (strided, depthwise, grouped, pointwise) with batch norm and dropout in the model
        foreach (var arithmetic in new[] { CpuArithmetic.Fast, CpuArithmetic.Reference })
        {
            backend.Arithmetic = arithmetic;
            FrameBudgetPartsChecks.TrainingEqualsUnbudgeted(backend, "convmix", TimeSpan.FromMilliseconds(budgetMilliseconds));
        }
    }

    [TestCase("lenet5", 0.0)]
    [TestCase("resnet_cifar", 0.01)]
    [TestCase("general_ops", 0.0)]
    [TestCase("convmix", 0.0)]
    public void InferenceInParts_EqualsOneForward_BitForBit(string model, double budgetMilliseconds) =>
        FrameBudgetPartsChecks.InferenceEqualsForward(backend, model, TimeSpan.FromMilliseconds(budgetMilliseconds));

    [TestCase(CpuArithmetic.Fast)]
    [TestCase(CpuArithmetic.Reference)]
    public void TrainingStagesInRandomWindows_EqualComputeGradients_BitForBit(CpuArithmetic arithmetic)
    {
        // the plan's stages run in random windows of their units (tiny to whole, empty ones between) against one
        // ComputeGradients: outputs, loss, every gradient and the running statistics bit for bit; and the CPU
        // convolutions' stages have several units at batch 4 (the regression: one unit per group)
        backend.Arithmetic = arithmetic;
        var graph = FrameBudgetPartsChecks.ConvMix();
        using var expectedNetwork = Network.Create(graph, backend, seed: 7);
        using var expected = ExecutionPlan.ForTraining(expectedNetwork, 4);
        using var network = Network.Create(graph, backend, seed: 7);
        using var plan = ExecutionPlan.ForTraining(network, 4);
        var random = new Random(12);
        float[] images = Enumerable.Range(0, plan.Input.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        float[] targets = new float[plan.Target!.Length];
        for (int n = 0; n < 4; n++) targets[n * 5 + n % 5] = 1f;
        foreach (var target in new[] { expected, plan })
        {
            target.Input.Upload(images);
            target.Target!.Upload(targets);
        }
        expected.ComputeGradients();

        var slice = new WorkSlice();
        var unitsOf = new Dictionary<string, long>();
        for (int stage = 0; stage < plan.TrainingStages.Count; stage++)
        {
            long units = plan.RunTrainingStage(stage, slice, 0, 0);
            unitsOf[plan.TrainingStages[stage].Name] = units;
            for (long at = 0; at < units;)
            {
                long end = random.Next(4) == 0 ? at : Math.Min(units, at + 1 + random.Next((int)Math.Max(1, units / 2)));
                Assert.That(plan.RunTrainingStage(stage, slice, at, end == units ? long.MaxValue : end), Is.EqualTo(units));
                at = end;
            }
            if (units == 0) plan.RunTrainingStage(stage, slice, 0, long.MaxValue);
        }
        foreach (var (name, units) in unitsOf)
            if (name.Contains(" conv")) Assert.That(units, Is.GreaterThan(1), $"{name}: units of work at batch 4");
        Assert.That(Bits(plan.Output.ToArray()), Is.EqualTo(Bits(expected.Output.ToArray())), "logits");
        Assert.That(Bits(plan.Loss!.ToArray()), Is.EqualTo(Bits(expected.Loss!.ToArray())), "loss");
        for (int p = 0; p < plan.Parameters.Count; p++)
            Assert.That(Bits(plan.ParameterGradients[p].ToArray()), Is.EqualTo(Bits(expected.ParameterGradients[p].ToArray())),
                $"gradient of {plan.Parameters[p].Name} ({string.Join(", ", unitsOf.Select(u => $"{u.Key}: {u.Value}"))})");
        foreach (string name in expectedNetwork.BufferNames)
            Assert.That(Bits(network.Buffer(name).ToArray()), Is.EqualTo(Bits(expectedNetwork.Buffer(name).ToArray())), $"buffer {name}");
    }

    [Test]
    public void ResNet18Inference_ConvolutionStagesSplit_AndGiveTheBits()
    {
        // ResNet-18 at 1×3×224×224: at batch 1 every convolution stage still splits (tiles of output channels), and a
        // pass spread over 2 ms frames gives the output of one forward bit for bit
        using var network = Network.Create(ModelZoo.Build("resnet18"), backend, seed: 3);
        using var plan = ExecutionPlan.ForInference(network, 1);
        var slice = new WorkSlice();
        for (int stage = 0; stage < plan.InferenceStages.Count; stage++)
        {
            var planStage = plan.InferenceStages[stage];
            if (!planStage.Name.Contains("conv")) continue;
            Assert.That(plan.RunInferenceStage(stage, slice, 0, 0), Is.GreaterThanOrEqualTo(8), $"{planStage.Name}: units at batch 1");
        }
        FrameBudgetPartsChecks.InferenceEqualsForward(backend, "resnet18", plan, TimeSpan.FromMilliseconds(2), expectSplit: true);
    }

    [Test]
    public void UpdateRules_RunInElementBlocks_LikeOneCall()
    {
        // LeNet-5's fc weights (48,000 values) are 12 blocks of 4096: the tiny budget splits their update
        FrameBudgetPartsChecks.TrainingEqualsUnbudgeted(backend, "lenet5", TimeSpan.FromMilliseconds(0.001), expectSplitUpdate: true);
    }

    [Test]
    public void FakeClock_NoPartStartsWhenItsEstimateDoesNotFit()
    {
        var work = Scripted();
        using var budget = work.Budget!;
        var frameBudget = TimeSpan.FromMilliseconds(1);
        work.RunFrames(400, frameBudget);
        Assert.That(work.Sequences, Is.GreaterThan(10), "sequences completed: training progresses");
        Assert.That(budget.PartCount(1), Is.GreaterThan(1), "the 2 ms stage is split");
        Assert.That(budget.PartCount(2), Is.EqualTo(1), "a stage of one unit runs whole");
        Assert.That(work.LateStarts, Is.Empty, "items started although their estimate did not fit the rest of the frame");
        Assert.That(work.ItemsAfterFirst, Is.GreaterThan(100), "frames run several items");
        // once every part is measured (the costs are exact and constant), no frame runs over its budget
        Assert.That(work.OverBudgetFramesAfter(frames: 100), Is.Zero, "frames over the budget after the first 100");
        // parts of a stage that fit together run as one call (one run of the stage's host code), and frames are filled
        // up to the grain of a part: a part is at most an eighth of the budget (1.25 ms of work per 10 ms split finer)
        Assert.That(work.RepeatedStageCalls, Is.Empty, "a frame ran the same stage in two consecutive calls");
        double largestPart = Enumerable.Range(0, work.StageCount)
            .SelectMany(s => Enumerable.Range(0, budget.PartCount(s)).Select(p => budget.ItemEstimate(s, p)!.Value.TotalSeconds)).Max();
        // parts are whole units: 200 units in 16 parts are 12 or 13 of them, 0.13 ms
        Assert.That(largestPart, Is.LessThanOrEqualTo(1.05 * FrameBudget.PartShare * frameBudget.TotalSeconds), "parts split to about an eighth of the budget");
        Assert.That(work.ShortFramesAfter(frames: 100, largestPart), Is.Empty, "frames that stopped although their next part fitted");
        Assert.That(work.UtilisationAfter(frames: 100), Is.GreaterThan(1 - FrameBudget.PartShare), "share of the budget used");
        int partsPerSequence = Enumerable.Range(0, work.StageCount).Sum(budget.PartCount);

        // a larger budget: the same parts, more of them per call (without the last-item limit, which cuts a frame's end
        // into an item of its own: FakeClock_AFramesLastItemIsShort_AndStartsOnlyWhenItFits)
        budget.LastItemLimit = TimeSpan.Zero;
        long callsBefore = work.Calls;
        int sequencesBefore = work.Sequences;
        work.RunFrames(100, TimeSpan.FromMilliseconds(4));
        Assert.That(Enumerable.Range(0, work.StageCount).Sum(budget.PartCount), Is.EqualTo(partsPerSequence), "never split coarser");
        Assert.That((double)(work.Calls - callsBefore) / (work.Sequences - sequencesBefore), Is.LessThan(work.StageCount + 2),
            "calls per sequence at 4 ms: about one per stage");
        Assert.That(work.LateStarts, Is.Empty, "items started although their estimate did not fit, at 4 ms");
        Assert.That(work.OverBudgetFramesAfter(frames: 400), Is.Zero, "frames over the 4 ms budget");

        // a unit that turns slow: its part is planned with the new cost from its second slow run on (one alone is taken
        // for a lost time slice, even though the items after it in the stage cost what they did), and no item starts
        // unless its estimate fits
        work.SlowUnit = (1, 0, TimeSpan.FromMicroseconds(600));
        work.RunFrames(200, frameBudget);
        Assert.That(work.LateStarts, Is.Empty, "items started although their estimate did not fit, after the slow unit");
        Assert.That(budget.ItemEstimate(1, 0)!.Value.TotalMicroseconds, Is.GreaterThan(600), "the slow part's estimate");
    }

    [Test]
    public void FakeClock_ASlowRegionOfAStage_IsLearnedAtItsSecondRun_HoweverTheWindowsFall()
    {
        // the first half of stage 1's units turns three times slower (a convolution's rows that now meet more work): each
        // measurement there is far above its estimate, as a lost time slice would be, and the windows of the next sequence
        // start at other parts; a high measurement counts when one of its parts was high at its last run, so the region is
        // planned at its new cost from its second run on
        var work = Scripted();
        using var budget = work.Budget!;
        var frameBudget = TimeSpan.FromMilliseconds(1);
        work.RunFrames(400, frameBudget);
        budget.SplitStages = false; // the parts stay as they are (the slow parts would be split finer otherwise)
        int parts = budget.PartCount(1), sequences = work.Sequences;
        // the parts wholly inside units [0, 100) (part p holds units [200p/parts, 200(p+1)/parts))
        int slowParts = Enumerable.Range(0, parts).Count(p => 200L * (p + 1) / parts <= 100);
        double[] before = [.. Enumerable.Range(0, slowParts).Select(p => budget.PartEstimate(1, p)!.Value.TotalSeconds)];
        work.SlowRegion = (1, 0, 100, TimeSpan.FromMicroseconds(30));
        while (work.Sequences < sequences + 3) work.RunFrames(1, frameBudget);
        double[] growth = [.. Enumerable.Range(0, slowParts).Select(p => budget.PartEstimate(1, p)!.Value.TotalSeconds / before[p])];
        Assert.That(slowParts, Is.GreaterThanOrEqualTo(4), "parts wholly in the slow region");
        Assert.That(growth, Is.All.GreaterThan(2.5), "the slow parts' estimates against their old ones after three runs (at most twofold a run)");
    }

    [Test]
    public void FakeClock_LearnsTheCostOfACall()
    {
        // every run of a stage's host code costs 100 µs besides its units (10 µs each): a window of one part costs far more
        // than its share of a larger window. The scheduler learns the call cost apart from the parts' work, so windows of
        // any size are planned at their cost: none starts unless it fits, frames do not overrun, and they are filled.
        var call = TimeSpan.FromMicroseconds(100);
        var work = Scripted(call);
        using var budget = work.Budget!;
        var frameBudget = TimeSpan.FromMilliseconds(1);
        work.RunFrames(600, frameBudget);
        Assert.That(work.Sequences, Is.GreaterThan(10), "sequences completed");
        Assert.That(budget.PartCount(1), Is.GreaterThan(1), "the 2 ms stage is split");
        // the parts' units differ by one (200 units in 16 parts: 12 or 13), so the line through the measurements places
        // the call within a unit's cost
        foreach (int stage in new[] { 1, 3 })
            Assert.That(budget.CallEstimate(stage).TotalMicroseconds, Is.EqualTo(call.TotalMicroseconds).Within(10), $"stage {stage}'s call cost");
        Assert.That(work.LateStarts, Is.Empty, "items started although their estimate did not fit the rest of the frame");
        Assert.That(work.OverBudgetFramesAfter(frames: 300, tolerance: 0.02 * frameBudget.TotalSeconds), Is.Zero, "frames over the budget by more than 2 %");
        Assert.That(work.UtilisationAfter(frames: 300), Is.GreaterThan(0.75), "share of the budget used");
    }

    [Test]
    public void FakeClock_TimeSlicesLostNow_AndThen_AreLearnedAsTheMargin()
    {
        // one item in 40 loses 0.25 ms to another process: too rare for the estimates to take, too frequent to ignore (a
        // frame runs several items), so without a margin a frame whose items filled its budget would run 0.25 ms over
        var (work, budget) = LosingTimeSlices(marginPercentile: 99);
        using var _ = budget;
        Assert.That(budget.Margin.TotalMilliseconds, Is.EqualTo(0.25).Within(0.03), "the margin: what the estimates missed");
        Assert.That(work.OverBudgetFramesAfter(frames: 300, tolerance: 0.05e-3), Is.LessThanOrEqualTo(3), "frames over the 1 ms budget by more than 5 %");
        Assert.That(work.UtilisationAfter(frames: 300), Is.GreaterThan(0.5), "share of the budget used");
    }

    [Test]
    public void FakeClock_MarginPercentileZero_SetsNothingAside()
    {
        var (work, budget) = LosingTimeSlices(marginPercentile: 0);
        using var _ = budget;
        Assert.That(budget.Margin, Is.EqualTo(TimeSpan.Zero));
        Assert.That(work.OverBudgetFramesAfter(frames: 300, tolerance: 0.05e-3), Is.GreaterThan(3), "the lost slices put frames over");
        Assert.That(() => budget.MarginPercentile = 101, Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("between 0 and 100"));
        Assert.That(() => budget.MarginPercentile = double.NaN, Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    /// <summary>1200 frames of 1 ms of the scripted stages, one item in 40 losing 0.25 ms (seeded), under a scheduler with
    /// the given margin percentile (the caller disposes it).</summary>
    (FakeWork Work, FrameBudget Budget) LosingTimeSlices(double marginPercentile)
    {
        var work = Scripted();
        work.LostSlices = (1.0 / 40, TimeSpan.FromMilliseconds(0.25), new Random(7));
        work.Budget!.MarginPercentile = marginPercentile;
        work.RunFrames(1200, TimeSpan.FromMilliseconds(1));
        return (work, work.Budget);
    }

    [Test]
    public void FakeClock_SkippedStagesNeitherRunNorCount()
    {
        // the last stage (a monitor's statistics) has work only in every third sequence; the others pass over it
        var work = Scripted();
        using var budget = work.Budget!;
        var asked = new HashSet<int>();
        work.Skip = (stage, sequence) =>
        {
            if (stage != 3) return false;
            asked.Add(sequence); // may be asked again when a frame ends before the stage: the answer is the same
            return sequence % 3 != 0;
        };
        var frameBudget = TimeSpan.FromMilliseconds(1);
        work.RunFrames(600, frameBudget);
        Assert.That(work.Sequences, Is.GreaterThan(20), "sequences completed");
        Assert.That(asked, Has.Count.InRange(work.Sequences, work.Sequences + 1), "asked in every sequence, at the stage's start");
        int kept = asked.Count(sequence => sequence % 3 == 0);
        Assert.That(work.UnitsRun[3], Is.InRange(120L * (kept - 1), 120L * kept), "units of the skipped stage: only in the kept sequences");
        Assert.That(budget.PartCount(3), Is.GreaterThan(1), "the kept runs are split as usual");
        Assert.That(work.LateStarts, Is.Empty, "items started although their estimate did not fit");
        Assert.That(work.OverBudgetFramesAfter(frames: 200), Is.Zero, "frames over the budget once measured");
    }

    /// <summary>Stages of 40, 200, 1 and 120 units of 10 µs each (and <paramref name="call"/> a run of a stage's host code)
    /// under a scheduler on a fake clock (<see cref="FakeWork.Budget"/>, the caller's to dispose).</summary>
    FakeWork Scripted(TimeSpan call = default)
    {
        var clock = new FakeWork.Clock();
        var work = new FakeWork(clock, [40, 200, 1, 120], unitCost: TimeSpan.FromMicroseconds(10)) { CallCost = call };
        work.Budget = new FrameBudget(backend, work.StageCount, () => clock.Ticks);
        return work;
    }

    /// <summary>A scripted sequence of splittable stages: stage s has a number of units, each costing
    /// <c>unitCost</c> on the fake clock (one unit may be made slower). Records, for every item that was not the first of
    /// its frame, whether the time spent before it plus its estimate exceeded the budget.</summary>
    readonly struct FakeRunner(FakeWork work) : IStagedWork
    {
        public void RunStage(int stage) => work.RunStagePart(stage, 0, long.MaxValue);
        public bool CanSplit(int stage) => true;
        public bool Skips(int stage) => work.Skip?.Invoke(stage, work.Sequences) ?? false;
        public long RunStagePart(int stage, WorkSlice slice, long first, long end) => work.RunStagePart(stage, first, end);
        public bool MayStartSequence() => true;
        public void SequenceCompleted() => work.Sequences++;
    }

    sealed class FakeWork(FakeWork.Clock clock, long[] units, TimeSpan unitCost)
    {
        public sealed class Clock
        {
            public long Ticks;
            public void Advance(TimeSpan time) => Ticks += (long)(time.TotalSeconds * Stopwatch.Frequency);
        }

        readonly List<double> frameTimes = [];
        readonly List<double?> nextPartCosts = []; // per frame: the estimate of the part after the frame's last item
        long frameStart;
        int itemsThisFrame, lastStage = -1;
        bool lastEstimated;
        TimeSpan frameBudget;

        public FrameBudget? Budget { get; set; }
        public int StageCount => units.Length;
        public int Sequences { get; set; }
        public int ItemsAfterFirst { get; private set; }
        public long Calls { get; private set; }
        public List<string> LateStarts { get; } = [];
        public List<string> RepeatedStageCalls { get; } = [];
        public (int Stage, long Unit, TimeSpan Cost)? SlowUnit { get; set; }
        /// <summary>Units [First, End) of a stage that each cost <c>Cost</c>.</summary>
        public (int Stage, long First, long End, TimeSpan Cost)? SlowRegion { get; set; }
        /// <summary>What every run of a stage's host code costs besides its units (set-up, dispatch).</summary>
        public TimeSpan CallCost { get; set; }
        /// <summary>Time slices lost to other processes: each item loses <c>Cost</c> with probability <c>Chance</c> (seeded).
        /// One alone is an outlier that no estimate takes.</summary>
        public (double Chance, TimeSpan Cost, Random Random)? LostSlices { get; set; }
        /// <summary>Whether a stage is passed over in a sequence (stage, sequences completed before it).</summary>
        public Func<int, int, bool>? Skip { get; set; }
        public long[] UnitsRun { get; } = new long[units.Length];
        /// <summary>Every item run: its frame (frames run so far), the time spent in the frame before it, its estimate.</summary>
        public List<(int Frame, double Spent, double Estimate)> Items { get; } = [];

        int next;

        /// <summary>Runs <paramref name="frames"/> frames of <paramref name="each"/> through <see cref="Budget"/>.</summary>
        public void RunFrames(int frames, TimeSpan each)
        {
            var runner = new FakeRunner(this);
            for (int frame = 0; frame < frames; frame++)
            {
                StartFrame(each);
                Budget!.Run(each, ref runner, ref next, stopAtEnd: false);
                EndFrame();
            }
        }

        public void StartFrame(TimeSpan budget)
        {
            frameStart = clock.Ticks;
            itemsThisFrame = 0;
            lastStage = -1;
            frameBudget = budget;
        }

        public void EndFrame()
        {
            frameTimes.Add((clock.Ticks - frameStart) / (double)Stopwatch.Frequency);
            int next = Budget!.NextPart;
            nextPartCosts.Add(Budget.ItemEstimate(NextStage, next)?.TotalSeconds);
        }

        /// <summary>The stage the next frame starts in (the stage after the last item, or the same one mid-stage).</summary>
        int NextStage => Budget!.NextPart > 0 ? lastStage : (lastStage + 1) % units.Length;

        public int OverBudgetFramesAfter(int frames, double tolerance = 1e-12) => frameTimes.Skip(frames).Count(t => t > frameBudget.TotalSeconds + tolerance);

        /// <summary>Frames (after the first <paramref name="frames"/>) that ended more than a part's cost before the budget
        /// although the part that came next would have fitted.</summary>
        public List<string> ShortFramesAfter(int frames, double largestPart) =>
            [.. frameTimes.Select((t, i) => (t, i, next: nextPartCosts[i])).Skip(frames)
                .Where(f => f.next is double cost && f.t + cost <= frameBudget.TotalSeconds - 1e-12)
                .Select(f => $"frame {f.i}: {f.t * 1e3:F3} ms used, next part {f.next * 1e3:F3} ms")];

        public double UtilisationAfter(int frames) => frameTimes.Skip(frames).Average() / frameBudget.TotalSeconds;

        public long RunStagePart(int stage, long first, long end)
        {
            if (end == 0) return units[stage]; // counting
            var item = Budget!.RunningItem;
            if (item.Stage != stage) LateStarts.Add($"stage {stage} ran while the budget said stage {item.Stage}");
            Calls++;
            // (an unmeasured part runs alone; what follows it in the frame is a new call)
            if (stage == lastStage && lastEstimated) RepeatedStageCalls.Add($"stage {stage} twice in a row (parts from {item.FirstPart})");
            (lastStage, lastEstimated) = (stage, !double.IsNaN(item.Estimate));
            // the item's estimate is the sum of its parts' (each part planned as ItemEstimate says)
            // (an item is its first part as an item, the stage's call cost included, plus each further part's work)
            double parts = Budget.ItemEstimate(stage, item.FirstPart)?.TotalSeconds ?? double.NaN;
            for (int p = item.FirstPart + 1; p < item.EndPart; p++) parts += Budget.PartEstimate(stage, p)?.TotalSeconds ?? double.NaN;
            // (ItemEstimate is a TimeSpan: each part rounded to a tick of 0.1 µs)
            if (!double.IsNaN(item.Estimate) && Math.Abs(parts - item.Estimate) > 1e-7 * (item.EndPart - item.FirstPart) + 1e-12)
                LateStarts.Add($"stage {stage} parts [{item.FirstPart}, {item.EndPart}): estimate {item.Estimate} is not the sum of its parts' {parts}");
            Items.Add((frameTimes.Count, (clock.Ticks - frameStart) / (double)Stopwatch.Frequency, item.Estimate));
            if (itemsThisFrame++ > 0)
            {
                ItemsAfterFirst++;
                double spent = (clock.Ticks - frameStart) / (double)Stopwatch.Frequency;
                if (double.IsNaN(item.Estimate) || spent + item.Estimate > frameBudget.TotalSeconds + 1e-12)
                    LateStarts.Add($"stage {stage} parts [{item.FirstPart}, {item.EndPart}): spent {spent * 1e3:F3} ms + estimate {item.Estimate * 1e3:F3} ms");
            }
            UnitsRun[stage] += Math.Max(0, Math.Min(end, units[stage]) - first);
            clock.Advance(CallCost);
            if (LostSlices is { } lost && lost.Random.NextDouble() < lost.Chance) clock.Advance(lost.Cost);
            for (long u = first; u < Math.Min(end, units[stage]); u++)
                clock.Advance(SlowUnit is { } slow && slow.Stage == stage && slow.Unit == u ? slow.Cost
                    : SlowRegion is { } region && region.Stage == stage && u >= region.First && u < region.End ? region.Cost : unitCost);
            return units[stage];
        }
    }
}

/// <summary>The parts checks, shared by the CPU and GL fixtures.</summary>
public static class FrameBudgetPartsChecks
{
    const int Steps = 3;

    /// <summary>Test cases (model, budget in milliseconds): <paramref name="model"/> with each of the budgets.</summary>
    public static IEnumerable<TestCaseData> Budgets(string model, params double[] milliseconds) =>
        milliseconds.Select(budget => new TestCaseData(model, budget));

    /// <summary>The models: "small" (conv, batch norm, dropout, linear), LeNet-5, a quarter-width ResNet-20 (batch
    /// norm, residual sums) and "general_ops" (the general ONNX operators' layers), each with its batch size.</summary>
    static (NetworkGraph Graph, int Batch) Model(string name) => name switch
    {
        "small" => (FrameBudgetChecks.SmallCnn(), 4),
        "lenet5" => (ModelZoo.Build("lenet5", new ModelOptions(1, 32, 10)), 8),
        "resnet_cifar" => (ModelZoo.Build("resnet_cifar", new ModelOptions(3, 16, 10, WidthDivisor: 4)), 2),
        "general_ops" => (GeneralOps(), 3),
        "convmix" => (ConvMix(), 4),
        _ => throw new ArgumentException(name),
    };

    /// <summary>A convolution, then element-wise arithmetic with a learnable constant and with a broadcast tensor, a math
    /// function, reductions and a log-softmax over channels, to 10 logits: the layers of the general ONNX operators.</summary>
    static NetworkGraph GeneralOps()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(3, 6, 6));
        x = graph.Add("conv", new Conv2d(3, 4, kernelSize: 3, padding: 1), x);
        string scaled = graph.Add("scale", new Elementwise(BinaryOp.Mul, new TensorShape(4, 1, 1), learnable: true, value: 0.5f), x);
        string mean = graph.Add("row_mean", new Reduce(ReduceOp.Mean, [3]), scaled);
        string centred = graph.Add("centred", new Elementwise(BinaryOp.Sub), scaled, mean);
        string erf = graph.Add("erf", new ElementwiseFunction(UnaryOp.Erf), centred);
        string log = graph.Add("log_softmax", new Softmax(1, logarithm: true), erf);
        string max = graph.Add("column_max", new Reduce(ReduceOp.Max, [2], keepDims: false), log);
        string flat = graph.Add("flatten", new Flatten(), max);
        graph.Add("fc", new Linear(24, 10), flat);
        return graph;
    }

    /// <summary>Every kind of convolution — strided and padded, depthwise with multiplier 2, grouped, pointwise — with batch
    /// norm, ReLU and dropout, on (3,12,12) inputs, 5 classes.</summary>
    public static NetworkGraph ConvMix()
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("input", new TensorShape(3, 12, 12));
        x = graph.Add("conv1", new Conv2d(3, 12, kernelSize: 3, stride: 2, padding: 1), x);
        x = graph.Add("bn1", new BatchNorm2d(12), x);
        x = graph.Add("relu1", Activation.ReLU(), x);
        x = graph.Add("conv2_depthwise", new Conv2d(12, 24, kernelSize: 3, padding: 1, groups: 12), x);
        x = graph.Add("bn2", new BatchNorm2d(24), x);
        x = graph.Add("relu2", Activation.ReLU(), x);
        x = graph.Add("conv3_grouped", new Conv2d(24, 18, kernelSize: 3, padding: 1, groups: 2), x);
        x = graph.Add("conv4_pointwise", new Conv2d(18, 20, kernelSize: 1), x);
        x = graph.Add("flatten", new Flatten(), x);
        x = graph.Add("dropout", new Dropout(0.25f), x);
        graph.Add("fc", new Linear(20 * 6 * 6, 5), x);
        return graph;
    }

    /// <summary>Adam with clipping and an L1 penalty: every optimizer stage does something.</summary>
    static Optimizer CreateOptimizer() => new Adam(0.01f, weightDecay: 1e-3f)
    {
        ClipGradientNorm = 1f,
        Regularizer = Regularizer.Create(l1: 1e-4f, l2: 0f),
    };

    /// <summary>A different seeded batch every step, one-hot targets; allocates nothing after construction.</summary>
    sealed class SeededBatches(ExecutionPlan plan) : IBatchSource
    {
        readonly float[][] images = Enumerable.Range(0, Steps).Select(s =>
        {
            var random = new Random(100 + s);
            return Enumerable.Range(0, plan.Input.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        }).ToArray();
        readonly float[] targets = OneHot(plan);

        public void FillBatch(ExecutionPlan target, long step)
        {
            target.Input.Upload(images[step % Steps]);
            target.Target!.Upload(targets);
        }

        static float[] OneHot(ExecutionPlan plan)
        {
            int classes = plan.Target!.Shape[1];
            var result = new float[plan.Target.Length];
            for (int n = 0; n < plan.BatchSize; n++) result[n * classes + (3 * n + 1) % classes] = 1f;
            return result;
        }
    }

    /// <summary>Trains <paramref name="model"/> for a few steps unbudgeted and again under <paramref name="budget"/> per
    /// frame, where the scheduler splits large stages into parts, and compares every parameter, buffer (running
    /// statistics) and the optimizer's step count bit for bit. A budget under a millisecond must split some stage.</summary>
    public static void TrainingEqualsUnbudgeted(IBackend backend, string model, TimeSpan budget, bool expectSplitUpdate = false)
    {
        var (graph, batch) = Model(model);
        using var expected = Network.Create(graph, backend, seed: 7);
        using (var plan = ExecutionPlan.ForTraining(expected, batch))
        using (var optimizer = CreateOptimizer())
        {
            var batches = new SeededBatches(plan);
            for (long s = 0; s < Steps; s++)
            {
                batches.FillBatch(plan, s);
                plan.TrainStep(optimizer);
            }
        }

        using var network = Network.Create(graph, backend, seed: 7);
        using var budgetedPlan = ExecutionPlan.ForTraining(network, batch);
        using var budgetedOptimizer = CreateOptimizer();
        using var trainer = new FrameBudgetedTrainer(budgetedPlan, budgetedOptimizer, new SeededBatches(budgetedPlan));
        int frames = 0, mostParts = 1, splitUpdates = 0;
        while (trainer.CompletedSteps < Steps)
        {
            trainer.Advance(budget, maxSteps: (int)(Steps - trainer.CompletedSteps));
            frames++;
            if (budget == TimeSpan.Zero) Assert.That(trainer.LastFrame.Stages, Is.EqualTo(1), "a zero budget runs one item per frame");
            Assert.That(frames, Is.LessThan(200_000), "the trainer makes progress");
        }
        for (int stage = 0; stage < trainer.StageCount; stage++)
        {
            mostParts = Math.Max(mostParts, trainer.StagePartCount(stage));
            if (trainer.StageName(stage).Contains(" update ") && trainer.StagePartCount(stage) > 1) splitUpdates++;
        }
        Assert.That(trainer.StepInProgress, Is.False);
        Assert.That(budgetedOptimizer.StepCount, Is.EqualTo(Steps));
        if (budget < TimeSpan.FromMilliseconds(1)) Assert.That(mostParts, Is.GreaterThan(1), "some stage ran in parts");
        if (expectSplitUpdate) Assert.That(splitUpdates, Is.GreaterThan(0), "some parameter's update ran in parts");
        string what = $"{model} after {Steps} steps in {frames} frames of {budget.TotalMilliseconds} ms (most parts of a stage: {mostParts})";
        AssertSameBits(expected, network, what);
    }

    /// <summary>One eval forward against <see cref="FrameBudgetedInference"/> under <paramref name="budget"/>, twice (the
    /// second pass with the parts planned from the first): the output bit for bit.</summary>
    public static void InferenceEqualsForward(IBackend backend, string model, TimeSpan budget)
    {
        var (graph, batch) = Model(model);
        using var network = Network.Create(graph, backend, seed: 7);
        using var plan = ExecutionPlan.ForInference(network, batch);
        // on GL a node's forward is many work groups; on the CPU a convolution is units of (sample, channel tile)
        InferenceEqualsForward(backend, model, plan, budget, expectSplit: budget < TimeSpan.FromMilliseconds(1));
    }

    /// <summary><see cref="InferenceEqualsForward(IBackend, string, TimeSpan)"/> for a given plan of model <paramref name="model"/>; with
    /// <paramref name="expectSplit"/> some node's forward must have run in parts.</summary>
    public static void InferenceEqualsForward(IBackend backend, string model, ExecutionPlan plan, TimeSpan budget, bool expectSplit)
    {
        var random = new Random(5);
        plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(_ => (float)random.NextDouble()).ToArray());
        plan.Forward();
        float[] expected = plan.Output.ToArray();

        using var inference = new FrameBudgetedInference(plan);
        for (int pass = 0; pass < 2; pass++)
        {
            backend.Fill(plan.Output, 0f);
            inference.Begin();
            int frames = 1;
            while (!inference.Advance(budget)) frames++;
            Assert.That(Bits(plan.Output.ToArray()), Is.EqualTo(Bits(expected)), $"{model} output, pass {pass + 1}, {frames} frames (bit for bit)");
        }
        int mostParts = Enumerable.Range(0, inference.StageCount).Max(inference.StagePartCount);
        if (expectSplit) Assert.That(mostParts, Is.GreaterThan(1), "some node's forward ran in parts");
    }

    static void AssertSameBits(Network expected, Network actual, string what)
    {
        foreach (string name in expected.ParameterNames)
            Assert.That(Bits(actual.Parameter(name).ToArray()), Is.EqualTo(Bits(expected.Parameter(name).ToArray())), $"{what}: {name}");
        foreach (string name in expected.BufferNames)
            Assert.That(Bits(actual.Buffer(name).ToArray()), Is.EqualTo(Bits(expected.Buffer(name).ToArray())), $"{what}: buffer {name}");
    }

    internal static int[] Bits(float[] values) => MemoryMarshal.Cast<float, int>(values).ToArray();
}

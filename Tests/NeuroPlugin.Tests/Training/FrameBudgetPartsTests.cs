using System.Runtime.InteropServices;

namespace NeuroPlugin.Tests.Training;

/// <summary>Stages run in parts finer than an op (work slices) on the CPU backend (GL twin: OpenGL/GLFrameBudgetPartsTests),
/// and the scheduler's fit rule under a fake clock.</summary>
public class FrameBudgetPartsTests
{
    CpuBackend backend = null!;

    [SetUp]
    public void CreateBackend() => backend = new CpuBackend();

    [TearDown]
    public void DisposeBackend() => backend.Dispose();

    [TestCase("small", 0.0)]
    [TestCase("small", 0.002)]
    [TestCase("small", 3_600_000.0)]
    [TestCase("lenet5", 0.0)]
    [TestCase("lenet5", 0.01)]
    [TestCase("lenet5", 1.0)]
    [TestCase("resnet_cifar", 0.0)]
    [TestCase("resnet_cifar", 0.05)]
    [TestCase("general_ops", 0.0)]
    [TestCase("general_ops", 0.002)]
    public void TrainingInParts_EqualsUnbudgetedSteps_BitForBit(string model, double budgetMilliseconds) =>
        FrameBudgetPartsChecks.TrainingEqualsUnbudgeted(backend, model, TimeSpan.FromMilliseconds(budgetMilliseconds));

    [TestCase("lenet5", 0.0)]
    [TestCase("resnet_cifar", 0.01)]
    [TestCase("general_ops", 0.0)]
    public void InferenceInParts_EqualsOneForward_BitForBit(string model, double budgetMilliseconds) =>
        FrameBudgetPartsChecks.InferenceEqualsForward(backend, model, TimeSpan.FromMilliseconds(budgetMilliseconds));

    [Test]
    public void UpdateRules_RunInElementBlocks_LikeOneCall()
    {
        // LeNet-5's fc weights (48,000 values) are 12 blocks of 4096: the tiny budget splits their update
        FrameBudgetPartsChecks.TrainingEqualsUnbudgeted(backend, "lenet5", TimeSpan.FromMilliseconds(0.001), expectSplitUpdate: true);
    }

    [Test]
    public void FakeClock_NoPartStartsWhenItsEstimateDoesNotFit()
    {
        var clock = new FakeWork.Clock();
        var work = new FakeWork(clock, [40, 200, 1, 120], unitCost: TimeSpan.FromMicroseconds(10));
        using var budget = new FrameBudget(backend, work.StageCount, () => clock.Ticks);
        var frameBudget = TimeSpan.FromMilliseconds(1);
        int next = 0;
        work.Budget = budget;
        var runner = new FakeRunner(work);
        for (int frame = 0; frame < 400; frame++)
        {
            work.StartFrame(frameBudget);
            budget.Run(frameBudget, ref runner, ref next, stopAtEnd: false);
            work.EndFrame();
        }
        Assert.That(work.Sequences, Is.GreaterThan(10), "sequences completed: training progresses");
        Assert.That(budget.PartCount(1), Is.GreaterThan(1), "the 2 ms stage is split");
        Assert.That(budget.PartCount(2), Is.EqualTo(1), "a stage of one unit runs whole");
        Assert.That(work.LateStarts, Is.Empty, "items started although their estimate did not fit the rest of the frame");
        Assert.That(work.ItemsAfterFirst, Is.GreaterThan(100), "frames run several items");
        // once every part is measured (the costs are exact and constant), no frame runs over its budget
        Assert.That(work.OverBudgetFramesAfter(frames: 100), Is.Zero, "frames over the budget after the first 100");

        // a unit that turns slow: its part is re-measured at once (fast attack) and the following frames plan with it
        work.SlowUnit = (1, 0, TimeSpan.FromMicroseconds(600));
        for (int frame = 0; frame < 200; frame++)
        {
            work.StartFrame(frameBudget);
            budget.Run(frameBudget, ref runner, ref next, stopAtEnd: false);
            work.EndFrame();
        }
        Assert.That(work.LateStarts, Is.Empty, "items started although their estimate did not fit, after the slow unit");
    }

    [Test]
    public void FakeClock_SkippedStagesNeitherRunNorCount()
    {
        // the last stage (a monitor's statistics) has work only in every third sequence; the others pass over it
        var clock = new FakeWork.Clock();
        var work = new FakeWork(clock, [40, 200, 1, 120], unitCost: TimeSpan.FromMicroseconds(10));
        var asked = new HashSet<int>();
        work.Skip = (stage, sequence) =>
        {
            if (stage != 3) return false;
            asked.Add(sequence); // may be asked again when a frame ends before the stage: the answer is the same
            return sequence % 3 != 0;
        };
        using var budget = new FrameBudget(backend, work.StageCount, () => clock.Ticks);
        var frameBudget = TimeSpan.FromMilliseconds(1);
        int next = 0;
        work.Budget = budget;
        var runner = new FakeRunner(work);
        for (int frame = 0; frame < 600; frame++)
        {
            work.StartFrame(frameBudget);
            budget.Run(frameBudget, ref runner, ref next, stopAtEnd: false);
            work.EndFrame();
        }
        Assert.That(work.Sequences, Is.GreaterThan(20), "sequences completed");
        Assert.That(asked, Has.Count.InRange(work.Sequences, work.Sequences + 1), "asked in every sequence, at the stage's start");
        int kept = asked.Count(sequence => sequence % 3 == 0);
        Assert.That(work.UnitsRun[3], Is.InRange(120L * (kept - 1), 120L * kept), "units of the skipped stage: only in the kept sequences");
        Assert.That(budget.PartCount(3), Is.GreaterThan(1), "the kept runs are split as usual");
        Assert.That(work.LateStarts, Is.Empty, "items started although their estimate did not fit");
        Assert.That(work.OverBudgetFramesAfter(frames: 200), Is.Zero, "frames over the budget once measured");
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
        long frameStart;
        int itemsThisFrame;
        TimeSpan frameBudget;

        public FrameBudget? Budget { get; set; }
        public int StageCount => units.Length;
        public int Sequences { get; set; }
        public int ItemsAfterFirst { get; private set; }
        public List<string> LateStarts { get; } = [];
        public (int Stage, long Unit, TimeSpan Cost)? SlowUnit { get; set; }
        /// <summary>Whether a stage is passed over in a sequence (stage, sequences completed before it).</summary>
        public Func<int, int, bool>? Skip { get; set; }
        public long[] UnitsRun { get; } = new long[units.Length];

        public void StartFrame(TimeSpan budget)
        {
            frameStart = clock.Ticks;
            itemsThisFrame = 0;
            frameBudget = budget;
        }

        public void EndFrame() => frameTimes.Add((clock.Ticks - frameStart) / (double)Stopwatch.Frequency);

        public int OverBudgetFramesAfter(int frames) => frameTimes.Skip(frames).Count(t => t > frameBudget.TotalSeconds + 1e-12);

        public long RunStagePart(int stage, long first, long end)
        {
            if (end == 0) return units[stage]; // counting
            if (itemsThisFrame++ > 0)
            {
                ItemsAfterFirst++;
                var estimate = Budget!.ItemEstimate(stage, Budget.NextPart);
                double spent = (clock.Ticks - frameStart) / (double)Stopwatch.Frequency;
                if (estimate is null || spent + estimate.Value.TotalSeconds > frameBudget.TotalSeconds + 1e-12)
                    LateStarts.Add($"stage {stage} part {Budget.NextPart}: spent {spent * 1e3:F3} ms + estimate {estimate?.TotalMilliseconds:F3} ms");
            }
            UnitsRun[stage] += Math.Max(0, Math.Min(end, units[stage]) - first);
            for (long u = first; u < Math.Min(end, units[stage]); u++)
                clock.Advance(SlowUnit is { } slow && slow.Stage == stage && slow.Unit == u ? slow.Cost : unitCost);
            return units[stage];
        }
    }
}

/// <summary>The parts checks, shared by the CPU and GL fixtures.</summary>
public static class FrameBudgetPartsChecks
{
    const int Steps = 3;

    /// <summary>The models: "small" (conv, batch norm, dropout, linear), LeNet-5, a quarter-width ResNet-20 (batch
    /// norm, residual sums) and "general_ops" (the general ONNX operators' layers), each with its batch size.</summary>
    static (NetworkGraph Graph, int Batch) Model(string name) => name switch
    {
        "small" => (FrameBudgetChecks.SmallCnn(), 4),
        "lenet5" => (ModelZoo.Build("lenet5", new ModelOptions(1, 32, 10)), 8),
        "resnet_cifar" => (ModelZoo.Build("resnet_cifar", new ModelOptions(3, 16, 10, WidthDivisor: 4)), 2),
        "general_ops" => (GeneralOps(), 3),
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
        // on GL a node's forward is many work groups; on the CPU it is one op call unless the node does several
        if (budget < TimeSpan.FromMilliseconds(1) && (backend is not CpuBackend || model == "resnet_cifar"))
            Assert.That(mostParts, Is.GreaterThan(1), "some node's forward ran in parts");
    }

    static void AssertSameBits(Network expected, Network actual, string what)
    {
        foreach (string name in expected.ParameterNames)
            Assert.That(Bits(actual.Parameter(name).ToArray()), Is.EqualTo(Bits(expected.Parameter(name).ToArray())), $"{what}: {name}");
        foreach (string name in expected.BufferNames)
            Assert.That(Bits(actual.Buffer(name).ToArray()), Is.EqualTo(Bits(expected.Buffer(name).ToArray())), $"{what}: buffer {name}");
    }

    static int[] Bits(float[] values) => MemoryMarshal.Cast<float, int>(values).ToArray();
}

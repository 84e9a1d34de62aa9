using NeuroPlugin.Monitoring;

namespace NeuroPlugin.Tests.Monitoring;

/// <summary>How the monitor rides along a run: its costs, its schedule, the frame-budgeted trainer, and that it never
/// changes what is learned (MonitorTests, on the CPU and GL).</summary>
static class MonitorRunChecks
{
    const int Batch = 8;

    /// <summary>A training plan of the workload with a fixed batch uploaded.</summary>
    sealed class Run : IDisposable
    {
        public Run(IBackend backend, int seed = 5)
        {
            Workload = new MonitorWorkload(backend, seed);
            Plan = ExecutionPlan.ForTraining(Workload.Network, Batch);
            var loader = new DataLoader(MonitorWorkload.Dataset(Batch, seed: 7), Batch, shuffle: false);
            loader.StartEpoch(0);
            loader.TryNextBatch();
            Plan.Input.Upload(loader.Images);
            Plan.Target!.Upload(loader.Targets);
        }

        public MonitorWorkload Workload { get; }
        public ExecutionPlan Plan { get; }
        public Sgd Optimizer { get; } = new(0.1f, momentum: 0.9f);

        public void Dispose()
        {
            Optimizer.Dispose();
            Plan.Dispose();
            Workload.Dispose();
        }
    }

    /// <summary>
    /// Off (no monitor): a step allocates nothing and reads nothing back. On: every step, sampled ones included, reads
    /// nothing back synchronously (<see cref="IBackend.ReadbackCount"/> does not move: samples come through fences and a
    /// mapped buffer), and a step that neither takes nor receives a sample allocates nothing; only the scheduled steps
    /// take samples, and all of them arrive.
    /// </summary>
    public static void CostsNothingOffAndNoReadbackOn(IBackend backend)
    {
        using var run = new Run(backend);
        AllocationAssert.SteadyStateAllocatesNothing(_ => run.Plan.TrainStep(run.Optimizer), 5, "bytes allocated by 5 steps without a monitor", backend);
        long readbacks = backend.ReadbackCount;

        using var monitor = new TrainingMonitor(run.Plan, run.Optimizer, new MonitorOptions { Every = 5, HistogramBins = 8 });
        int measured = 0;
        for (long step = 1; step <= 40; step++)
        {
            long delivered = monitor.SamplesDelivered;
            var window = AllocationAssert.Measure(() =>
            {
                run.Plan.TrainStep(run.Optimizer);
                monitor.StepCompleted();
            });
            if (step > 10 && !monitor.IsScheduled(step) && monitor.SamplesDelivered == delivered && !window.Disturbed)
            {
                Assert.That(window.Bytes, Is.Zero, $"bytes allocated by unsampled step {step} with the monitor attached");
                measured++;
            }
        }
        Assert.That(backend.ReadbackCount, Is.EqualTo(readbacks), "synchronous readbacks during monitored steps");
        Assert.That(measured, Is.GreaterThanOrEqualTo(10), "unsampled steps measured");
        monitor.Flush();
        Assert.That(monitor.SamplesTaken, Is.EqualTo(9), "steps 1, 5, 10, …, 40 sampled, no other");
        Assert.That(monitor.SamplesDelivered, Is.EqualTo(9));
        Assert.That(backend.ReadbackCount, Is.EqualTo(readbacks), "synchronous readbacks to collect the samples");
    }

    /// <summary>The monitor only reads: weights after training with a sample at every step equal, bit for bit, those of the
    /// same training without a monitor.</summary>
    public static void DoesNotChangeTraining(IBackend backend)
    {
        float[][] Train(bool monitored)
        {
            using var run = new Run(backend);
            using var monitor = monitored ? new TrainingMonitor(run.Plan, run.Optimizer, new MonitorOptions { Every = 1 }) : null;
            for (int i = 0; i < 6; i++)
            {
                run.Plan.TrainStep(run.Optimizer);
                monitor?.StepCompleted();
            }
            monitor?.Flush();
            Assert.That(monitor?.SamplesDelivered ?? 6, Is.EqualTo(6));
            return run.Plan.Parameters.Select(p => p.ToArray()).ToArray();
        }
        Assert.That(Train(monitored: true), Is.EqualTo(Train(monitored: false)));
    }

    /// <summary>Sampled: the first step, every K-th, the last, and the step after a request.</summary>
    public static void SchedulesFirstEveryKthLastAndRequested(IBackend backend)
    {
        using var run = new Run(backend);
        using var monitor = new TrainingMonitor(run.Plan, run.Optimizer, new MonitorOptions { Every = 3, TotalSteps = 10 });
        var steps = new List<long>();
        monitor.SampleReady += sample => steps.Add(sample.Step);
        for (int step = 1; step <= 10; step++)
        {
            if (step == 5) monitor.RequestSample();
            run.Plan.TrainStep(run.Optimizer);
            monitor.StepCompleted();
        }
        monitor.Flush();
        Assert.That(steps, Is.EqualTo(new long[] { 1, 3, 5, 6, 9, 10 }));
    }

    /// <summary>With one readback slot and a sample at every step: waiting delivers them all; skipping never waits, counts
    /// what it skipped, and still delivers the last step.</summary>
    public static void BusySlotsWaitOrSkip(IBackend backend)
    {
        foreach (bool wait in new[] { true, false })
        {
            using var run = new Run(backend);
            using var monitor = new TrainingMonitor(run.Plan, run.Optimizer,
                new MonitorOptions { Every = 1, ReadbackSlots = 1, WaitWhenBusy = wait, TotalSteps = 8 });
            for (int step = 1; step <= 8; step++)
            {
                run.Plan.TrainStep(run.Optimizer);
                monitor.StepCompleted();
            }
            monitor.Flush();
            Assert.That(monitor.SamplesTaken + monitor.SkippedSamples, Is.EqualTo(8), $"wait {wait}: every step taken or skipped");
            Assert.That(monitor.SamplesDelivered, Is.EqualTo(monitor.SamplesTaken));
            Assert.That(monitor.LastSample!.Step, Is.EqualTo(8), "the last step is always sampled");
            if (wait) Assert.That(monitor.SkippedSamples, Is.Zero);
        }
    }

    /// <summary>
    /// A game's trainer: one call attaches the monitor to a <see cref="FrameBudgetedTrainer"/>, whose steps are spread over
    /// frames of a tiny budget (one stage per frame); no frame reads back synchronously, samples arrive for the scheduled
    /// steps, and the last one's weight norms are those of the weights the trainer leaves.
    /// </summary>
    public static void RidesAlongAFrameBudgetedTrainer(IBackend backend)
    {
        using var workload = new MonitorWorkload(backend);
        using var plan = ExecutionPlan.ForTraining(workload.Network, Batch);
        using var optimizer = new Adam(0.01f);
        using var trainer = new FrameBudgetedTrainer(plan, optimizer, new MonitorWorkload.Batches(MonitorWorkload.Dataset(32, seed: 3), Batch));
        using var monitor = TrainingMonitor.Attach(trainer, new MonitorOptions { Every = 2, TotalSteps = 6 });
        Assert.That(trainer.Monitor, Is.SameAs(monitor));
        long readbacks = backend.ReadbackCount;
        int frames = 0;
        while (trainer.CompletedSteps < 6)
        {
            trainer.Advance(TimeSpan.Zero);
            monitor.Poll();
            frames++;
        }
        Assert.That(backend.ReadbackCount, Is.EqualTo(readbacks), "synchronous readbacks during the frames");
        Assert.That(frames, Is.GreaterThan(6 * plan.TrainingStages.Count), "one stage per frame");
        monitor.Flush();
        Assert.That(monitor.SamplesDelivered, Is.EqualTo(4), "steps 1, 2, 4, 6");
        var last = monitor.LastSample!;
        Assert.That(last.Step, Is.EqualTo(6));
        foreach (var parameter in last.Parameters)
        {
            double norm = Math.Sqrt(workload.Network.Parameter(parameter.Name).ToArray().Sum(w => (double)w * w));
            Assert.That(parameter.WeightNorm, Is.EqualTo(norm).Within(1e-12 * norm), parameter.Name);
        }
        Assert.That(last.Nodes.All(n => n.ForwardMs is >= 0), "forward times of stages spread over frames");
    }

    /// <summary>
    /// On a frame-budgeted trainer the sampled steps' statistics are the trainer's own stages: under a budget of nothing
    /// (one item per frame) they run in several parts, one per frame, and every sample holds the same numbers, bit for
    /// bit, as when every stage runs whole; the steps the monitor does not sample pass over its stages.
    /// </summary>
    public static void StatisticsRunInPartsWithinTheBudget(IBackend backend)
    {
        var whole = BudgetedSamples(backend, split: false, out _, out int wholeFrames);
        var parts = BudgetedSamples(backend, split: true, out int statisticsParts, out int partFrames);
        Assert.That(statisticsParts, Is.GreaterThan(1), "the statistics stage runs in parts");
        Assert.That(partFrames, Is.GreaterThan(wholeFrames), "parts spread over more frames");
        Assert.That(parts.Select(s => s.Step), Is.EqualTo(new long[] { 1, 2, 4, 5 }), "sampled steps");
        Assert.That(whole.Select(s => s.Step), Is.EqualTo(new long[] { 1, 2, 4, 5 }), "sampled steps");
        for (int i = 0; i < whole.Count; i++)
            Assert.That(Numbers(parts[i]), Is.EqualTo(Numbers(whole[i])), $"step {whole[i].Step}'s statistics");
    }

    static List<TrainingSample> BudgetedSamples(IBackend backend, bool split, out int statisticsParts, out int frames)
    {
        using var workload = new MonitorWorkload(backend);
        using var plan = ExecutionPlan.ForTraining(workload.Network, Batch);
        using var optimizer = new Adam(0.01f);
        using var trainer = new FrameBudgetedTrainer(plan, optimizer, new MonitorWorkload.Batches(MonitorWorkload.Dataset(32, seed: 3), Batch))
        {
            SplitStages = split,
        };
        var samples = new List<TrainingSample>();
        using (var monitor = TrainingMonitor.Attach(trainer, new MonitorOptions { Every = 2, TotalSteps = 5, HistogramBins = 8, WaitWhenBusy = true }))
        {
            monitor.SampleReady += samples.Add;
            frames = 0;
            while (trainer.CompletedSteps < 5)
            {
                trainer.Advance(TimeSpan.Zero);
                frames++;
            }
            monitor.Flush();
            Assert.That(trainer.StageName(trainer.StageCount - 1), Is.EqualTo("monitor statistics"));
            statisticsParts = trainer.StagePartCount(trainer.StageCount - 1);
        }
        Assert.That(trainer.StageName(trainer.StageCount - 1), Does.Not.StartWith("monitor"), "detached: the monitor's stages are gone");
        return samples;
    }

    /// <summary>Every number of a sample that the device computed (not its timings).</summary>
    static List<double> Numbers(TrainingSample sample)
    {
        var numbers = new List<double> { sample.Loss, sample.BatchAccuracy };
        void Add(TensorSummary? summary)
        {
            if (summary is null) return;
            numbers.AddRange([summary.Count, summary.Min, summary.Max, summary.Mean, summary.Std, summary.Norm, summary.Zeros,
                summary.NaNs, summary.Infinities, summary.Saturated, summary.Histogram.Min, summary.Histogram.Max]);
            numbers.AddRange(summary.Histogram.Counts.Select(c => (double)c));
        }
        foreach (var parameter in sample.Parameters)
        {
            Add(parameter.Weight);
            Add(parameter.Gradient);
            Add(parameter.Update);
        }
        foreach (var node in sample.Nodes)
        {
            Add(node.Output);
            numbers.Add(node.DeadChannels);
            Add(node.Gradient);
        }
        return numbers;
    }

    /// <summary>One call attaches, Dispose detaches (from the plan and the trainer), and a trainer carries one monitor at a time.</summary>
    public static void AttachesOnceAndDetaches(IBackend backend)
    {
        using var workload = new MonitorWorkload(backend);
        using var trainer = new Trainer(workload.Network, new Sgd(0.1f), Batch);
        var monitor = TrainingMonitor.Attach(trainer);
        Assert.That(trainer.Monitor, Is.SameAs(monitor));
        Assert.That(trainer.Plan.StageObserver, Is.SameAs(monitor));
        Assert.Throws<InvalidOperationException>(() => TrainingMonitor.Attach(trainer));
        monitor.Dispose();
        Assert.That(trainer.Monitor, Is.Null);
        Assert.That(trainer.Plan.StageObserver, Is.Null);
        using var second = TrainingMonitor.Attach(trainer, new MonitorOptions { Every = 7 });
        Assert.That(trainer.Monitor, Is.SameAs(second));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MonitorOptions { HistogramBins = 0 }.Validate())!;
        Assert.That(error.ParamName, Is.EqualTo("HistogramBins"));
    }
}

namespace NeuroPlugin.Tests.Training;

/// <summary>The non-finite guard's checks, shared by the CPU and GL fixtures: the report names the bad tensor and its layer,
/// a bad step's update is skipped and training goes on, and the flags over many tensors at once
/// (<see cref="IBackend.FlagNonFiniteTensors"/>: on GL one dispatch for each run of tensors that are ranges of one buffer).</summary>
public static partial class FrameBudgetChecks
{
    /// <summary>One good guarded step, then a step whose conv1 weight gradient gets a NaN just before the check: the
    /// update is skipped, the report names conv1.weight and layer conv1, and the weights and Adam's state stay those of step 1.</summary>
    public static void NonFiniteGradientNamesLayer(IBackend backend)
    {
        var batches = new CycledBatches(seed: 21);
        using var expected = Reference(backend, 1, _ => true, batches);
        using var run = new GuardedRun(backend);
        var (network, plan, optimizer, guard) = (run.Network, run.Plan, run.Optimizer, run.Guard);
        var parameters = plan.Parameters.ToArray();
        var gradients = plan.ParameterGradients.ToArray();

        batches.FillBatch(plan, 0);
        guard.TrainStep();
        Assert.That(guard.ReadNow(), Is.Null, "a finite step reports nothing");
        var exponentialAverage = optimizer.State(0, "exp_avg").ToArray();

        batches.FillBatch(plan, 1);
        plan.ComputeGradients();
        var conv1Grad = gradients.Single(g => g.Name == "conv1.weight.grad");
        var values = conv1Grad.ToArray();
        values[7] = float.NaN;
        conv1Grad.Upload(values);
        guard.Check();
        optimizer.Step(backend, parameters, gradients);

        AssertSameWeights(expected, network, "after the skipped step");
        Assert.That(optimizer.State(0, "exp_avg").ToArray(), Is.EqualTo(exponentialAverage), "Adam's exp_avg of conv1.weight is kept");
        var report = guard.ReadNow();
        Assert.That(report, Is.Not.Null);
        Assert.That(report!.Step, Is.EqualTo(2));
        Assert.That(report.SkippedUpdates, Is.EqualTo(1));
        Assert.That(report.Tensors, Is.EqualTo(new[] { new NonFiniteTensor("conv1.weight", NonFiniteTensorKind.Gradient, "conv1") }));
        Assert.That(report.Layer, Is.EqualTo("conv1"));
        Assert.That(report.ToString(), Does.Contain("conv1.weight (gradient)").And.Contain("layer 'conv1'"));
        Assert.That(optimizer.StepCount, Is.EqualTo(1), "t rewound to the last applied update");
        Assert.That(guard.ReadNow(), Is.Null, "the report is cleared once delivered");
    }

    /// <summary>An MLP whose fc1 overflows to +∞ on a finite (huge) input: the report's origin is fc1's output.</summary>
    public static void NonFiniteActivationNamesLayer(IBackend backend)
    {
        var graph = new NetworkGraph();
        string x = graph.AddInput("features", new TensorShape(8));
        x = graph.Add("fc1", new Linear(8, 4), x);
        x = graph.Add("relu1", Activation.ReLU(), x);
        graph.Add("fc2", new Linear(4, 3), x);
        using var network = Network.Create(graph, backend, seed: 4);
        network.Parameter("fc1.weight").Upload(Enumerable.Repeat(1f, 32).ToArray());
        float[] before = network.Parameter("fc1.weight").ToArray();
        float[] fc2Before = network.Parameter("fc2.weight").ToArray();
        using var plan = ExecutionPlan.ForTraining(network, 2);
        using var optimizer = new Sgd(0.1f);
        using var guard = new NonFiniteGuard(plan, optimizer);
        plan.Input.Upload(Enumerable.Repeat(3e38f, 16).ToArray()); // finite, but 8 of them summed overflow
        plan.Target!.Upload([1, 0, 0, 0, 1, 0]);
        guard.TrainStep();

        var report = guard.ReadNow()!;
        Assert.That(report, Is.Not.Null);
        Assert.That(report.Origin, Is.EqualTo(new NonFiniteTensor("fc1", NonFiniteTensorKind.Activation, "fc1")));
        Assert.That(report.Layer, Is.EqualTo("fc1"));
        Assert.That(report.Tensors.Select(t => t.Name), Does.Contain("loss"));
        Assert.That(network.Parameter("fc1.weight").ToArray(), Is.EqualTo(before));
        Assert.That(network.Parameter("fc2.weight").ToArray(), Is.EqualTo(fc2Before));
    }

    /// <summary>Steps 0, 1 (NaN in the input), 2 with Adam: the guarded run's weights equal a reference that trained on
    /// steps 0 and 2 only — so the skipped step left weights and moments alone and t continued from 1, not 2.</summary>
    public static void NonFiniteInputSkipsStep(IBackend backend)
    {
        var batches = new CycledBatches(seed: 31).PoisonedAt(1, 5, float.NaN);
        using var expectedAfterOne = Reference(backend, 1, _ => true, batches);
        using var expected = Reference(backend, 3, s => s != 1, batches);

        using var run = new GuardedRun(backend);
        var (network, plan, optimizer, guard) = (run.Network, run.Plan, run.Optimizer, run.Guard);
        var initialMean = network.Buffer("bn1.running_mean").ToArray();
        batches.FillBatch(plan, 0);
        guard.TrainStep();
        var goodMean = network.Buffer("bn1.running_mean").ToArray();
        Assert.That(goodMean, Is.Not.EqualTo(initialMean), "a good step moves the running mean");
        batches.FillBatch(plan, 1);
        guard.TrainStep();
        Assert.That(network.Buffer("bn1.running_mean").ToArray(), Is.EqualTo(goodMean), "the poisoned step's batch statistics are undone");
        Assert.That(network.Buffer("bn1.running_var").ToArray(), Is.All.Matches<float>(float.IsFinite));
        AssertSameWeights(expectedAfterOne, network, "after the poisoned step");

        var report = guard.ReadNow();
        Assert.That(report, Is.Not.Null);
        Assert.That(report!.Origin, Is.EqualTo(new NonFiniteTensor("input", NonFiniteTensorKind.Input, "input")));
        Assert.That(report.Step, Is.EqualTo(2));
        // NaN reaches conv1's gradients on every backend; whether it survives ReLU into the loss differs (GLSL's max(NaN, 0)
        // may return 0), which is why the guard watches gradients and not only the loss
        Assert.That(report.Tensors, Does.Contain(new NonFiniteTensor("conv1.weight", NonFiniteTensorKind.Gradient, "conv1")));
        batches.FillBatch(plan, 2);
        guard.TrainStep();
        Assert.That(guard.ReadNow(), Is.Null);
        Assert.That(optimizer.StepCount, Is.EqualTo(2));
        AssertSameWeights(expected, network, "steps 0 and 2");
    }

    /// <summary>Budgeted and guarded, with the report read asynchronously: a poisoned batch at step 3 is reported through
    /// the event a little later; the skipped steps (3 and any queued before the report arrived) leave no trace, and the
    /// weights equal a reference trained on the other steps.</summary>
    public static void BudgetedTrainingRecoversFromNonFinite(IBackend backend)
    {
        const int steps = 12;
        var batches = new CycledBatches(seed: 41).PoisonedAt(3, 0, float.PositiveInfinity);

        using var run = new GuardedRun(backend, batches);
        var (network, plan, optimizer, guard, trainer) = (run.Network, run.Plan, run.Optimizer, run.Guard, run.Trainer!);
        var reports = new List<(NonFiniteReport Report, long AtStep)>();
        trainer.NonFiniteDetected += r => reports.Add((r, trainer.CompletedSteps));
        int frames = 0;
        while (trainer.CompletedSteps < steps)
        {
            trainer.Advance(TimeSpan.FromMilliseconds(0.05), maxSteps: (int)(steps - trainer.CompletedSteps));
            Assert.That(++frames, Is.LessThan(10_000));
        }
        Assert.That(reports, Has.Count.EqualTo(1));
        var (report, atStep) = reports[0];
        Assert.That(report.Step, Is.EqualTo(4), "the 4th update (step index 3) went bad");
        Assert.That(report.Layer, Is.EqualTo("input"));
        Assert.That(report.SkippedUpdates, Is.EqualTo(atStep - 3), "the bad step and those queued before the report arrived");
        Assert.That(trainer.LastNonFinite, Is.SameAs(report));
        Assert.That(optimizer.StepCount, Is.EqualTo(steps - report.SkippedUpdates));
        using var expected = Reference(backend, steps, s => s < 3 || s >= atStep, batches);
        AssertSameWeights(expected, network, $"skipping steps 3..{atStep - 1}");
    }

    /// <summary>SGD with an absurd learning rate: an update overflows the weights to ±∞ within a few steps, and the next
    /// step's forward goes non-finite. The guard skips that step: the weights equal an unguarded run of exactly the
    /// updates before the report's step, and the report's origin is the first parameter (forward order) that the
    /// reference run shows non-finite — the layer an update blew up.</summary>
    public static void HugeLearningRateKeepsLastFiniteWeights(IBackend backend)
    {
        var batches = new CycledBatches(seed: 51);
        using var network = Network.Create(SmallCnn(), backend, seed: 3);
        using var plan = ExecutionPlan.ForTraining(network, Batch);
        using var optimizer = new Sgd(1e30f);
        using var guard = new NonFiniteGuard(plan, optimizer);
        NonFiniteReport? report = null;
        for (int s = 0; s < 10 && report is null; s++)
        {
            batches.FillBatch(plan, s);
            guard.TrainStep();
            report = guard.ReadNow();
        }
        Assert.That(report, Is.Not.Null, "a learning rate of 1e30 overflows within 10 steps");
        long good = report!.Step - 1;
        Assert.That(good, Is.GreaterThanOrEqualTo(1));

        using var reference = Network.Create(SmallCnn(), backend, seed: 3);
        using var referencePlan = ExecutionPlan.ForTraining(reference, Batch);
        using var referenceOptimizer = new Sgd(1e30f);
        for (int s = 0; s < good; s++)
        {
            batches.FillBatch(referencePlan, s);
            referencePlan.TrainStep(referenceOptimizer);
        }
        AssertSameWeights(reference, network, $"the weights after {good} updates");

        // the reference's next step, scanned on the host in the guard's order, lists the same bad tensors
        batches.FillBatch(referencePlan, good);
        referencePlan.ComputeGradients();
        var expected = new List<NonFiniteTensor>();
        bool Bad(Tensor tensor) => !tensor.ToArray().All(float.IsFinite);
        string LayerOf(string parameter) => parameter[..parameter.LastIndexOf('.')];
        if (Bad(referencePlan.Input)) expected.Add(new("input", NonFiniteTensorKind.Input, "input"));
        foreach (var p in referencePlan.Parameters) if (Bad(p)) expected.Add(new(p.Name, NonFiniteTensorKind.Parameter, LayerOf(p.Name)));
        foreach (var node in reference.Graph.Nodes)
            if (Bad(referencePlan.Tensor(node.Name))) expected.Add(new(node.Name, NonFiniteTensorKind.Activation, node.Name));
        if (Bad(referencePlan.Loss!)) expected.Add(new("loss", NonFiniteTensorKind.Loss, "loss"));
        for (int i = referencePlan.Parameters.Count - 1; i >= 0; i--)
            if (Bad(referencePlan.ParameterGradients[i]))
                expected.Add(new(referencePlan.Parameters[i].Name, NonFiniteTensorKind.Gradient, LayerOf(referencePlan.Parameters[i].Name)));
        Assert.That(report.Tensors, Is.EqualTo(expected));
        TestContext.Progress.WriteLine(report.ToString());
    }

    public static void UnhandledNonFiniteThrows(IBackend backend)
    {
        var batches = new CycledBatches(seed: 61) { PoisonStep = 0 };
        batches.Poison = Enumerable.Repeat(float.NaN, Batch * 144).ToArray();
        using var network = Network.Create(SmallCnn(), backend, seed: 3);
        float[][] initial = Weights(network);
        using var plan = ExecutionPlan.ForTraining(network, Batch);
        using var optimizer = CreateOptimizer();
        using var guard = new NonFiniteGuard(plan, optimizer);
        using var trainer = new FrameBudgetedTrainer(plan, optimizer, batches, guard);
        var thrown = Assert.Throws<NonFiniteException>(() =>
        {
            for (int frame = 0; frame < 1000; frame++) trainer.Advance(TimeSpan.FromHours(1), maxSteps: 1);
        });
        Assert.That(thrown!.Report.Step, Is.EqualTo(1));
        Assert.That(thrown.Message, Does.Contain("layer 'input'"));
        Assert.That(Weights(network), Is.EqualTo(initial), "no update was applied");
        Assert.That(optimizer.StepCount, Is.Zero);
    }

    /// <summary>NaN or +∞ planted at the first or the last element of the first, a middle or the last parameter's gradient
    /// (on GL the gradients are ranges of one buffer, flagged in one dispatch): each guarded step's report names exactly
    /// that gradient, and the next step, whose gradients are computed afresh, goes on.</summary>
    public static void OneBadGradientAmongMany(IBackend backend)
    {
        var batches = new CycledBatches(seed: 81);
        using var run = new GuardedRun(backend);
        var (plan, optimizer, guard) = (run.Plan, run.Optimizer, run.Guard);
        var parameters = plan.Parameters.ToArray();
        var gradients = plan.ParameterGradients.ToArray();
        Assert.That(gradients, Has.Length.GreaterThanOrEqualTo(3), "test setup: several gradients");
        int step = 0;
        foreach (int k in new[] { 0, gradients.Length / 2, gradients.Length - 1 })
            foreach (bool last in new[] { false, true })
            {
                batches.FillBatch(plan, step++);
                plan.ComputeGradients();
                var values = gradients[k].ToArray();
                values[last ? values.Length - 1 : 0] = last ? float.PositiveInfinity : float.NaN;
                gradients[k].Upload(values);
                guard.Check();
                optimizer.Step(backend, parameters, gradients);
                string name = parameters[k].Name;
                Assert.That(guard.ReadNow()?.Tensors, Is.EqualTo(new[] { new NonFiniteTensor(name, NonFiniteTensorKind.Gradient, name[..name.LastIndexOf('.')]) }),
                    $"{(last ? "+∞ at the last" : "NaN at the first")} element of {name}'s gradient ({values.Length} values)");
                batches.FillBatch(plan, step++);
                guard.TrainStep();
                Assert.That(guard.ReadNow(), Is.Null, "the next, finite step");
            }
    }

    /// <summary>The lengths of <see cref="FlagsOfManyTensors"/>' grouped tensors: whole and partial last vec4s.</summary>
    public static readonly int[] FlagGroupLengths = [6, 4, 9, 3, 7];
    /// <summary>The lengths of <see cref="FlagsOfManyTensors"/>' tensors of their own: more than one GL dispatch holds.</summary>
    public static readonly int[] FlagLoneLengths = [5, 1, 8, 13, 2, 31, 4, 3];

    /// <summary><see cref="FlagsOfManyTensors"/>' tensors: a group (ranges of one buffer on GL) and eight tensors of their own,
    /// listed as group 0..3, lone 0..6, group 4, lone 7 (on GL a run of four, then seven tensors each bound on its own, then a
    /// run of one and a lone tensor), and their flag indices, a permutation of 0..12 (flag 13 is set by none).</summary>
    public static (Tensor[] Group, Tensor[] Lone, Tensor[] Inputs, int[] Indices) FlagTensors(IBackend backend)
    {
        var group = backend.AllocateGroup(FlagGroupLengths.Select(n => new TensorShape(n)).ToArray(),
            FlagGroupLengths.Select((_, i) => $"g{i}").ToArray(), "flagged group");
        var lone = FlagLoneLengths.Select((n, i) => backend.Allocate(new TensorShape(n), $"lone{i}")).ToArray();
        Tensor[] inputs = [.. group[..4], .. lone[..7], group[4], lone[7]];
        return (group, lone, inputs, [4, 0, 12, 2, 7, 1, 9, 11, 3, 6, 10, 5, 8]);
    }

    /// <summary>IBackend.FlagNonFiniteTensors against its definition: NaN, +∞ or −∞ planted at the first, a middle and the
    /// last element (the last vec4's last own lane) of each tensor in turn sets exactly that tensor's flag; finite extremes
    /// (±float.MaxValue, subnormals, −0) set none; two bad tensors set both; flags nobody sets are left as they were.</summary>
    public static void FlagsOfManyTensors(IBackend backend)
    {
        var (group, lone, inputs, indices) = FlagTensors(backend);
        int flagCount = inputs.Length + 1;
        using var flags = backend.Allocate(new TensorShape(flagCount), "flags");
        try
        {
            var random = new Random(5);
            float[][] clean = inputs.Select(t => Enumerable.Range(0, t.Length).Select(i => (i % 4) switch
            {
                0 => float.MaxValue,
                1 => -float.Epsilon,
                2 => -0f,
                _ => (float)random.NextDouble() * 2f - 1f,
            }).ToArray()).ToArray();
            float[] Flags(params (int Tensor, int Element, float Value)[] plants)
            {
                for (int t = 0; t < inputs.Length; t++)
                {
                    var values = (float[])clean[t].Clone();
                    foreach (var (tensor, element, value) in plants)
                        if (tensor == t) values[element] = value;
                    inputs[t].Upload(values);
                }
                backend.Fill(flags, 0f);
                backend.FlagNonFiniteTensors(inputs, flags, indices);
                return flags.ToArray();
            }
            float[] Expected(params int[] tensors)
            {
                var expected = new float[flagCount];
                foreach (int t in tensors) expected[indices[t]] = 1f;
                return expected;
            }

            Assert.That(Flags(), Is.EqualTo(new float[flagCount]), "finite values, the largest and the subnormals included");
            float[] bad = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];
            int plant = 0;
            for (int t = 0; t < inputs.Length; t++)
                foreach (int element in new[] { 0, inputs[t].Length / 2, inputs[t].Length - 1 })
                {
                    float value = bad[plant++ % bad.Length];
                    Assert.That(Flags((t, element, value)), Is.EqualTo(Expected(t)), $"{value} at {inputs[t].Name}[{element}] of {inputs[t].Length}");
                }
            int last = inputs.Length - 1;
            Assert.That(Flags((0, 1, float.NaN), (last, 2, float.PositiveInfinity)), Is.EqualTo(Expected(0, last)), "the first and the last tensor");
            Assert.That(Flags((4, 0, float.NaN), (10, 2, float.NaN), (11, 6, float.NegativeInfinity)), Is.EqualTo(Expected(4, 10, 11)),
                "the first and last of the seven lone tensors (one GL dispatch) and the group's last");

            for (int t = 0; t < inputs.Length; t++) inputs[t].Upload(t == 2 ? Enumerable.Repeat(float.NaN, inputs[t].Length).ToArray() : clean[t]);
            var preset = new float[flagCount];
            preset[^1] = 1f;
            flags.Upload(preset);
            backend.FlagNonFiniteTensors(inputs, flags, indices);
            var expected = Expected(2);
            expected[^1] = 1f;
            Assert.That(flags.ToArray(), Is.EqualTo(expected), "a set flag stays set; others are left alone");
            Assert.Throws<ArgumentException>(() => backend.FlagNonFiniteTensors(inputs, flags, indices.AsSpan(1)));
            int[] outOfRange = [.. indices];
            outOfRange[3] = flagCount;
            Assert.Throws<ArgumentOutOfRangeException>(() => backend.FlagNonFiniteTensors(inputs, flags, outOfRange));
        }
        finally
        {
            foreach (var tensor in group.Concat(lone)) tensor.Dispose();
        }
    }
}

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>
/// The optimizers against torch.optim (Tests/Golden/gen_optimizers.py), on both backends: 5-step trajectories of
/// every rule with and without weight decay, a warm-up + cosine schedule, gradient clipping (with the norms
/// clip_grad_norm_ returned) and an L1 + L2 penalty on the weights only (with the penalty values). Parameters are
/// 'fc.weight' (3,4) and 'fc.bias' (4); every step's gradient is fixed by the file. Every step is compared.
/// </summary>
public sealed class OptimizerGoldenTests : GLFixture
{
    /// <summary>PyTorch and both backends run the same float32 recurrences in the same order; after 5 steps they
    /// differ by a few ulps (sqrt, division, fused multiply-adds), far inside this bound.</summary>
    const double Tolerance = 1e-4;

    public static IEnumerable<TestCaseData> RuleCases()
    {
        foreach (string rule in new[] { "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw" })
            foreach (string variant in rule == "rmsprop" ? new[] { "plain", "weight_decay", "momentum" } : new[] { "plain", "weight_decay" })
                yield return new TestCaseData(rule, variant).SetArgDisplayNames($"{rule} {variant}");
    }

    [TestCaseSource(nameof(RuleCases))]
    public void UpdateRuleMatchesPyTorch(string rule, string variant)
    {
        var golden = GoldenFile.Load($"optimizer_{rule}");
        var settings = golden.Attributes.GetProperty("variants").GetProperty(variant);
        foreach (var backend in Backends())
        {
            using var optimizer = Create(rule, settings);
            Assert.That(optimizer.Name, Is.EqualTo(rule), "the optimizer the file describes");
            using var problem = new GoldenProblem(backend, golden);
            for (int t = 0; t < GoldenProblem.Steps; t++)
            {
                problem.Step(optimizer, t);
                problem.AssertParameters(variant, t, Tolerance);
            }
        }
    }

    [Test]
    public void WarmupCosineScheduleDrivesAdamAsPyTorch()
    {
        var golden = GoldenFile.Load("optimizer_schedules");
        var schedule = LearningRateSchedule.Cosine.WithWarmup(2);
        var expected = golden.Data("adam.factor");
        foreach (var backend in Backends())
        {
            using var optimizer = new Adam(0.05f);
            using var problem = new GoldenProblem(backend, golden);
            for (int t = 0; t < GoldenProblem.Steps; t++)
            {
                float factor = schedule.Factor(t, GoldenProblem.Steps);
                Assert.That(factor, Is.EqualTo(expected[t]).Within(1e-6), $"factor at step {t}");
                optimizer.LearningRate = 0.05f * factor; // as Trainer does
                problem.Step(optimizer, t);
                problem.AssertParameters("adam", t, Tolerance);
            }
        }
    }

    [TestCase("clip", 4f)]   // clips steps 2–4, not 0–1
    [TestCase("loose", 100f)] // never clips: the trajectory is plain momentum SGD
    public void ClippingMatchesClipGradNorm(string variant, float maxNorm)
    {
        var golden = GoldenFile.Load("optimizer_clipping");
        var norms = golden.Data($"{variant}.norm");
        foreach (var backend in Backends())
        {
            using var optimizer = new Sgd(0.1f, momentum: 0.9f) { ClipGradientNorm = maxNorm };
            using var problem = new GoldenProblem(backend, golden);
            for (int t = 0; t < GoldenProblem.Steps; t++)
            {
                problem.Step(optimizer, t);
                Assert.That(optimizer.ReadGradientNorm(), Is.EqualTo(norms[t]).Within(1e-4 * norms[t]), $"{backend.Name}: total norm at step {t}");
                problem.AssertParameters(variant, t, Tolerance);
            }
        }
    }

    [Test]
    public void L1AndL2PenaltyOnWeightsMatchesAutograd()
    {
        var golden = GoldenFile.Load("optimizer_regularization");
        float l1 = golden.Attributes.GetProperty("l1").GetSingle(), l2 = golden.Attributes.GetProperty("l2").GetSingle();
        var penalties = golden.Data("adam.penalty");
        foreach (var backend in Backends())
        {
            using var optimizer = new Adam(0.05f) { Regularizer = Regularizer.Create(l1, l2, ParameterGroup.Weights) };
            using var problem = new GoldenProblem(backend, golden);
            for (int t = 0; t < GoldenProblem.Steps; t++)
            {
                problem.Step(optimizer, t);
                Assert.That(optimizer.Regularizer!.ReadPenalty(), Is.EqualTo(penalties[t]).Within(1e-4 * penalties[t]), $"{backend.Name}: penalty at step {t}");
                problem.AssertParameters("adam", t, Tolerance);
            }
        }
    }

    [Test]
    public void NormPenaltyOpsMatchAutograd()
    {
        var golden = GoldenFile.Load("optimizer_regularization");
        float l1 = golden.Attributes.GetProperty("l1").GetSingle(), l2 = golden.Attributes.GetProperty("l2").GetSingle();
        foreach (var backend in Backends())
        {
            using var weight = backend.Allocate(new TensorShape(3, 4), "fc.weight");
            using var gradient = backend.Allocate(weight.Shape, "fc.weight.grad");
            using var total = backend.Allocate(new TensorShape(1), "penalty");
            weight.Upload(golden.Data("weight"));
            backend.NormPenaltyForward(weight, total, l1, l2);
            backend.NormPenaltyBackward(weight, gradient, l1, l2);
            Assert.That(total.ToArray()[0], Is.EqualTo(golden.Data("adam.penalty")[0]).Within(1e-4 * golden.Data("adam.penalty")[0]), $"{backend.Name}: penalty");
            TensorAssert.AreClose(golden.Data("penalty_grad_weight"), gradient.ToArray(), Tolerance, $"{backend.Name}: penalty gradient (sign(0) = 0 at weight[0,0])");
        }
    }

    [Test]
    public void ScheduleFactorsMatchTorchSchedulers()
    {
        var golden = GoldenFile.Load("optimizer_schedules");
        var a = golden.Attributes;
        int total = a.GetProperty("total").GetInt32(), warmup = a.GetProperty("warmup").GetInt32(), stepSize = a.GetProperty("step_size").GetInt32();
        var step = LearningRateSchedule.Step(stepSize, a.GetProperty("step_gamma").GetSingle());
        var schedules = new Dictionary<string, LearningRateSchedule>
        {
            ["step"] = step,
            ["exponential"] = LearningRateSchedule.Exponential(a.GetProperty("exponential_gamma").GetSingle()),
            ["cosine"] = LearningRateSchedule.Cosine,
            ["warmup_cosine"] = LearningRateSchedule.Cosine.WithWarmup(warmup),
            ["warmup_step"] = step.WithWarmup(warmup),
        };
        foreach (var (name, schedule) in schedules)
        {
            var factors = new float[total];
            for (int t = 0; t < total; t++) factors[t] = schedule.Factor(t, total);
            TensorAssert.AreClose(golden.Data($"factor.{name}"), factors, Tolerance, $"{name} ({schedule.Name}) factors");
        }
    }

    IEnumerable<IBackend> Backends()
    {
        using var cpu = new CpuBackend();
        yield return cpu;
        yield return Backend;
    }

    /// <summary>The optimizer a golden variant describes, with torch.optim's defaults for what it leaves out.</summary>
    static Optimizer Create(string rule, JsonElement s)
    {
        float Get(string key, float fallback) => s.TryGetProperty(key, out var v) ? v.GetSingle() : fallback;
        float lr = Get("lr", float.NaN), wd = Get("weight_decay", 0f);
        return rule switch
        {
            "sgd" or "momentum" or "nesterov" => new Sgd(lr, Get("momentum", 0f), wd, s.TryGetProperty("nesterov", out var n) && n.GetBoolean()),
            "adagrad" => new AdaGrad(lr, Get("eps", 1e-10f), wd),
            "rmsprop" => new RmsProp(lr, Get("alpha", 0.99f), Get("eps", 1e-8f), wd, Get("momentum", 0f)),
            "adam" => new Adam(lr, Get("beta1", 0.9f), Get("beta2", 0.999f), Get("eps", 1e-8f), wd),
            "adamw" => new AdamW(lr, Get("beta1", 0.9f), Get("beta2", 0.999f), Get("eps", 1e-8f), Get("weight_decay", 0.01f)),
            _ => throw new ArgumentException(rule),
        };
    }

    /// <summary>The golden parameter set on one backend: fc.weight (3,4) and fc.bias (4) with their per-step gradients.</summary>
    sealed class GoldenProblem : IDisposable
    {
        public const int Steps = 5;
        readonly GoldenFile golden;
        readonly Tensor[] parameters, gradients;

        public GoldenProblem(IBackend backend, GoldenFile golden)
        {
            this.golden = golden;
            parameters = [backend.Allocate(new TensorShape(3, 4), "fc.weight"), backend.Allocate(new TensorShape(4), "fc.bias")];
            gradients = [backend.Allocate(new TensorShape(3, 4), "fc.weight.grad"), backend.Allocate(new TensorShape(4), "fc.bias.grad")];
            parameters[0].Upload(golden.Data("weight"));
            parameters[1].Upload(golden.Data("bias"));
        }

        /// <summary>Uploads step t's gradients (as the plan would have computed them) and runs the optimizer.</summary>
        public void Step(Optimizer optimizer, int t)
        {
            gradients[0].Upload(golden.Data("grad_weight").AsSpan(t * 12, 12));
            gradients[1].Upload(golden.Data("grad_bias").AsSpan(t * 4, 4));
            optimizer.Step(parameters[0].Backend, parameters, gradients);
        }

        public void AssertParameters(string prefix, int t, double tolerance)
        {
            string where = $"{golden.Name} {prefix} on {parameters[0].Backend.Name}, step {t}";
            TensorAssert.AreClose(golden.Data($"{prefix}.weight").AsSpan(t * 12, 12), parameters[0].ToArray(), tolerance, $"{where}: weight");
            TensorAssert.AreClose(golden.Data($"{prefix}.bias").AsSpan(t * 4, 4), parameters[1].ToArray(), tolerance, $"{where}: bias");
        }

        public void Dispose()
        {
            foreach (var tensor in parameters) tensor.Dispose();
            foreach (var tensor in gradients) tensor.Dispose();
        }
    }
}

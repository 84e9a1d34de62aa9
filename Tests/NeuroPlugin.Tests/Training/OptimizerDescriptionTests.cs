using System.Text.Json.Nodes;

namespace NeuroPlugin.Tests.Training;

/// <summary>Each optimizer writes its own hyper-parameters and state and is rebuilt from them alone.</summary>
public class OptimizerDescriptionTests
{
    static IEnumerable<TestCaseData> Optimizers()
    {
        yield return new TestCaseData(new Func<Optimizer>(() => new Sgd(0.1f) { ClipGradientNorm = 3f })).SetArgDisplayNames("sgd");
        yield return new TestCaseData(new Func<Optimizer>(() => new Sgd(0.1f, 0.7f, 1e-3f) { WeightDecayParameters = ParameterGroup.Weights })).SetArgDisplayNames("momentum");
        yield return new TestCaseData(new Func<Optimizer>(() => new Sgd(0.1f, 0.7f, nesterov: true) { Regularizer = Regularizer.Create(1e-4f, 1e-3f) })).SetArgDisplayNames("nesterov");
        yield return new TestCaseData(new Func<Optimizer>(() => new AdaGrad(0.01f, 1e-7f, 0.5f))).SetArgDisplayNames("adagrad");
        yield return new TestCaseData(new Func<Optimizer>(() => new RmsProp(0.001f, 0.9f, 1e-6f, 0.1f, 0.3f))).SetArgDisplayNames("rmsprop");
        yield return new TestCaseData(new Func<Optimizer>(() => new Adam(0.002f, 0.8f, 0.95f, 1e-7f, 0.2f) { WeightDecayParameters = ParameterGroup.NameEndsWith(".bias") })).SetArgDisplayNames("adam");
        yield return new TestCaseData(new Func<Optimizer>(() => new AdamW(0.002f, weightDecay: 0.05f))).SetArgDisplayNames("adamw");
    }

    [TestCaseSource(nameof(Optimizers))]
    public void Description_RebuildsAnEqualOptimizer(Func<Optimizer> create)
    {
        using var original = create();
        var description = original.DescribeHyperParameters();
        using var rebuilt = Optimizer.FromDescription(description, 0.5f, "optimizer.")!;
        Assert.That(rebuilt.GetType(), Is.EqualTo(original.GetType()));
        Assert.That(rebuilt.LearningRate, Is.EqualTo(0.5f), "the rate is not part of the description");
        Assert.That(rebuilt.DescribeHyperParameters().ToJsonString(), Is.EqualTo(description.ToJsonString()));
        Assert.That((string)description["type"]!, Is.EqualTo(original.Name));
        Assert.That(OptimizerCatalog.Find(original.Name), Is.Not.Null, "every built-in optimizer is in the catalogue");
    }

    [Test]
    public void Description_OfAnUnknownTypeIsNull_AndABadOneNamesTheField()
    {
        var description = new Adam(0.001f).DescribeHyperParameters();
        description["type"] = "lion";
        Assert.That(Optimizer.FromDescription(description, 0.001f, "training.optimizer."), Is.Null);
        description = new Sgd(0.1f).DescribeHyperParameters();
        description["type"] = "momentum";
        Assert.That(() => Optimizer.FromDescription(description, 0.1f, "training.optimizer."), Throws.TypeOf<FormatException>()
            .With.Message.EqualTo("training.optimizer.type is 'momentum' but its hyper-parameters make a 'sgd' optimizer"));
        description = new Adam(0.001f).DescribeHyperParameters();
        description["beta2"] = "high";
        Assert.That(() => Optimizer.FromDescription(description, 0.1f, "training.optimizer."), Throws.TypeOf<FormatException>()
            .With.Message.EqualTo("training.optimizer.beta2 must be a finite number ≥ 0, got \"high\""));
        description["beta2"] = 1.5;
        Assert.That(() => Optimizer.FromDescription(description, 0.1f, "training.optimizer."), Throws.TypeOf<FormatException>()
            .With.Message.StartsWith("training.optimizer ('adam'): beta2 must be in [0, 1)"));
        description["beta2"] = 0.999;
        description["weightDecayParameters"] = "conv layers";
        Assert.That(() => Optimizer.FromDescription(description, 0.1f, "training.optimizer."), Throws.TypeOf<FormatException>()
            .With.Message.StartsWith("training.optimizer.weightDecayParameters 'conv layers' is not a built-in parameter group"));
    }

    [Test]
    public void NamedState_LoadsIntoAFreshOptimizer()
    {
        var cpu = new CpuBackend();
        using var weight = cpu.Allocate(new TensorShape(2, 3), "fc.weight");
        using var bias = cpu.Allocate(new TensorShape(2), "fc.bias");
        using var weightGrad = cpu.Allocate(weight.Shape, "fc.weight.grad");
        using var biasGrad = cpu.Allocate(bias.Shape, "fc.bias.grad");
        weight.Upload([1f, -2f, 3f, -4f, 5f, -6f]);
        weightGrad.Upload([0.5f, 0.25f, -1f, 2f, -0.5f, 1f]);
        biasGrad.Upload([1f, -1f]);
        Tensor[] parameters = [weight, bias], gradients = [weightGrad, biasGrad];
        using var trained = new Adam(0.01f);
        trained.Step(cpu, parameters, gradients);
        trained.Step(cpu, parameters, gradients);
        var saved = trained.NamedState().ToDictionary(s => s.Name, s => s.Tensor.ToArray());
        Assert.That(saved.Keys, Is.EqualTo(new[] { "fc.weight.exp_avg", "fc.weight.exp_avg_sq", "fc.bias.exp_avg", "fc.bias.exp_avg_sq" }));

        using var fresh = new Adam(0.01f);
        Assert.That(fresh.NamedState(), Is.Empty, "no state before the first step");
        fresh.LoadState(parameters, saved, stepCount: 2);
        Assert.That(fresh.StepCount, Is.EqualTo(2));
        Assert.That(fresh.NamedState().Select(s => s.Tensor.ToArray()), Is.EqualTo(saved.Values));
        fresh.LoadState(parameters, new Dictionary<string, float[]>(), stepCount: 0);
        Assert.That(fresh.NamedState().SelectMany(s => s.Tensor.ToArray()), Is.All.Zero, "saved before the first step: zeros");
    }
}

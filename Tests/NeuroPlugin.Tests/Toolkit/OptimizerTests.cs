namespace NeuroPlugin.Tests.Toolkit;

/// <summary>Optimizer settings, state and parameter groups on the CPU; invalid hyper-parameters throw naming the parameter.</summary>
public class OptimizerTests
{
    public static IEnumerable<TestCaseData> InvalidSettings()
    {
        TestCaseData Case(string parameter, string what, Func<object> make) => new TestCaseData(parameter, make).SetArgDisplayNames(what);
        yield return Case("learningRate", "sgd lr 0", () => new Sgd(0f));
        yield return Case("learningRate", "adam lr NaN", () => new Adam(float.NaN));
        yield return Case("momentum", "sgd momentum 1", () => new Sgd(0.1f, momentum: 1f));
        yield return Case("momentum", "nesterov without momentum", () => new Sgd(0.1f, nesterov: true));
        yield return Case("weightDecay", "sgd weight decay −1", () => new Sgd(0.1f, weightDecay: -1f));
        yield return Case("epsilon", "adagrad ε 0", () => new AdaGrad(0.1f, epsilon: 0f));
        yield return Case("alpha", "rmsprop α 1", () => new RmsProp(0.1f, alpha: 1f));
        yield return Case("momentum", "rmsprop momentum −0.1", () => new RmsProp(0.1f, momentum: -0.1f));
        yield return Case("beta1", "adam β₁ 1", () => new Adam(0.1f, beta1: 1f));
        yield return Case("beta2", "adam β₂ −0.5", () => new Adam(0.1f, beta2: -0.5f));
        yield return Case("epsilon", "adam ε −1e-8", () => new Adam(0.1f, epsilon: -1e-8f));
        yield return Case("weightDecay", "adamw weight decay ∞", () => new AdamW(0.1f, weightDecay: float.PositiveInfinity));
        yield return Case("ClipGradientNorm", "clip norm 0", () => new Sgd(0.1f) { ClipGradientNorm = 0f });
        yield return Case("l1", "L1 −0.1", () => new RegularizationTerm(ParameterGroup.All, l1: -0.1f));
        yield return Case("l2", "L2 NaN", () => new RegularizationTerm(ParameterGroup.All, l2: float.NaN));
    }

    [TestCaseSource(nameof(InvalidSettings))]
    public void InvalidHyperParameterThrowsNamingIt(string parameter, Func<object> make)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => make());
        Assert.That(e!.ParamName, Is.EqualTo(parameter));
        Assert.That(e.Message, Does.Contain(parameter));
    }

    [Test]
    public void StateIsAllocatedOnceWithPyTorchsNames()
    {
        using var cpu = new CpuBackend();
        using var w = cpu.Allocate(new TensorShape(2, 3), "fc.weight");
        using var g = cpu.Allocate(new TensorShape(2, 3), "fc.weight.grad");
        g.Upload([1f, -1f, 2f, -2f, 0.5f, 0f]);
        using var adam = new Adam(0.1f);
        Assert.That(adam.StepCount, Is.Zero);
        adam.Step(cpu, [w], [g]);
        adam.Step(cpu, [w], [g]);
        Assert.That(adam.StepCount, Is.EqualTo(2), "t for the bias correction");
        // first step of Adam moves every weight by lr·sign(g) (m̂ = g, v̂ = g²); the second again (g unchanged)
        Assert.That(w.ToArray(), Is.EqualTo(new[] { -0.2f, 0.2f, -0.2f, 0.2f, -0.2f, 0f }).Within(1e-5));
        var e = Assert.Throws<InvalidOperationException>(() => adam.Step(cpu, [w, w], [g, g]));
        Assert.That(e!.Message, Does.Contain("state was made for 1 parameters"));
    }

    [Test]
    public void WeightDecayAndPenaltiesFollowTheirParameterGroups()
    {
        using var cpu = new CpuBackend();
        using var weight = cpu.Allocate(new TensorShape(1, 2), "fc.weight");
        using var bias = cpu.Allocate(new TensorShape(2), "fc.bias");
        using var weightGrad = cpu.Allocate(weight.Shape, "fc.weight.grad");
        using var biasGrad = cpu.Allocate(bias.Shape, "fc.bias.grad");
        weight.Upload([1f, -2f]);
        bias.Upload([1f, -2f]);
        // plain SGD, lr 1, zero data gradient: only decay and the penalty move the parameters
        using var sgd = new Sgd(1f, weightDecay: 0.5f) { WeightDecayParameters = ParameterGroup.NameEndsWith(".bias") };
        sgd.Regularizer = new Regularizer(new RegularizationTerm(ParameterGroup.Weights, l1: 0.25f), new RegularizationTerm(ParameterGroup.All, l2: 0.1f));
        sgd.Step(cpu, [weight, bias], [weightGrad, biasGrad]);
        // weight: g = 0.25·sign(w) + 0.1·w → (0.35, −0.45); bias: g = 0.1·b + 0.5·b (decay) → (0.6, −1.2)
        Assert.That(weight.ToArray(), Is.EqualTo(new[] { 0.65f, -1.55f }).Within(1e-6));
        Assert.That(bias.ToArray(), Is.EqualTo(new[] { 0.4f, -0.8f }).Within(1e-6));
        // penalty before the update: 0.25·(1 + 2) + 0.05·(1 + 4) for the weight, 0.05·(1 + 4) for the bias
        Assert.That(sgd.Regularizer.ReadPenalty(), Is.EqualTo(0.75f + 0.25f + 0.25f).Within(1e-6));
        Assert.That(ParameterGroup.Weights.Contains(bias), Is.False);
        Assert.That(ParameterGroup.Vectors.Contains(bias), Is.True);
    }

    [Test]
    public void GradientNormNeedsClipping()
    {
        using var sgd = new Sgd(0.1f);
        Assert.Throws<InvalidOperationException>(() => sgd.ReadGradientNorm());
    }
}

/// <summary>
/// A LeNet-5 training step with every optimizer, gradient clipping and an L1 + L2 penalty together allocates
/// nothing on the managed heap and reads nothing back, on both backends; the penalty is read only when asked.
/// </summary>
public sealed class OptimizerTrainingTests : GLFixture
{
    public static IEnumerable<TestCaseData> Optimizers()
    {
        TestCaseData Case(string name, Func<Optimizer> make) => new TestCaseData(make).SetArgDisplayNames(name);
        yield return Case("sgd", () => new Sgd(0.01f, weightDecay: 1e-4f));
        yield return Case("nesterov", () => new Sgd(0.01f, 0.9f, 1e-4f, nesterov: true));
        yield return Case("adagrad", () => new AdaGrad(0.01f, weightDecay: 1e-4f));
        yield return Case("rmsprop", () => new RmsProp(0.001f, momentum: 0.5f));
        yield return Case("adam", () => new Adam(0.001f, weightDecay: 1e-4f));
        yield return Case("adamw", () => new AdamW(0.001f));
    }

    [TestCaseSource(nameof(Optimizers))]
    public void CpuStepAllocatesNothingAndReadsNothing(Func<Optimizer> make)
    {
        using var cpu = new CpuBackend();
        AssertStepsAllocateNothing(cpu, make);
    }

    [TestCaseSource(nameof(Optimizers))]
    public void GLStepAllocatesNothingAndReadsNothing(Func<Optimizer> make) => AssertStepsAllocateNothing(Backend, make);

    static void AssertStepsAllocateNothing(IBackend backend, Func<Optimizer> make)
    {
        const int batch = 4;
        using var network = Network.Create(ModelZoo.Build("lenet5"), backend, seed: 1);
        using var plan = ExecutionPlan.ForTraining(network, batch);
        var random = new Random(2);
        var images = new float[plan.Input.Length];
        for (int i = 0; i < images.Length; i++) images[i] = (float)random.NextDouble();
        var targets = new float[plan.Target!.Length];
        for (int n = 0; n < batch; n++) targets[n * 10 + n % 10] = 1f;
        plan.Input.Upload(images);
        plan.Target.Upload(targets);

        using var optimizer = make();
        optimizer.ClipGradientNorm = 1f;
        optimizer.Regularizer = Regularizer.Create(1e-5f, 1e-4f);
        // the loss of the initial weights: the first step's forward pass (the warm-up trains for a second or more, after which
        // the loss of one batch is near zero and ten more steps move it by noise)
        plan.TrainStep(optimizer);
        float initialLoss = plan.ReadLoss();
        AllocationAssert.SteadyStateAllocatesNothing(_ => plan.TrainStep(optimizer), 10, $"{optimizer.Name}: managed bytes allocated by 10 training steps", backend);
        float penalty = optimizer.Regularizer.ReadPenalty();
        Assert.That(penalty, Is.GreaterThan(0f).And.LessThan(1f), "L1 + L2 penalty of LeNet-5's weights");
        Assert.That(optimizer.ReadGradientNorm(), Is.GreaterThan(0f));
        Assert.That(plan.ReadLoss(), Is.LessThan(initialLoss), $"{optimizer.Name}: training on one batch lowers its loss");
    }
}

using System.Text.Json.Nodes;

namespace NeuroPlugin.Tests.Training;

/// <summary>The training recipe as data: defaults, per-optimizer defaults, validation in both vocabularies, JSON, the schema.</summary>
public class TrainingOptionsTests
{
    [Test]
    public void Defaults_AreNeuroTrainsRecipe()
    {
        var o = new TrainingOptions().WithOptimizerDefaults();
        Assert.That((o.Optimizer, o.LearningRate, o.Momentum, o.WeightDecay), Is.EqualTo(("momentum", 0.02f, 0.9f, 0f)));
        Assert.That((o.Schedule, o.Gamma, o.StepSize, o.WarmupSteps), Is.EqualTo(("cosine", 0.1f, 1, 0)));
        Assert.That((o.BatchSize, o.Epochs, o.Seed, o.L1, o.L2, o.ClipNorm, o.Augment.Count), Is.EqualTo((32, 2, 1, 0f, 0f, (float?)null, 0)));
        Assert.That(TrainingOptions.Fields.Select(f => f.Default), Is.EqualTo(TrainingOptions.Fields.Select(f => new TrainingOptions().ValueOf(f))),
            "the schema's defaults are the record's");
    }

    [TestCase("sgd", 0.02f, 0.9f, 0f, false)]
    [TestCase("momentum", 0.02f, 0.9f, 0f, true)]
    [TestCase("nesterov", 0.02f, 0.9f, 0f, true)]
    [TestCase("adagrad", 0.01f, 0.9f, 0f, false)]
    [TestCase("rmsprop", 0.001f, 0f, 0f, true)]
    [TestCase("adam", 0.001f, 0.9f, 0f, false)]
    [TestCase("adamw", 0.001f, 0.9f, 0.01f, false)]
    public void EachOptimizer_HasItsDefaults_AndBuildsItsRule(string name, float rate, float momentum, float weightDecay, bool usesMomentum)
    {
        var kind = OptimizerCatalog.Find(name)!;
        Assert.That((kind.DefaultLearningRate, kind.DefaultMomentum, kind.DefaultWeightDecay, kind.UsesMomentum), Is.EqualTo((rate, momentum, weightDecay, usesMomentum)));
        var options = new TrainingOptions { Optimizer = name, L2 = 0.001f, ClipNorm = 2f };
        using var optimizer = options.CreateOptimizer();
        Assert.That((optimizer.Name, optimizer.LearningRate, optimizer.WeightDecay, optimizer.ClipGradientNorm), Is.EqualTo((name, rate, weightDecay, (float?)2f)));
        Assert.That(optimizer.Regularizer!.Terms.Single().Parameters, Is.SameAs(ParameterGroup.Weights), "L1/L2 on the weight matrices and kernels");
        float? rule = optimizer switch { Sgd s => s.Momentum, RmsProp r => r.Momentum, _ => null };
        if (usesMomentum) Assert.That(rule, Is.EqualTo(momentum));
        else if (rule is not null) Assert.That(rule, Is.Zero, "plain SGD ignores the momentum option");
    }

    [TestCase("learningRate", "--lr", -1f, "must be a positive number, got -1")]
    [TestCase("momentum", "--momentum", 1f, "must be in [0, 1), got 1")]
    [TestCase("weightDecay", "--weight-decay", float.PositiveInfinity, "must be a number ≥ 0, got Infinity")]
    [TestCase("gamma", "--gamma", 0f, "must be in (0, 1], got 0")]
    [TestCase("clipNorm", "--clip-norm", 0f, "must be a positive number, got 0")]
    [TestCase("stepSize", "--step-size", 0, "must be at least 1 epoch, got 0")]
    [TestCase("checkpointEvery", "--checkpoint-every", 0, "must be at least 1 step, got 0")]
    [TestCase("batchSize", "--batch", 0, "must be at least 1, got 0")]
    public void ValidationNamesTheFieldAsTheCallerDoes(string name, string flag, object value, string problem)
    {
        var options = new TrainingOptions { Checkpoint = "run.ckpt.neuro" }.With(TrainingOptions.Field(name), value);
        var asField = Assert.Throws<TrainingOptionsException>(() => options.Validate(TrainingOptionNaming.Field))!;
        Assert.That((asField.Field, asField.Message), Is.EqualTo((name, $"{name} {problem}")));
        Assert.That(Assert.Throws<TrainingOptionsException>(() => options.Validate(TrainingOptionNaming.Flag))!.Message, Is.EqualTo($"{flag} {problem}"));
    }

    [Test]
    public void CrossFieldRulesAndChoices()
    {
        Assert.That(() => new TrainingOptions { Optimizer = "nesterov", Momentum = 0 }.Validate(TrainingOptionNaming.Flag),
            Throws.TypeOf<TrainingOptionsException>().With.Message.EqualTo("--momentum must be above 0 for nesterov"));
        Assert.That(() => new TrainingOptions { Optimizer = "nesterov" }.Validate(), Throws.Nothing, "nesterov's default momentum is 0.9");
        Assert.That(() => new TrainingOptions { CheckpointEvery = 5 }.Validate(),
            Throws.TypeOf<TrainingOptionsException>().With.Property("Field").EqualTo("checkpointEvery"));
        Assert.That(() => new TrainingOptions { Schedule = "linear" }.Validate(),
            Throws.TypeOf<TrainingOptionsException>().With.Message.EqualTo("unknown learning-rate schedule 'linear'; known schedules: constant, step, exponential, cosine"));
        Assert.That(() => new TrainingOptions { Augment = ["flip", "rotate"] }.Validate(),
            Throws.TypeOf<TrainingOptionsException>().With.Message.EqualTo("augment: unknown augmentation 'rotate'; known: crop, flip, cutout, erasing, mixup"));
        Assert.That(() => new TrainingOptions { Augment = ["flip", "flip"] }.Validate(TrainingOptionNaming.Flag),
            Throws.TypeOf<TrainingOptionsException>().With.Message.EqualTo("--augment: augmentation 'flip' is listed twice"));
    }

    [Test]
    public void ReadFromJson_TakesEveryFieldByName_AndNamesWhatIsWrong()
    {
        var json = JsonNode.Parse("""
            {"optimizer":"Adam","learningRate":0.003,"momentum":null,"l1":1e-5,"schedule":"step","gamma":0.5,"stepSize":2,
             "warmupSteps":10,"augment":["crop","cutout"],"batchSize":16,"epochs":3,"seed":7,"trainLimit":100,"checkpoint":"a.ckpt.neuro",
             "checkpointEvery":20,"backend":"cpu"}
            """)!.AsObject();
        var o = TrainingOptions.Read(json, ["backend"]);
        Assert.That((o.Optimizer, o.LearningRate, o.Momentum, o.L1, o.Schedule, o.Gamma, o.StepSize, o.WarmupSteps),
            Is.EqualTo(("adam", (float?)0.003f, (float?)null, 1e-5f, "step", 0.5f, 2, 10)));
        Assert.That((o.Augment, o.BatchSize, o.Epochs, o.Seed, o.TrainLimit, o.Checkpoint, o.CheckpointEvery),
            Is.EqualTo((new[] { "crop", "cutout" }, 16, 3, 7, (int?)100, "a.ckpt.neuro", (int?)20)));
        Assert.That(() => TrainingOptions.Read(JsonNode.Parse("""{"lr":0.1}""")!.AsObject()),
            Throws.TypeOf<TrainingOptionsException>().With.Message.StartsWith("unknown field 'lr'; training options: epochs, batchSize, optimizer, learningRate"));
        Assert.That(() => TrainingOptions.Read(JsonNode.Parse("""{"epochs":1.5}""")!.AsObject()),
            Throws.TypeOf<TrainingOptionsException>().With.Message.EqualTo("epochs must be an integer, got 1.5"));
        Assert.That(() => TrainingOptions.Read(JsonNode.Parse("""{"augment":"flip"}""")!.AsObject()),
            Throws.TypeOf<TrainingOptionsException>().With.Message.EqualTo("augment must be an array of names, got \"flip\""));
        var resolved = o.WithOptimizerDefaults().ToJson();
        Assert.That(TrainingOptions.Read(resolved).ToJson().ToJsonString(), Is.EqualTo(resolved.ToJsonString()), "ToJson reads back");
    }

    [Test]
    public void Schema_DescribesEveryFieldAndEachOptimizersDefaults()
    {
        var schema = TrainingOptions.Schema();
        var fields = schema["fields"]!.AsArray().Select(f => f!.AsObject()).ToDictionary(f => (string)f["name"]!);
        Assert.That(fields.Keys, Is.EqualTo(TrainingOptions.Fields.Select(f => f.Name)));
        Assert.That(fields["optimizer"]["choices"]!.AsArray().Select(c => (string)c!["name"]!), Is.EqualTo(OptimizerCatalog.Names));
        Assert.That(fields["learningRate"].ToJsonString(), Does.Contain("\"optimizerDefault\":true").And.Contain("\"minimum\":0,\"exclusiveMinimum\":true"));
        Assert.That(fields["momentum"]["appliesWhen"]!.ToJsonString(), Is.EqualTo("""{"field":"optimizer","values":["momentum","nesterov","rmsprop"]}"""));
        Assert.That(fields["gamma"]["appliesWhen"]!["values"]!.ToJsonString(), Is.EqualTo("""["step","exponential"]"""));
        Assert.That(fields["augment"]["choices"]!.AsArray().Select(c => (string)c!["description"]!), Is.EqualTo(new[] { "RandomCrop", "RandomHorizontalFlip", "Cutout", "RandomErasing", "Mixup" }));
        Assert.That((int)fields["epochs"]["default"]!, Is.EqualTo(2));
        var adam = schema["optimizers"]!.AsArray().Single(o => (string)o!["name"]! == "adam")!;
        Assert.That(adam["defaults"]!.ToJsonString(), Is.EqualTo("""{"learningRate":0.001,"momentum":0.9,"weightDecay":0}"""));
    }

    [Test]
    public void Schedules_CountGammaAndStepSizeInEpochs()
    {
        var step = new TrainingOptions { Schedule = "step", Gamma = 0.5f, StepSize = 2, WarmupSteps = 3 }.CreateSchedule(stepsPerEpoch: 10);
        Assert.That(step.Name, Is.EqualTo("warmup+step"));
        Assert.That(new[] { 0L, 2, 3, 22, 23 }.Select(t => step.Factor(t, 100)), Is.EqualTo(new[] { 1f / 3, 1f, 1f, 1f, 0.5f }), "warm-up, then ×γ every 20 steps");
        var exponential = new TrainingOptions { Schedule = "exponential", Gamma = 0.25f }.CreateSchedule(stepsPerEpoch: 4);
        Assert.That(exponential.Factor(4, 100), Is.EqualTo(0.25f).Within(1e-6f), "γ per epoch of 4 steps");
    }
}

namespace NeuroPlugin.Tests.Stochastic;

/// <summary>
/// Weighted auxiliary classifier heads (GoogLeNet): the plan's loss is main + Σ wᵢ·auxᵢ (against a manual
/// computation), its gradients are those of that sum (finite differences), inference plans do not plan or run the
/// heads, graph JSON keeps them, and the Inception builders register torchvision's weights.
/// </summary>
public class AuxiliaryLossTests
{
    readonly CpuBackend cpu = new();

    /// <summary>x (5) → fc0 → tanh → fc (3, main); tanh → aux.fc1 → tanh → aux.fc2 (3, weight 0.3); fc0 → aux2 (3, 0.5).</summary>
    static NetworkGraph Graph()
    {
        var g = new NetworkGraph();
        g.AddInput("x", new TensorShape(5));
        g.Add("fc0", new Linear(5, 6), "x");
        g.Add("relu", Activation.Tanh(), "fc0"); // smooth, so no kink falls inside a finite difference
        g.Add("aux.fc1", new Linear(6, 4), "relu");
        g.Add("aux.relu", Activation.Tanh(), "aux.fc1");
        g.Add("aux.fc2", new Linear(4, 3), "aux.relu");
        g.Add("aux2", new Linear(6, 3), "fc0");
        g.Add("fc", new Linear(6, 3), "relu");
        g.Output = "fc";
        g.AddAuxiliaryOutput("aux.fc2", 0.3f);
        g.AddAuxiliaryOutput("aux2", 0.5f);
        return g;
    }

    static ExecutionPlan Plan(Network network)
    {
        var plan = ExecutionPlan.ForTraining(network, 4);
        var random = new Random(2);
        plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray());
        plan.Target!.Upload(Enumerable.Range(0, 12).Select(i => i % 3 == (i / 3) % 3 ? 1f : 0f).ToArray());
        return plan;
    }

    static double CrossEntropy(float[] logits, float[] target, int classes)
    {
        double total = 0;
        int batch = logits.Length / classes;
        for (int n = 0; n < batch; n++)
        {
            double max = logits.Skip(n * classes).Take(classes).Max();
            double logSum = Math.Log(logits.Skip(n * classes).Take(classes).Sum(z => Math.Exp(z - max))) + max;
            for (int k = 0; k < classes; k++) total -= target[n * classes + k] * (logits[n * classes + k] - logSum);
        }
        return total / batch;
    }

    [Test]
    public void LossIsMainPlusWeightedAuxiliaryLosses()
    {
        using var network = Network.Create(Graph(), cpu, seed: 3);
        using var plan = Plan(network);
        plan.ComputeGradients();
        float[] target = plan.Target!.ToArray();
        double main = CrossEntropy(plan.Output.ToArray(), target, 3);
        double aux1 = CrossEntropy(plan.Tensor("aux.fc2").ToArray(), target, 3), aux2 = CrossEntropy(plan.Tensor("aux2").ToArray(), target, 3);
        Assert.That(plan.ReadLoss(), Is.EqualTo(main + 0.3 * aux1 + 0.5 * aux2).Within(1e-5));
        Assert.That(plan.AuxiliaryLosses.Select(l => (double)l.ToArray()[0]), Is.EqualTo(new[] { aux1, aux2 }).Within(1e-5));
    }

    [Test]
    public void GradientsAreThoseOfTheWeightedSum()
    {
        using var network = Network.Create(Graph(), cpu, seed: 3);
        using var plan = Plan(network);
        plan.ComputeGradients();
        // every analytic gradient at the unperturbed point, before the finite differences move the parameters
        float[][] gradients = plan.ParameterGradients.Select(g => g.ToArray()).ToArray();
        var random = new Random(9);
        const double Epsilon = 1e-2;
        for (int p = 0; p < plan.Parameters.Count; p++)
        {
            var parameter = plan.Parameters[p];
            float[] analytic = gradients[p], values = parameter.ToArray();
            var numeric = new List<float>();
            var expected = new List<float>();
            foreach (int j in Enumerable.Range(0, values.Length).OrderBy(_ => random.Next()).Take(6))
            {
                float original = values[j];
                values[j] = (float)(original + Epsilon); parameter.Upload(values); plan.ComputeGradients();
                double plus = plan.ReadLoss();
                values[j] = (float)(original - Epsilon); parameter.Upload(values); plan.ComputeGradients();
                double minus = plan.ReadLoss();
                values[j] = original; parameter.Upload(values);
                numeric.Add((float)((plus - minus) / (2 * Epsilon)));
                expected.Add(analytic[j]);
            }
            // float32 losses of about 1 resolve differences of ~1e-7, i.e. ~1e-5 in a central difference with ε = 1e-2:
            // compare against the parameter's largest gradient rather than element by element
            double scale = analytic.Max(Math.Abs);
            for (int i = 0; i < numeric.Count; i++)
                Assert.That(numeric[i], Is.EqualTo(expected[i]).Within(1e-2 * scale + 2e-5), $"gradient of {parameter.Name}, sample {i}");
        }
        // the heads' own parameters get gradient only through their weighted losses: nonzero
        int auxWeight = plan.Parameters.Select(t => t.Name).ToList().IndexOf("aux.fc2.weight");
        Assert.That(gradients[auxWeight].Any(g => g != 0f), Is.True);
    }

    [Test]
    public void InferencePlansDoNotRunAuxiliaryOnlyNodes()
    {
        using var network = Network.Create(Graph(), cpu, seed: 3);
        using var inference = ExecutionPlan.ForInference(network, 2, fuseLayers: false); // fc0 is read below: no fused chain
        foreach (string name in new[] { "aux.fc1", "aux.relu", "aux.fc2", "aux2" })
            Assert.That(() => inference.Tensor(name), Throws.InstanceOf<GraphException>(), $"{name} is not planned");
        Assert.That(() => inference.Tensor("fc0"), Throws.Nothing, "fc0 feeds the main output too");

        // a training plan's eval forward skips the heads: their outputs keep whatever they held
        using var training = Plan(network);
        var aux = training.Tensor("aux.fc2");
        aux.Upload(Enumerable.Repeat(42f, aux.Length).ToArray());
        training.Forward(training: false);
        Assert.That(aux.ToArray(), Is.All.EqualTo(42f), "eval forward did not compute aux.fc2");
        training.Forward(training: true);
        Assert.That(aux.ToArray(), Is.Not.All.EqualTo(42f), "training forward computes aux.fc2");

        // and the main output is the same either way
        inference.Input.Upload(training.Input.ToArray().Take(inference.Input.Length).ToArray());
        inference.Forward();
        training.Forward(training: false);
        TensorAssert.AreClose(training.Output.ToArray().Take(6).ToArray(), inference.Output.ToArray(), 1e-6, "main output");
    }

    [Test]
    public void GraphJsonKeepsAuxiliaryOutputs()
    {
        var copy = GraphJson.Read(GraphJson.Write(Graph()).ToJsonString());
        Assert.That(copy.AuxiliaryOutputs, Is.EqualTo(new[] { new AuxiliaryOutput("aux.fc2", 0.3f), new AuxiliaryOutput("aux2", 0.5f) }));
        var old = GraphJson.Write(Graph());
        old.Remove("auxiliaryOutputs");
        Assert.That(GraphJson.Read(old.ToJsonString()).AuxiliaryOutputs, Is.Empty, "files from before auxiliary heads");
        var bad = GraphJson.Write(Graph());
        bad["auxiliaryOutputs"]![0]!["weight"] = -1;
        Assert.That(() => GraphJson.Read(bad.ToJsonString()), Throws.TypeOf<FormatException>().With.Message.Contains("aux.fc2"));
    }

    [Test]
    public void InvalidAuxiliaryOutputsThrow()
    {
        var g = Graph();
        Assert.That(() => g.AddAuxiliaryOutput("nope", 0.3f), Throws.InstanceOf<GraphException>().With.Message.Contains("nope"));
        Assert.That(() => g.AddAuxiliaryOutput("aux2", 0.3f), Throws.InstanceOf<GraphException>().With.Message.Contains("already"));
        Assert.That(() => g.AddAuxiliaryOutput("fc0", 0f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("weight"));
        Assert.That(() => g.AddAuxiliaryOutput("fc0", float.NaN), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("weight"));
        g.AddAuxiliaryOutput("fc0", 0.1f); // (N,6) logits against (N,3) targets
        using var network = Network.Create(g, cpu, seed: 1);
        Assert.That(() => ExecutionPlan.ForTraining(network, 2), Throws.InstanceOf<GraphException>().With.Message.Contains("fc0").And.Message.Contains("(2,6)"));
    }

    [Test]
    public void InceptionBuildersRegisterTorchvisionWeights()
    {
        var googLeNet = GoogLeNet.Build(new ModelOptions(3, 64, 10));
        Assert.That(googLeNet.AuxiliaryOutputs, Is.EqualTo(new[] { new AuxiliaryOutput("aux1.fc2", 0.3f), new AuxiliaryOutput("aux2.fc2", 0.3f) }));
        var inception = InceptionV3.Build(new ModelOptions(3, 299, 10, WidthDivisor: 8));
        Assert.That(inception.AuxiliaryOutputs, Is.EqualTo(new[] { new AuxiliaryOutput("AuxLogits.fc", 0.4f) }));
    }
}

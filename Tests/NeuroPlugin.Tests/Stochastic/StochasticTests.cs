namespace NeuroPlugin.Tests.Stochastic;

/// <summary>
/// Stochastic Depth, Shake-Shake, ShakeDrop and Swapout on the CPU reference: finite-difference gradients with the
/// draws fixed (same seed and step at every evaluation), exact forward formulas against the drawn coefficients,
/// statistics of the draws, eval = expectation, Shake-Shake's independent backward weight, argument checks and model
/// file round trips.
/// </summary>
public class StochasticTests
{
    readonly CpuBackend cpu = new();

    static IEnumerable<TestCaseData> LayerCases() => StochasticChecks.Layers().Select(l => new TestCaseData(l).SetArgDisplayNames(l.Type));

    Tensor Values(TensorShape shape, float[] values, string name)
    {
        var t = cpu.Allocate(shape, name);
        t.Upload(values);
        return t;
    }

    [TestCaseSource(nameof(LayerCases))]
    public void GradientMatchesFiniteDifferences(Layer layer)
    {
        var check = new GradientCheck(new Random(6));
        var shape = new TensorShape(5, 3, 2, 3); // an item length (18) that is not a multiple of 4
        var inputs = Enumerable.Range(0, layer.InputCount).Select(i => Values(shape, check.RandomValues(shape.Length, 1), $"x{i}")).ToArray();
        var grads = inputs.Select(x => cpu.Allocate(shape, x.Name + ".grad")).ToArray();
        using var y = cpu.Allocate(shape, "y");
        foreach (bool training in new[] { true, false })
        {
            // a fixed (seed, stream, step): the same draws at every forward, so y is a linear function of the inputs
            var node = StochasticChecks.Node(cpu, layer, inputs, grads, y, null, training);
            Action forward = () => layer.Forward(cpu, node);
            if (training && layer is ShakeShake or ShakeDrop)
            {
                // backward deliberately uses other weights (β) than forward (α): it must be the exact gradient of the
                // same residual with the backward coefficients, y = x + Σⱼ c′ⱼ[n]·Fⱼ (columns 2 + j of the drawn table)
                forward();
                forward = () =>
                {
                    cpu.Copy(inputs[^1], y);
                    for (int j = 0; j < inputs.Length - 1; j++) cpu.AccumulatePerSample(inputs[j], node.Workspace[0], 2 + j, y);
                };
            }
            check.Run($"{layer.Type} training={training}", inputs, y, forward, grads,
                dy => layer.Backward(cpu, new NodeTensors("node", inputs, grads, y, dy, [], [], node.Workspace) { Training = training, Seed = 11, RandomCounter = 7, Stream = 5 }));
        }
    }

    [TestCase(0.2f)]
    [TestCase(0.5f)]
    public void StochasticDepthDropsWholeSamplesAtRateP(float p)
    {
        const int Batch = 4000;
        var layer = new StochasticDepth(p);
        var c = new float[Batch * 4];
        layer.DrawCoefficients(true, 3, 1, 9, c);
        int dropped = 0;
        for (int n = 0; n < Batch; n++)
        {
            Assert.That(c[4 * n], Is.EqualTo(0f).Or.EqualTo(1f), "b is 0 or 1");
            Assert.That(c[4 * n + 2], Is.EqualTo(c[4 * n]), "backward uses the same b");
            dropped += c[4 * n] == 0f ? 1 : 0;
        }
        Assert.That(dropped / (double)Batch, Is.EqualTo(p).Within(4 * Math.Sqrt(p * (1 - p) / Batch)), "dropped fraction");

        // whole samples: y = x or y = x + F everywhere in a sample
        var shape = new TensorShape(16, 2, 3);
        var random = new GradientCheck(new Random(1));
        float[] f = random.RandomValues(shape.Length, 1), x = random.RandomValues(shape.Length, 1);
        using Tensor ft = Values(shape, f, "F"), xt = Values(shape, x, "x"), y = cpu.Allocate(shape, "y");
        var node = StochasticChecks.Node(cpu, layer, [ft, xt], [null!, null!], y, null, training: true);
        layer.Forward(cpu, node);
        float[] coefficients = node.Workspace[0].ToArray(), yv = y.ToArray();
        for (int i = 0; i < yv.Length; i++)
            Assert.That(yv[i], Is.EqualTo(x[i] + coefficients[4 * (i / 6)] * f[i]).Within(1e-6), $"y[{i}]");
    }

    [Test]
    public void ShakeShakeAlphaIsUniformAndBackwardUsesAnIndependentBeta()
    {
        const int Batch = 4000;
        var c = new float[Batch * 4];
        new ShakeShake().DrawCoefficients(true, 5, 2, 1, c);
        double alphaSum = 0, betaSum = 0, product = 0;
        for (int n = 0; n < Batch; n++)
        {
            float alpha = c[4 * n], beta = c[4 * n + 2];
            Assert.That(alpha, Is.InRange(0f, 1f));
            Assert.That(c[4 * n + 1], Is.EqualTo(1f - alpha), "second branch gets 1 − α");
            Assert.That(c[4 * n + 3], Is.EqualTo(1f - beta), "second branch's gradient gets 1 − β");
            alphaSum += alpha; betaSum += beta; product += (alpha - 0.5) * (beta - 0.5);
        }
        double standardError = Math.Sqrt(1.0 / 12 / Batch);
        Assert.That(alphaSum / Batch, Is.EqualTo(0.5).Within(4 * standardError), "mean α");
        Assert.That(betaSum / Batch, Is.EqualTo(0.5).Within(4 * standardError), "mean β");
        // independent: the covariance of α and β is 0 (its standard error is (1/12)/√Batch)
        Assert.That(product / Batch, Is.EqualTo(0).Within(4 * (1.0 / 12) / Math.Sqrt(Batch)), "cov(α, β)");

        // the gradient of F1 is β·dy, not α·dy
        var layer = new ShakeShake();
        var shape = new TensorShape(8, 5);
        var random = new GradientCheck(new Random(2));
        using Tensor f1 = Values(shape, random.RandomValues(40, 1), "F1"), f2 = Values(shape, random.RandomValues(40, 1), "F2"),
            x = Values(shape, random.RandomValues(40, 1), "x"), y = cpu.Allocate(shape, "y"),
            dy = Values(shape, random.RandomValues(40, 1), "dy"), df1 = cpu.Allocate(shape, "dF1");
        var node = StochasticChecks.Node(cpu, layer, [f1, f2, x], [df1, null!, null!], y, dy, training: true);
        layer.Forward(cpu, node);
        layer.Backward(cpu, node);
        float[] coefficients = node.Workspace[0].ToArray(), dyv = dy.ToArray(), grad = df1.ToArray();
        double maxDifferenceFromAlpha = 0;
        for (int i = 0; i < grad.Length; i++)
        {
            Assert.That(grad[i], Is.EqualTo(coefficients[4 * (i / 5) + 2] * dyv[i]).Within(1e-6), $"dF1[{i}] = β·dy");
            maxDifferenceFromAlpha = Math.Max(maxDifferenceFromAlpha, Math.Abs(grad[i] - coefficients[4 * (i / 5)] * dyv[i]));
        }
        Assert.That(maxDifferenceFromAlpha, Is.GreaterThan(0.05), "dF1 ≠ α·dy");
    }

    [Test]
    public void ShakeDropCoefficientsFollowBAlphaAndBeta()
    {
        const int Batch = 4000;
        const float P = 0.4f;
        var c = new float[Batch * 4];
        new ShakeDrop(P).DrawCoefficients(true, 8, 3, 2, c);
        int kept = 0;
        double forwardSum = 0;
        for (int n = 0; n < Batch; n++)
        {
            float forward = c[4 * n], backward = c[4 * n + 2];
            bool keptBranch = forward == 1f && backward == 1f;
            if (keptBranch) { kept++; }
            else
            {
                Assert.That(forward, Is.InRange(-1f, 1f), "b = 0: forward α ∈ [−1, 1]");
                Assert.That(backward, Is.InRange(0f, 1f), "b = 0: backward β ∈ [0, 1]");
            }
            forwardSum += forward;
        }
        Assert.That(kept / (double)Batch, Is.EqualTo(1 - P).Within(4 * Math.Sqrt(P * (1 - P) / Batch)), "b = 1 fraction");
        // E[b + α − bα] = 1 − p; its variance is p·E[α²] + p(1−p) ≤ 0.5
        Assert.That(forwardSum / Batch, Is.EqualTo(1 - P).Within(4 * Math.Sqrt(0.5 / Batch)), "mean forward coefficient");
    }

    [Test]
    public void SwapoutMasksAreIndependentPerUnitAtTheirRates()
    {
        const float P1 = 0.2f, P2 = 0.6f;
        var shape = new TensorShape(8, 1000);
        var random = new GradientCheck(new Random(4));
        float[] f = random.RandomValues(shape.Length, 1), x = random.RandomValues(shape.Length, 1);
        using Tensor ft = Values(shape, f, "F"), xt = Values(shape, x, "x"), y = cpu.Allocate(shape, "y");
        var layer = new Swapout(P1, P2);
        var node = StochasticChecks.Node(cpu, layer, [ft, xt], [null!, null!], y, null, training: true);
        layer.Forward(cpu, node);
        float[] m1 = node.Workspace[0].ToArray(), m2 = node.Workspace[1].ToArray(), yv = y.ToArray();
        int n = m1.Length, both = 0;
        for (int i = 0; i < n; i++)
        {
            Assert.That(yv[i], Is.EqualTo(m1[i] * x[i] + m2[i] * f[i]), $"y[{i}]");
            both += m1[i] == 1f && m2[i] == 1f ? 1 : 0;
        }
        Assert.That(m1.Average(), Is.EqualTo(1 - P1).Within(4 * Math.Sqrt(P1 * (1 - P1) / n)), "identity kept fraction");
        Assert.That(m2.Average(), Is.EqualTo(1 - P2).Within(4 * Math.Sqrt(P2 * (1 - P2) / n)), "branch kept fraction");
        double pBoth = (1 - P1) * (1 - P2);
        Assert.That(both / (double)n, Is.EqualTo(pBoth).Within(4 * Math.Sqrt(pBoth * (1 - pBoth) / n)), "independent masks");
        // per unit, not per sample: the masks vary inside a sample
        Assert.That(m2.Take(1000).Distinct().Count(), Is.EqualTo(2));
    }

    [Test]
    public void EvalEqualsTheExpectation()
    {
        var shape = new TensorShape(3, 7);
        var random = new GradientCheck(new Random(5));
        float[] f1 = random.RandomValues(21, 1), f2 = random.RandomValues(21, 1), x = random.RandomValues(21, 1);
        var cases = new (Layer Layer, Func<int, float> Expected)[]
        {
            (new StochasticDepth(0.3f), i => x[i] + 0.7f * f1[i]),
            (new ShakeShake(), i => x[i] + 0.5f * f1[i] + 0.5f * f2[i]),
            (new ShakeDrop(0.4f), i => x[i] + 0.6f * f1[i]),
            (new ShakeDrop(0.4f, alphaLow: 0f, alphaHigh: 1f), i => x[i] + (0.6f + 0.4f * 0.5f) * f1[i]),
            (new Swapout(0.2f, 0.4f), i => 0.8f * x[i] + 0.6f * f1[i]),
        };
        foreach (var (layer, expected) in cases)
        {
            var inputs = (layer.InputCount == 3 ? new[] { f1, f2, x } : new[] { f1, x }).Select((v, i) => Values(shape, v, $"in{i}")).ToArray();
            using var y = cpu.Allocate(shape, "y");
            layer.Forward(cpu, StochasticChecks.Node(cpu, layer, inputs, new Tensor[inputs.Length], y, null, training: false));
            float[] yv = y.ToArray();
            for (int i = 0; i < 21; i++) Assert.That(yv[i], Is.EqualTo(expected(i)).Within(1e-6), $"{layer}: y[{i}]");
        }
    }

    [Test]
    public void DrawsAreReproducibleAndChangeWithStep()
    {
        var layer = new ShakeDrop();
        float[] a = new float[64], b = new float[64], c = new float[64];
        layer.DrawCoefficients(true, 1, 2, 3, a);
        layer.DrawCoefficients(true, 1, 2, 3, b);
        layer.DrawCoefficients(true, 1, 2, 4, c);
        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.Not.EqualTo(a));
    }

    [Test]
    public void InvalidHyperParametersThrowNamingThem()
    {
        Assert.That(() => new StochasticDepth(1f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("p"));
        Assert.That(() => new StochasticDepth(-0.1f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("p"));
        Assert.That(() => new ShakeDrop(float.NaN), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("p"));
        Assert.That(() => new ShakeDrop(0.5f, alphaLow: 1f, alphaHigh: -1f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("alphaHigh"));
        Assert.That(() => new ShakeDrop(0.5f, betaLow: 1f, betaHigh: 0f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("betaHigh"));
        Assert.That(() => new Swapout(1.5f, 0f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("identityDropProbability"));
        Assert.That(() => new Swapout(0f, -1f), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("branchDropProbability"));
    }

    [Test]
    public void MismatchedShapesNameTheNodeAndBothShapes()
    {
        Assert.That(() => new StochasticDepth().InferOutputShape("block3", [new TensorShape(2, 4), new TensorShape(2, 5)]),
            Throws.InstanceOf<ShapeException>().With.Message.Contains("block3").And.Message.Contains("(2,4)").And.Message.Contains("(2,5)"));
        Assert.That(() => new Swapout().InferOutputShape("s1", [new TensorShape(2, 4), new TensorShape(3, 4)]),
            Throws.InstanceOf<ShapeException>().With.Message.Contains("s1").And.Message.Contains("(3,4)"));
    }

    [TestCaseSource(nameof(LayerCases))]
    public void LayerRegistryRoundTripsAttributes(Layer layer)
    {
        var copy = LayerRegistry.Create(layer.Type, layer.Attributes());
        Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
        Assert.That(copy.Attributes().ToJsonString(), Is.EqualTo(layer.Attributes().ToJsonString()));
    }

    [TestCaseSource(nameof(LayerCases))]
    public void TrainingStepsAllocateNothing(Layer layer) => StochasticChecks.AssertStepsAllocateNothing(cpu, layer);
}

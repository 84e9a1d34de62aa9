namespace NeuroPlugin.Tests.Toolkit;

/// <summary>
/// Dropout on the CPU reference. PyTorch's generator cannot be reproduced, so instead of a golden file: the
/// generator against Random123's published known answers, the keep rate within a few standard errors, exact
/// scaling, eval identity, reproducibility from (seed, step, stream), and backward against the saved mask.
/// </summary>
public class DropoutTests
{
    readonly CpuBackend cpu = new();

    // Random123's kat_vectors for philox4x32-10: counter (4 words), key (2 words) → output (4 words)
    [TestCase(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [TestCase(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [TestCase(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void PhiloxMatchesKnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint r0, uint r1, uint r2, uint r3) =>
        Assert.That(CounterRandom.Philox4x32((c0, c1, c2, c3), (k0, k1)), Is.EqualTo((r0, r1, r2, r3)));

    [Test]
    public void UniformIsInUnitIntervalAndExact()
    {
        Assert.That(CounterRandom.ToUniform(0), Is.EqualTo(0f));
        Assert.That(CounterRandom.ToUniform(uint.MaxValue), Is.EqualTo(1f - 1f / 16777216f), "largest value is below 1");
        Assert.That(CounterRandom.ToUniform(0x80000000), Is.EqualTo(0.5f));
    }

    [TestCase(0.1f)]
    [TestCase(0.5f)]
    [TestCase(0.9f)]
    public void KeepRateAndScalingFollowP(float p)
    {
        const int Length = 1 << 16;
        var (x, y, mask) = Run(new TensorShape(Length), p, seed: 42, stream: 3, step: 7);
        float scale = 1f / (1f - p);
        int[] keptPerLane = new int[4];
        for (int i = 0; i < Length; i++)
        {
            if (mask[i] == 0f) { Assert.That(y[i], Is.EqualTo(0f), $"dropped y[{i}]"); continue; }
            Assert.That(mask[i], Is.EqualTo(scale), $"mask[{i}] is 1/(1−p)");
            Assert.That(y[i], Is.EqualTo(x[i] * scale), $"kept y[{i}] = x·1/(1−p) exactly");
            keptPerLane[i % 4]++;
        }
        // Bernoulli(1 − p): the kept fraction's standard error is √(p(1−p)/n); allow 4 of them, overall and
        // for each of the four lanes one Philox call feeds
        double standardError = Math.Sqrt(p * (1 - p) / Length);
        Assert.That(keptPerLane.Sum() / (double)Length, Is.EqualTo(1 - p).Within(4 * standardError), "kept fraction");
        foreach (int kept in keptPerLane)
            Assert.That(kept / (Length / 4.0), Is.EqualTo(1 - p).Within(8 * standardError), "kept fraction per lane");
        // and the output's mean stays the input's (inverted dropout's point), within the same noise
        Assert.That(y.Average(), Is.EqualTo(x.Average()).Within(4 * Math.Sqrt(p / (1 - p) / 3 / Length) + 1e-6), "E[y] = E[x]");
    }

    [Test]
    public void MasksAreReproducibleAndDifferPerStepStreamAndSeed()
    {
        var shape = new TensorShape(4, 5, 7);
        float[] reference = Run(shape, 0.5f, seed: 1, stream: 2, step: 3).Mask;
        Assert.That(Run(shape, 0.5f, 1, 2, 3).Mask, Is.EqualTo(reference), "same seed, stream, step: same mask");
        foreach (var (seed, stream, step, what) in new (uint, uint, uint, string)[] { (1, 2, 4, "step"), (1, 3, 3, "stream"), (2, 2, 3, "seed") })
        {
            float[] other = Run(shape, 0.5f, seed, stream, step).Mask;
            int differing = reference.Zip(other).Count(pair => pair.First != pair.Second);
            // independent masks differ where exactly one keeps: 2p(1−p) = half the 140 elements, ± a few σ (σ ≈ 5.9)
            Assert.That(differing, Is.InRange(40, 100), $"another {what} gives another mask");
        }
    }

    [Test]
    public void EvalModeIsTheIdentity()
    {
        var (x, y, mask) = Run(new TensorShape(3, 7), 0f, 5, 0, 0);
        Assert.That(y, Is.EqualTo(x));
        Assert.That(mask, Is.All.EqualTo(1f));
    }

    [Test]
    public void BackwardAddsTheMaskedGradient()
    {
        var shape = new TensorShape(2, 3, 5);
        var (_, _, maskValues) = Run(shape, 0.3f, 9, 1, 2);
        var random = new GradientCheck(new Random(4));
        float[] dyValues = random.RandomValues(shape.Length, 1), before = random.RandomValues(shape.Length, 1);
        using Tensor mask = Upload(shape, maskValues), dy = Upload(shape, dyValues), dx = Upload(shape, before);
        cpu.DropoutBackward(mask, dy, dx);
        float[] dxValues = dx.ToArray();
        for (int i = 0; i < dxValues.Length; i++)
            Assert.That(dxValues[i], Is.EqualTo(before[i] + dyValues[i] * maskValues[i]), $"dx[{i}]");
    }

    [Test]
    public void GradientMatchesFiniteDifferences()
    {
        var check = new GradientCheck(new Random(6));
        var shape = new TensorShape(3, 11);
        using Tensor x = Upload(shape, check.RandomValues(shape.Length, 1)), y = cpu.Allocate(shape, "y"), mask = cpu.Allocate(shape, "mask"), dx = cpu.Allocate(shape, "dx");
        // a fixed (seed, stream, step): the same mask at every forward, so y is a linear function of x
        check.Run("Dropout p=0.4", [x], y, () => cpu.DropoutForward(x, y, mask, 0.4f, 11, 0, 5), [dx], dy => cpu.DropoutBackward(mask, dy, dx));
    }

    [TestCase(1f)]
    [TestCase(-0.1f)]
    [TestCase(1.5f)]
    [TestCase(float.NaN)]
    public void InvalidProbabilityThrowsNamingP(float p) =>
        Assert.That(() => new Dropout(p), Throws.TypeOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("p"));

    [Test]
    public void LayerRegistryRoundTripsP()
    {
        var copy = (Dropout)LayerRegistry.Create("Dropout", new Dropout(0.25f).Attributes());
        Assert.That(copy.P, Is.EqualTo(0.25f));
        Assert.That(new Dropout().P, Is.EqualTo(0.5f), "PyTorch's default");
        Assert.That(() => NeuroPlugin.Serialization.GraphJson.Read(
                """{"inputs":[{"name":"x","shape":[4]}],"nodes":[{"name":"drop","type":"Dropout","inputs":["x"],"attributes":{"p":1.5}}]}"""),
            Throws.TypeOf<FormatException>().With.Message.Contains("node 'drop' (Dropout)").And.Message.Contains("p must be in [0, 1)"));
    }

    /// <summary>features (12) → fc1 (12) → drop1 (p) → fc2 (12) → drop2 (p) → fc3 (3): two dropout nodes.</summary>
    internal static NetworkGraph TwoDropoutGraph(float p)
    {
        var graph = new NetworkGraph();
        graph.AddInput("features", TensorShape.Of([12]));
        graph.Add("fc1", new Linear(12, 12), "features");
        graph.Add("drop1", new Dropout(p), "fc1");
        graph.Add("fc2", new Linear(12, 12), "drop1");
        graph.Add("drop2", new Dropout(p), "fc2");
        graph.Add("fc3", new Linear(12, 3), "drop2");
        return graph;
    }

    [Test]
    public void PlanDrawsAFreshMaskEachStepReproducibleFromItsSeed()
    {
        using var network = Network.Create(TwoDropoutGraph(0.5f), cpu, seed: 21);
        using var plan = ExecutionPlan.ForTraining(network, 8);
        Assert.That(plan.Seed, Is.EqualTo(21), "the plan's seed defaults to the network's");
        plan.Input.Upload(new GradientCheck(new Random(1)).RandomValues(plan.Input.Length, 1));
        plan.Forward();
        float[] first = plan.Tensor("drop1").ToArray();
        float[] mask1 = plan.Tensor("drop1").ToArray().Zip(plan.Tensor("fc1").ToArray(), (y, x) => y == 0f && x != 0f ? 0f : 1f).ToArray();
        float[] mask2 = plan.Tensor("drop2").ToArray().Zip(plan.Tensor("fc2").ToArray(), (y, x) => y == 0f && x != 0f ? 0f : 1f).ToArray();
        Assert.That(mask1, Is.Not.EqualTo(mask2), "two dropout nodes draw from different streams");
        Assert.That(plan.RandomCounter, Is.EqualTo(1));
        plan.Forward();
        Assert.That(plan.RandomCounter, Is.EqualTo(2));
        Assert.That(plan.Tensor("drop1").ToArray(), Is.Not.EqualTo(first), "the next step drops other elements");

        plan.RandomCounter = 0;
        plan.Forward();
        Assert.That(plan.Tensor("drop1").ToArray(), Is.EqualTo(first), "replaying step 0 gives step 0's mask");
        using var twin = ExecutionPlan.ForTraining(network, 8);
        twin.Input.Upload(plan.Input.ToArray());
        twin.Forward();
        Assert.That(twin.Tensor("drop1").ToArray(), Is.EqualTo(first), "another plan with the same seed draws the same masks");
        twin.RandomCounter = 0;
        twin.Seed = 22;
        twin.Forward();
        Assert.That(twin.Tensor("drop1").ToArray(), Is.Not.EqualTo(first), "another seed, other masks");
    }

    (float[] X, float[] Y, float[] Mask) Run(TensorShape shape, float p, uint seed, uint stream, uint step)
    {
        float[] values = new GradientCheck(new Random(shape.Length)).RandomValues(shape.Length, 1);
        using Tensor x = Upload(shape, values), y = cpu.Allocate(shape, "y"), mask = cpu.Allocate(shape, "mask");
        cpu.DropoutForward(x, y, mask, p, seed, stream, step);
        return (values, y.ToArray(), mask.ToArray());
    }

    Tensor Upload(TensorShape shape, float[] values)
    {
        var tensor = cpu.Allocate(shape, "t");
        tensor.Upload(values);
        return tensor;
    }
}

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>
/// The optimizer ops of the GL backend against the CPU reference on seeded random data (lengths 1, 7, 1001:
/// a partial vec4, several vec4s, many work groups), three steps each so the state recurrences are exercised;
/// the penalty reduction also on 300 001 elements, where each invocation sums more than its minimum chunk.
/// </summary>
public sealed class OptimizerOpTests : GLFixture
{
    static readonly int[] Lengths = [1, 7, 1001];

    [TestCaseSource(nameof(Lengths))]
    public void SgdVariantsMatchCpu(int length)
    {
        using var twins = new TwinBackends(Backend, length);
        var (w, g) = (twins.Random(new TensorShape(length), "w"), twins.Random(new TensorShape(length), "g"));
        var (w2, v2) = (twins.Random(new TensorShape(length), "w2"), twins.FromValues(new TensorShape(length), "v2", new float[length]));
        var (w3, v3) = (twins.Random(new TensorShape(length), "w3"), twins.FromValues(new TensorShape(length), "v3", new float[length]));
        for (int step = 0; step < 3; step++)
        {
            twins.Run(be => be.SgdUpdate(w[be], g[be], null, 0.1f, 0f, weightDecay: 0.3f));
            twins.Run(be => be.SgdUpdate(w2[be], g[be], v2[be], 0.1f, 0.9f, weightDecay: 0.1f));
            twins.Run(be => be.SgdUpdate(w3[be], g[be], v3[be], 0.05f, 0.8f, weightDecay: 0.2f, nesterov: true));
        }
        TwinBackends.AssertSame(w, "sgd with weight decay");
        TwinBackends.AssertSame(w2, "momentum: weights");
        TwinBackends.AssertSame(v2, "momentum: momentum_buffer");
        TwinBackends.AssertSame(w3, "nesterov: weights");
        TwinBackends.AssertSame(v3, "nesterov: momentum_buffer");
    }

    [TestCaseSource(nameof(Lengths))]
    public void AdaptiveRulesMatchCpu(int length)
    {
        using var twins = new TwinBackends(Backend, 1000 + length);
        var shape = new TensorShape(length);
        var g = twins.Random(shape, "g");
        Twin Zero(string name) => twins.FromValues(shape, name, new float[length]);
        var (wAdaGrad, sum) = (twins.Random(shape, "adagrad.w"), Zero("sum"));
        var (wRms, squareAverage) = (twins.Random(shape, "rmsprop.w"), Zero("square_avg"));
        var (wRmsMomentum, squareAverage2, velocity) = (twins.Random(shape, "rmsprop-momentum.w"), Zero("square_avg2"), Zero("momentum_buffer"));
        var (wAdam, m, v) = (twins.Random(shape, "adam.w"), Zero("exp_avg"), Zero("exp_avg_sq"));
        var (wAdamW, m2, v2) = (twins.Random(shape, "adamw.w"), Zero("exp_avg2"), Zero("exp_avg_sq2"));
        for (int step = 1; step <= 3; step++)
        {
            twins.Run(be => be.AdaGradUpdate(wAdaGrad[be], g[be], sum[be], 0.1f, 1e-10f, 0.1f));
            twins.Run(be => be.RmsPropUpdate(wRms[be], g[be], squareAverage[be], null, 0.01f, 0.99f, 1e-8f, 0f, 0.1f));
            twins.Run(be => be.RmsPropUpdate(wRmsMomentum[be], g[be], squareAverage2[be], velocity[be], 0.01f, 0.9f, 1e-8f, 0.5f, 0f));
            twins.Run(be => be.AdamUpdate(wAdam[be], g[be], m[be], v[be], 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, false, step));
            twins.Run(be => be.AdamUpdate(wAdamW[be], g[be], m2[be], v2[be], 0.01f, 0.8f, 0.99f, 1e-6f, 0.5f, true, step));
        }
        foreach (var (twin, what) in new[] { (wAdaGrad, "adagrad: weights"), (sum, "adagrad: sum"), (wRms, "rmsprop: weights"),
                     (squareAverage, "rmsprop: square_avg"), (wRmsMomentum, "rmsprop with momentum: weights"), (velocity, "rmsprop: momentum_buffer"),
                     (wAdam, "adam: weights"), (m, "adam: exp_avg"), (v, "adam: exp_avg_sq"), (wAdamW, "adamw: weights"), (v2, "adamw: exp_avg_sq") })
            TwinBackends.AssertSame(twin, what);
    }

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(1001)]
    [TestCase(300_001)]
    public void NormPenaltyMatchesCpu(int length)
    {
        using var twins = new TwinBackends(Backend, 2000 + length);
        var shape = new TensorShape(length);
        var x = twins.Random(shape, "x");
        var total = twins.FromValues(new TensorShape(1), "total", [0.25f]); // forward adds into the total
        var dx = twins.Random(shape, "dx");                                  // backward adds into the gradient
        twins.Run(be => be.NormPenaltyForward(x[be], total[be], 0.05f, 0.2f));
        twins.Run(be => be.NormPenaltyBackward(x[be], dx[be], 0.05f, 0.2f));
        TwinBackends.AssertSame(total, "penalty λ₁·Σ|x| + (λ₂/2)·Σx²");
        TwinBackends.AssertSame(dx, "penalty gradient");
    }

    [TestCase(7, 0.5f)]    // clips
    [TestCase(1001, 1e6f)] // leaves the gradients alone
    public void ClipByTotalNormMatchesCpu(int length, float maxNorm)
    {
        using var twins = new TwinBackends(Backend, 3000 + length);
        var a = twins.Random(new TensorShape(length), "a");
        var b = twins.Random(new TensorShape(length / 2 + 1), "b");
        var total = twins.FromValues(new TensorShape(1), "total", [0f]);
        twins.Run(be =>
        {
            be.NormPenaltyForward(a[be], total[be], 0f, 2f);
            be.NormPenaltyForward(b[be], total[be], 0f, 2f);
            be.ClipByTotalNorm(a[be], total[be], maxNorm);
            be.ClipByTotalNorm(b[be], total[be], maxNorm);
        });
        TwinBackends.AssertSame(total, "Σ‖g‖²");
        TwinBackends.AssertSame(a, "first clipped gradient");
        TwinBackends.AssertSame(b, "second clipped gradient");
    }
}

/// <summary>CPU checks of the optimizer ops: the penalty's gradient by finite differences, the clipping formula.</summary>
public class OptimizerOpCpuTests
{
    readonly CpuBackend cpu = new();

    [TestCase(0.3f, 0f)]
    [TestCase(0f, 0.7f)]
    [TestCase(0.2f, 0.5f)]
    public void NormPenaltyGradientIsFiniteDifference(float l1, float l2)
    {
        var check = new GradientCheck(new Random(5));
        var x = cpu.Allocate(new TensorShape(3, 7), "x");
        // |x| ≥ 0.1: the central difference (ε = 0.01) never straddles L1's kink at 0
        x.Upload(check.RandomValues(21, 1.0).Select(v => MathF.CopySign(0.1f + 0.9f * MathF.Abs(v), v)).ToArray());
        var total = cpu.Allocate(new TensorShape(1), "total");
        var dx = cpu.Allocate(x.Shape, "dx");
        check.Run("norm penalty", [x], total,
            forward: () => { cpu.Fill(total, 0f); cpu.NormPenaltyForward(x, total, l1, l2); },
            [dx],
            backward: dy =>
            {
                float r = dy.ToArray()[0]; // the scalar's own gradient: scale the penalty's by it
                cpu.NormPenaltyBackward(x, dx, r * l1, r * l2);
            });
    }

    [Test]
    public void ClipByTotalNorm_ScalesToTheMaximumNorm()
    {
        // g = (3, 4): ‖g‖ = 5; max 1 → g·(1 / (5 + 1e-6)); max 10 → unchanged
        var g = cpu.Allocate(new TensorShape(2), "g");
        var total = cpu.Allocate(new TensorShape(1), "total");
        g.Upload([3f, 4f]);
        cpu.NormPenaltyForward(g, total, 0f, 2f);
        Assert.That(total.ToArray()[0], Is.EqualTo(25f));
        cpu.ClipByTotalNorm(g, total, 10f);
        Assert.That(g.ToArray(), Is.EqualTo(new[] { 3f, 4f }));
        cpu.ClipByTotalNorm(g, total, 1f);
        Assert.That(g.ToArray(), Is.EqualTo(new[] { 0.6f, 0.8f }).Within(1e-6));
    }
}

using NeuroPlugin.Training;

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>
/// The multi-tensor L1/L2 penalty (<see cref="IBackend.AddNormPenalties"/>) and clipping by the total norm
/// (<see cref="IBackend.ClipGradientsByTotalNorm"/>): on GL, tensors allocated as groups take a fixed few dispatches for all of
/// them. Checked against the CPU reference and the GL per-tensor path, on tensors of odd sizes (1, 7, 1001, 6, 250: partial
/// vec4s, ranges that end mid-vec4) with different λs each (one of them 0 in both); through <see cref="Optimizer.Step"/>; and
/// on LeNet-5's training step, whose dispatch count clipping and the penalties raise by a constant.
/// </summary>
public sealed class MultiTensorPenaltyTests : GLFixture
{
    static readonly int[] Lengths = [1, 7, 1001, 6, 250];
    static readonly float[] L1 = [0.01f, 0f, 0.002f, 0f, 0.03f];
    static readonly float[] L2 = [0.1f, 0.05f, 0f, 0f, 0.2f];

    /// <summary>Weights and gradients of <see cref="Lengths"/>, grouped (two buffers) or each in its own allocation.</summary>
    sealed class TensorSet : IDisposable
    {
        public TensorSet(IBackend backend, bool grouped, float[][] weights, float[][] gradients)
        {
            var shapes = Lengths.Select(n => new TensorShape(n)).ToArray();
            Tensor[] Make(string what) => grouped
                ? backend.AllocateGroup(shapes, shapes.Select((_, i) => $"p{i}.{what}").ToArray(), what)
                : shapes.Select((shape, i) => backend.Allocate(shape, $"p{i}.{what}")).ToArray();
            (Weights, Gradients) = (Make("weight"), Make("grad"));
            for (int i = 0; i < Lengths.Length; i++)
            {
                Weights[i].Upload(weights[i]);
                Gradients[i].Upload(gradients[i]);
            }
            Total = backend.Allocate(new TensorShape(1), "total");
            Total.Upload([0.5f]); // the penalty adds to it; clipping overwrites it
        }

        public Tensor[] Weights { get; }
        public Tensor[] Gradients { get; }
        public Tensor Total { get; }

        public void Dispose()
        {
            foreach (var tensor in Weights.Concat(Gradients).Append(Total)) tensor.Dispose();
        }
    }

    static float[][] RandomValues(Random random, float scale) =>
        Lengths.Select(n => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray()).ToArray();

    /// <summary>The same tensors on the CPU, grouped on GL and separate on GL.</summary>
    static (TensorSet Cpu, TensorSet Grouped, TensorSet Separate) Sets(CpuBackend cpu, IBackend gl, int seed, float gradientScale)
    {
        var random = new Random(seed);
        var (weights, gradients) = (RandomValues(random, 1f), RandomValues(random, gradientScale));
        weights[2][5] = 0f; // sign(0) = 0
        return (new TensorSet(cpu, true, weights, gradients), new TensorSet(gl, true, weights, gradients), new TensorSet(gl, false, weights, gradients));
    }

    [Test]
    public void PenaltiesOfGroupedTensorsAreThreeDispatchesAndMatchCpu()
    {
        using var cpu = new CpuBackend();
        var (onCpu, grouped, separate) = Sets(cpu, Backend, 5, 1f);
        using (onCpu) using (grouped) using (separate)
        {
            for (int call = 0; call < 2; call++)
            {
                cpu.AddNormPenalties(onCpu.Weights, onCpu.Gradients, onCpu.Total, L1, L2);
                long before = Device.DispatchCount;
                Backend.AddNormPenalties(grouped.Weights, grouped.Gradients, grouped.Total, L1, L2);
                // the first call also uploads its table of ranges (one copy kernel)
                Assert.That(Device.DispatchCount - before, Is.EqualTo(call == 0 ? 4 : 3), "grouped: the sum's two passes and the gradient");
                before = Device.DispatchCount;
                Backend.AddNormPenalties(separate.Weights, separate.Gradients, separate.Total, L1, L2);
                Assert.That(Device.DispatchCount - before, Is.EqualTo(3 * Lengths.Length), "separate tensors: three dispatches per tensor");
            }
            float expected = onCpu.Total.ToArray()[0];
            Assert.That(expected, Is.GreaterThan(0.5f + 1f), "the penalty added up to something");
            Assert.That(grouped.Total.ToArray()[0], Is.EqualTo(expected).Within(TwinBackends.Tolerance * 100).Percent, "penalty total against the CPU");
            Assert.That(separate.Total.ToArray()[0], Is.EqualTo(expected).Within(TwinBackends.Tolerance * 100).Percent, "per-tensor penalty total against the CPU");
            for (int i = 0; i < Lengths.Length; i++)
            {
                string what = $"gradient {i} ({Lengths[i]} values, λ₁ = {L1[i]}, λ₂ = {L2[i]})";
                TensorAssert.AreClose(onCpu.Gradients[i].ToArray(), grouped.Gradients[i].ToArray(), TwinBackends.Tolerance, what + " against the CPU");
                Assert.That(grouped.Gradients[i].ToArray(), Is.EqualTo(separate.Gradients[i].ToArray()), what + ": the same bits as per tensor");
                Assert.That(grouped.Weights[i].ToArray(), Is.EqualTo(onCpu.Weights[i].ToArray()), $"weights {i} unchanged");
            }
        }
    }

    [TestCase(0.5f, TestName = "ClipOfGroupedGradientsIsThreeDispatchesAndMatchesCpu(norm above the limit)")]
    [TestCase(1e-3f, TestName = "ClipOfGroupedGradientsIsThreeDispatchesAndMatchesCpu(norm below the limit)")]
    public void ClipOfGroupedGradientsIsThreeDispatchesAndMatchesCpu(float gradientScale)
    {
        const float maxNorm = 1f;
        using var cpu = new CpuBackend();
        var (onCpu, grouped, separate) = Sets(cpu, Backend, 9, gradientScale);
        using (onCpu) using (grouped) using (separate)
        {
            var original = grouped.Gradients.Select(g => g.ToArray()).ToArray();
            cpu.ClipGradientsByTotalNorm(onCpu.Gradients, onCpu.Total, maxNorm);
            long before = Device.DispatchCount;
            Backend.ClipGradientsByTotalNorm(grouped.Gradients, grouped.Total, maxNorm);
            Assert.That(Device.DispatchCount - before, Is.EqualTo(1 + 3), "grouped: the table's upload, the sum's two passes, the scaling");
            Backend.ClipGradientsByTotalNorm(separate.Gradients, separate.Total, maxNorm);
            float sumOfSquares = onCpu.Total.ToArray()[0];
            double independent = original.SelectMany(g => g).Sum(v => (double)v * v);
            Assert.That(sumOfSquares, Is.EqualTo(independent).Within(1e-4).Percent, "Σg² on the CPU, against a double sum");
            Assert.That(grouped.Total.ToArray()[0], Is.EqualTo(sumOfSquares).Within(TwinBackends.Tolerance * 100).Percent, "Σg² against the CPU");
            Assert.That(separate.Total.ToArray()[0], Is.EqualTo(sumOfSquares).Within(TwinBackends.Tolerance * 100).Percent, "per-tensor Σg² against the CPU");
            double factor = Math.Min(1.0, maxNorm / (Math.Sqrt(independent) + 1e-6));
            for (int i = 0; i < Lengths.Length; i++)
            {
                string what = $"gradient {i} ({Lengths[i]} values)";
                TensorAssert.AreClose(original[i].Select(v => (float)(v * factor)).ToArray(), onCpu.Gradients[i].ToArray(), TwinBackends.Tolerance, what + ": CPU against g·min(1, c/‖g‖)");
                TensorAssert.AreClose(onCpu.Gradients[i].ToArray(), grouped.Gradients[i].ToArray(), TwinBackends.Tolerance, what + " against the CPU");
                TensorAssert.AreClose(separate.Gradients[i].ToArray(), grouped.Gradients[i].ToArray(), TwinBackends.Tolerance, what + " against per tensor");
            }
        }
    }

    /// <summary>Adam with clipping, L1 and L2 on the weights (not the biases) and coupled weight decay.</summary>
    static Optimizer CreateOptimizer() => new Adam(0.01f, weightDecay: 0.01f)
    {
        ClipGradientNorm = 0.5f,
        Regularizer = Regularizer.Create(l1: 1e-3f, l2: 1e-2f),
    };

    [Test]
    public void OptimizerStepWithClipAndPenaltiesIsEightDispatchesAndMatchesCpu()
    {
        float lastNorm = 0f;
        MultiTensorUpdateTests.StepOnBothBackends(Backend, CreateOptimizer, 13, (step, dispatches, gl, cpu) =>
        {
            // zeroing the penalty, its sum's two passes and gradient; the norm's two passes and the scaling; the update.
            // The first step also uploads three tables (penalty, clipping, update).
            Assert.That(dispatches, Is.EqualTo(step == 0 ? 8 + 3 : 8), $"step {step + 1}");
            lastNorm = cpu.ReadGradientNorm();
            Assert.That(gl.ReadGradientNorm(), Is.EqualTo(lastNorm).Within(TwinBackends.Tolerance * 100).Percent, $"step {step + 1}: gradient norm");
            Assert.That(gl.Regularizer!.ReadPenalty(), Is.EqualTo(cpu.Regularizer!.ReadPenalty()).Within(TwinBackends.Tolerance * 100).Percent, $"step {step + 1}: penalty");
        });
        Assert.That(lastNorm, Is.GreaterThan(0.5f), "the last step was clipped");
    }

    [Test]
    public void LeNet5StepWithClipAndPenaltiesAddsSevenDispatchesAndMatchesCpu()
    {
        var options = new TrainingOptions { ClipNorm = 0.1f, L1 = 1e-4f, L2 = 1e-3f };
        long Dispatches(Optimizer optimizer, out float[][] parameters, IBackend backend)
        {
            using var network = Network.Create(ModelZoo.Build("lenet5"), backend, seed: 1);
            using var plan = ExecutionPlan.ForTraining(network, 4);
            TrainingThroughput.FillSyntheticBatch(plan, new Random(2));
            long count = 0;
            for (int step = 0; step < 3; step++)
            {
                long before = Device.DispatchCount;
                plan.TrainStep(optimizer);
                if (step == 2) count = Device.DispatchCount - before; // after the tables' uploads
            }
            parameters = network.ParameterNames.Select(name => network.Parameter(name).ToArray()).ToArray();
            return count;
        }
        using var plain = new Sgd(0.01f);
        using var penalized = new Sgd(0.01f);
        options.ApplyPenalties(penalized);
        long without = Dispatches(plain, out _, Backend);
        long with = Dispatches(penalized, out var glParameters, Backend);
        // zeroing the penalty, its sum's two passes and gradient; the norm's two passes and the scaling: for all ten parameters
        Assert.That(with - without, Is.EqualTo(7), $"LeNet-5 step: {without} dispatches plain, {with} with clipping, L1 and L2");

        using var cpu = new CpuBackend();
        using var onCpu = new Sgd(0.01f);
        options.ApplyPenalties(onCpu);
        Dispatches(onCpu, out var cpuParameters, cpu);
        Assert.That(onCpu.ReadGradientNorm(), Is.GreaterThan(0.1f), "the steps were clipped");
        Assert.That(penalized.ReadGradientNorm(), Is.EqualTo(onCpu.ReadGradientNorm()).Within(TwinBackends.Tolerance * 100).Percent, "gradient norm against the CPU");
        Assert.That(penalized.Regularizer!.ReadPenalty(), Is.EqualTo(onCpu.Regularizer!.ReadPenalty()).Within(TwinBackends.Tolerance * 100).Percent, "penalty against the CPU");
        for (int i = 0; i < cpuParameters.Length; i++)
            TensorAssert.AreClose(cpuParameters[i], glParameters[i], TwinBackends.Tolerance, $"LeNet-5 parameter {i} after three steps");
    }
}

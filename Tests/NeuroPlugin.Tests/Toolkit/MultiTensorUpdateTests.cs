using NeuroPlugin.Optimizers;

namespace NeuroPlugin.Tests.Toolkit;

/// <summary>
/// The multi-tensor update (<see cref="IBackend.UpdateParameters"/>): on GL, parameters, gradients and state allocated as
/// groups (<see cref="IBackend.AllocateGroup"/>) are updated by one dispatch. Checked against the CPU reference and against
/// the GL per-tensor path (identical bits), for every rule, over several steps, on tensors of odd sizes (1, 7, 1001, 6, 250:
/// partial vec4s, ranges that end mid-vec4) with a different weight decay each; and through <see cref="Optimizer.Step"/>.
/// </summary>
public sealed class MultiTensorUpdateTests : GLFixture
{
    static readonly int[] Lengths = [1, 7, 1001, 6, 250];
    static readonly float[] Decays = [0f, 0.1f, 0.3f, 0f, 0.05f];

    static readonly UpdateRule[] Rules =
    [
        new(UpdateRuleKind.Sgd, 0.1f),
        new(UpdateRuleKind.Sgd, 0.05f, 0.9f),
        new(UpdateRuleKind.Sgd, 0.05f, 0.8f, Nesterov: true),
        new(UpdateRuleKind.AdaGrad, 0.1f, Epsilon: 1e-10f),
        new(UpdateRuleKind.RmsProp, 0.01f, Alpha: 0.99f, Epsilon: 1e-8f),
        new(UpdateRuleKind.RmsProp, 0.01f, 0.5f, Alpha: 0.9f, Epsilon: 1e-8f),
        new(UpdateRuleKind.Adam, 0.01f, Epsilon: 1e-8f, Beta1: 0.9f, Beta2: 0.999f),
        new(UpdateRuleKind.Adam, 0.01f, Epsilon: 1e-6f, Beta1: 0.8f, Beta2: 0.99f, DecoupledWeightDecay: true),
    ];

    /// <summary>Parameters, gradients and state on one backend, grouped or each in its own allocation.</summary>
    sealed class ParameterSet : IDisposable
    {
        public ParameterSet(IBackend backend, bool grouped, int stateCount)
        {
            var shapes = Lengths.Select(n => new TensorShape(n)).ToArray();
            Tensor[] Make(string what) => grouped
                ? backend.AllocateGroup(shapes, shapes.Select((_, i) => $"p{i}.{what}").ToArray(), what)
                : shapes.Select((shape, i) => backend.Allocate(shape, $"p{i}.{what}")).ToArray();
            Parameters = Make("weight");
            Gradients = Make("grad");
            var states = Enumerable.Range(0, stateCount).Select(k => Make("state" + k)).ToArray();
            State = Enumerable.Range(0, Lengths.Length).Select(i => states.Select(s => s[i]).ToArray()).ToArray();
        }

        public Tensor[] Parameters { get; }
        public Tensor[] Gradients { get; }
        public Tensor[][] State { get; }

        public void Upload(float[][] values, Tensor[] tensors)
        {
            for (int i = 0; i < tensors.Length; i++) tensors[i].Upload(values[i]);
        }

        public void Dispose()
        {
            foreach (var tensor in Parameters.Concat(Gradients).Concat(State.SelectMany(s => s))) tensor.Dispose();
        }
    }

    static float[][] RandomValues(Random random) =>
        Lengths.Select(n => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();

    [TestCaseSource(nameof(Rules))]
    public void OneDispatchMatchesCpuAndThePerTensorPath(UpdateRule rule)
    {
        using var cpu = new CpuBackend();
        using var onCpu = new ParameterSet(cpu, grouped: true, rule.StateCount);
        using var grouped = new ParameterSet(Backend, grouped: true, rule.StateCount);
        using var separate = new ParameterSet(Backend, grouped: false, rule.StateCount);
        var random = new Random(TwinBackendsSeed(rule));
        var weights = RandomValues(random);
        foreach (var set in new[] { onCpu, grouped, separate }) set.Upload(weights, set.Parameters);
        for (int step = 1; step <= 3; step++)
        {
            var gradients = RandomValues(random); // a new gradient each step, so the state recurrences see different values
            foreach (var set in new[] { onCpu, grouped, separate }) set.Upload(gradients, set.Gradients);
            var stepRule = rule with { Step = step };
            cpu.UpdateParameters(stepRule, onCpu.Parameters, onCpu.Gradients, onCpu.State, Decays);
            long before = Device.DispatchCount;
            Backend.UpdateParameters(stepRule, grouped.Parameters, grouped.Gradients, grouped.State, Decays);
            // the first call also uploads its table of ranges (one copy kernel)
            Assert.That(Device.DispatchCount - before, Is.EqualTo(step == 1 ? 2 : 1), "grouped tensors: one dispatch for every parameter");
            before = Device.DispatchCount;
            Backend.UpdateParameters(stepRule, separate.Parameters, separate.Gradients, separate.State, Decays);
            Assert.That(Device.DispatchCount - before, Is.EqualTo(Lengths.Length), "separate tensors: one dispatch per parameter");
        }
        for (int i = 0; i < Lengths.Length; i++)
        {
            var tensors = new[] { grouped.Parameters[i] }.Concat(grouped.State[i]).ToArray();
            var references = new[] { onCpu.Parameters[i] }.Concat(onCpu.State[i]).ToArray();
            var perTensor = new[] { separate.Parameters[i] }.Concat(separate.State[i]).ToArray();
            for (int k = 0; k < tensors.Length; k++)
            {
                string what = $"{rule.Kind} parameter {i} ({Lengths[i]} values), {(k == 0 ? "weights" : "state " + (k - 1))}";
                TensorAssert.AreClose(references[k].ToArray(), tensors[k].ToArray(), TwinBackends.Tolerance, what + " against the CPU");
                Assert.That(tensors[k].ToArray(), Is.EqualTo(perTensor[k].ToArray()), what + ": the same bits as one dispatch per parameter");
            }
        }
    }

    static int TwinBackendsSeed(UpdateRule rule) => TwinBackends.Seed(rule.Kind, rule.Momentum, rule.Nesterov, rule.DecoupledWeightDecay);

    [Test]
    public void GuardWordSkipsTheWholeUpdate()
    {
        var rule = new UpdateRule(UpdateRuleKind.Adam, 0.01f, Epsilon: 1e-8f, Beta1: 0.9f, Beta2: 0.999f, Step: 1);
        using var set = new ParameterSet(Backend, grouped: true, rule.StateCount);
        var random = new Random(3);
        var weights = RandomValues(random);
        set.Upload(weights, set.Parameters);
        set.Upload(RandomValues(random), set.Gradients);
        using var guard = Backend.Allocate(new TensorShape(4), "guard");
        guard.Upload([1f, 0f, 0f, 0f]); // any set bit in the first word skips
        Backend.UpdateGuard = guard;
        try
        {
            Backend.UpdateParameters(rule, set.Parameters, set.Gradients, set.State, Decays);
        }
        finally
        {
            Backend.UpdateGuard = null;
        }
        for (int i = 0; i < Lengths.Length; i++)
        {
            Assert.That(set.Parameters[i].ToArray(), Is.EqualTo(weights[i]), $"parameter {i} is unchanged");
            foreach (var state in set.State[i]) Assert.That(state.ToArray(), Is.All.EqualTo(0f), $"parameter {i}'s state is unchanged");
        }
    }

    static IEnumerable<Func<Optimizer>> Optimizers()
    {
        var weights = ParameterGroup.Weights; // weight decay on the (rank ≥ 2) weights only: the decays differ per tensor
        yield return () => new Sgd(0.1f, weightDecay: 0.01f) { WeightDecayParameters = weights };
        yield return () => new Sgd(0.05f, 0.9f, 0.01f) { WeightDecayParameters = weights };
        yield return () => new Sgd(0.05f, 0.9f, 0.01f, nesterov: true) { WeightDecayParameters = weights };
        yield return () => new AdaGrad(0.05f, weightDecay: 0.01f) { WeightDecayParameters = weights };
        yield return () => new RmsProp(0.01f, weightDecay: 0.01f, momentum: 0.5f) { WeightDecayParameters = weights };
        yield return () => new Adam(0.01f, weightDecay: 0.01f) { WeightDecayParameters = weights };
        yield return () => new AdamW(0.01f, weightDecay: 0.1f) { WeightDecayParameters = weights };
    }

    [TestCaseSource(nameof(Optimizers))]
    public void OptimizerStepIsOneDispatchAndMatchesCpu(Func<Optimizer> create) =>
        StepOnBothBackends(Backend, create, 11, (step, dispatches, gl, _) =>
            // the first step also uploads the table of ranges (one copy kernel)
            Assert.That(dispatches, Is.EqualTo(step == 0 ? 2 : 1), $"{gl.Name} step {step + 1}: one dispatch (state allocated as groups)"));

    /// <summary>Four steps of <paramref name="create"/>'s optimizer on the CPU and on <paramref name="gl"/>, over parameters
    /// (6,1,5,5), (6), (10,7), (10) and a new gradient each step (seeded by <paramref name="seed"/>), grouped as a network and a
    /// plan group them. After each step <paramref name="afterStep"/> gets the step (from 0), the GL step's dispatches and the
    /// GL and CPU optimizers; at the end the parameters, the gradients (as the step left them) and the state must match.</summary>
    internal static void StepOnBothBackends(GLBackend gl, Func<Optimizer> create, int seed, Action<int, long, Optimizer, Optimizer> afterStep)
    {
        TensorShape[] shapes = [new(6, 1, 5, 5), new(6), new(10, 7), new(10)];
        string[] names = ["conv.weight", "conv.bias", "fc.weight", "fc.bias"];
        using var cpu = new CpuBackend();
        using var cpuOptimizer = create();
        using var glOptimizer = create();
        var cpuParameters = cpu.AllocateGroup(shapes, names, "parameters");
        var cpuGradients = cpu.AllocateGroup(shapes, names.Select(n => n + ".grad").ToArray(), "gradients");
        var glParameters = gl.AllocateGroup(shapes, names, "parameters");
        var glGradients = gl.AllocateGroup(shapes, names.Select(n => n + ".grad").ToArray(), "gradients");
        try
        {
            var random = new Random(seed);
            float[] Values(TensorShape shape) => Enumerable.Range(0, shape.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            for (int i = 0; i < shapes.Length; i++)
            {
                var values = Values(shapes[i]);
                cpuParameters[i].Upload(values);
                glParameters[i].Upload(values);
            }
            for (int step = 0; step < 4; step++)
            {
                for (int i = 0; i < shapes.Length; i++)
                {
                    var values = Values(shapes[i]);
                    cpuGradients[i].Upload(values);
                    glGradients[i].Upload(values);
                }
                cpuOptimizer.Step(cpu, cpuParameters, cpuGradients);
                long before = gl.Device.DispatchCount;
                glOptimizer.Step(gl, glParameters, glGradients);
                afterStep(step, gl.Device.DispatchCount - before, glOptimizer, cpuOptimizer);
            }
            for (int i = 0; i < shapes.Length; i++)
            {
                TensorAssert.AreClose(cpuParameters[i].ToArray(), glParameters[i].ToArray(), TwinBackends.Tolerance, $"{glOptimizer.Name}: {names[i]}");
                TensorAssert.AreClose(cpuGradients[i].ToArray(), glGradients[i].ToArray(), TwinBackends.Tolerance, $"{glOptimizer.Name}: {names[i]}.grad");
                foreach (string key in glOptimizer.StateKeys)
                    TensorAssert.AreClose(cpuOptimizer.State(i, key).ToArray(), glOptimizer.State(i, key).ToArray(), TwinBackends.Tolerance,
                        $"{glOptimizer.Name}: {names[i]}.{key}");
            }
        }
        finally
        {
            foreach (var tensor in cpuParameters.Concat(cpuGradients).Concat(glParameters).Concat(glGradients)) tensor.Dispose();
        }
    }
}

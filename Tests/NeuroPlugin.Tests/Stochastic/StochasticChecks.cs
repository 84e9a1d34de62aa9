namespace NeuroPlugin.Tests.Stochastic;

/// <summary>Shared pieces of the stochastic-regularizer tests: one layer's tensors on a backend, run as a plan would,
/// and a small residual network around each layer.</summary>
static class StochasticChecks
{
    /// <summary>The layers under test; FractalNet's drop-path join (two columns, p = 0.5 so local steps vary per sample)
    /// fits the same (branch, identity) harness.</summary>
    public static IEnumerable<Layer> Layers() =>
        [new StochasticDepth(0.3f), new ShakeShake(), new ShakeDrop(0.4f), new Swapout(0.2f, 0.4f), new FractalJoin([0, 1], 2, localDropProbability: 0.5f)];

    /// <summary>The number of branch inputs (inputs before the identity).</summary>
    public static int Branches(Layer layer) => layer.InputCount - 1;

    /// <summary>A node of <paramref name="layer"/> over <paramref name="inputs"/>, with gradients and workspace allocated on
    /// <paramref name="backend"/>; the draws are keyed by (seed 11, stream 5, <paramref name="step"/>).</summary>
    public static NodeTensors Node(IBackend backend, Layer layer, Tensor[] inputs, Tensor[] inputGrads, Tensor output, Tensor? outputGrad,
        bool training, uint step = 7)
    {
        var shapes = inputs.Select(x => x.Shape).ToArray();
        var workspace = layer.WorkspaceShapes(shapes, output.Shape).Select((s, i) => backend.Allocate(s, $"workspace{i}")).ToArray();
        return new NodeTensors("node", inputs, inputGrads, output, outputGrad, [], [], workspace)
        {
            Training = training, Seed = 11, RandomCounter = step, Stream = 5,
        };
    }

    /// <summary>input (6) → fc0 → ReLU → branch fc1 (and fc2) → layer(branches, identity) → head (3).</summary>
    public static NetworkGraph ResidualGraph(Layer layer)
    {
        var g = new NetworkGraph();
        g.AddInput("x", new TensorShape(6));
        g.Add("fc0", new Linear(6, 6), "x");
        g.Add("relu", Activation.ReLU(), "fc0");
        var inputs = new List<string>();
        for (int j = 0; j < Branches(layer); j++) inputs.Add(g.Add($"fc{j + 1}", new Linear(6, 6), "relu"));
        inputs.Add("relu");
        g.Add("join", layer, [.. inputs]);
        g.Add("head", new Linear(6, 3), "join");
        return g;
    }

    public static ExecutionPlan TrainingPlan(Network network, int batch)
    {
        var plan = ExecutionPlan.ForTraining(network, batch);
        var random = new Random(3);
        plan.Input.Upload(Enumerable.Range(0, plan.Input.Length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray());
        plan.Target!.Upload(Enumerable.Range(0, plan.Target.Length).Select(i => i % 3 == i / 3 % 3 ? 1f : 0f).ToArray());
        return plan;
    }

    /// <summary>Training steps and eval forwards of the residual net around <paramref name="layer"/> compute a finite loss
    /// and, warm, allocate no managed memory and read nothing back.</summary>
    public static void AssertStepsAllocateNothing(IBackend backend, Layer layer)
    {
        using var network = Network.Create(ResidualGraph(layer), backend, seed: 1);
        using var plan = TrainingPlan(network, 5);
        using var optimizer = new Sgd(0.01f, momentum: 0.9f);
        // The loss is checked after a fixed number of steps: the allocation check's warm-up lasts a second, so how many
        // steps it takes depends on the machine, and on this one batch ShakeDrop's random scaling of the residual drives
        // the weights away after about 750 steps (on both backends: the CPU's loss reached 1e28, GL's NaN at step 932).
        for (int step = 0; step < 20; step++) plan.TrainStep(optimizer);
        Assert.That(float.IsFinite(plan.ReadLoss()), Is.True, $"{layer.Type}: the loss after 20 steps");
        AllocationAssert.SteadyStateAllocatesNothing(_ =>
        {
            plan.TrainStep(optimizer);
            plan.Forward(training: false);
        }, 30, $"{layer.Type}: managed bytes allocated by 30 training steps and eval forwards", backend);
    }
}

using NeuroPlugin.Backends;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Optimizers;

/// <summary>
/// Updates parameters from their gradients on the parameters' own backend (no readback).
/// <see cref="Step"/> is called once per training step with the same arrays every time, so an
/// optimizer with state (momentum, Adam moments) allocates it on the first call and reuses it;
/// dispose the optimizer to release that state.
/// </summary>
public abstract class Optimizer : IDisposable
{
    /// <summary>The learning rate <c>ε</c> used by the next step (a schedule may change it between steps).</summary>
    public float LearningRate { get; set; }

    protected Optimizer(float learningRate)
    {
        if (!(learningRate > 0f) || !float.IsFinite(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be a positive finite number");
        LearningRate = learningRate;
    }

    /// <summary>Applies one update to every parameter, <c>parameters[i]</c> with gradient <c>gradients[i]</c>.</summary>
    public abstract void Step(IBackend backend, Tensor[] parameters, Tensor[] gradients);

    public virtual void Dispose() { }
}

/// <summary>
/// Stochastic gradient descent, optionally with momentum (PyTorch's definition):
/// <c>v ← μ·v + ∇E</c>, <c>w ← w − ε·v</c>; with μ = 0 plain <c>w ← w − ε·∇E</c>.
/// Momentum smooths SGD's oscillation like a moving average of the gradients.
/// </summary>
public sealed class Sgd : Optimizer
{
    Tensor[]? velocities;

    public Sgd(float learningRate, float momentum = 0f) : base(learningRate)
    {
        if (!(momentum >= 0f && momentum < 1f))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be in [0, 1)");
        Momentum = momentum;
    }

    /// <summary>The inertia μ.</summary>
    public float Momentum { get; }

    public override void Step(IBackend backend, Tensor[] parameters, Tensor[] gradients)
    {
        if (Momentum > 0f && velocities is null) velocities = AllocateVelocities(backend, parameters);
        for (int i = 0; i < parameters.Length; i++)
            backend.SgdUpdate(parameters[i], gradients[i], velocities?[i], LearningRate, Momentum);
    }

    // a separate method: a lambda in Step would allocate its closure on every call
    static Tensor[] AllocateVelocities(IBackend backend, Tensor[] parameters) =>
        Array.ConvertAll(parameters, p => backend.Allocate(p.Shape, p.Name + ".velocity"));

    public override void Dispose()
    {
        if (velocities is null) return;
        foreach (var velocity in velocities) velocity.Dispose();
        velocities = null;
    }
}

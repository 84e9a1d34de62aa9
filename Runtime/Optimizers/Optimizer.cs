using NeuroPlugin.Backends;
using NeuroPlugin.Tensors;

namespace NeuroPlugin.Optimizers;

/// <summary>
/// Updates parameters from their gradients on the parameters' own backend (no readback).
/// <see cref="Step"/> is called once per training step with the same arrays every time, so an
/// optimizer with state (momentum, Adam moments) can allocate it on the first call and reuse it.
/// </summary>
public abstract class Optimizer
{
    /// <summary>The learning rate <c>ε</c> used by the next step.</summary>
    public float LearningRate { get; set; }

    protected Optimizer(float learningRate)
    {
        if (!(learningRate > 0f) || !float.IsFinite(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be a positive finite number");
        LearningRate = learningRate;
    }

    /// <summary>Applies one update to every parameter, <c>parameters[i]</c> with gradient <c>gradients[i]</c>.</summary>
    public abstract void Step(IBackend backend, Tensor[] parameters, Tensor[] gradients);
}

/// <summary>Stochastic gradient descent: <c>w ← w − ε·∇E</c>.</summary>
public sealed class Sgd(float learningRate) : Optimizer(learningRate)
{
    public override void Step(IBackend backend, Tensor[] parameters, Tensor[] gradients)
    {
        for (int i = 0; i < parameters.Length; i++)
            backend.SgdUpdate(parameters[i], gradients[i], LearningRate);
    }
}

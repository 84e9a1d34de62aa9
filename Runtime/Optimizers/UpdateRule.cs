namespace NeuroPlugin.Optimizers;

/// <summary>The update rules of <see cref="IBackend"/> (optimizers.comp's variants).</summary>
public enum UpdateRuleKind
{
    /// <summary><c>w ← w − lr·g</c>; with momentum <c>v ← μ·v + g</c>, <c>w ← w − lr·v</c> (Nesterov: <c>w ← w − lr·(g + μ·v)</c>). State: v when μ &gt; 0.</summary>
    Sgd,
    /// <summary><c>h ← h + g²</c>, <c>w ← w − lr·g / (√h + ε)</c>. State: h.</summary>
    AdaGrad,
    /// <summary><c>h ← α·h + (1 − α)·g²</c>, <c>w ← w − lr·g / (√h + ε)</c>; with momentum <c>v ← μ·v + g / (√h + ε)</c>,
    /// <c>w ← w − lr·v</c>. State: h, and v when μ &gt; 0.</summary>
    RmsProp,
    /// <summary>Adam (AdamW when decoupled) at step t. State: m, v.</summary>
    Adam,
}

/// <summary>
/// One step of an update rule with its hyper-parameters, as one value: what <see cref="IBackend.UpdateParameters"/> applies to
/// every parameter of a step, and what <see cref="Apply"/> hands to the rule's own <see cref="IBackend"/> method for one
/// parameter. Every rule starts from <c>g = ∇E + λ·w</c> with the parameter's own λ (AdamW: <c>g = ∇E</c> and
/// <c>w ← w·(1 − lr·λ)</c>). Fields a rule does not use are 0.
/// </summary>
/// <param name="Kind">The rule.</param>
/// <param name="LearningRate">lr, this step's.</param>
/// <param name="Momentum">μ (SGD, RMSProp); 0 for none.</param>
/// <param name="Nesterov">SGD's look-ahead.</param>
/// <param name="Alpha">RMSProp's α.</param>
/// <param name="Epsilon">ε added to the root (AdaGrad, RMSProp, Adam).</param>
/// <param name="Beta1">Adam's β₁.</param>
/// <param name="Beta2">Adam's β₂.</param>
/// <param name="DecoupledWeightDecay">AdamW's decay of the weights instead of the gradient.</param>
/// <param name="Step">Adam's t ≥ 1, for the bias corrections.</param>
public readonly record struct UpdateRule(UpdateRuleKind Kind, float LearningRate, float Momentum = 0f, bool Nesterov = false, float Alpha = 0f,
    float Epsilon = 0f, float Beta1 = 0f, float Beta2 = 0f, bool DecoupledWeightDecay = false, long Step = 0)
{
    /// <summary>How many state tensors the rule keeps per parameter, in the order its <see cref="IBackend"/> method takes them:
    /// SGD v (μ &gt; 0); AdaGrad h; RMSProp h, v (μ &gt; 0); Adam m, v.</summary>
    public int StateCount => Kind switch
    {
        UpdateRuleKind.Sgd => Momentum > 0f ? 1 : 0,
        UpdateRuleKind.AdaGrad => 1,
        UpdateRuleKind.RmsProp => Momentum > 0f ? 2 : 1,
        _ => 2,
    };

    /// <summary>Updates one parameter through the rule's own <see cref="IBackend"/> method (<see cref="IBackend.SgdUpdate"/>, …).</summary>
    /// <param name="backend">The parameter's backend.</param>
    /// <param name="parameter">w, any shape; updated in place.</param>
    /// <param name="gradient">∇E, w's shape; not changed.</param>
    /// <param name="state">The <see cref="StateCount"/> state tensors, w's shape.</param>
    /// <param name="weightDecay">λ ≥ 0 of this parameter.</param>
    public void Apply(IBackend backend, Tensor parameter, Tensor gradient, ReadOnlySpan<Tensor> state, float weightDecay)
    {
        switch (Kind)
        {
            case UpdateRuleKind.Sgd:
                backend.SgdUpdate(parameter, gradient, state.Length > 0 ? state[0] : null, LearningRate, Momentum, weightDecay, Nesterov);
                break;
            case UpdateRuleKind.AdaGrad:
                backend.AdaGradUpdate(parameter, gradient, state[0], LearningRate, Epsilon, weightDecay);
                break;
            case UpdateRuleKind.RmsProp:
                backend.RmsPropUpdate(parameter, gradient, state[0], state.Length > 1 ? state[1] : null, LearningRate, Alpha, Epsilon, Momentum, weightDecay);
                break;
            default:
                backend.AdamUpdate(parameter, gradient, state[0], state[1], LearningRate, Beta1, Beta2, Epsilon, weightDecay, DecoupledWeightDecay, Step);
                break;
        }
    }

    /// <summary>Updates each parameter in turn through <see cref="Apply"/>: the CPU's multi-tensor update, and the GL
    /// backend's where the tensors are not ranges of shared buffers.</summary>
    internal void ApplyEach(IBackend backend, ReadOnlySpan<Tensor> parameters, ReadOnlySpan<Tensor> gradients, ReadOnlySpan<Tensor[]> state,
        ReadOnlySpan<float> weightDecays)
    {
        for (int i = 0; i < parameters.Length; i++) Apply(backend, parameters[i], gradients[i], state[i], weightDecays[i]);
    }
}

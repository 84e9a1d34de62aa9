namespace NeuroPlugin.Optimizers;

/// <summary>
/// Updates parameters from their gradients on the parameters' own backend (no readback). One
/// <see cref="Step"/> per training step, in PyTorch's order:
/// <list type="number">
/// <item>the <see cref="Regularizer"/>'s L1/L2 penalty is added to the gradients (and its value to <see cref="Regularizer.Penalty"/>);</item>
/// <item>the gradients are clipped to a total norm of <see cref="ClipGradientNorm"/> (<c>torch.nn.utils.clip_grad_norm_</c>);</item>
/// <item>(both as one multi-tensor call for all parameters: <see cref="IBackend.AddNormPenalties"/>,
///   <see cref="IBackend.ClipGradientsByTotalNorm"/>, a fixed few dispatches on GL;)</item>
/// <item>the update rule of the subclass (<see cref="Rule"/>) runs on every parameter, with weight decay λ = <see cref="WeightDecay"/>
///   for the parameters in <see cref="WeightDecayParameters"/> and 0 for the others: one <see cref="IBackend.UpdateParameters"/>
///   call for all of them (on GL one dispatch, since the state is allocated as one group per state key, as the plan
///   allocates the gradients and the network the parameters).</item>
/// </list>
/// Step is called with the same arrays every time, so the optimizer allocates its state (momentum buffers,
/// Adam's moments, each the parameter's shape, starting at zero) on the first call and reuses it: later
/// steps allocate nothing on the managed heap. Dispose the optimizer to release that state.
/// </summary>
public abstract partial class Optimizer : IDisposable
{
    float? clipGradientNorm;
    Tensor[][]? state;          // [parameter][state tensor], named as PyTorch's state dict does (momentum_buffer, exp_avg, …)
    string[]? stateParameterNames; // the parameters the state was made for, in Step's order
    float[]? weightDecays;      // per parameter: WeightDecay or 0, resolved once from WeightDecayParameters
    Tensor? gradientNormSquared; // Σ‖g‖² over every gradient (1), when clipping
    IBackend? stateBackend;
    ParameterGroup weightDecayParameters = ParameterGroup.All;

    /// <param name="learningRate">The base learning rate ε (lr), positive.</param>
    /// <param name="weightDecay">λ of the rule's weight decay (coupled L2 in the gradient, or AdamW's decoupled decay), ≥ 0.</param>
    protected Optimizer(float learningRate, float weightDecay)
    {
        LearningRate = HyperParameter.Positive(learningRate, nameof(learningRate));
        WeightDecay = HyperParameter.NonNegative(weightDecay, nameof(weightDecay));
    }

    /// <summary>Short name for reports and the command line ("sgd", "adam", …).</summary>
    public abstract string Name { get; }

    /// <summary>The learning rate <c>ε</c> used by the next step (a schedule may change it between steps).</summary>
    public float LearningRate { get; set; }

    /// <summary>Weight decay λ (PyTorch's <c>weight_decay</c>). Every rule but AdamW couples it to the gradient,
    /// <c>g = ∇E + λ·w</c> (L2 regularization folded into the rule); AdamW decays the weights directly.</summary>
    public float WeightDecay { get; }

    /// <summary>The parameters weight decay applies to; all of them by default, as in torch.optim.</summary>
    public ParameterGroup WeightDecayParameters { get => weightDecayParameters; init => weightDecayParameters = value; }

    /// <summary>L1/L2 penalties per parameter group, added to the gradients before clipping; null for none.
    /// The optimizer takes ownership (disposes its penalty tensor with its own state).</summary>
    public Regularizer? Regularizer { get; set; }

    /// <summary>
    /// Clipping by global norm, PyTorch's <c>clip_grad_norm_</c>: <c>total = √(Σ_i ‖g_i‖²)</c> over every
    /// gradient, then <c>g ← g·min(1, maxNorm / (total + 10⁻⁶))</c>; computed and applied on the device.
    /// Null (the default) disables clipping; otherwise it must be positive.
    /// </summary>
    public float? ClipGradientNorm
    {
        get => clipGradientNorm;
        set => clipGradientNorm = value is float maxNorm ? HyperParameter.Positive(maxNorm, nameof(ClipGradientNorm)) : null;
    }

    /// <summary>Steps taken so far: t of the last update (Adam's bias correction uses it). Settable to resume a run
    /// (<see cref="Serialization.TrainingCheckpoint"/>); must be ≥ 0.</summary>
    public long StepCount
    {
        get;
        set => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(StepCount), value, "the step count must be ≥ 0");
    }

    /// <summary>The names of the state tensors the rule keeps per parameter (PyTorch's state keys).</summary>
    protected abstract IReadOnlyList<string> StateNames { get; }

    /// <summary>The state keys of every parameter, PyTorch's names (<c>momentum_buffer</c>, <c>exp_avg</c>, <c>exp_avg_sq</c>,
    /// <c>sum</c>, <c>square_avg</c>); empty for plain SGD.</summary>
    public IReadOnlyList<string> StateKeys => StateNames;

    /// <summary>Whether the state tensors exist (after the first step or <see cref="AllocateState"/>).</summary>
    public bool HasState => state is not null;

    /// <summary>The names of the parameters the state belongs to, in the steps' order; empty before it exists.</summary>
    public IReadOnlyList<string> StateParameterNames => stateParameterNames ?? [];

    /// <summary>The state tensor <paramref name="key"/> (one of <see cref="StateKeys"/>) of parameter
    /// <paramref name="parameterIndex"/>, shaped as that parameter; for saving and restoring a run.</summary>
    /// <exception cref="InvalidOperationException">There is no state yet.</exception>
    public Tensor State(int parameterIndex, string key)
    {
        if (state is null) throw new InvalidOperationException($"{Name}: no state before the first step or AllocateState");
        var names = StateNames;
        for (int k = 0; k < names.Count; k++)
            if (names[k] == key) return state[parameterIndex][k];
        throw new ArgumentException($"{Name} keeps no state '{key}'; its keys: {string.Join(", ", names)}", nameof(key));
    }

    /// <summary>
    /// Allocates the state for <paramref name="parameters"/> (each state tensor zero, shaped as its parameter) as the
    /// first step would, so that a saved state can be uploaded before training resumes. Does nothing when the state
    /// already exists for as many parameters on this backend.
    /// </summary>
    /// <exception cref="InvalidOperationException">The state exists for other parameters or another backend.</exception>
    public void AllocateState(IBackend backend, IReadOnlyList<Tensor> parameters)
    {
        if (state is not null)
        {
            if (!ReferenceEquals(backend, stateBackend) || parameters.Count != state.Length) ThrowChangedParameters(backend, parameters.Count);
            return;
        }
        var names = StateNames;
        var tensors = new Tensor[parameters.Count][];
        for (int i = 0; i < parameters.Count; i++) tensors[i] = new Tensor[names.Count];
        var shapes = parameters.Select(p => p.Shape).ToArray();
        for (int k = 0; k < names.Count; k++)
        {
            // one group per state key, so that the update reaches every parameter's state in one kernel
            var group = backend.AllocateGroup(shapes, parameters.Select(p => $"{p.Name}.{names[k]}").ToArray(), $"{Name}.{names[k]}");
            for (int i = 0; i < parameters.Count; i++) tensors[i][k] = group[i];
        }
        state = tensors;
        stateParameterNames = parameters.Select(p => p.Name).ToArray();
        stateBackend = backend;
    }

    /// <summary>
    /// Applies one update to every parameter, <c>parameters[i]</c> (any shape) with gradient <c>gradients[i]</c>
    /// (same shape). The gradients are changed in place by regularization and clipping.
    /// </summary>
    public void Step(IBackend backend, Tensor[] parameters, Tensor[] gradients)
    {
        RunStage(backend, parameters, gradients, 0);
        Update(backend, parameters, gradients, 0, parameters.Length);
    }

    /// <summary>The stages of one <see cref="Step"/> over <paramref name="parameterCount"/> parameters, for callers that
    /// spread a step over several frames (Training/FrameBudgetedTrainer): stage 0 adds the penalty, clips (which needs
    /// every gradient) and advances <see cref="StepCount"/>; stage 1 + i updates parameter i.</summary>
    public static int StageCount(int parameterCount) => 1 + parameterCount;

    /// <summary>Runs stage <paramref name="stage"/> of <see cref="Step"/> (see <see cref="StageCount"/>). Running every
    /// stage in order is exactly <see cref="Step"/>: the same arithmetic on every element (Step updates all parameters in
    /// one <see cref="IBackend.UpdateParameters"/> call, the stages one each), so the same bits.</summary>
    public void RunStage(IBackend backend, Tensor[] parameters, Tensor[] gradients, int stage)
    {
        if (stage == 0)
        {
            if (weightDecays is null) Prepare(backend, parameters, gradients); // also after AllocateState: resolves weight decay
            else if (!ReferenceEquals(backend, stateBackend) || parameters.Length != state!.Length || gradients.Length != state.Length)
                ThrowChangedParameters(backend, parameters.Length);
            Regularizer?.Apply(backend, parameters, gradients);
            if (clipGradientNorm is float maxNorm) ClipGradients(backend, gradients, maxNorm);
            StepCount++;
            return;
        }
        if (state is null || (uint)(stage - 1) >= (uint)state.Length)
            throw new ArgumentOutOfRangeException(nameof(stage), stage, $"{Name}: stage 0 comes first, then 1..{parameters.Length} (one per parameter)");
        Update(backend, parameters, gradients, stage - 1, 1);
    }

    /// <summary>Runs the rule on parameters [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>),
    /// behind <see cref="SkipFlag"/> when the non-finite guard set one.</summary>
    void Update(IBackend backend, Tensor[] parameters, Tensor[] gradients, int first, int count)
    {
        if (SkipFlag is null)
        {
            UpdateUnguarded(backend, parameters, gradients, first, count);
            return;
        }
        backend.UpdateGuard = SkipFlag;
        try
        {
            UpdateUnguarded(backend, parameters, gradients, first, count);
        }
        finally
        {
            backend.UpdateGuard = null;
        }
    }

    void UpdateUnguarded(IBackend backend, Tensor[] parameters, Tensor[] gradients, int first, int count)
    {
        var rule = Rule;
        if (count == 1) rule.Apply(backend, parameters[first], gradients[first], state![first], weightDecays![first]);
        else backend.UpdateParameters(rule, parameters.AsSpan(first, count), gradients.AsSpan(first, count), state.AsSpan(first, count),
            weightDecays.AsSpan(first, count));
    }

    /// <summary>A report of <see cref="Training.NonFiniteGuard"/> (set by it): while its first word is set on the device,
    /// every update leaves parameters and state as they are (<see cref="IBackend.UpdateGuard"/>).</summary>
    internal Tensor? SkipFlag { get; set; }

    /// <summary>Sets t back after updates were skipped on the device, so Adam's bias corrections continue from the
    /// last update that was applied.</summary>
    internal void RewindStepCount(long stepCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(stepCount, StepCount);
        StepCount = stepCount;
    }

    /// <summary>The rule and its hyper-parameters for this step (read after <see cref="StepCount"/> has advanced); its state
    /// tensors are the ones <see cref="StateNames"/> names, in that order.</summary>
    protected abstract UpdateRule Rule { get; }

    /// <summary>The total gradient norm <c>√(Σ‖g‖²)</c> of the last step, before clipping (what <c>clip_grad_norm_</c>
    /// returns). Reads one value back from the device.</summary>
    /// <exception cref="InvalidOperationException">Clipping is off, or no step was taken yet.</exception>
    public float ReadGradientNorm()
    {
        if (gradientNormSquared is null)
            throw new InvalidOperationException("the gradient norm is computed only when ClipGradientNorm is set, after the first step");
        Span<float> value = stackalloc float[1];
        gradientNormSquared.Download(value);
        return MathF.Sqrt(value[0]);
    }

    // Runs once: a separate method, so that Step itself holds no lambda (a closure would be allocated on every call).
    void Prepare(IBackend backend, Tensor[] parameters, Tensor[] gradients)
    {
        if (gradients.Length != parameters.Length)
            throw new ArgumentException($"{parameters.Length} parameters but {gradients.Length} gradients", nameof(gradients));
        for (int i = 0; i < parameters.Length; i++)
            if (gradients[i].Length != parameters[i].Length)
                throw new ShapeException($"gradient '{gradients[i].Name}' {gradients[i].Shape} does not match parameter '{parameters[i].Name}' {parameters[i].Shape}");
        AllocateState(backend, parameters);
        var decays = new float[parameters.Length];
        for (int i = 0; i < parameters.Length; i++) decays[i] = WeightDecayParameters.Contains(parameters[i]) ? WeightDecay : 0f;
        weightDecays = decays;
    }

    void ClipGradients(IBackend backend, Tensor[] gradients, float maxNorm)
    {
        var total = gradientNormSquared ??= backend.Allocate(new TensorShape(1), "gradient_norm_squared");
        backend.ClipGradientsByTotalNorm(gradients, total, maxNorm);
    }

    void ThrowChangedParameters(IBackend backend, int count) =>
        throw new InvalidOperationException(
            $"{Name}: the optimizer's state was made for {state!.Length} parameters on backend '{stateBackend!.Name}'; " +
            $"this step passes {count} on '{backend.Name}' (use one optimizer per set of parameters)");

    /// <summary>Releases the state tensors, the clipping total and the regularizer's penalty. Safe to call twice.</summary>
    public virtual void Dispose()
    {
        if (state is not null)
            foreach (var tensors in state)
                foreach (var tensor in tensors) tensor.Dispose();
        state = null;
        stateParameterNames = null;
        weightDecays = null;
        gradientNormSquared?.Dispose();
        gradientNormSquared = null;
        Regularizer?.Dispose();
        GC.SuppressFinalize(this);
    }
}

namespace NeuroPlugin.Optimizers;

/// <summary>
/// The learning rate as a function of the step: <c>ε(t) = ε₀·factor(t, T)</c> for step t (0-based) of T.
/// Large steps first, small steps at the end (the course: start large, then decay). Each schedule equals a
/// torch.optim.lr_scheduler stepped once per optimizer step; <see cref="WithWarmup"/> puts a linear warm-up
/// in front of any of them. The <c>Trainer</c> sets <c>LearningRate = ε₀·Factor(step, total)</c> before each step.
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The multiplier of the base rate at <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public abstract float Factor(long step, long totalSteps);

    /// <summary>Name for reports and the command line.</summary>
    public abstract string Name { get; }

    /// <summary>No decay: factor 1.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>Cosine annealing to zero over T steps: <c>factor = ½(1 + cos(π·t/T))</c> (CosineAnnealingLR, T_max = T).</summary>
    public static LearningRateSchedule Cosine { get; } = new CosineSchedule();

    /// <summary>Step decay: <c>factor = γ^⌊t / stepSize⌋</c> (StepLR).</summary>
    /// <param name="stepSize">Steps between decays, ≥ 1.</param>
    /// <param name="gamma">The decay γ in (0, 1].</param>
    public static LearningRateSchedule Step(long stepSize, float gamma) => new StepSchedule(stepSize, gamma);

    /// <summary>Exponential decay: <c>factor = γᵗ</c> (ExponentialLR).</summary>
    /// <param name="gamma">The decay per step γ in (0, 1].</param>
    public static LearningRateSchedule Exponential(float gamma) => new ExponentialSchedule(gamma);

    /// <summary>
    /// This schedule after a linear warm-up of W = <paramref name="warmupSteps"/> steps:
    /// <c>factor = (t + 1)/W</c> for t &lt; W, then this schedule's <c>factor(t − W, T − W)</c>. Equals PyTorch's
    /// <c>SequentialLR([LinearLR(start_factor=1/W, total_iters=W−1), schedule], milestones=[W])</c>.
    /// Large first steps from random weights can diverge (and Adam's early moments are noisy): warm-up avoids both.
    /// </summary>
    /// <param name="warmupSteps">W ≥ 0; 0 returns this schedule.</param>
    public LearningRateSchedule WithWarmup(long warmupSteps)
    {
        HyperParameter.AtLeast(warmupSteps, 0, nameof(warmupSteps));
        return warmupSteps == 0 ? this : new WarmupSchedule(warmupSteps, this);
    }

    /// <summary>The parameterless schedule named <paramref name="name"/> ("constant", "cosine").</summary>
    public static LearningRateSchedule Parse(string name) => name.ToLowerInvariant() switch
    {
        "constant" => Constant,
        "cosine" => Cosine,
        _ => throw new ArgumentException($"unknown learning-rate schedule '{name}'; known schedules: constant, cosine (step and exponential need their γ: Step(), Exponential())"),
    };

    /// <summary>The schedule's <see cref="Name"/>, e.g. <c>cosine</c>.</summary>
    public override string ToString() => Name;

    /// <summary>The schedules training options offer by name (<c>neuro train --schedule</c>, the editor), in the order
    /// help texts list them; γ and the step size count in epochs there.</summary>
    public static IReadOnlyList<LearningRateScheduleKind> Kinds { get; } =
    [
        new("constant", "No decay", usesGamma: false, usesStepSize: false, (_, _, _) => Constant),
        new("step", "×γ every step-size epochs (StepLR)", usesGamma: true, usesStepSize: true,
            (gamma, stepSize, stepsPerEpoch) => Step((long)stepSize * stepsPerEpoch, gamma)),
        new("exponential", "×γ per epoch, spread evenly over its steps (ExponentialLR)", usesGamma: true, usesStepSize: false,
            (gamma, _, stepsPerEpoch) => Exponential(MathF.Pow(gamma, 1f / stepsPerEpoch))),
        new("cosine", "Cosine annealing to 0 over the run (CosineAnnealingLR)", usesGamma: false, usesStepSize: false, (_, _, _) => Cosine),
    ];

    /// <summary>The names of <see cref="Kinds"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = Kinds.Select(k => k.Name).ToArray();

    sealed class ConstantSchedule : LearningRateSchedule
    {
        public override string Name => "constant";
        public override float Factor(long step, long totalSteps) => 1f;
    }

    sealed class CosineSchedule : LearningRateSchedule
    {
        public override string Name => "cosine";
        public override float Factor(long step, long totalSteps) =>
            totalSteps <= 0 ? 1f : (float)(0.5 * (1 + Math.Cos(Math.PI * Math.Min(step, totalSteps) / totalSteps)));
    }

    sealed class StepSchedule(long stepSize, float gamma) : LearningRateSchedule
    {
        readonly long stepSize = HyperParameter.AtLeast(stepSize, 1, nameof(stepSize));
        readonly float gamma = HyperParameter.Factor(gamma, nameof(gamma));
        public override string Name => "step";
        public override float Factor(long step, long totalSteps) => (float)Math.Pow(gamma, step / stepSize);
    }

    sealed class ExponentialSchedule(float gamma) : LearningRateSchedule
    {
        readonly float gamma = HyperParameter.Factor(gamma, nameof(gamma));
        public override string Name => "exponential";
        public override float Factor(long step, long totalSteps) => (float)Math.Pow(gamma, step);
    }

    sealed class WarmupSchedule(long warmupSteps, LearningRateSchedule after) : LearningRateSchedule
    {
        public override string Name => $"warmup+{after.Name}";
        public override float Factor(long step, long totalSteps) =>
            step < warmupSteps ? (float)((step + 1) / (double)warmupSteps) : after.Factor(step - warmupSteps, totalSteps - warmupSteps);
    }
}

/// <summary>
/// A schedule as training options name it (<see cref="LearningRateSchedule.Kinds"/>): what it uses, and how it is built
/// when γ and the step size count in epochs, as torch's schedulers are usually stepped once per epoch.
/// </summary>
public sealed class LearningRateScheduleKind
{
    readonly Func<float, int, int, LearningRateSchedule> create;

    internal LearningRateScheduleKind(string name, string description, bool usesGamma, bool usesStepSize, Func<float, int, int, LearningRateSchedule> create)
    {
        Name = name;
        Description = description;
        UsesGamma = usesGamma;
        UsesStepSize = usesStepSize;
        this.create = create;
    }

    /// <summary>constant, step, exponential or cosine (<see cref="LearningRateSchedule.Name"/> of what it builds).</summary>
    public string Name { get; }
    /// <summary>One line for help texts and the editor.</summary>
    public string Description { get; }
    /// <summary>Whether γ (the decay per epoch) matters.</summary>
    public bool UsesGamma { get; }
    /// <summary>Whether the step size (epochs between decays) matters.</summary>
    public bool UsesStepSize { get; }

    /// <summary>The schedule over steps for <paramref name="gamma"/> per epoch and a decay every
    /// <paramref name="stepSizeEpochs"/> epochs of <paramref name="stepsPerEpoch"/> steps.</summary>
    public LearningRateSchedule Create(float gamma, int stepSizeEpochs, int stepsPerEpoch) => create(gamma, stepSizeEpochs, stepsPerEpoch);

    /// <summary>The kind's <see cref="Name"/>, e.g. <c>step</c>.</summary>
    public override string ToString() => Name;
}

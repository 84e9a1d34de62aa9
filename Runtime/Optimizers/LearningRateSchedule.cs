namespace NeuroPlugin.Optimizers;

/// <summary>
/// The learning rate as a function of the step: <c>ε(t) = ε₀·factor(t, T)</c> for step t of T.
/// Large steps first, small steps at the end (the course: start large, then decay).
/// </summary>
public abstract class LearningRateSchedule
{
    /// <summary>The multiplier of the base rate at <paramref name="step"/> (0-based) of <paramref name="totalSteps"/>.</summary>
    public abstract float Factor(long step, long totalSteps);

    /// <summary>Name for reports and the command line.</summary>
    public abstract string Name { get; }

    /// <summary>No decay: factor 1.</summary>
    public static LearningRateSchedule Constant { get; } = new ConstantSchedule();

    /// <summary>Cosine annealing to zero: <c>factor = ½(1 + cos(π·t/T))</c>.</summary>
    public static LearningRateSchedule Cosine { get; } = new CosineSchedule();

    /// <summary>The schedule named <paramref name="name"/> ("constant", "cosine").</summary>
    public static LearningRateSchedule Parse(string name) => name.ToLowerInvariant() switch
    {
        "constant" => Constant,
        "cosine" => Cosine,
        _ => throw new ArgumentException($"unknown learning-rate schedule '{name}'; known schedules: constant, cosine"),
    };

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
}

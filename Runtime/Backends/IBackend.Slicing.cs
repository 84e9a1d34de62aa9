namespace NeuroPlugin.Backends;

// ── frame budgets finer than an op (Training/FrameBudget, Execution/ExecutionPlan.Stages) ──
public partial interface IBackend
{
    /// <summary>While set, every op numbers the units of work it would issue in <see cref="WorkSlice"/>'s order and
    /// issues only those inside the slice's window (see <see cref="WorkSlice"/>); null (the default) issues everything.
    /// Set it around one run of a stage's host code, and back to null after.</summary>
    WorkSlice? Slice { get; set; }
}

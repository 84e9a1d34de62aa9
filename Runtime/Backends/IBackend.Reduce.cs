namespace NeuroPlugin.Backends;

// ── reductions over any set of axes: ReduceSum, ReduceMean, ReduceMax, ReduceMin ──
public partial interface IBackend
{
    /// <summary><c>y[o] = ⊕_{i ∈ R(o)} x[i]</c> (<see cref="ReduceOp"/>) over the axes of <paramref name="input"/> whose bits
    /// are set in <paramref name="axes"/> (bit k: axis k). <paramref name="output"/> holds one element per combination of the
    /// kept axes, in row-major order: the input's shape with the reduced axes of size 1, or dropped.</summary>
    void ReduceForward(ReduceOp op, Tensor input, Tensor output, int axes);

    /// <summary>In the forward pass this was <c>y = ⊕ x</c> over <paramref name="axes"/>: adds each input element's share of
    /// dy into <paramref name="inputGrad"/> (<c>dy</c> for a sum, <c>dy/|R|</c> for a mean, for max and min <c>dy/ties</c> to
    /// each element equal to y and nothing to the others).</summary>
    void ReduceBackward(ReduceOp op, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad, int axes);
}

namespace NeuroPlugin.Backends.Cpu;

// Reductions over any set of axes (ReduceOp), forward and backward: one pass per output element over the input elements
// it reduces, in row-major order of the reduced axes (the GL kernel walks them in the same order).
public sealed partial class CpuBackend
{
    /// <inheritdoc/>
    public void ReduceForward(ReduceOp op, Tensor input, Tensor output, int axes)
    {
        if (Skips) return;
        var g = new ReduceGeometry(input.Shape, axes);
        Span<float> x = Data(input), y = Data(output);
        for (int o = 0; o < g.Outputs; o++)
        {
            int first = g.First(o);
            float value = x[first];
            for (int j = 1; j < g.Count; j++)
            {
                float v = x[first + g.Offset(j)];
                value = op switch
                {
                    ReduceOp.Max => v > value || float.IsNaN(v) ? v : value,
                    ReduceOp.Min => v < value || float.IsNaN(v) ? v : value,
                    _ => value + v,
                };
            }
            y[o] = op == ReduceOp.Mean ? value / g.Count : value;
        }
    }

    /// <inheritdoc/>
    public void ReduceBackward(ReduceOp op, Tensor input, Tensor output, Tensor outputGrad, Tensor inputGrad, int axes)
    {
        if (Skips) return;
        // In the forward pass this was y[o] = ⊕ x[i] over R(o): each input element belongs to one output, which hands it dy
        // (sum), dy/|R| (mean), or, for max and min, dy shared by the elements equal to y (PyTorch's amax/amin).
        var g = new ReduceGeometry(input.Shape, axes);
        Span<float> x = Data(input), y = Data(output), dy = Data(outputGrad), dx = Data(inputGrad);
        bool extreme = op is ReduceOp.Max or ReduceOp.Min;
        for (int o = 0; o < g.Outputs; o++)
        {
            int first = g.First(o);
            float share = dy[o];
            if (op == ReduceOp.Mean) share /= g.Count;
            if (extreme)
            {
                int ties = 0;
                for (int j = 0; j < g.Count; j++) ties += x[first + g.Offset(j)] == y[o] ? 1 : 0;
                share /= ties;
            }
            for (int j = 0; j < g.Count; j++)
            {
                int i = first + g.Offset(j);
                if (!extreme || x[i] == y[o]) dx[i] += share;
            }
        }
    }
}
